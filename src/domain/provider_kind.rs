//! Which provider a playbook talks to.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Jpush,
    Tpns,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Jpush => "jpush",
            ProviderKind::Tpns => "tpns",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::Jpush => "JPush",
            ProviderKind::Tpns => "TPNS",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
