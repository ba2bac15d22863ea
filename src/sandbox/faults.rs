//! Fault injection: `--faults 5xx=0.05,timeout=0.01,reset=0.01,latency=20ms,ineffective=0.2`.

use std::fmt;
use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;

/// What can go wrong with one provider request. Probabilities are per request and exclusive
/// (at most one of 5xx / timeout / reset applies), so their sum must not exceed 1.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// Answer 503 with the provider's "internal error / service timeout" body, doing nothing.
    pub error_5xx: f64,
    /// Perform the operation, then never answer (hold the connection until the sandbox stops or
    /// [`HOLD`] passes): a lost response.
    pub timeout: f64,
    /// Close the connection without an HTTP response and without performing the operation.
    pub reset: f64,
    /// Delay every answer by this much (fixed when both ends are equal, else uniform in the range).
    pub latency: Option<(Duration, Duration)>,
    /// Make a correction silently ineffective: the provider answers success and changes
    /// nothing (a recalled message goes on being delivered, an overridden one is not replaced,
    /// a stopped task goes on). Drawn per corrective request that would change a message,
    /// independently of the other faults; a message that ignored one correction ignores every
    /// later one too (the case verification must catch).
    pub ineffective: f64,
}

/// How long a `timeout` fault holds a connection before dropping it.
pub const HOLD: Duration = Duration::from_secs(120);

/// The fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Error5xx,
    Timeout,
    Reset,
}

impl Fault {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Fault::Error5xx => "5xx",
            Fault::Timeout => "timeout",
            Fault::Reset => "reset",
        }
    }
}

impl Faults {
    pub fn none() -> Faults {
        Faults::default()
    }

    pub fn is_none(&self) -> bool {
        self.error_5xx == 0.0
            && self.timeout == 0.0
            && self.reset == 0.0
            && self.latency.is_none()
            && self.ineffective == 0.0
    }

    /// Parse `5xx=0.05,timeout=0.01,reset=0.01,latency=20ms` (any subset, any order).
    /// Probabilities are numbers in 0..=1 or percentages (`5%`); latency is `20ms`, `1s` or a
    /// range `5ms-40ms`. An empty spec or `none` means no faults.
    pub fn parse(spec: &str) -> Result<Faults, String> {
        let mut f = Faults::none();
        let spec = spec.trim();
        if spec.is_empty() || spec.eq_ignore_ascii_case("none") {
            return Ok(f);
        }
        let mut seen: Vec<&str> = Vec::new();
        for part in spec.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!("`{part}` is not KEY=VALUE; the fault spec looks like `5xx=0.05,timeout=0.01,reset=0.01,latency=20ms,ineffective=0.2`")
            })?;
            let (key, value) = (key.trim(), value.trim());
            if seen.contains(&key) {
                return Err(format!("fault `{key}` is given twice"));
            }
            match key {
                "5xx" => f.error_5xx = probability(key, value)?,
                "timeout" => f.timeout = probability(key, value)?,
                "reset" => f.reset = probability(key, value)?,
                "latency" => f.latency = Some(latency(value)?),
                "ineffective" => f.ineffective = probability(key, value)?,
                other => {
                    return Err(format!(
                        "unknown fault `{other}`; the faults are 5xx, timeout, reset, latency and ineffective"
                    ));
                }
            }
            seen.push(key);
        }
        let sum = f.error_5xx + f.timeout + f.reset;
        if sum > 1.0 + 1e-9 {
            return Err(format!(
                "the fault probabilities add up to {sum}, more than 1 (at most one fault applies to a request)"
            ));
        }
        Ok(f)
    }

    /// Draw the fault (if any) and the latency for one request.
    pub(crate) fn draw(&self, rng: &mut StdRng) -> (Option<Fault>, Duration) {
        // Always draw the same number of values per request, so that one request's outcome
        // does not shift the sequence of the next ones.
        let u: f64 = rng.random();
        let l: f64 = rng.random();
        let fault = if u < self.error_5xx {
            Some(Fault::Error5xx)
        } else if u < self.error_5xx + self.timeout {
            Some(Fault::Timeout)
        } else if u < self.error_5xx + self.timeout + self.reset {
            Some(Fault::Reset)
        } else {
            None
        };
        let delay = match self.latency {
            None => Duration::ZERO,
            Some((lo, hi)) => lo + (hi - lo).mul_f64(l),
        };
        (fault, delay)
    }

    /// Whether one request's correction is silently ineffective (its own random stream, so
    /// that turning it on does not change which requests get the other faults).
    pub(crate) fn draw_ineffective(&self, rng: &mut StdRng) -> bool {
        self.ineffective > 0.0 && rng.random::<f64>() < self.ineffective
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("none");
        }
        let mut parts = Vec::new();
        for (name, p) in [
            ("5xx", self.error_5xx),
            ("timeout", self.timeout),
            ("reset", self.reset),
        ] {
            if p > 0.0 {
                parts.push(format!("{name}={p}"));
            }
        }
        if let Some((lo, hi)) = self.latency {
            if lo == hi {
                parts.push(format!("latency={}ms", lo.as_millis()));
            } else {
                parts.push(format!("latency={}ms-{}ms", lo.as_millis(), hi.as_millis()));
            }
        }
        if self.ineffective > 0.0 {
            parts.push(format!("ineffective={}", self.ineffective));
        }
        f.write_str(&parts.join(","))
    }
}

