//! Instants as playbooks and the command line write them: RFC 3339 with an offset. When one
//! does not parse, say why — a month or day out of range is not a missing offset.

use jiff::Timestamp;

/// Why `text` is not an RFC 3339 timestamp with an offset, or the instant.
pub fn parse_timestamp(text: &str) -> Result<Timestamp, TimestampError> {
    let t = text.trim();
    parse_instant(t).map_err(|e| {
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

/// `text` as an instant, as `text.parse::<Timestamp>()` reads it (the same instants, the same
/// errors). The shape every ledger export writes, `2026-11-20T12:30:00+08:00` (with or without
/// a fraction, or `Z`), is read directly; anything else goes to jiff. A million-record ledger
/// is a million timestamps, and jiff's general parser was a tenth of planning one.
pub fn parse_instant(text: &str) -> Result<Timestamp, jiff::Error> {
    match fast_rfc3339(text.as_bytes()) {
        Some(t) => Ok(t),
        None => text.parse(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)` with every field in range, else `None` (the caller
/// asks jiff, which accepts more and explains what it refuses).
fn fast_rfc3339(b: &[u8]) -> Option<Timestamp> {
    fn digits(b: &[u8]) -> Option<i64> {
        b.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    }
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute, second) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let mut rest = &b[19..];
    let mut nanos = 0i64;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&rest[1..=n])? * 10i64.pow(9 - n as u32);
        rest = &rest[1 + n..];
    }
    let offset = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    // Second 60 (a leap second) and the rest go to jiff, which has its own rules for them.
    if year < 1 || day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Timestamp::new(secs, nanos as i32).ok()
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

    /// The direct reading gives what jiff gives, for what it reads and for what it leaves.
    #[test]
    fn instants_read_directly_are_jiffs() {
        let cases = [
            "2026-11-20T12:30:00+08:00",
            "2026-11-20T12:30:00Z",
            "2026-11-20T12:30:00.5Z",
            "2026-11-20T12:30:00.123456789-05:30",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "2000-02-29T23:59:59+23:59",
            "2100-02-28T00:00:00-23:59",
            "0001-01-01T00:00:00+00:00",
            "9999-12-30T21:59:59Z",
            "1600-03-01T00:00:00Z",
        ];
        for c in cases {
            assert!(fast_rfc3339(c.as_bytes()).is_some(), "{c} read directly");
            assert_eq!(
                parse_instant(c).unwrap(),
                c.parse::<Timestamp>().unwrap(),
                "{c}"
            );
        }
        // Left to jiff (it reads some, refuses others), with jiff's answer either way.
        let others = [
            "2026-11-31T12:30:00+08:00",
            "2100-02-29T00:00:00Z",
            "2026-11-20T12:30:60Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20t12:30:00Z",
            "2026-11-20 12:30:00Z",
            "2026-11-20T12:30:00",
            "2026-11-20T12:30:00+0800",
            "2026-11-20T12:30:00+08",
            "2026-11-20T12:30:00.Z",
            "2026-11-20T12:30:00.1234567891Z",
            "2026-11-20T12:30:00+24:00",
            "2026-11-20T12:30Z",
            "2026-11-20T12:30:00z",
            "-0001-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59-01:00",
            "+2026-11-20T12:30:00Z",
            "2026-11-20T12:30:00+08:00[Asia/Shanghai]",
        ];
        for c in others {
            assert!(fast_rfc3339(c.as_bytes()).is_none(), "{c} left to jiff");
            assert_eq!(parse_instant(c).ok(), c.parse::<Timestamp>().ok(), "{c}");
        }
        // Every second of a few days around a leap day, and a spread of years and offsets.
        for days in [-700_000i64, -1, 0, 11_016, 11_017, 20_512, 2_900_000] {
            for s in (0..86_400).step_by(997) {
                let t = Timestamp::from_second(days * 86_400 + s).unwrap();
                for off in ["+08:00", "-05:30", "Z", "+00:00", "+23:59", "-23:59"] {
                    let tz = jiff::tz::Offset::from_seconds(match off {
                        "Z" | "+00:00" => 0,
                        "+08:00" => 8 * 3600,
                        "-05:30" => -(5 * 3600 + 1800),
                        "+23:59" => 23 * 3600 + 59 * 60,
                        _ => -(23 * 3600 + 59 * 60),
                    })
                    .unwrap();
                    let civil = tz.to_datetime(t);
                    let text = format!("{}{off}", civil.strftime("%Y-%m-%dT%H:%M:%S"));
                    assert_eq!(parse_instant(&text).unwrap(), t, "{text}");
                }
            }
        }
    }

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
