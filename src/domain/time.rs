//! Instants as playbooks and the command line write them: RFC 3339 with an offset. When one
//! does not parse, say why — a month or day out of range is not a missing offset.

use jiff::Timestamp;

/// Why `text` is not an RFC 3339 timestamp with an offset, or the instant.
pub fn parse_timestamp(text: &str) -> Result<Timestamp, TimestampError> {
    let t = text.trim();
    t.parse::<Timestamp>().map_err(|e| {
        let detail = e.to_string();
        let reason = if detail.contains("offset") {
            Reason::NoOffset
        } else if detail.contains("not in the required range")
            || detail.contains("is invalid, must be in range")
            || detail.contains("not valid")
        {
            // jiff names the field and its range: "parameter 'month' is not in the required
            // range of 1..=12", "parameter 'day' for `2026-11` is invalid, must be in range …".
            Reason::OutOfRange(
                detail
                    .rsplit(": ")
                    .next()
                    .unwrap_or(&detail)
                    .replace("parameter ", ""),
            )
        } else {
            Reason::NotATime
        };
        TimestampError { reason }
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    pub reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A valid date and time without `Z` or `+08:00`.
    NoOffset,
    /// A field out of its range (month 13, day 31 of November), as jiff words it.
    OutOfRange(String),
    NotATime,
}

impl TimestampError {
    /// "is not a valid date: 'month' is not in the required range of 1..=12".
    pub fn explain(&self) -> String {
        match &self.reason {
            Reason::NoOffset => "has no offset: write `Z` or one like `+08:00`".into(),
            Reason::OutOfRange(why) => format!("is not a valid date or time: {why}"),
            Reason::NotATime => "is not an RFC 3339 timestamp".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert!(parse_timestamp("2026-11-20T12:30:00+08:00").is_ok());
        let month = parse_timestamp("2026-13-20T18:50:00+08:00").unwrap_err();
        assert!(month.explain().contains("'month'"), "{}", month.explain());
        let day = parse_timestamp("2026-11-31T17:00:00+08:00").unwrap_err();
        assert!(day.explain().contains("'day'"), "{}", day.explain());
        assert!(day.explain().contains("1..=30"), "{}", day.explain());
        assert_eq!(
            parse_timestamp("2026-11-20T18:50:00").unwrap_err().reason,
            Reason::NoOffset
        );
        assert_eq!(
            parse_timestamp("nope").unwrap_err().reason,
            Reason::NotATime
        );
    }
}
