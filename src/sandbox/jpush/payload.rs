//! Checking a push body like the service does (reference §1, §3 and the Java SDK's payload →
//! error-code fixtures): 1002 missing required, 1003 bad value, 1009 unknown key. Also what the
//! debug views take from a valid one (title, body, platforms).

use serde_json::Value;

/// What the sandbox needs from a valid push body.
pub(super) struct Push {
    pub sendno: String,
    pub cid: Option<String>,
    pub override_msg_id: Option<u64>,
    pub apns_production: Option<bool>,
    pub apns_collapse_id: Option<String>,
    pub platform: Value,
    pub audience: Value,
}

pub(super) type Invalid = (u32, String);

fn invalid<T>(code: u32, message: impl Into<String>) -> Result<T, Invalid> {
    Err((code, message.into()))
}

const TOP_KEYS: &[&str] = &[
    "platform",
    "audience",
    "notification",
    "message",
    "sms_message",
    "options",
    "cid",
    "live_activity",
    "inapp_message",
    "notification_3rd",
    "callback",
];
const PLATFORMS: &[&str] = &["android", "ios", "hmos", "quickapp", "winphone"];
const ANDROID_KEYS: &[&str] = &[
    "alert",
    "title",
    "builder_id",
    "channel_id",
    "category",
    "priority",
    "style",
    "alert_type",
    "big_text",
    "inbox",
    "big_pic_path",
    "extras",
    "large_icon",
    "small_icon_uri",
    "icon_bg_color",
    "intent",
    "uri_activity",
    "uri_action",
    "badge_add_num",
    "badge_set_num",
    "badge_class",
    "sound",
    "show_begin_time",
    "show_end_time",
    "display_foreground",
    "custom_buttons",
];
const IOS_KEYS: &[&str] = &[
    "alert",
    "sound",
    "badge",
    "content-available",
    "mutable-content",
    "category",
    "thread-id",
    "interruption-level",
    "extras",
];
const HMOS_KEYS: &[&str] = &[
    "alert",
    "category",
    "title",
    "large_icon",
    "intent",
    "badge_add_num",
    "badge_set_num",
    "test_message",
    "receipt_id",
    "extras",
    "style",
    "inbox",
    "push_type",
    "extra_data",
    "display_foreground",
    "sound",
    "sound_duration",
    "hm_payload",
];
const QUICKAPP_KEYS: &[&str] = &["alert", "title", "page", "extras"];
const OPTION_KEYS: &[&str] = &[
    "sendno",
    "time_to_live",
    "override_msg_id",
    "apns_production",
    "apns_collapse_id",
    "big_push_duration",
    "third_party_channel",
    "classification",
    "target_event",
    "test_message",
    "receipt_id",
    "active_push",
    "need_backup",
    "business_operation_code",
    "notification_3rd_ver",
    "test_model",
    "auto_truncation",
    "mkt_enable",
    "notification_switch_filter",
];
const AUDIENCE_KEYS: &[&str] = &[
    "tag",
    "tag_and",
    "tag_not",
    "alias",
    "registration_id",
    "segment",
    "abtest",
    "live_activity_id",
    "file",
];

/// A JSON integer (not a float, not a string).
fn integer(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) if n.is_u64() => n.as_u64().map(i128::from),
        Value::Number(n) if n.is_i64() => n.as_i64().map(i128::from),
        _ => None,
    }
}

