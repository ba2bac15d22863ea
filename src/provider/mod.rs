//! Provider protocols: how each corrective action becomes HTTP requests, and how answers are
//! classified. Request building is pure (the plan's previews use the same code as the run).

pub mod answer;
pub mod auth;
pub mod endpoint;
pub mod http;
pub mod jpush;
pub mod tpns;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Rate-limit families: one client-side pacer each (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// JPush Push API: push, recall, cid pool (600/min per AppKey by default).
    JpushPush,
    /// TPNS /v3/push/app to all, tags or account packages (1/s).
    TpnsPush,
    /// TPNS stop / revoke / cancel (no documented limit; paced like pushes).
    TpnsTask,
    /// TPNS statistics, including get_push_record (200/h).
    TpnsStatistics,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::JpushPush => "jpush_push",
            Family::TpnsPush => "tpns_push",
            Family::TpnsTask => "tpns_task",
            Family::TpnsStatistics => "tpns_statistics",
        }
    }
}

/// One HTTP request, before auth headers are added.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSpec {
    pub family: Family,
    pub method: &'static str,
    /// Path and query, appended to the provider's base URL.
    pub path: String,
    pub body: Option<Value>,
}

/// The message an override sends, rendered from the step's templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RenderedMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extras: Option<Value>,
    /// JPush: the APNs collapse id sent with the override (from the step or the ledger).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apns_collapse_id: Option<String>,
    /// TPNS: Android action intent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
}