fn probability(key: &str, value: &str) -> Result<f64, String> {
    let (num, scale) = match value.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (value, 1.0),
    };
    let p: f64 = num.parse().map_err(|_| {
        format!("`{key}={value}`: `{value}` is not a probability (0..1 or a percentage)")
    })?;
    let p = p / scale;
    if !(0.0..=1.0).contains(&p) || !p.is_finite() {
        return Err(format!(
            "`{key}={value}`: the probability must be between 0 and 1"
        ));
    }
    Ok(p)
}

fn latency(value: &str) -> Result<(Duration, Duration), String> {
    let bad = || {
        format!("`latency={value}` is not a latency; write for example `20ms`, `1s` or `5ms-40ms`")
    };
    match value.split_once('-') {
        None => {
            let d = duration(value, None).ok_or_else(bad)?;
            Ok((d, d))
        }
        Some((a, b)) => {
            let hi = duration(b.trim(), None).ok_or_else(bad)?;
            // `5-40ms`: the lower end takes the upper end's unit.
            let unit = b
                .trim()
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
            let lo = duration(a.trim(), Some(unit)).ok_or_else(bad)?;
            if lo > hi {
                return Err(format!("`latency={value}`: the range is reversed"));
            }
            Ok((lo, hi))
        }
    }
}

fn duration(text: &str, default_unit: Option<&str>) -> Option<Duration> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let unit = match (unit.trim(), default_unit) {
        ("", Some(u)) => u,
        (u, _) => u,
    };
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        _ => return None,
    };
    if !secs.is_finite() || secs > 600.0 {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_the_documented_spec() {
        let f = Faults::parse("5xx=0.05,timeout=0.01,reset=0.01,latency=20ms").unwrap();
        assert_eq!(f.error_5xx, 0.05);
        assert_eq!(f.timeout, 0.01);
        assert_eq!(f.reset, 0.01);
        assert_eq!(
            f.latency,
            Some((Duration::from_millis(20), Duration::from_millis(20)))
        );
        assert_eq!(
            f.to_string(),
            "5xx=0.05,timeout=0.01,reset=0.01,latency=20ms"
        );
        let f = Faults::parse("latency=5ms-40ms, 5xx=10%").unwrap();
        assert_eq!(
            f.latency,
            Some((Duration::from_millis(5), Duration::from_millis(40)))
        );
        assert_eq!(f.error_5xx, 0.1);
        let f = Faults::parse("latency=5-40ms").unwrap();
        assert_eq!(
            f.latency,
            Some((Duration::from_millis(5), Duration::from_millis(40)))
        );
        assert_eq!(Faults::parse("").unwrap(), Faults::none());
        assert_eq!(Faults::parse("none").unwrap(), Faults::none());
        // Silently ineffective corrections: independent of the exclusive faults.
        let f = Faults::parse("ineffective=0.2,5xx=0.9").unwrap();
        assert_eq!(f.ineffective, 0.2);
        assert!(!f.is_none());
        assert_eq!(f.to_string(), "5xx=0.9,ineffective=0.2");
        assert_eq!(Faults::parse("ineffective=100%").unwrap().ineffective, 1.0);
        let mut rng = StdRng::seed_from_u64(3);
        let n = (0..1000)
            .filter(|_| {
                Faults::parse("ineffective=0.2")
                    .unwrap()
                    .draw_ineffective(&mut rng)
            })
            .count();
        assert!((140..=260).contains(&n), "{n}");
        assert!(!Faults::none().draw_ineffective(&mut rng));
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "5xx=2",
            "5xx=-0.1",
            "5xx",
            "boom=0.1",
            "latency=fast",
            "latency=40ms-5ms",
            "latency=20",
            "5xx=0.6,reset=0.6",
            "5xx=0.1,5xx=0.2",
            "ineffective=1.5",
        ] {
            assert!(Faults::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn draws_are_deterministic_and_respect_probabilities() {
        let f = Faults::parse("5xx=0.25,timeout=0.25,reset=0.25,latency=1ms-3ms").unwrap();
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..400).map(|_| f.draw(&mut rng)).collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        let count = |k| a.iter().filter(|(x, _)| *x == k).count();
        for k in [
            Some(Fault::Error5xx),
            Some(Fault::Timeout),
            Some(Fault::Reset),
            None,
        ] {
            let n = count(k);
            assert!((60..=140).contains(&n), "{k:?}: {n}");
        }
        assert!(
            a.iter()
                .all(|(_, d)| *d >= Duration::from_millis(1) && *d <= Duration::from_millis(3))
        );
        let none = Faults::none();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(none.draw(&mut rng), (None, Duration::ZERO));
    }
}
