//! The corrective actions a step can take.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Recall,
    Stop,
    Override,
    CancelScheduled,
}

impl Action {
    pub const ALL: [(&'static str, Action); 4] = [
        ("recall", Action::Recall),
        ("stop", Action::Stop),
        ("override", Action::Override),
        ("cancel_scheduled", Action::CancelScheduled),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Recall => "recall",
            Action::Stop => "stop",
            Action::Override => "override",
            Action::CancelScheduled => "cancel_scheduled",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
