//! Body fields several TPNS endpoints share: `pushId`, audience types and their targeting
//! fields, Beijing time.

use jiff::tz::{self, TimeZone};
use serde_json::{Map, Value};

use super::envelope::{INVALID, MISSING};

/// `pushId` (documented) or `pushid` (every sample); any letter case; a string or an integer.
pub(super) fn push_id(obj: &Map<String, Value>) -> Result<String, (u32, String)> {
    let mut found: Option<String> = None;
    for (k, v) in obj {
        if !k.eq_ignore_ascii_case("pushid") {
            continue;
        }
        let id = match v {
            Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
            Value::Number(n) if n.is_u64() => n.to_string(),
            _ => {
                return Err((
                    INVALID,
                    format!("`{k}` must be a non-empty string or an integer"),
                ));
            }
        };
        if let Some(f) = &found
            && *f != id
        {
            return Err((INVALID, format!("`{k}` and another pushId key disagree")));
        }
        found = Some(id);
    }
    found.ok_or((MISSING, "pushId is missing".into()))
}

/// Audience types stop / revoke / override work for (seed 004: 「所有设备」「批量账号」「标签」).
pub(super) const CORRECTABLE: &[&str] = &["all", "tag", "account_list"];
/// Audience types a scheduled task can be cancelled for (reference §4.0).
pub(super) const CANCELLABLE: &[&str] = &["all", "tag", "package_account_push"];
/// Audience types under the 1/s push quota (reference §3, §6: all / tag / account package;
/// **choice:** account_list too, as the corrective family the sandbox limits).
pub(super) const RATE_LIMITED: &[&str] = &["all", "tag", "account_list", "package_account_push"];
pub(super) const AUDIENCE_TYPES: &[&str] = &[
    "all",
    "tag",
    "token",
    "token_list",
    "account",
    "account_list",
    "package_account_push",
    "package_token_push",
];

/// TPNS dates are Beijing time (UTC+8).
pub(super) fn beijing() -> TimeZone {
    TimeZone::fixed(tz::offset(8))
}

/// The targeting field(s) an audience type uses.
pub(super) fn targeting_keys(audience_type: &str) -> &'static [&'static str] {
    match audience_type {
        "tag" => &["tag_rules", "tag_list"],
        "token" | "token_list" => &["token_list"],
        "account" | "account_list" => &["account_list"],
        "package_account_push" | "package_token_push" => &["upload_id"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn push_ids_in_either_spelling() {
        let m = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(push_id(&m(json!({"pushId": "42"}))).unwrap(), "42");
        assert_eq!(push_id(&m(json!({"pushid": 42}))).unwrap(), "42");
        assert_eq!(
            push_id(&m(json!({"pushId": "42", "pushid": "42"}))).unwrap(),
            "42"
        );
        assert_eq!(
            push_id(&m(json!({"pushId": "42", "pushid": "43"})))
                .unwrap_err()
                .0,
            INVALID
        );
        assert_eq!(
            push_id(&m(json!({"push_id": "42"}))).unwrap_err().0,
            MISSING
        );
        assert_eq!(push_id(&m(json!({"pushId": 4.5}))).unwrap_err().0, INVALID);
    }
}
