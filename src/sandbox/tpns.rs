//! Tencent TPNS REST API v3: `POST /v3/push/app` (incl. the override push with `collapse_id`),
//! `/v3/push/stop_push_msg`, `/v3/push/revoke_push_msg`, `/v3/push/cancel_timing_task`,
//! `/v3/statistics/get_push_record`.
//!
//! Written from `reference/tpns.md` and seed 004 (终止/撤回/覆盖). Choices where those are silent
//! or unverified are marked **choice**. Common ones:
//!
//! - **choice:** every answer with a `ret_code`/`retCode` is HTTP 200 (whether TPNS also uses a
//!   non-200 status is undocumented; third-party clients read the body). Only the `5xx` fault
//!   (503), a wrong method (405) and an unknown path (404) are not 200.
//! - **choice:** the push family (`/v3/push/*`) answers in snake_case (`ret_code`/`err_msg`),
//!   the statistics family in camelCase (`retCode`/`errMsg`), errors included. stop / revoke /
//!   cancel are undocumented; they answer `{"ret_code":0,"err_msg":""}` on success.
//! - **choice:** like a Go backend (`encoding/json`), unknown body keys are ignored, key names
//!   of `pushId` match case-insensitively (`pushId`, `pushid`), and a JSON value of the wrong
//!   type for a typed field is a parse error (1008001).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{self, TimeZone};
use serde_json::{Map, Value, json};

use super::state::Msg;
use super::{Ctx, Inner, Provider, Reply, Req, Route, Scheduled, Shared};

type HmacSha256 = Hmac<sha2::Sha256>;

/// `Sign = base64(lowercase_hex(HMAC-SHA256(secret_key, TimeStamp + AccessId + body)))`
/// (reference §2.2: every official code sample hex-encodes before base64).
pub(crate) fn sign(secret_key: &str, timestamp: &str, access_id: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(access_id.as_bytes());
    mac.update(body);
    STANDARD.encode(hex::encode(mac.finalize().into_bytes()))
}

