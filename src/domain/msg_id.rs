//! Message ids as providers issue them.

use std::fmt;

use super::ProviderKind;

/// A message id: JPush ids are u64 (never through a float), TPNS push ids are strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MsgId {
    Jpush(u64),
    Tpns(String),
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgId::Jpush(n) => write!(f, "{n}"),
            MsgId::Tpns(s) => f.write_str(s),
        }
    }
}

impl MsgId {
    /// Parse an id written as text, by the rules of `kind`.
    pub fn parse(kind: ProviderKind, text: &str) -> Result<MsgId, String> {
        let t = text.trim();
        match kind {
            ProviderKind::Jpush => {
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("`{t}` is not a JPush msg_id (an unsigned integer)"));
                }
                match t.parse::<u64>() {
                    Ok(0) => Err("0 is not a JPush msg_id".to_string()),
                    Ok(n) => Ok(MsgId::Jpush(n)),
                    Err(_) => Err(format!(
                        "`{t}` is too large for a JPush msg_id (at most 18446744073709551615)"
                    )),
                }
            }
            ProviderKind::Tpns => {
                if t.is_empty() {
                    return Err("a TPNS push id cannot be empty".to_string());
                }
                if t.len() > 64 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!("`{t}` is not a TPNS push id"));
                }
                Ok(MsgId::Tpns(t.to_string()))
            }
        }
    }
}
