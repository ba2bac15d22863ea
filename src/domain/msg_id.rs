//! Message ids as providers issue them. How an id is written and checked is the provider's
//! business (`Provider::parse_id`); here it is only a value.

use std::fmt;

/// A message id: an exact unsigned integer (JPush msg_ids exceed 2^53, so never through a
/// float) or text (TPNS push ids, GeTui task ids, …), as the provider defines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MsgId {
    Num(u64),
    Text(String),
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgId::Num(n) => write!(f, "{n}"),
            MsgId::Text(s) => f.write_str(s),
        }
    }
}
