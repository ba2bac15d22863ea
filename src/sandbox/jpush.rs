//! JPush REST API v3, push family: `POST /v3/push` (incl. the override push), `POST
//! /v3/push/validate`, `GET /v3/push/cid`, `DELETE /v3/push/{msg_id}` (recall).
//!
//! Written from `reference/jpush.md` and seed 000 (消息覆盖和撤回). Choices where those are
//! silent or unverified are marked **choice**.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::{SignedDuration, Timestamp};
use rand::RngExt;
use serde_json::{Map, Value, json};

use super::state::{Msg, WindowState};
use super::{Ctx, Inner, Provider, Reply, Req, Route, Shared};

/// The override window: "覆盖功能起作用的时限是：1 天" (seed 000).
const OVERRIDE_WINDOW: SignedDuration = SignedDuration::from_hours(24);
/// A cid is valid for one day (reference §1).
const CID_VALIDITY: SignedDuration = SignedDuration::from_hours(24);

/// An issued cid.
#[derive(Debug, Clone)]
pub(crate) struct CidEntry {
    issued: Timestamp,
    /// The answer to the first successful push with this cid: repeated verbatim, nothing pushed.
    first: Option<Value>,
}

/// `{"error":{"code":…,"message":…}}`.
pub(crate) fn error_body(code: u32, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

fn error(status: u16, code: u32, message: &str) -> Reply {
    Reply::json(status, error_body(code, message))
}

/// HTTP 400 with a JPush error code: business errors are 400 unless the code says otherwise.
fn bad(code: u32, message: impl Into<String>) -> Reply {
    let m = message.into();
    error(400, code, &m)
}

/// `X-Rate-Limit-*` for the push family window, on every JPush answer. **Choice:** the header
/// set the official SDKs read (`-Limit`, not the `-Quota` of the newer docs page).
pub(crate) fn rate_headers(w: &WindowState) -> Vec<(&'static str, String)> {
    vec![
        ("X-Rate-Limit-Limit", w.limit.to_string()),
        ("X-Rate-Limit-Remaining", w.remaining.to_string()),
        ("X-Rate-Limit-Reset", w.reset_secs.to_string()),
    ]
}

struct Auth {
    ok: bool,
    summary: Value,
}

/// HTTP Basic `base64(app_key:master_secret)`. The summary names the app key only when it is
/// the sandbox's own (a client that swapped the fields must not get its secret logged).
fn check_auth(shared: &Shared, headers: &hyper::HeaderMap) -> Auth {
    let c = &shared.config;
    let Some(value) = headers.get(hyper::header::AUTHORIZATION) else {
        return Auth {
            ok: false,
            summary: json!({"scheme": null, "ok": false}),
        };
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let (scheme, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Auth {
            ok: false,
            summary: json!({"scheme": scheme.to_ascii_lowercase(), "ok": false}),
        };
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let (user, pass) = match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((u, p)) => (u.to_string(), p.to_string()),
        None => {
            return Auth {
                ok: false,
                summary: json!({"scheme": "basic", "ok": false, "problem": "not base64(app_key:master_secret)"}),
            };
        }
    };
    let key_ok = user == c.jpush_app_key;
    let ok = key_ok && pass == c.jpush_master_secret;
    Auth {
        ok,
        summary: json!({
            "scheme": "basic",
            "app_key": if key_ok { Value::String(user) } else { Value::String("(not the sandbox's)".into()) },
            "ok": ok,
        }),
    }
}

pub(crate) fn handle(
    shared: &Shared,
    inner: &mut Inner,
    ctx: &Ctx,
    req: &Req<'_>,
    route: &Route,
) -> Reply {
    let auth = check_auth(shared, req.headers);
    let mut reply = if !auth.ok {
        // **Choice:** authentication comes before the rate limit (the limit is per AppKey),
        // so a rejected call does not use the window.
        let w = inner.jpush_window.peek(ctx.elapsed);
        let mut r = error(401, 1004, "Authen failed");
        r.headers = rate_headers(&w);
        r
    } else {
        let w = inner.jpush_window.take(ctx.elapsed);
        let mut r = if !w.allowed {
            error(429, 2002, "Rate limit exceeded")
        } else {
            match route {
                Route::JpushPush => push(inner, ctx, req.body, false),
                Route::JpushValidate => push(inner, ctx, req.body, true),
                Route::JpushCid => cid(inner, ctx, req.query, &shared.config.jpush_app_key),
                Route::JpushRecall(id) => recall(inner, ctx, id),
                _ => unreachable!("not a JPush route"),
            }
        };
        r.headers.extend(rate_headers(&w));
        r
    };
    reply.auth = Some(auth.summary);
    reply
}

/// `DELETE /v3/push/{msg_id}`: 200 with an empty body (seed 000: `Content-Length: 0`).
///
/// **Choice** (the exact recall errors are unverified): an unknown msg_id, a malformed one and
/// one already recalled all get HTTP 400 `{"error":{"code":1003,"message":"msgid doesn't
/// exist"}}`, the failure response seed 000 shows. No recall time window is enforced: none is
/// documented (the override window is; the sandbox does not guess one for recall).
fn recall(inner: &mut Inner, ctx: &Ctx, id: &str) -> Reply {
    let gone = || bad(1003, "msgid doesn't exist");
    let Some(n) = id.parse::<u64>().ok() else {
        return gone().note("the msg_id is not a decimal integer");
    };
    let Some(i) = inner.store.jpush(n) else {
        return gone().note("no such message");
    };
    let m = &mut inner.store.msgs[i];
    if m.provider != Provider::Jpush {
        return gone().note("no such message");
    }
    if m.recalled_at.is_some() {
        return gone().note("the message was already recalled");
    }
    m.recalled_at = Some(ctx.now);
    m.event(ctx.now, "recalled", None, ctx.seq);
    Reply::empty(200)
}

/// `GET /v3/push/cid?count=n&type=push|schedule` → `{"cidlist":["{appkey}-{uuid}",…]}`.
fn cid(inner: &mut Inner, ctx: &Ctx, query: Option<&str>, app_key: &str) -> Reply {
    let mut count = 1u32;
    let mut kind = "push".to_string();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "count" => match v.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => count = n,
                _ => return bad(1003, "count must be an integer from 1 to 1000"),
            },
            "type" => kind = v.to_string(),
            _ => {}
        }
    }
    if kind != "push" && kind != "schedule" {
        return bad(1003, "type must be push or schedule");
    }
    let mut list = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let b: [u8; 16] = inner.id_rng.random();
        let mut b = b;
        b[6] = (b[6] & 0x0f) | 0x40; // UUID v4
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        let cid = format!(
            "{app_key}-{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        );
        inner.cids.insert(
            cid.clone(),
            CidEntry {
                issued: ctx.now,
                first: None,
            },
        );
        list.push(Value::String(cid));
    }
    Reply::json(200, json!({"cidlist": list}))
}