/// The plausible wrong variant (base64 of the raw digest), to say so in the request log.
fn sign_raw_digest(secret_key: &str, timestamp: &str, access_id: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(access_id.as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

const AUTH_FAILURE: u32 = 1008003;
const WRONG_ACCESS_ID: u32 = 1008035;
const PARSE_ERROR: u32 = 1008001;
const MISSING: u32 = 1008002;
const INVALID: u32 = 1008007;
const NOT_EXIST: u32 = 1008015;
const TOO_FAST: u32 = 1008028;

fn text(code: u32) -> &'static str {
    match code {
        0 => "",
        PARSE_ERROR => "paramter parse error", // sic, as in Tencent's error-code table
        MISSING => "missing parameter",
        AUTH_FAILURE => "auth failure",
        INVALID => "invalid parameter",
        NOT_EXIST => "push id not exist",
        TOO_FAST => "request too fast",
        WRONG_ACCESS_ID => "accessId is not correct or domain not correct",
        10010012 => "illegal push time",
        1008016 => "date param format error",
        _ => "error",
    }
}

/// The envelope of one API family.
#[derive(Clone, Copy)]
struct Family {
    camel: bool,
}

impl Family {
    fn err(self, code: u32) -> Reply {
        self.err_msg(code, text(code))
    }

    fn err_msg(self, code: u32, msg: &str) -> Reply {
        if self.camel {
            Reply::json(200, json!({"retCode": code, "errMsg": msg}))
        } else {
            Reply::json(200, json!({"ret_code": code, "err_msg": msg}))
        }
    }
}

fn ok() -> Reply {
    Reply::json(200, json!({"ret_code": 0, "err_msg": ""}))
}

/// Check either scheme: HTTP Basic `base64(access_id:secret_key)`, or the `AccessId` /
/// `TimeStamp` / `Sign` headers over the exact body bytes received. Both present: both must
/// pass.
///
/// **Choice:** a wrong access id (Basic user or `AccessId` header) is 1008035 ("accessId is not
/// correct or domain not correct", its documented meaning); everything else (no credentials,
/// wrong secret, bad or stale signature, malformed headers) is 1008003 "auth failure".
/// `TimeStamp` must be Unix seconds within ten minutes of the system clock (not the sandbox
/// clock: the client signs with its real clock); Tencent documents no window.
fn check_auth(shared: &Shared, ctx: &Ctx, req: &Req<'_>) -> (Result<(), (u32, String)>, Value) {
    let c = &shared.config;
    let h = req.headers;
    let get = |name: &str| {
        h.get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let basic = get("authorization");
    let (acc, ts, sig) = (get("accessid"), get("timestamp"), get("sign"));
    let sign_used = acc.is_some() || ts.is_some() || sig.is_some();
    let scheme = match (basic.is_some(), sign_used) {
        (true, true) => json!("basic+sign"),
        (true, false) => json!("basic"),
        (false, true) => json!("sign"),
        (false, false) => Value::Null,
    };
    let mut summary = json!({"scheme": scheme, "ok": false});
    let shown_id = |id: &str| {
        if id == c.tpns_access_id {
            Value::String(id.to_string())
        } else {
            Value::String("(not the sandbox's)".into())
        }
    };
    let result = (|| {
        if basic.is_none() && !sign_used {
            return Err((
                AUTH_FAILURE,
                "no credentials: neither Authorization: Basic nor AccessId/TimeStamp/Sign".into(),
            ));
        }
        if let Some(b) = &basic {
            let (scheme, rest) = b.trim().split_once(' ').unwrap_or((b.trim(), ""));
            let pair = if scheme.eq_ignore_ascii_case("basic") {
                STANDARD
                    .decode(rest.trim())
                    .ok()
                    .and_then(|d| String::from_utf8(d).ok())
            } else {
                None
            };
            let Some((user, pass)) = pair.as_deref().and_then(|p| p.split_once(':')) else {
                return Err((
                    AUTH_FAILURE,
                    "Authorization is not Basic base64(access_id:secret_key)".into(),
                ));
            };
            summary["access_id"] = shown_id(user);
            if user != c.tpns_access_id {
                return Err((
                    WRONG_ACCESS_ID,
                    "Basic auth: not the sandbox's access id".into(),
                ));
            }
            if pass != c.tpns_secret_key {
                return Err((AUTH_FAILURE, "Basic auth: wrong secret key".into()));
            }
        }
        if sign_used {
            let (Some(acc), Some(ts), Some(sig)) = (&acc, &ts, &sig) else {
                return Err((
                    AUTH_FAILURE,
                    "signature auth needs all of AccessId, TimeStamp and Sign".into(),
                ));
            };
            summary["access_id"] = shown_id(acc);
            summary["timestamp"] = Value::String(ts.clone());
            if *acc != c.tpns_access_id {
                return Err((
                    WRONG_ACCESS_ID,
                    "AccessId is not the sandbox's access id".into(),
                ));
            }
            let Ok(secs) = ts.trim().parse::<i64>() else {
                return Err((
                    AUTH_FAILURE,
                    "TimeStamp is not an integer (Unix seconds)".into(),
                ));
            };
            if let Some(tol) = shared.sign_tolerance {
                let skew = secs.saturating_sub(ctx.real_now.as_second());
                if skew.unsigned_abs() > tol.as_secs() {
                    let hint = if secs > 100_000_000_000 {
                        " (milliseconds instead of seconds?)"
                    } else {
                        ""
                    };
                    return Err((
                        AUTH_FAILURE,
                        format!("TimeStamp is {skew} s away from the system clock{hint}"),
                    ));
                }
            }
            if *sig != sign(&c.tpns_secret_key, ts, acc, req.body) {
                let why = if *sig == sign_raw_digest(&c.tpns_secret_key, ts, acc, req.body) {
                    "Sign is base64 of the raw HMAC digest; TPNS signs base64 of its lowercase hex string"
                } else {
                    "Sign does not match TimeStamp + AccessId + the body bytes received"
                };
                return Err((AUTH_FAILURE, why.into()));
            }
        }
        Ok(())
    })();
    summary["ok"] = json!(result.is_ok());
    (result, summary)
}

pub(crate) fn handle(
    shared: &Shared,
    inner: &mut Inner,
    ctx: &Ctx,
    req: &Req<'_>,
    route: &Route,
) -> Reply {
    let family = Family {
        camel: *route == Route::TpnsRecord,
    };
    let (auth, summary) = check_auth(shared, ctx, req);
    let mut reply = match auth {
        Err((code, why)) => family.err(code).note(why),
        Ok(()) => dispatch(shared, inner, ctx, req, route, family),
    };
    reply.auth = Some(summary);
    reply
}

fn dispatch(
    shared: &Shared,
    inner: &mut Inner,
    ctx: &Ctx,
    req: &Req<'_>,
    route: &Route,
    family: Family,
) -> Reply {
    if *route == Route::TpnsRevoke && !shared.config.tpns_revoke_enabled {
        // **Choice:** Tencent marks the API 已下线 (offline, 2025-03-25) without saying what it
        // answers; the sandbox answers 1008007 with a message saying so, and does nothing.
        return family
            .err_msg(INVALID, "revoke_push_msg is offline (该功能已下线)")
            .note("the revoke API is offline at Tencent; start the sandbox with revoke enabled to simulate it");
    }
    let obj = match serde_json::from_slice::<Value>(req.body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return family
                .err(PARSE_ERROR)
                .note("the body is not a JSON object");
        }
        Err(e) => {
            return family
                .err(PARSE_ERROR)
                .note(format!("the body is not JSON: {e}"));
        }
    };
    match route {
        Route::TpnsPushApp => push_app(inner, ctx, &obj),
        Route::TpnsStop => corrective(inner, ctx, &obj, Action::Stop),
        Route::TpnsRevoke => corrective(inner, ctx, &obj, Action::Revoke),
        Route::TpnsCancel => corrective(inner, ctx, &obj, Action::Cancel),
        Route::TpnsRecord => record(inner, ctx, &obj),
        _ => unreachable!("not a TPNS route"),
    }
}

/// `pushId` (documented) or `pushid` (every sample); any letter case; a string or an integer.
fn push_id(obj: &Map<String, Value>) -> Result<String, (u32, String)> {
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Stop,
    Revoke,
    Cancel,
}

/// Audience types stop / revoke / override work for (seed 004: 「所有设备」「批量账号」「标签」).
const CORRECTABLE: &[&str] = &["all", "tag", "account_list"];
/// Audience types a scheduled task can be cancelled for (reference §4.0).
const CANCELLABLE: &[&str] = &["all", "tag", "package_account_push"];
/// Audience types under the 1/s push quota (reference §3, §6: all / tag / account package;
/// **choice:** account_list too, as the corrective family the sandbox limits).
const RATE_LIMITED: &[&str] = &["all", "tag", "account_list", "package_account_push"];
const AUDIENCE_TYPES: &[&str] = &[
    "all",
    "tag",
    "token",
    "token_list",
    "account",
    "account_list",
    "package_account_push",
    "package_token_push",
];

/// **Choice** (undocumented answers): stop / revoke on a task already stopped (or revoked) and
/// cancel on a task already cancelled succeed again (idempotent). Stop or revoke on a scheduled
/// task not yet dispatched, or on a cancelled one, is 1008007 (use cancel_timing_task). A task
/// whose ledger record has no `audience_type` is not refused for its audience.
fn corrective(inner: &mut Inner, ctx: &Ctx, obj: &Map<String, Value>, action: Action) -> Reply {
    let f = Family { camel: false };
    let id = match push_id(obj) {
        Ok(id) => id,
        Err((code, why)) => return f.err(code).note(why),
    };
    // No limit is documented for these; the sandbox applies the configured corrective rate
    // (default 1/s) in a window of its own.
    if !inner.tpns_corrective_window.take(ctx.elapsed).allowed {
        return f.err(TOO_FAST);
    }
    let Some(i) = inner.store.tpns(&id) else {
        return f.err(NOT_EXIST).note(format!("no task {id}"));
    };
    let m = &mut inner.store.msgs[i];
    if m.provider != Provider::Tpns {
        return f.err(NOT_EXIST);
    }
    let allowed = if action == Action::Cancel {
        CANCELLABLE
    } else {
        CORRECTABLE
    };
    if let Some(t) = &m.audience_type
        && !allowed.contains(&t.as_str())
    {
        return f.err(INVALID).note(format!(
            "this works only for tasks to {}; task {id} went to `{t}`",
            allowed.join(" / ")
        ));
    }
    let now = ctx.now;
    match action {
        Action::Stop | Action::Revoke => {
            if m.cancelled_at.is_some() {
                return f.err(INVALID).note("the task was cancelled");
            }
            if m.pending(now) {
                return f.err(INVALID).note(
                    "the scheduled task has not been dispatched yet; use cancel_timing_task",
                );
            }
            if action == Action::Stop {
                if m.stopped_at.is_some() || m.recalled_at.is_some() {
                    return ok().note("already stopped");
                }
                m.stopped_at = Some(now);
                m.event(now, "stopped", None, ctx.seq);
            } else {
                if m.recalled_at.is_some() {
                    return ok().note("already revoked");
                }
                // "撤回消息会默认终止该推送任务的离线消息下发": a revoke also stops.
                m.recalled_at = Some(now);
                if m.stopped_at.is_none() {
                    m.stopped_at = Some(now);
                }
                m.event(now, "recalled", None, ctx.seq);
            }
            ok()
        }
        Action::Cancel => {
            if m.cancelled_at.is_some() {
                return ok().note("already cancelled");
            }
            match m.scheduled {
                Scheduled::No => return f.err(INVALID).note("not a scheduled task"),
                Scheduled::At(t) if t <= now => {
                    return f.err(INVALID).note(format!(
                        "the task was dispatched at {} by the sandbox clock",
                        super::state::fmt_ts(t)
                    ));
                }
                _ => {}
            }
            m.cancelled_at = Some(now);
            m.event(now, "cancelled", None, ctx.seq);
            ok()
        }
    }
}

fn beijing() -> TimeZone {
    TimeZone::fixed(tz::offset(8))
}

/// `YYYY-MM-DD hh:mm:ss` in Beijing time.
fn tpns_date(t: Timestamp) -> String {
    t.to_zoned(beijing())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The targeting field(s) an audience type uses.
fn targeting_keys(audience_type: &str) -> &'static [&'static str] {
    match audience_type {
        "tag" => &["tag_rules", "tag_list"],
        "token" | "token_list" => &["token_list"],
        "account" | "account_list" => &["account_list"],
        "package_account_push" | "package_token_push" => &["upload_id"],
        _ => &[],
    }
}

fn push_record(m: &Msg, now: Timestamp) -> Value {
    let at = match m.scheduled {
        Scheduled::At(t) => t,
        _ => m.effective_sent,
    };
    let aud = m.audience.as_ref();
    let audience_type = m.audience_type.clone().unwrap_or_else(|| "all".into());
    let target_list = match audience_type.as_str() {
        "account" | "account_list" => aud.and_then(|a| a.get("account_list")).cloned(),
        "token" | "token_list" => aud.and_then(|a| a.get("token_list")).cloned(),
        _ => None,
    };
    let tag_set = tag_set(aud);
    // Numeric ids as JSON numbers, as in the documented sample (`"pushId":133703`).
    let push_id =
        m.id.parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(m.id.clone()));
    json!({
        "date": tpns_date(at),
        "pushId": push_id,
        "title": m.title.clone().unwrap_or_default(),
        "content": m.body.clone().unwrap_or_default(),
        "status": m.tpns_status(now),
        "pushType": audience_type,
        "targetList": target_list,
        "collapseID": m.collapse_id,
        "tagSet": tag_set,
        "uploadId": aud.and_then(|a| a.get("upload_id")).and_then(Value::as_u64).unwrap_or(0),
        "expireTime": 86400,
        "messageType": "notify",
        "xgMediaResources": "",
        "environment": "product",
        "pushConfig": {"android": null, "ios": null},
        "multiPkg": false,
        "source": "api",
    })
}

