//! JPush's error envelope and rate-limit headers.

use serde_json::{Value, json};

use crate::sandbox::exchange::Reply;
use crate::sandbox::rate_window::WindowState;

/// `{"error":{"code":…,"message":…}}`.
pub(super) fn error_body(code: u32, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

pub(super) fn error(status: u16, code: u32, message: &str) -> Reply {
    Reply::json(status, error_body(code, message))
}

/// HTTP 400 with a JPush error code: business errors are 400 unless the code says otherwise.
pub(super) fn bad(code: u32, message: impl Into<String>) -> Reply {
    let m = message.into();
    error(400, code, &m)
}

/// `X-Rate-Limit-*` for the push family window, on every JPush answer. **Choice:** the header
/// set the official SDKs read (`-Limit`, not the `-Quota` of the newer docs page).
pub(super) fn rate_headers(w: &WindowState) -> Vec<(&'static str, String)> {
    vec![
        ("X-Rate-Limit-Limit", w.limit.to_string()),
        ("X-Rate-Limit-Remaining", w.remaining.to_string()),
        ("X-Rate-Limit-Reset", w.reset_secs.to_string()),
    ]
}