/// What the sandbox needs from a valid push body.
struct Push {
    sendno: String,
    cid: Option<String>,
    override_msg_id: Option<u64>,
    apns_production: Option<bool>,
    apns_collapse_id: Option<String>,
    platform: Value,
    audience: Value,
}

type Invalid = (u32, String);

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
fn validate(body: &Value) -> Result<Push, Invalid> {
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
            match integer(v) {
                Some(n) if n != 0 && i32::try_from(n).is_ok() => push.sendno = n.to_string(),
                _ => return invalid(1003, "options.sendno must be a non-zero integer"),
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
fn title_body(body: &Value) -> (Option<String>, Option<String>) {
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

fn platforms_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `POST /v3/push` and `/v3/push/validate`.
fn push(inner: &mut Inner, ctx: &Ctx, raw: &[u8], validate_only: bool) -> Reply {
    // **Choice:** a body that is not JSON is 1003 (an invalid parameter value); the exact code
    // the service uses is undocumented.
    let body: Value = match serde_json::from_slice(raw) {
        Ok(v) => v,
        Err(e) => return bad(1003, "Invalid json").note(format!("the body is not JSON: {e}")),
    };
    let p = match validate(&body) {
        Ok(p) => p,
        Err((code, msg)) => return bad(code, msg),
    };
    if let Some(cid) = &p.cid {
        match inner.cids.get(cid) {
            None => {
                // **Choice:** 1003 for a cid not taken from /v3/push/cid (or expired).
                return bad(1003, "invalid cid").note("the cid was not issued by GET /v3/push/cid");
            }
            Some(e) if ctx.now.duration_since(e.issued) > CID_VALIDITY => {
                return bad(1003, "invalid cid").note("the cid is older than one day");
            }
            Some(CidEntry {
                first: Some(first), ..
            }) if !validate_only => {
                return Reply::json(200, first.clone())
                    .note("repeated cid: the first result again, nothing pushed");
            }
            Some(_) => {}
        }
    }
    let original = match p.override_msg_id {
        None => None,
        Some(id) => {
            // 1003 and nothing sent (seed 000: "如果在覆盖指定时限内该 msg_id 不存在，则返回 1003
            // 错误 … 当前的消息不会被推送").
            let msg = "override_msg_id is not a valid message to override within 1 day";
            let Some(i) = inner.store.jpush(id) else {
                return bad(1003, msg).note("override_msg_id: no such message");
            };
            let m = &inner.store.msgs[i];
            if m.recalled_at.is_some() {
                return bad(1003, msg).note("override_msg_id: the message was recalled");
            }
            let age = ctx.now.duration_since(m.effective_sent);
            if age > OVERRIDE_WINDOW {
                return bad(1003, msg).note(format!(
                    "override_msg_id: the message was sent {}h ago by the sandbox clock (window: 24h)",
                    age.as_secs() / 3600
                ));
            }
            Some(i)
        }
    };
    if validate_only {
        // **Choice:** validate answers like a push but with msg_id "0" (undocumented).
        return Reply::json(200, json!({"sendno": p.sendno, "msg_id": "0"}))
            .note("validate: nothing was sent");
    }

    let id = inner.store.new_jpush_id();
    let mut m = Msg::new_sent(Provider::Jpush, id.to_string(), ctx.now);
    m.platforms = platforms_of(&p.platform);
    m.audience = Some(p.audience.clone());
    m.apns_collapse_id = p.apns_collapse_id.clone();
    (m.title, m.body) = title_body(&body);
    m.overrides = p.override_msg_id.map(|n| n.to_string());
    let mut checks = Map::new();
    if let Some(i) = original {
        // What the override push did relative to the original (informational: the service does
        // not check any of it, but DESIGN §3 wants exactly the original audience and platforms).
        let o = &inner.store.msgs[i];
        let same_platforms = {
            let mut a = o.platforms.clone();
            let mut b = m.platforms.clone();
            a.sort();
            b.sort();
            a == b
        };
        checks.insert("platform_matches_original".into(), json!(same_platforms));
        checks.insert(
            "audience_matches_original".into(),
            match &o.audience {
                None => Value::Null,
                Some(a) => json!(*a == p.audience),
            },
        );
        checks.insert(
            "apns_collapse_id_matches_original".into(),
            match (&o.apns_collapse_id, &p.apns_collapse_id) {
                (None, None) => Value::Null,
                (a, b) => json!(a == b),
            },
        );
    }
    m.sent = Some(json!({
        "request": ctx.seq,
        "cid": p.cid,
        "sendno": p.sendno,
        "override_msg_id": p.override_msg_id.map(|n| n.to_string()),
        "apns_production": p.apns_production,
        "apns_collapse_id": p.apns_collapse_id,
        // JPush allows 10 broadcasts a day (2008 past that); the sandbox does not enforce it
        // but marks them so a rehearsal can count them.
        "broadcast": p.audience == json!("all"),
        "checks": checks,
        "payload": body,
    }));
    m.event(ctx.now, "sent", None, ctx.seq);
    inner.store.insert(m);
    if let Some(i) = original {
        let o = &mut inner.store.msgs[i];
        o.overridden_by.push(id.to_string());
        o.event(ctx.now, "overridden", Some(id.to_string()), ctx.seq);
    }
    let answer = json!({"sendno": p.sendno, "msg_id": id.to_string()});
    if let Some(cid) = &p.cid
        && let Some(e) = inner.cids.get_mut(cid)
    {
        e.first = Some(answer.clone());
    }
    Reply::json(200, answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: Value) -> Push {
        match validate(&v) {
            Ok(p) => p,
            Err(e) => panic!("{v} refused: {e:?}"),
        }
    }

    fn code(v: Value) -> u32 {
        match validate(&v) {
            Ok(_) => panic!("{v} accepted"),
            Err((c, _)) => c,
        }
    }

    #[test]
    fn payload_error_codes_match_the_java_sdk_fixtures() {
        // jpush-api-java-client ResponseErrorTest: payload → expected code.
        assert_eq!(
            code(json!({"audience":"all","notification":{"alert":"a"}})),
            1002
        );
        assert_eq!(
            code(json!({"platform":"all","notification":{"alert":"a"}})),
            1002
        );
        assert_eq!(code(json!({"platform":"all","audience":"all"})), 1002);
        assert_eq!(
            code(json!({"platform":"all_platform","audience":"all","notification":{"alert":"a"}})),
            1003
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all_audience","notification":{"alert":"a"}})),
            1003
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":"alert"})),
            1003
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":{"android":"x"}})),
            1003
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"android":{"alert":"a","builder_id":"builder_id_string"}}})
            ),
            1003
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":{"ios":{}}})),
            1002
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"android":{"title":"t"}}})
            ),
            1002
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":{"hmos":{"title":"t"}}})),
            1002
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":{"ios":{"badge":1}}})),
            1002
        );
        // Unknown keys: 1009.
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"android":{"alert":"a","build_id":1}}})
            ),
            1009
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"ios":{"alert":"a","content_available":1}}})
            ),
            1009
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"alert":"a"},"extras":{}})
            ),
            1009
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"overide_msg_id":1}})
            ),
            1009
        );
        // override_msg_id must be a JSON integer.
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"override_msg_id":"67554224848096790"}})
            ),
            1003
        );
        assert_eq!(code(serde_json::from_str(r#"{"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"override_msg_id":6.755422484809679e16}}"#).unwrap()), 1003);
        assert_eq!(code(serde_json::from_str(r#"{"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"override_msg_id":67554224848096790.0}}"#).unwrap()), 1003);
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"apns_collapse_id":"x".repeat(65)}})
            ),
            1003
        );
        assert_eq!(
            code(
                json!({"platform":["android"],"audience":{"tag":[]},"notification":{"alert":"a"}})
            ),
            1003
        );
    }

    #[test]
    fn accepts_the_seed_examples_and_the_sdk_payloads() {
        // Seed 000's Android, iOS and HarmonyOS override examples (comments removed).
        let a = ok(
            json!({"platform":"all","audience":{"registration_id":["1507bfd3f710de7a40a"]},
            "notification":{"android":{"alert":"Hi, JPush!fvdgtredfgerg","title":"Send to androidre"}},
            "options":{"override_msg_id":67554224848096790u64,"third_party_channel":{"oppo":{"distribution":"jpush"}}}}),
        );
        assert_eq!(a.override_msg_id, Some(67554224848096790));
        let i = ok(
            json!({"platform":"all","audience":{"registration_id":["101d855909917e5faf8"]},
            "notification":{"ios":{"alert":"Hi, JPush!!!","sound":"default","badge":"+1","thread-id":"default","extras":{"key":"my_extra1"}}},
            "options":{"apns_production":false,"apns_collapse_id":"12345"}}),
        );
        assert_eq!(i.apns_collapse_id.as_deref(), Some("12345"));
        assert_eq!(i.apns_production, Some(false));
        ok(
            json!({"platform":"all","audience":{"registration_id":["1507bfd3f710de7a40a"]},
            "notification":{"hmos":{"alert":"Hi, JPush!fvdgtredfgerg","title":"Send to androidre"}},
            "options":{"override_msg_id":67554224848096790u64}}),
        );
        // Java PushPayloadTest minimal payloads.
        let p = ok(
            json!({"platform":"all","audience":"all","notification":{"alert":"alert"},"options":{"sendno":123,"apns_production":false}}),
        );
        assert_eq!(p.sendno, "123");
        ok(json!({"platform":"all","audience":"all","message":{"msg_content":"m"}}));
        ok(
            json!({"platform":["android","ios"],"audience":{"tag":["bf-promo"],"alias":["a"]},"notification":{"alert":"x","android":{"title":"t"}}}),
        );
    }

    #[test]
    fn title_and_body_are_extracted() {
        let b = json!({"notification":{"android":{"alert":"B","title":"T"}}});
        assert_eq!(title_body(&b), (Some("T".into()), Some("B".into())));
        let b = json!({"notification":{"ios":{"alert":{"title":"T","body":"B"}}}});
        assert_eq!(title_body(&b), (Some("T".into()), Some("B".into())));
        let b = json!({"notification":{"alert":"B"}});
        assert_eq!(title_body(&b), (None, Some("B".into())));
    }
}