/// Validate a push body like the service: 1002 missing required, 1003 bad value, 1009 unknown
/// key (reference §1, §3 and the Java SDK's payload → error-code fixtures).
pub(super) fn validate(body: &Value) -> Result<Push, Invalid> {
    let Some(obj) = body.as_object() else {
        return invalid(1003, "the push payload must be a JSON object");
    };
    if let Some(k) = obj.keys().find(|k| !TOP_KEYS.contains(&k.as_str())) {
        return invalid(1009, format!("unsupported key `{k}` in the push payload"));
    }
    let Some(platform) = obj.get("platform") else {
        return invalid(1002, "platform is required");
    };
    let Some(audience) = obj.get("audience") else {
        return invalid(1002, "audience is required");
    };
    if !obj.contains_key("notification") && !obj.contains_key("message") {
        return invalid(1002, "notification or message is required");
    }
    match platform {
        Value::String(s) if s == "all" => {}
        Value::Array(a) if !a.is_empty() => {
            for p in a {
                if !p.as_str().is_some_and(|p| PLATFORMS.contains(&p)) {
                    return invalid(1003, format!("invalid platform {p}"));
                }
            }
        }
        _ => return invalid(1003, format!("invalid platform {platform}")),
    }
    check_audience(audience)?;
    if let Some(n) = obj.get("notification") {
        check_notification(n)?;
    }
    if let Some(m) = obj.get("message") {
        let Some(m) = m.as_object() else {
            return invalid(1003, "message must be an object");
        };
        if !m.get("msg_content").is_some_and(Value::is_string) {
            return invalid(1002, "message.msg_content is required");
        }
    }
    let cid = match obj.get("cid") {
        None => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => return invalid(1003, "cid must be a string from /v3/push/cid"),
    };
    let mut push = Push {
        sendno: "0".into(),
        cid,
        override_msg_id: None,
        apns_production: None,
        apns_collapse_id: None,
        platform: platform.clone(),
        audience: audience.clone(),
    };
    if let Some(options) = obj.get("options") {
        let Some(o) = options.as_object() else {
            return invalid(1003, "options must be an object");
        };
        if let Some(k) = o.keys().find(|k| !OPTION_KEYS.contains(&k.as_str())) {
            return invalid(1009, format!("unsupported key `{k}` in options"));
        }
        if let Some(v) = o.get("sendno") {
            // An unsigned 32-bit value (reference §6: the Node SDK picks 100000..4294967294;
            // a signed bound would refuse half of them), non-zero (§1's options table).
            match integer(v) {
                Some(n) if n != 0 && u32::try_from(n).is_ok() => push.sendno = n.to_string(),
                _ => {
                    return invalid(
                        1003,
                        "options.sendno must be an integer from 1 to 4294967295",
                    );
                }
            }
        }
        if let Some(v) = o.get("time_to_live") {
            match integer(v) {
                Some(n) if (0..=864_000).contains(&n) => {}
                _ => {
                    return invalid(
                        1003,
                        "options.time_to_live must be an integer from 0 to 864000",
                    );
                }
            }
        }
        if let Some(v) = o.get("override_msg_id") {
            // int64 on the wire: a string or a float (even one with an integral value) is an error.
            match integer(v) {
                Some(n) if n > 0 && u64::try_from(n).is_ok() => {
                    push.override_msg_id = Some(n as u64)
                }
                _ => {
                    return invalid(
                        1003,
                        format!(
                            "options.override_msg_id must be a positive JSON integer, found {v}"
                        ),
                    );
                }
            }
        }
        if let Some(v) = o.get("apns_production") {
            match v {
                Value::Bool(b) => push.apns_production = Some(*b),
                _ => return invalid(1003, "options.apns_production must be a boolean"),
            }
        }
        if let Some(v) = o.get("apns_collapse_id") {
            match v {
                Value::String(s) if s.len() <= 64 => push.apns_collapse_id = Some(s.clone()),
                Value::String(_) => {
                    return invalid(1003, "options.apns_collapse_id must be at most 64 bytes");
                }
                _ => return invalid(1003, "options.apns_collapse_id must be a string"),
            }
        }
        if let Some(v) = o.get("big_push_duration")
            && !integer(v).is_some_and(|n| (1..=1400).contains(&n))
        {
            return invalid(
                1003,
                "options.big_push_duration must be an integer from 1 to 1400",
            );
        }
        if let Some(v) = o.get("classification")
            && !integer(v).is_some_and(|n| n == 0 || n == 1)
        {
            return invalid(1003, "options.classification must be 0 or 1");
        }
        if let Some(v) = o.get("third_party_channel")
            && !v.is_object()
        {
            return invalid(1003, "options.third_party_channel must be an object");
        }
    }
    Ok(push)
}