/// `tagSet` as in the get_push_record sample, from `tag_rules` or `tag_list`.
fn tag_set(aud: Option<&Value>) -> Value {
    let Some(a) = aud else { return Value::Null };
    if let Some(rules) = a.get("tag_rules").and_then(Value::as_array) {
        let mut op = None;
        let mut items = Vec::new();
        for r in rules {
            for it in r
                .get("tag_items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                op = op.or_else(|| {
                    it.get("tags_operator")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
                let ty = it
                    .get("tag_type")
                    .and_then(Value::as_str)
                    .unwrap_or("xg_user_define");
                for t in it
                    .get("tags")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    items.push(json!({"tagTypeName": ty, "tagValue": t}));
                }
            }
        }
        return json!({"op": op.unwrap_or_else(|| "OR".into()), "tagWithType": items});
    }
    if let Some(l) = a.get("tag_list") {
        let items: Vec<Value> = l
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| json!({"tagTypeName": "xg_user_define", "tagValue": t}))
            .collect();
        return json!({"op": l.get("op").cloned().unwrap_or(json!("OR")), "tagWithType": items});
    }
    Value::Null
}

/// `POST /v3/statistics/get_push_record`: one task (`pushId`), or the tasks of a date range
/// (`startDate`, `endDate`, optional `pushType`, `msgType`, `offset`, `limit` ≤ 200).
/// **Choice:** the "last month only" query limit is not simulated.
fn record(inner: &mut Inner, ctx: &Ctx, obj: &Map<String, Value>) -> Reply {
    let f = Family { camel: true };
    if !inner.tpns_stats_window.take(ctx.elapsed).allowed {
        return f.err(TOO_FAST);
    }
    let has_id = obj.keys().any(|k| k.eq_ignore_ascii_case("pushid"));
    if has_id {
        let id = match push_id(obj) {
            Ok(id) => id,
            Err((code, why)) => return f.err(code).note(why),
        };
        let Some(i) = inner.store.tpns(&id) else {
            return f.err(NOT_EXIST).note(format!("no task {id}"));
        };
        let rec = push_record(&inner.store.msgs[i], ctx.now);
        return Reply::json(
            200,
            json!({"retCode": 0, "errMsg": "NO_ERROR", "pushRecordData": [rec]}),
        );
    }
    let (Some(start), Some(end)) = (obj.get("startDate"), obj.get("endDate")) else {
        return f.err(MISSING).note("give pushId, or startDate and endDate");
    };
    let date = |v: &Value| v.as_str().and_then(|s| s.parse::<Date>().ok());
    let (Some(start), Some(end)) = (date(start), date(end)) else {
        return f.err(1008016).note("dates are YYYY-MM-DD");
    };
    let int = |k: &str, default: u64| match obj.get(k) {
        None => Some(default),
        Some(v) => v.as_u64(),
    };
    let (Some(offset), Some(limit)) = (int("offset", 0), int("limit", 50)) else {
        return f.err(PARSE_ERROR).note("offset and limit are integers");
    };
    if limit > 200 {
        return f.err(INVALID).note("limit is at most 200");
    }
    let push_type = obj.get("pushType").and_then(Value::as_str);
    let msg_type = obj.get("msgType").and_then(Value::as_str);
    let tz = beijing();
    let matching: Vec<Value> = inner
        .store
        .msgs
        .iter()
        .filter(|m| m.provider == Provider::Tpns)
        .filter(|m| {
            let d = m.effective_sent.to_zoned(tz.clone()).date();
            d >= start && d <= end
        })
        .filter(|m| {
            let t = m.audience_type.as_deref().unwrap_or("all");
            match push_type {
                None | Some("") => true,
                Some("token") => t == "token" || t == "token_list",
                Some("account") => t == "account" || t == "account_list",
                Some(p) => t == p,
            }
        })
        .filter(|_| matches!(msg_type, None | Some("") | Some("notify")))
        .map(|m| push_record(m, ctx.now))
        .collect();
    let count = matching.len();
    let page: Vec<Value> = matching
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    Reply::json(
        200,
        json!({"retCode": 0, "errMsg": "NO_ERROR", "count": count, "pushRecordData": page}),
    )
}

