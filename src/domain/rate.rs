//! Request rates as playbooks write them: `10/s`, `600/min`, `200/h`.

use std::fmt;
use std::time::Duration;

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
        if count / per.as_secs_f64() > 100_000.0 {
            return Err(format!(
                "the rate `{t}` is above 100000/s, which no provider accepts"
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(Rate::parse("100000/s").is_ok());
        assert!(
            Rate::parse("100001/s")
                .unwrap_err()
                .contains("above 100000/s")
        );
    }
}
