//! The bodies the push endpoints take: the audience of each endpoint, notifications, and
//! the channel settings with the ids a device matches a later push against.

use serde_json::{Map, Value, json};

use super::PushKind;
use super::envelope::{INVALID, err_msg};
use super::seed::{notify_id, valid_taskid};
use super::store::Ids;
use crate::sandbox::exchange::Reply;

/// `click_type` values of `GTNotification`.
const CLICK_TYPES: &[&str] = &[
    "intent",
    "url",
    "payload",
    "payload_custom",
    "startapp",
    "none",
];
pub(super) fn invalid(param: &str, why: impl Into<String>) -> Reply {
    err_msg(INVALID, &format!("{param} is invalid")).note(why)
}

/// A notification object (`push_message.notification`, `ups.notification`): title (≤ 50),
/// body (≤ 256), a click action, and an optional `notify_id`.
pub(super) fn notification(n: &Value, at: &str) -> Result<(String, String, Option<u64>), Reply> {
    let Some(n) = n.as_object() else {
        return Err(invalid(at, "must be an object"));
    };
    let text = |k: &str, max: usize| match n.get(k).and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.chars().count() <= max => Ok(s.to_string()),
        _ => Err(invalid(
            &format!("{at}.{k}"),
            format!("required, 1 to {max} characters"),
        )),
    };
    let title = text("title", 50)?;
    let body = text("body", 256)?;
    let click = n.get("click_type").and_then(Value::as_str);
    match click {
        Some(c) if CLICK_TYPES.contains(&c) => {
            let needs = match c {
                "url" => Some("url"),
                "intent" => Some("intent"),
                "payload" | "payload_custom" => Some("payload"),
                _ => None,
            };
            if let Some(k) = needs
                && n.get(k).and_then(Value::as_str).is_none_or(str::is_empty)
            {
                return Err(invalid(
                    &format!("{at}.{k}"),
                    format!("click_type {c} needs `{k}`"),
                ));
            }
        }
        _ => {
            return Err(invalid(
                &format!("{at}.click_type"),
                format!("one of {}", CLICK_TYPES.join(", ")),
            ));
        }
    }
    let id = match n.get("notify_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(notify_id(v).ok_or_else(|| {
            invalid(
                &format!("{at}.notify_id"),
                "an integer from 0 to 2147483647",
            )
        })?),
    };
    Ok((title, body, id))
}

/// `{"old_task_id": "…"}` of a vendor or HarmonyOS revoke.
fn channel_revoke(v: &Value, at: &str) -> Result<String, Reply> {
    v.get("old_task_id")
        .and_then(Value::as_str)
        .filter(|s| valid_taskid(s))
        .map(str::to_string)
        .ok_or_else(|| invalid(&format!("{at}.old_task_id"), "a taskid string"))
}

