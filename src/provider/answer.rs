//! Provider answers: what came back, and the classes every provider sorts its answers into
//! (done, gone, throttled, transient, failed). Each provider's own module classifies its
//! envelopes; the executor acts on the class.

use std::time::Duration;

use serde_json::Value;

/// What one HTTP exchange produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub rate: RateHeaders,
    pub body: Vec<u8>,
}

/// Rate-limit hints from response headers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateHeaders {
    /// `X-Rate-Limit-Limit` (the SDKs) or `X-Rate-Limit-Quota` (the docs): both are read.
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// Seconds until the window resets.
    pub reset: Option<u64>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
}

impl RateHeaders {
    pub fn from_headers(get: impl Fn(&str) -> Option<String>) -> RateHeaders {
        let num = |name: &str| get(name).and_then(|v| v.trim().parse::<u64>().ok());
        RateHeaders {
            limit: num("x-rate-limit-limit").or_else(|| num("x-rate-limit-quota")),
            remaining: num("x-rate-limit-remaining"),
            reset: num("x-rate-limit-reset"),
            retry_after: num("retry-after"),
        }
    }

    /// How long the whole family should wait, if the headers say so.
    pub fn pause(&self) -> Option<Duration> {
        self.retry_after.or(self.reset).map(Duration::from_secs)
    }

    /// The window is used up (`X-Rate-Limit-Remaining: 0`).
    pub fn exhausted(&self) -> bool {
        self.remaining == Some(0)
    }
}

/// What an answer means for the target.
#[derive(Debug, Clone, PartialEq)]
pub enum Class {
    Done(Done),
    /// The message no longer exists (JPush 1003 / "doesn't exist", TPNS 1008015).
    Gone {
        code: Option<i64>,
        message: String,
    },
    /// Over the rate limit: pause the whole family, then retry.
    Throttled {
        code: Option<i64>,
        pause: Option<Duration>,
    },
    /// Worth retrying (5xx, JPush 1000/1030, TPNS 1008004).
    Transient {
        code: Option<i64>,
        message: String,
    },
    /// Definitive error.
    Failed {
        code: Option<i64>,
        message: String,
    },
    /// The provider refused a duplicate of a request already made (TPNS "Push repeat"): a
    /// failure, unless an earlier attempt's answer was lost — then that attempt went through.
    Repeat {
        code: Option<i64>,
        message: String,
    },
}

/// What a successful answer carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Done {
    /// The new message's id (override pushes).
    pub new_id: Option<String>,
    /// Facts worth journaling with the answer, under their ledger names (a looked-up TPNS
    /// `collapse_id`).
    pub facts: serde_json::Map<String, Value>,
    /// Anything else a procedure reads from the answer (a cid list, a task status); not
    /// journaled.
    pub data: Option<Value>,
}

impl Class {
    pub fn name(&self) -> &'static str {
        match self {
            Class::Done(_) => "done",
            Class::Gone { .. } => "gone",
            Class::Throttled { .. } => "throttled",
            Class::Transient { .. } => "transient",
            Class::Failed { .. } | Class::Repeat { .. } => "failed",
        }
    }

    pub fn code(&self) -> Option<i64> {
        match self {
            Class::Done(_) => None,
            Class::Gone { code, .. }
            | Class::Throttled { code, .. }
            | Class::Transient { code, .. }
            | Class::Failed { code, .. }
            | Class::Repeat { code, .. } => *code,
        }
    }

    pub fn message(&self) -> Option<&str> {
        match self {
            Class::Gone { message, .. }
            | Class::Transient { message, .. }
            | Class::Failed { message, .. }
            | Class::Repeat { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// The body as JSON, if it is.
pub fn json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// A string-or-number field as text (ids come both ways).
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The start of a body, for messages.
pub fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_headers_accept_both_names() {
        let h = |n: &str| match n {
            "x-rate-limit-limit" => Some("600".to_string()),
            "x-rate-limit-remaining" => Some("0".to_string()),
            "x-rate-limit-reset" => Some("37".to_string()),
            _ => None,
        };
        let r = RateHeaders::from_headers(h);
        assert_eq!(
            (r.limit, r.remaining, r.reset),
            (Some(600), Some(0), Some(37))
        );
        assert!(r.exhausted());
        assert_eq!(r.pause(), Some(Duration::from_secs(37)));
        let r =
            RateHeaders::from_headers(|n| (n == "x-rate-limit-quota").then(|| "2400".to_string()));
        assert_eq!(r.limit, Some(2400));
    }
}
