//! One HTTP request as a provider describes it, before auth headers are added. Building it is
//! pure: the plan's previews and the run use the same builders.

use serde::Serialize;
use serde_json::Value;

use super::Family;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSpec {
    pub family: Family,
    pub method: &'static str,
    /// Path and query, appended to the provider's base URL.
    pub path: String,
    pub body: Option<Value>,
    /// What the request is for, in the provider's own words (`recall`, `push`, `cid`, …): how
    /// its answer reads (`Provider::classify`). Not sent.
    #[serde(skip)]
    pub call: &'static str,
}

impl RequestSpec {
    /// `METHOD /path` without the query, as the journal records it.
    pub fn summary(&self) -> String {
        format!(
            "{} {}",
            self.method,
            self.path.split('?').next().unwrap_or("")
        )
    }
}
