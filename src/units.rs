//! Small value types written as strings in playbooks: durations (`250ms`, `6h`), rates
//! (`10/s`, `600/min`) and failure budgets (`5`, `2%`).

use std::fmt;
use std::time::Duration;

/// Parse `250ms`, `30s`, `5m`/`5min`, `6h`, `1d`. A bare number is refused: a unit-less
/// duration in a playbook is a bug waiting to happen.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(|| {
        format!("`{t}` has no unit; write it with one of ms, s, m, h, d (for example `250ms` or `6h`)")
    })?;
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        format!("`{t}` is not a duration (expected for example `250ms`, `30s`, `6h`)")
    })?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "s" | "sec" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86400.0,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` in `{t}`; use ms, s, m, h or d"
            ));
        }
    };
    if !secs.is_finite() || secs > 366.0 * 86400.0 {
        return Err(format!("`{t}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Render a duration compactly for people: `250ms`, `1.5s`, `3m20s`, `2h05m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        let s = format!("{secs:.1}");
        return format!("{}s", s.trim_end_matches(".0"));
    }
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else {
        format!("{m}m{s:02}s")
    }
}

/// A request rate: `count` requests per `per`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub count: f64,
    pub per: Duration,
}

impl Rate {
    pub const fn per_second(count: f64) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(1),
        }
    }

    pub const fn per_minute(count: f64) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(60),
        }
    }

    pub const fn per_hour(count: f64) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(3600),
        }
    }

    pub fn per_sec(&self) -> f64 {
        self.count / self.per.as_secs_f64()
    }

    /// Time between two requests when paced evenly.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.per.as_secs_f64() / self.count)
    }

    pub fn parse(text: &str) -> Result<Rate, String> {
        let t = text.trim();
        let (num, unit) = t.split_once('/').ok_or_else(|| {
            format!("`{t}` is not a rate; write it as N/s, N/min or N/h (for example `10/s`)")
        })?;
        let count: f64 = num
            .trim()
            .parse()
            .map_err(|_| format!("`{t}` is not a rate: `{}` is not a number", num.trim()))?;
        let per = match unit.trim() {
            "s" | "sec" => Duration::from_secs(1),
            "m" | "min" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => {
                return Err(format!(
                    "unknown rate unit `{other}` in `{t}`; use /s, /min or /h"
                ));
            }
        };
        if !count.is_finite() || count <= 0.0 {
            return Err(format!("the rate `{t}` must be greater than zero"));
        }
        if count / per.as_secs_f64() < 1.0 / 86_400.0 {
            return Err(format!("the rate `{t}` is below one request a day"));
        }
        if count / per.as_secs_f64() > 10_000.0 {
            return Err(format!(
                "the rate `{t}` is above 10000/s, which no provider accepts"
            ));
        }
        Ok(Rate { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            3600 => "h",
            _ => return write!(f, "{:.3}/s", self.per_sec()),
        };
        if self.count.fract() == 0.0 {
            write!(f, "{}/{unit}", self.count as u64)
        } else {
            write!(f, "{}/{unit}", self.count)
        }
    }
}

/// How many failures a step may have before dispatch stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FailureBudget {
    Count(u64),
    Percent(f64),
}

impl FailureBudget {
    pub fn parse(text: &str) -> Result<FailureBudget, String> {
        let t = text.trim();
        if let Some(p) = t.strip_suffix('%') {
            let v: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("`{t}` is not a percentage"))?;
            if !(0.0..=100.0).contains(&v) {
                return Err(format!("`{t}` must be between 0% and 100%"));
            }
            return Ok(FailureBudget::Percent(v));
        }
        t.parse::<u64>().map(FailureBudget::Count).map_err(|_| {
            format!("`{t}` is not a failure budget; write a count (`5`) or a percentage (`2%`)")
        })
    }

    /// The number of failures allowed among `targets` targets. Dispatch never risks more, and
    /// stops for good once they happened (exec/budget.rs).
    pub fn allowed(&self, targets: u64) -> u64 {
        match *self {
            FailureBudget::Count(n) => n,
            // Floor: 2% of 120 targets allows 2 failures, never 3. But at least 1: with none
            // allowed nothing could be sent (any request could fail), so a percentage of a
            // small run stops at its first failure instead.
            FailureBudget::Percent(p) => {
                (((targets as f64) * p / 100.0 + 1e-9).floor() as u64).max(1)
            }
        }
    }
}

impl fmt::Display for FailureBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureBudget::Count(n) => write!(f, "{n}"),
            FailureBudget::Percent(p) => write!(f, "{p}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("10y")
                .unwrap_err()
                .contains("unknown duration unit")
        );
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(Rate::parse("10/s").unwrap().per_sec(), 10.0);
        assert_eq!(Rate::parse("600/min").unwrap().per_sec(), 10.0);
        assert_eq!(
            Rate::parse("200/h").unwrap().interval(),
            Duration::from_secs(18)
        );
        assert!(
            Rate::parse("0/s")
                .unwrap_err()
                .contains("greater than zero")
        );
        assert!(Rate::parse("10").unwrap_err().contains("N/s"));
        assert!(Rate::parse("ten/s").is_err());
        assert!(
            Rate::parse("10/day")
                .unwrap_err()
                .contains("unknown rate unit")
        );
        assert_eq!(Rate::parse("600/min").unwrap().to_string(), "600/min");
    }

    #[test]
    fn budgets_never_round_up() {
        assert_eq!(FailureBudget::parse("2%").unwrap().allowed(120), 2);
        assert_eq!(FailureBudget::parse("10%").unwrap().allowed(50), 5);
        assert_eq!(FailureBudget::parse("3").unwrap().allowed(1), 3);
        assert_eq!(
            FailureBudget::parse("10%").unwrap().allowed(9),
            1,
            "at least one"
        );
        assert!(FailureBudget::parse("101%").is_err());
        assert!(FailureBudget::parse("-1").is_err());
    }
}
