//! `POST /v3/push` (incl. the override push, `options.override_msg_id`) and
//! `POST /v3/push/validate`.

use hyper::header::CONTENT_TYPE;
use jiff::SignedDuration;
use serde_json::{Map, Value, json};

use super::Jpush;
use super::cid::CidEntry;
use super::delivery::{Delivery, OVERRIDE_CHANNELS, channels_of};
use super::envelope::bad;
use super::payload::{platforms_of, title_body, validate};
use super::store::JpushMessage;
use crate::sandbox::exchange::{Ctx, Reply, Req};
use crate::sandbox::message::Message;

/// The override window: "覆盖功能起作用的时限是：1 天" (seed 000).
const OVERRIDE_WINDOW: SignedDuration = SignedDuration::from_hours(24);
/// A cid is valid for one day (reference §1).
const CID_VALIDITY: SignedDuration = SignedDuration::from_hours(24);

impl Jpush {
    pub(super) fn push(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, validate_only: bool) -> Reply {
        // **Choice:** the reference (§1) says to send `Content-Type: application/json` but not
        // what the service answers to another type, so that gets the answer to a body that is
        // not JSON: HTTP 400, 1003. A request without the header is let through (its body is
        // still checked as JSON).
        if let Some(ct) = req.headers.get(CONTENT_TYPE)
            && !is_json(ct.as_bytes())
        {
            return bad(1003, "Content-Type must be application/json").note(format!(
                "the Content-Type is `{}`, not application/json",
                String::from_utf8_lossy(ct.as_bytes())
            ));
        }
        // **Choice:** a body that is not JSON is 1003 (an invalid parameter value); the exact
        // code the service uses is undocumented.
        let body: Value = match serde_json::from_slice(req.body) {
            Ok(v) => v,
            Err(e) => return bad(1003, "Invalid json").note(format!("the body is not JSON: {e}")),
        };
        let p = match validate(&body) {
            Ok(p) => p,
            Err((code, msg)) => return bad(code, msg),
        };
        if let Some(cid) = &p.cid {
            match self.cids.get(cid) {
                None => {
                    // **Choice:** 1003 for a cid not taken from /v3/push/cid (or expired).
                    return bad(1003, "invalid cid")
                        .note("the cid was not issued by GET /v3/push/cid");
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
        if let Some(id) = p.override_msg_id {
            // 1003 and nothing sent (seed 000: "如果在覆盖指定时限内该 msg_id 不存在，则返回 1003
            // 错误 … 当前的消息不会被推送").
            let msg = "override_msg_id is not a valid message to override within 1 day";
            let Some(m) = self.messages.get(id) else {
                return bad(1003, msg).note("override_msg_id: no such message");
            };
            if m.core.recalled_at.is_some() {
                return bad(1003, msg).note("override_msg_id: the message was recalled");
            }
            let age = ctx.now.duration_since(m.core.effective_sent);
            if age > OVERRIDE_WINDOW {
                return bad(1003, msg).note(format!(
                    "override_msg_id: the message was sent {}h ago by the sandbox clock (window: 24h)",
                    age.as_secs() / 3600
                ));
            }
        }
        if validate_only {
            // **Choice:** validate answers like a push but with msg_id "0" (undocumented).
            return Reply::json(200, json!({"sendno": p.sendno, "msg_id": "0"}))
                .note("validate: nothing was sent");
        }

        let id = self.messages.new_id();
        let ios = platforms_of(&p.platform).iter().any(|x| x == "ios");
        // The `ineffective` fault: the correction is answered as sent and nothing happens (no
        // message goes out, the original is not replaced). Only corrections are affected.
        let effective = match (p.override_msg_id, &p.apns_collapse_id) {
            (Some(o), _) => self
                .messages
                .get_mut(o)
                .is_none_or(|o| o.core.takes(ctx, "override")),
            (None, Some(c)) if ios => {
                let mut all = true;
                for o in self.messages.collapsed_by(c, id) {
                    all &= o.core.takes(ctx, "override");
                }
                all
            }
            _ => true,
        };
        if !effective {
            let answer = json!({"sendno": p.sendno, "msg_id": id.to_string()});
            if let Some(cid) = &p.cid
                && let Some(e) = self.cids.get_mut(cid)
            {
                e.first = Some(answer.clone());
            }
            return Reply::json(200, answer).note(
                "fault injection: ineffective (answered as sent; nothing was pushed, the original is not replaced)",
            );
        }
        let mut m = Message::sent(id.to_string(), ctx);
        m.platforms = platforms_of(&p.platform);
        m.audience = Some(p.audience.clone());
        (m.title, m.body) = title_body(&body);
        m.overrides = p.override_msg_id.map(|n| n.to_string());
        let mut checks = Map::new();
        if let Some(o) = p.override_msg_id.and_then(|o| self.messages.get(o)) {
            // What the override push did relative to the original (informational: the service
            // does not check any of it, but DESIGN §3 wants exactly the original audience and
            // platforms).
            let same_platforms = {
                let mut a = o.core.platforms.clone();
                let mut b = m.platforms.clone();
                a.sort();
                b.sort();
                a == b
            };
            checks.insert("platform_matches_original".into(), json!(same_platforms));
            checks.insert(
                "audience_matches_original".into(),
                match &o.core.audience {
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
            // JPush allows 10 broadcasts a day (2008 past that); the sandbox does not enforce
            // it but marks them so a rehearsal can count them.
            "broadcast": p.audience == json!("all"),
            "checks": checks,
            "payload": body,
        }));
        m.event(ctx, "sent", None);
        // Who the new message reaches: the original's audience on the platforms it names.
        let ttl = body
            .get("options")
            .and_then(|o| o.get("time_to_live"))
            .and_then(Value::as_i64);
        let source = match (p.override_msg_id, &p.apns_collapse_id) {
            (Some(o), _) => self.messages.get(o).map(|o| o.delivery.clone()),
            (None, Some(c)) if ios => self
                .messages
                .collapsed_by(c, id)
                .first()
                .map(|o| o.delivery.clone()),
            _ => None,
        };
        let delivery = match source {
            Some(d) => {
                let receivers = m
                    .platforms
                    .iter()
                    .flat_map(|pl| channels_of(pl))
                    .filter_map(|ch| d.receivers.get(ch).map(|n| (ch.to_string(), *n)))
                    .collect();
                Delivery::new(receivers, ttl, d.samples.clone())
            }
            None => Delivery::new(Default::default(), ttl, Vec::new()),
        };
        self.messages.insert(JpushMessage {
            core: m,
            apns_collapse_id: p.apns_collapse_id.clone(),
            delivery,
        });
        if let Some(o) = p.override_msg_id.and_then(|o| self.messages.get_mut(o)) {
            o.core.overridden(&id.to_string(), ctx);
            // Offline devices get the new message instead (seed 000), where override works.
            o.delivery.stop(OVERRIDE_CHANNELS, ctx.now);
            if ios && p.apns_collapse_id.is_some() && p.apns_collapse_id == o.apns_collapse_id {
                o.delivery.stop(&["apns"], ctx.now);
            }
        } else if let Some(c) = &p.apns_collapse_id
            && ios
        {
            // Without override_msg_id (an iOS-only correction), the collapse id alone replaces
            // the earlier iOS notification that carried it.
            for o in self.messages.collapsed_by(c, id) {
                o.core.overridden(&id.to_string(), ctx);
                o.delivery.stop(&["apns"], ctx.now);
            }
        }
        let answer = json!({"sendno": p.sendno, "msg_id": id.to_string()});
        if let Some(cid) = &p.cid
            && let Some(e) = self.cids.get_mut(cid)
        {
            e.first = Some(answer.clone());
        }
        Reply::json(200, answer)
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`), in any letter case.
fn is_json(content_type: &[u8]) -> bool {
    std::str::from_utf8(content_type).is_ok_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    })
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_content_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
        ] {
            assert!(is_json(ok.as_bytes()), "{ok}");
        }
        for bad in [
            &b"text/plain"[..],
            b"application/x-www-form-urlencoded",
            b"text/json",
            b"application/jsonp",
            b"",
            b"application/json\xff",
        ] {
            assert!(!is_json(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
