//! Rate-limit families: the groups of calls a provider counts against one quota
//! (`jpush_push`, `tpns_statistics`, …). Each provider declares its own (`FamilySpec`); the
//! executor keeps one pacer per family.

use std::fmt;

use serde::{Serialize, Serializer};

/// A family's name, as plans and journals write it. Read back through the registry, which
/// knows every provider's families; ordered as the providers declare them (a plan lists its
/// families in that order).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Family(&'static str);

impl Ord for Family {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (super::registry::family_rank(*self), self.0)
            .cmp(&(super::registry::family_rank(*other), other.0))
    }
}

impl PartialOrd for Family {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Family {
    pub const fn new(name: &'static str) -> Family {
        Family(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Family {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}
