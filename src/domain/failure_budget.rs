//! `limits.max_failures`: a count (`5`) or a percentage (`2%`) of the targets to send.

use std::fmt;

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
