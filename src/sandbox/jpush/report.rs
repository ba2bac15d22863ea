//! The Report API (report.jpush.cn; the sandbox answers it on its one port, routed by path):
//! `GET /v3/received/detail?msg_ids=…` and `POST /v3/status/message`, from
//! reference/jpush.md §5, with the figures of delivery.rs.
//!
//! **Choices** where the reference is silent:
//!
//! - A msg_id the app never sent, or sent more than 28 days ago (the report's retention),
//!   gets an element with every count `null` (the fields "may be null").
//! - Counts of platforms the message did not go to are `null`; `android_pns_received` sums
//!   the vendor channels; `*_sent` is the vendor channel's audience (handed over at once);
//!   custom-message, live-activity and Windows fields are `0` or `null`.
//! - Parameter errors are HTTP 400 with code 3002 (the one the reference documents,
//!   "Invalid parameter"); more than 100 msg_ids or 1000 registration ids are parameter
//!   errors; a `msg_id` sent as a JSON string is 3002 (jpush-api-nodejs-client #72).
//! - status/message: a registration id in no message's `sample_registration_ids` is not in
//!   the app (2); one of another message is not a target (3); for a `date` other than the
//!   day (Beijing time) the message was sent, every device is "not a target" (3): the report
//!   keeps delivery records by day.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::Jpush;
use super::delivery::ANDROID_VENDORS;
use super::envelope::bad;
use super::store::JpushMessage;
use crate::sandbox::exchange::{Ctx, Reply, Req};

const MAX_IDS: usize = 100;
const MAX_REGIDS: usize = 1000;
const RETENTION: SignedDuration = SignedDuration::from_hours(28 * 24);

fn invalid(what: &str) -> Reply {
    bad(3002, format!("Invalid parameter `{what}`."))
}

/// The `msg_ids` query parameter: comma-separated (`,` or `%2C`), 1 to 100 positive integers.
fn msg_ids(query: Option<&str>) -> Result<Vec<u64>, Reply> {
    let raw = query
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("msg_ids="))
        .ok_or_else(|| invalid("msg_ids").note("no msg_ids parameter"))?;
    let raw = raw.replace("%2C", ",").replace("%2c", ",");
    let ids: Result<Vec<u64>, _> = raw
        .split(',')
        .map(|s| s.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or(s))
        .collect();
    let ids = ids.map_err(|s| invalid("msg_ids").note(format!("`{s}` is not a msg_id")))?;
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(invalid("msg_ids").note(format!(
            "{} msg_ids: between 1 and {MAX_IDS} a request",
            ids.len()
        )));
    }
    Ok(ids)
}

fn beijing_date(t: Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
        .to_string()
}

/// One element of `/v3/received/detail`.
fn detail(id: u64, m: Option<&JpushMessage>, now: Timestamp) -> Value {
    let mut v = Map::new();
    v.insert("msg_id".into(), Value::String(id.to_string()));
    let fields = [
        "jpush_received",
        "android_pns_sent",
        "android_pns_received",
        "ios_apns_sent",
        "ios_apns_received",
        "ios_msg_received",
        "live_acivity_sent",
        "live_acivity_received",
        "wp_mpns_sent",
        "quickapp_jpush_received",
        "quickapp_pns_sent",
        "hmos_hmpns_sent",
        "hmos_hmpns_received",
        "hmos_msg_sent",
        "hmos_msg_received",
    ];
    for f in fields {
        v.insert(f.into(), Value::Null);
    }
    let Some(m) = m else {
        return Value::Object(v);
    };
    let sent = m.core.effective_sent;
    if now.duration_since(sent) > RETENTION {
        return Value::Object(v);
    }
    let d = &m.delivery;
    let on = |platform: &str| {
        m.core.platforms.iter().any(|p| p == platform)
            || (m.core.platforms.is_empty()
                && super::delivery::channels_of(platform)
                    .iter()
                    .any(|ch| d.receivers.contains_key(*ch)))
    };
    let rec = |ch: &str| d.received(ch, sent, now);
    let aud = |ch: &str| d.receivers.get(ch).copied().unwrap_or(0);
    let mut set = |k: &str, n: u64| {
        v.insert(k.into(), Value::from(n));
    };
    if on("android") {
        set("jpush_received", rec("jpush"));
        set(
            "android_pns_sent",
            ANDROID_VENDORS.iter().map(|c| aud(c)).sum(),
        );
        set(
            "android_pns_received",
            ANDROID_VENDORS.iter().map(|c| rec(c)).sum(),
        );
    }
    if on("ios") {
        set("ios_apns_sent", aud("apns"));
        set("ios_apns_received", rec("apns"));
        set("ios_msg_received", 0);
    }
    if on("quickapp") {
        set("quickapp_jpush_received", rec("quickapp"));
        set("quickapp_pns_sent", 0);
    }
    if on("hmos") {
        set("hmos_hmpns_sent", aud("hmos"));
        set("hmos_hmpns_received", rec("hmos"));
        set("hmos_msg_sent", 0);
        set("hmos_msg_received", 0);
    }
    Value::Object(v)
}