/// The channel settings and the ids they carry; a revoke on a channel must name the same task
/// as the push's.
pub(super) fn push_channel(obj: &Map<String, Value>, revoke: Option<&str>) -> Result<Ids, Reply> {
    let mut ids = Ids::default();
    let Some(pc) = obj.get("push_channel") else {
        return Ok(ids);
    };
    let Some(pc) = pc.as_object() else {
        return Err(invalid("push_channel", "must be an object"));
    };
    let same = |at: &str, t: String| match revoke {
        Some(r) if r == t => Ok(()),
        Some(r) => Err(invalid(at, format!("names {t}, the push revokes {r}"))),
        None => Err(err_msg(
            INVALID,
            "please choose one of notification and transmission and revoke",
        )
        .note(format!("{at} with a notification or transmission push"))),
    };
    if let Some(ups) = pc.get("android").and_then(|a| a.get("ups")) {
        let parts = ["notification", "transmission", "revoke"]
            .iter()
            .filter(|k| ups.get(**k).is_some())
            .count();
        if parts > 1 {
            return Err(err_msg(
                INVALID,
                "please choose one of notification and transmission and revoke",
            )
            .note("push_channel.android.ups holds more than one"));
        }
        if let Some(n) = ups.get("notification") {
            if revoke.is_some() {
                return Err(err_msg(
                    INVALID,
                    "please choose one of notification and transmission and revoke",
                )
                .note("a revoke push with a vendor notification"));
            }
            ids.ups = notification(n, "push_channel.android.ups.notification")?.2;
        }
        if let Some(r) = ups.get("revoke") {
            same(
                "push_channel.android.ups.revoke",
                channel_revoke(r, "push_channel.android.ups.revoke")?,
            )?;
        }
    }
    if let Some(ios) = pc.get("ios") {
        match ios.get("apns-collapse-id") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 64 => {
                ids.apns = Some(s.clone());
            }
            Some(_) => {
                return Err(invalid(
                    "push_channel.ios.apns-collapse-id",
                    "a string of at most 64 bytes",
                ));
            }
        }
    }
    if let Some(h) = pc.get("harmony") {
        let in_notification = match h.get("notification").and_then(|n| n.get("notify_id")) {
            None | Some(Value::Null) => None,
            Some(v) => Some(notify_id(v).ok_or_else(|| {
                invalid(
                    "push_channel.harmony.notification.notify_id",
                    "0 to 2147483647",
                )
            })?),
        };
        let in_options = match h
            .get("options")
            .and_then(|o| o.get("HW"))
            .and_then(|o| o.get("/payload/notification/notifyId"))
        {
            None | Some(Value::Null) => None,
            Some(v) => Some(notify_id(v).ok_or_else(|| {
                invalid(
                    "push_channel.harmony.options.HW",
                    "notifyId 0 to 2147483647",
                )
            })?),
        };
        // Either documented place (reference §4.3); both must then agree.
        if let (Some(a), Some(b)) = (in_notification, in_options)
            && a != b
        {
            return Err(invalid(
                "push_channel.harmony",
                format!("notification.notify_id {a} and options notifyId {b} differ"),
            ));
        }
        ids.harmony = in_notification.or(in_options);
        if let Some(r) = h.get("revoke") {
            same(
                "push_channel.harmony.revoke",
                channel_revoke(r, "push_channel.harmony.revoke")?,
            )?;
        }
    }
    Ok(ids)
}

/// The audience a push endpoint takes; None for `push/list/message` (its list comes later).
pub(super) fn audience(kind: PushKind, obj: &Map<String, Value>) -> Result<Option<Value>, Reply> {
    let a = obj.get("audience");
    let ids = |key: &str, max: usize| -> Result<Option<Value>, Reply> {
        let list = a.and_then(|a| a.get(key)).and_then(Value::as_array);
        match list {
            Some(l)
                if !l.is_empty()
                    && l.len() <= max
                    && l.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty())) =>
            {
                Ok(Some(json!({ key: l })))
            }
            _ => Err(invalid(
                "audience",
                format!("`{key}` must list 1 to {max} strings"),
            )),
        }
    };
    match kind {
        PushKind::All => match a {
            Some(Value::String(s)) if s == "all" => Ok(Some(json!("all"))),
            _ => Err(invalid("audience", "push/all takes \"audience\": \"all\"")),
        },
        PushKind::Tag => {
            let tags = a.and_then(|a| a.get("tag")).and_then(Value::as_array);
            let ok = tags.is_some_and(|t| {
                !t.is_empty()
                    && t.iter().all(|c| {
                        c.get("key").and_then(Value::as_str).is_some()
                            && c.get("values").and_then(Value::as_array).is_some()
                            && c.get("opt_type").and_then(Value::as_str).is_some()
                    })
            });
            if ok {
                Ok(Some(json!({"tag": tags})))
            } else {
                Err(invalid(
                    "audience",
                    "push/tag takes {\"tag\": [{key, values, opt_type}, …]}",
                ))
            }
        }
        PushKind::FastCustomTag => match a.and_then(|a| a.get("fast_custom_tag")) {
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(json!({"fast_custom_tag": s}))),
            _ => Err(invalid(
                "audience",
                "push/fast_custom_tag takes {\"fast_custom_tag\": \"…\"}",
            )),
        },
        PushKind::SingleCid => ids("cid", 1),
        PushKind::SingleAlias => ids("alias", 1),
        PushKind::ListCid => ids("cid", 1000),
        PushKind::ListAlias => ids("alias", 1000),
        PushKind::ListMessage => Ok(None),
    }
}