/// `POST /v3/push/app`.
///
/// **Choices:** a push without `collapse_id` is an ordinary push (accepted and recorded, as the
/// service would). With `collapse_id`, it overrides the task(s) carrying that collapse id:
/// none → 1008007 (a collapse id "cannot be invented by the caller"); the original task must
/// have gone to all / tag / account_list and the override must use the same `audience_type`
/// (1008007 otherwise); an override of a cancelled task is 1008007. `force_collapse` is
/// optional (documented default false) but must be a boolean.
fn push_app(inner: &mut Inner, ctx: &Ctx, obj: &Map<String, Value>) -> Reply {
    let f = Family { camel: false };
    for k in ["audience_type", "message_type", "message"] {
        if !obj.contains_key(k) {
            return f.err(MISSING).note(format!("`{k}` is required"));
        }
    }
    let Some(audience_type) = obj["audience_type"].as_str() else {
        return f.err(PARSE_ERROR).note("`audience_type` must be a string");
    };
    if !AUDIENCE_TYPES.contains(&audience_type) {
        return f
            .err(INVALID)
            .note(format!("unknown audience_type `{audience_type}`"));
    }
    let Some(message_type) = obj["message_type"].as_str() else {
        return f.err(PARSE_ERROR).note("`message_type` must be a string");
    };
    if message_type != "notify" && message_type != "message" {
        return f.err(INVALID).note("`message_type` is notify or message");
    }
    let Some(message) = obj["message"].as_object() else {
        return f.err(PARSE_ERROR).note("`message` must be an object");
    };
    for k in ["title", "content"] {
        match message.get(k) {
            None if message_type == "notify" => {
                return f
                    .err(MISSING)
                    .note(format!("`message.{k}` is required for a notification"));
            }
            None | Some(Value::String(_)) => {}
            Some(_) => {
                return f
                    .err(PARSE_ERROR)
                    .note(format!("`message.{k}` must be a string"));
            }
        }
    }
    // The targeting field of the audience type.
    match audience_type {
        "tag" => {
            let rules = obj.get("tag_rules");
            let list = obj.get("tag_list");
            match (rules, list) {
                (Some(Value::Array(a)), _) if !a.is_empty() => {}
                (Some(Value::Array(_)) | None, Some(Value::Object(l)))
                    if l.contains_key("tags") => {}
                (None, None) => {
                    return f
                        .err(MISSING)
                        .note("a tag push needs `tag_rules` (or `tag_list`)");
                }
                _ => {
                    return f
                        .err(INVALID)
                        .note("`tag_rules` must be a non-empty array of rules");
                }
            }
        }
        "token" | "token_list" | "account" | "account_list" => {
            let key = targeting_keys(audience_type)[0];
            match obj.get(key) {
                None => {
                    return f.err(MISSING).note(format!(
                        "`{key}` is required for audience_type {audience_type}"
                    ));
                }
                Some(Value::Array(a))
                    if !a.is_empty() && a.len() <= 1000 && a.iter().all(Value::is_string) => {}
                Some(Value::Array(_)) => {
                    return f
                        .err(INVALID)
                        .note(format!("`{key}` must hold 1 to 1000 strings"));
                }
                Some(_) => return f.err(PARSE_ERROR).note(format!("`{key}` must be an array")),
            }
        }
        "package_account_push" | "package_token_push" => match obj.get("upload_id") {
            None => {
                return f
                    .err(MISSING)
                    .note("`upload_id` is required for a package push");
            }
            Some(v) if v.as_u64().is_some() => {}
            Some(_) => return f.err(PARSE_ERROR).note("`upload_id` must be an integer"),
        },
        _ => {}
    }
    let environment = match obj.get("environment") {
        None => "product".to_string(),
        Some(Value::String(e)) if e == "product" || e == "dev" => e.clone(),
        Some(Value::String(_)) => return f.err(INVALID).note("`environment` is product or dev"),
        Some(_) => return f.err(PARSE_ERROR).note("`environment` must be a string"),
    };
    let collapse_id = match obj.get("collapse_id") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.is_u64() => match u32::try_from(n.as_u64().unwrap_or(u64::MAX))
        {
            Ok(c) => Some(c),
            Err(_) => {
                return f
                    .err(INVALID)
                    .note("`collapse_id` is an unsigned 32-bit integer");
            }
        },
        Some(_) => {
            return f
                .err(PARSE_ERROR)
                .note("`collapse_id` must be a JSON integer (not a string or a float)");
        }
    };
    let force_collapse = match obj.get("force_collapse") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return f
                .err(PARSE_ERROR)
                .note("`force_collapse` must be a boolean");
        }
    };
    if let Some(v) = obj.get("expire_time") {
        match v.as_i64() {
            Some(n) if (0..=259_200).contains(&n) => {}
            Some(_) => return f.err(INVALID).note("`expire_time` is 0 to 259200 seconds"),
            None => return f.err(PARSE_ERROR).note("`expire_time` must be an integer"),
        }
    }
    let seq = match obj.get("seq") {
        None => 0,
        Some(v) => match v.as_i64() {
            Some(n) => n,
            None => return f.err(PARSE_ERROR).note("`seq` must be an integer"),
        },
    };
    let scheduled = match obj.get("send_time") {
        None => Scheduled::No,
        Some(Value::String(s)) => {
            let Ok(dt) = DateTime::strptime("%Y-%m-%d %H:%M:%S", s) else {
                return f.err(INVALID).note("`send_time` is yyyy-MM-DD HH:MM:SS");
            };
            let Ok(t) = dt.to_zoned(beijing()).map(|z| z.timestamp()) else {
                return f.err(INVALID).note("`send_time` is out of range");
            };
            if !CANCELLABLE.contains(&audience_type) {
                return f
                    .err(INVALID)
                    .note("scheduled pushes are only for all / tag / package_account_push");
            }
            let past = ctx.now.duration_since(t).as_secs();
            if past > 600 {
                return f
                    .err(10010012)
                    .note("`send_time` is more than 10 minutes in the past");
            }
            if t > ctx.now {
                Scheduled::At(t)
            } else {
                Scheduled::No
            }
        }
        Some(_) => return f.err(PARSE_ERROR).note("`send_time` must be a string"),
    };

    // The override: the tasks carrying this collapse id.
    let mut originals = Vec::new();
    let mut audience_matches = Value::Null;
    if let Some(c) = collapse_id {
        originals = inner.store.by_collapse(c).to_vec();
        let Some(&first) = originals.first() else {
            return f
                .err(INVALID)
                .note(format!("no push task has collapse_id {c}"));
        };
        let o = &inner.store.msgs[first];
        if let Some(t) = o.audience_type.as_deref() {
            if !CORRECTABLE.contains(&t) {
                return f.err(INVALID).note(format!(
                    "override works only for tasks to all / tag / account_list; task {} went to `{t}`",
                    o.id
                ));
            }
            if t != audience_type {
                return f.err(INVALID).note(format!(
                    "the override's audience_type `{audience_type}` differs from task {}'s `{t}`",
                    o.id
                ));
            }
        }
        if o.cancelled_at.is_some() {
            return f.err(INVALID).note(format!("task {} was cancelled", o.id));
        }
        // Informational: does the override go to exactly the original audience (DESIGN §3)?
        audience_matches = match (&o.audience, audience_type) {
            (_, "all") => json!(true),
            (None, _) => Value::Null,
            (Some(a), t) => json!(
                targeting_keys(t)
                    .iter()
                    .any(|k| obj.get(*k).is_some() && a.get(*k) == obj.get(*k))
            ),
        };
    }
    if RATE_LIMITED.contains(&audience_type) && !inner.tpns_push_window.take(ctx.elapsed).allowed {
        return f.err(TOO_FAST);
    }

    let id = inner.store.new_tpns_id();
    let mut m = Msg::new_sent(Provider::Tpns, id.clone(), ctx.now);
    m.audience_type = Some(audience_type.to_string());
    let mut targeting = Map::new();
    for k in targeting_keys(audience_type) {
        if let Some(v) = obj.get(*k) {
            targeting.insert((*k).to_string(), v.clone());
        }
    }
    m.audience = (!targeting.is_empty()).then_some(Value::Object(targeting));
    m.collapse_id = Some(match collapse_id {
        Some(c) => c,
        None => inner.store.new_collapse_id(),
    });
    m.scheduled = scheduled;
    m.title = message
        .get("title")
        .and_then(Value::as_str)
        .map(str::to_string);
    m.body = message
        .get("content")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(p) = obj.get("platform").and_then(Value::as_str) {
        m.platforms = vec![p.to_string()];
    }
    let overrides = originals.first().map(|&i| inner.store.msgs[i].id.clone());
    m.overrides = overrides.clone();
    m.sent = Some(json!({
        "request": ctx.seq,
        "seq": seq,
        "collapse_id": collapse_id,
        "force_collapse": force_collapse,
        "environment": environment,
        "checks": {"audience_matches_original": audience_matches},
        "payload": Value::Object(obj.clone()),
    }));
    m.event(ctx.now, "sent", None, ctx.seq);
    inner.store.insert(m);
    for i in originals {
        let o = &mut inner.store.msgs[i];
        if o.cancelled_at.is_some() {
            continue;
        }
        // "覆盖消息会默认终止原推送任务的离线消息下发": the original is collapsed (its
        // undelivered data stopped and its notification replaced).
        o.overridden_by.push(id.clone());
        o.event(ctx.now, "overridden", Some(id.clone()), ctx.seq);
    }
    Reply::json(
        200,
        json!({"seq": seq, "push_id": id, "ret_code": 0, "err_msg": "", "environment": environment, "result": ""}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_BODY: &str = r#"{"audience_type": "account","platform": "android","message": {"title": "test title","content": "test content","android": { "action": {"action_type": 3,"intent": "xgscheme://com.xg.push/notify_detail?param1=xg"}}},"message_type": "notify","account_list": ["5822f0eee44c3625ef0000bb"] }"#;
    const V2_BODY: &str = r#"{"audience_type": "account","message": {"title": "test title","content": "test content","android": { "action": {"action_type": 3,"intent": "xgscheme://com.xg.push/notify_detail?param1=xg"}}},"message_type": "notify","account_list": ["5822f0eee44c3625ef0000bb"] }"#;

    #[test]
    fn signature_vectors_from_the_reference() {
        let secret = "1452fcebae9f3115ba794fb0fff2fd73";
        // V1: the official values (the published Sign matches the body with "platform").
        assert_eq!(
            sign(secret, "1565314789", "1500001048", V1_BODY.as_bytes()),
            "Y2QyMDc3NDY4MmJmNzhiZmRiNDNlMTdkMWQ1ZDU2YjNlNWI3ODlhMTY3MGZjMTUyN2VmNTRjNjVkMmQ3Yjc2ZA=="
        );
        // V2: the body as the current doc shows it.
        assert_eq!(
            sign(secret, "1565314789", "1500001048", V2_BODY.as_bytes()),
            "MDlmMDdkMmE1MThhODgxNGUzNjlkY2Q5NTM0ZjEwYjhhMjlkMTI4NTMxYTE5YWRhYTI4Y2IyNDc2MDVjMWU4NA=="
        );
        // V3: the C# sample's inputs.
        let v3 = V2_BODY.replace("5822f0eee44c3625ef0000bb", "234");
        assert_eq!(
            sign(
                "2b1163d904bd5f82dcf82dcf82dc4407",
                "1621307510",
                "1500004469",
                v3.as_bytes()
            ),
            "ZWUzNTM1ODQyYmRiODBkYWJiZTFmMzY3ODcwMGY2Yzc2Y2M2M2U0ZjRkZDZiMDkwYzRhM2JjYWU2N2Y2OGQ4NQ=="
        );
        // The wrong-but-plausible variant is different.
        assert_eq!(
            sign_raw_digest(secret, "1565314789", "1500001048", V2_BODY.as_bytes()),
            "CfB9KlGKiBTjadzZU08QuKKdEoUxoZraooyyR2BcHoQ="
        );
    }

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

    #[test]
    fn tag_sets() {
        let a = json!({"tag_rules":[{"tag_items":[{"tags":["bf-promo"],"is_not":false,"tags_operator":"OR","items_operator":"OR","tag_type":"xg_user_define"}],"operator":"OR","is_not":false}]});
        assert_eq!(
            tag_set(Some(&a)),
            json!({"op":"OR","tagWithType":[{"tagTypeName":"xg_user_define","tagValue":"bf-promo"}]})
        );
        assert_eq!(tag_set(None), Value::Null);
    }
}
