//! Device platforms, as providers name them.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Android,
    Ios,
    Hmos,
    Quickapp,
}

impl Platform {
    pub const ALL: [(&'static str, Platform); 4] = [
        ("android", Platform::Android),
        ("ios", Platform::Ios),
        ("hmos", Platform::Hmos),
        ("quickapp", Platform::Quickapp),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Hmos => "hmos",
            Platform::Quickapp => "quickapp",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, p)| *p)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
