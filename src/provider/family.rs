//! Rate-limit families: the groups of calls a provider counts against one quota
//! (`jpush_push`, `tpns_statistics`, …). Each provider declares its own (`FamilySpec`); the
//! executor keeps one pacer per family.

use std::fmt;

use serde::{Serialize, Serializer};

/// A family's name, as plans and journals write it. Read back through the registry, which
/// knows every provider's families.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family(&'static str);

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