fn check_audience(audience: &Value) -> Result<(), Invalid> {
    let o = match audience {
        Value::String(s) if s == "all" => return Ok(()),
        Value::Object(o) => o,
        _ => return invalid(1003, format!("invalid audience {audience}")),
    };
    let mut any = false;
    for (k, v) in o {
        if !AUDIENCE_KEYS.contains(&k.as_str()) {
            return invalid(1009, format!("unsupported audience key `{k}`"));
        }
        match k.as_str() {
            "file" => {
                if !v.get("file_id").is_some_and(Value::is_string) {
                    return invalid(1003, "audience.file must be {\"file_id\": …}");
                }
                any = true;
            }
            "live_activity_id" => {
                if !v.is_string() {
                    return invalid(1003, "audience.live_activity_id must be a string");
                }
                any = true;
            }
            _ => {
                let Some(a) = v.as_array() else {
                    return invalid(1003, format!("audience.{k} must be an array of strings"));
                };
                let max = match k.as_str() {
                    "tag" | "tag_and" | "tag_not" => 20,
                    "segment" | "abtest" => 1,
                    _ => 1000,
                };
                if a.len() > max {
                    return invalid(1003, format!("audience.{k} takes at most {max} values"));
                }
                for item in a {
                    match item.as_str() {
                        Some("") => {
                            return invalid(1003, format!("audience.{k} has an empty value"));
                        }
                        Some(s)
                            if matches!(k.as_str(), "tag" | "tag_and" | "tag_not" | "alias")
                                && s.len() > 40 =>
                        {
                            return invalid(
                                1003,
                                format!("audience.{k} value `{s}` is longer than 40 bytes"),
                            );
                        }
                        Some(_) => {}
                        None => {
                            return invalid(
                                1003,
                                format!("audience.{k} must be an array of strings"),
                            );
                        }
                    }
                }
                // "An empty array means absent."
                any |= !a.is_empty();
            }
        }
    }
    if !any {
        return invalid(1003, "the audience selects nobody");
    }
    Ok(())
}

/// **Choice:** a top-level `notification.alert` counts as the `alert` each platform object
/// requires (it is documented as copied to every platform). `hmos.category`, listed as required
/// by the newer docs, is not enforced: seed 000's HarmonyOS override example has none.
fn check_notification(n: &Value) -> Result<(), Invalid> {
    let Some(o) = n.as_object() else {
        return invalid(1003, "notification must be an object");
    };
    if o.is_empty() {
        return invalid(1002, "notification is empty");
    }
    let top_alert = match o.get("alert") {
        None => false,
        Some(Value::String(_)) => true,
        Some(_) => return invalid(1003, "notification.alert must be a string"),
    };
    for (k, v) in o {
        let (keys, required): (&[&str], &[&str]) = match k.as_str() {
            "alert" => continue,
            "winphone" | "voip" | "alternate_alert" => continue,
            "android" => (ANDROID_KEYS, &["alert"]),
            "ios" => (IOS_KEYS, &["alert"]),
            "hmos" => (HMOS_KEYS, &["alert"]),
            "quickapp" => (QUICKAPP_KEYS, &["alert", "title", "page"]),
            other => return invalid(1009, format!("unsupported key `{other}` in notification")),
        };
        let Some(p) = v.as_object() else {
            return invalid(1003, format!("notification.{k} must be an object"));
        };
        if p.is_empty() {
            return invalid(1002, format!("notification.{k} is empty"));
        }
        if let Some(bad) = p.keys().find(|x| !keys.contains(&x.as_str())) {
            return invalid(1009, format!("unsupported key `{bad}` in notification.{k}"));
        }
        for r in required {
            if !(p.contains_key(*r) || (*r == "alert" && top_alert)) {
                return invalid(1002, format!("notification.{k}.{r} is required"));
            }
        }
        if k == "android"
            && let Some(b) = p.get("builder_id")
            && integer(b).is_none()
        {
            return invalid(1003, "notification.android.builder_id must be an integer");
        }
        if let Some(a) = p.get("alert") {
            let ok = match k.as_str() {
                "ios" => a.is_string() || a.is_object(),
                _ => a.is_string(),
            };
            if !ok {
                return invalid(1003, format!("notification.{k}.alert has the wrong type"));
            }
        }
        for obj_key in ["extras", "intent"] {
            if p.get(obj_key).is_some_and(|x| !x.is_object()) {
                return invalid(
                    1003,
                    format!("notification.{k}.{obj_key} must be an object"),
                );
            }
        }
    }
    Ok(())
}

/// Title and body of a push, for `/_sandbox/messages`.
pub(super) fn title_body(body: &Value) -> (Option<String>, Option<String>) {
    let n = body.get("notification");
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    for p in ["android", "hmos", "ios", "quickapp"] {
        if let Some(o) = n.and_then(|n| n.get(p)) {
            let alert = match o.get("alert") {
                Some(Value::Object(a)) => s(a.get("body")),
                a => s(a),
            };
            let title = match o.get("alert") {
                Some(Value::Object(a)) => s(a.get("title")),
                _ => s(o.get("title")),
            };
            return (title, alert.or_else(|| s(n.and_then(|n| n.get("alert")))));
        }
    }
    if let Some(a) = s(n.and_then(|n| n.get("alert"))) {
        return (None, Some(a));
    }
    let m = body.get("message");
    (
        s(m.and_then(|m| m.get("title"))),
        s(m.and_then(|m| m.get("msg_content"))),
    )
}

pub(super) fn platforms_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}