impl Jpush {
    /// `GET /v3/received/detail?msg_ids=…`.
    pub(super) fn received_detail(&self, ctx: &Ctx<'_>, query: Option<&str>) -> Reply {
        let ids = match msg_ids(query) {
            Ok(ids) => ids,
            Err(r) => return r,
        };
        let list: Vec<Value> = ids
            .iter()
            .map(|id| detail(*id, self.messages.get(*id), ctx.now))
            .collect();
        Reply::json(200, Value::Array(list))
    }

    /// `POST /v3/status/message` `{msg_id, registration_ids, date?}`.
    pub(super) fn status_message(&self, ctx: &Ctx<'_>, req: &Req<'_>) -> Reply {
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(req.body) else {
            return invalid("body").note("the body is not a JSON object");
        };
        let id = match body.get("msg_id") {
            Some(Value::Number(n)) => match n.as_u64().filter(|n| *n > 0) {
                Some(n) => n,
                None => return invalid("msg_id").note("msg_id is not a positive integer"),
            },
            Some(Value::String(_)) => {
                return invalid("msg_id")
                    .note("msg_id sent as a JSON string; JPush wants a number");
            }
            _ => return invalid("msg_id").note("no msg_id"),
        };
        let regids: Vec<&str> = match body.get("registration_ids") {
            Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_REGIDS => {
                match a.iter().map(Value::as_str).collect::<Option<Vec<_>>>() {
                    Some(r) => r,
                    None => {
                        return invalid("registration_ids").note("registration ids are strings");
                    }
                }
            }
            _ => {
                return invalid("registration_ids")
                    .note(format!("a list of 1 to {MAX_REGIDS} registration ids"));
            }
        };
        let date = match body.get("date") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.parse::<jiff::civil::Date>().is_ok() => Some(s.clone()),
            Some(_) => return invalid("date").note("date is yyyy-mm-dd"),
        };
        let m = self.messages.get(id);
        // The app's known devices: every message's samples, gathered once per request.
        let app: std::collections::HashSet<&str> = self
            .messages
            .iter()
            .flat_map(|x| x.delivery.samples.iter().map(String::as_str))
            .collect();
        let mut out = Map::new();
        for r in regids {
            let known = app.contains(r);
            let status = match m {
                _ if !known => 2,
                None => 3,
                Some(m) if !m.delivery.samples.iter().any(|s| s == r) => 3,
                Some(m)
                    if date
                        .as_ref()
                        .is_some_and(|d| *d != beijing_date(m.core.effective_sent)) =>
                {
                    3
                }
                Some(m) => {
                    if m.delivery
                        .device_received(id, r, m.core.effective_sent, ctx.now)
                    {
                        0
                    } else {
                        1
                    }
                }
            };
            out.insert(r.to_string(), json!({ "status": status }));
        }
        Reply::json(200, Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_ids_parameter() {
        assert_eq!(msg_ids(Some("msg_ids=1,2")).unwrap(), vec![1, 2]);
        assert_eq!(msg_ids(Some("x=1&msg_ids=3%2C4")).unwrap(), vec![3, 4]);
        assert!(msg_ids(Some("msg_ids=")).is_err());
        assert!(msg_ids(Some("msg_ids=a")).is_err());
        assert!(msg_ids(None).is_err());
        let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
        assert!(msg_ids(Some(&format!("msg_ids={}", many.join(",")))).is_err());
    }
}
