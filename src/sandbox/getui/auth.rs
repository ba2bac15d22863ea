//! GeTui auth: `POST /v2/{appId}/auth` checks `sign = lowercase_hex(sha256(appkey +
//! timestamp + mastersecret))` and issues a token; every other call must carry a live token
//! of the same app in the `token` header (reference §2, §7 G1/G2).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::Getui;
use super::envelope::{AUTH_PER_MINUTE, INVALID, NOT_JSON, TOKEN, err, err_msg, ok_data};
use crate::sandbox::config::random_hex;
use crate::sandbox::exchange::{Ctx, Reply, Req};

/// A token the sandbox issued.
#[derive(Debug, Clone)]
pub(super) struct Token {
    /// The app id of the `/auth` path it was issued under: it works for that app only.
    pub app: String,
    /// On the sandbox clock.
    pub expires: Timestamp,
}

/// `lowercase_hex(sha256(appkey + timestamp + mastersecret))`.
pub(crate) fn sign(app_key: &str, timestamp: &str, master_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("{app_key}{timestamp}{master_secret}").as_bytes());
    hex::encode(h.finalize())
}

/// The timestamp as sent: a string of digits (the doc) or a JSON integer (the Java SDK).
fn timestamp_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

impl Getui {
    /// `POST /v2/{appId}/auth`.
    ///
    /// **Choices** (the docs name no code for these): a wrong appkey, a bad sign and a
    /// timestamp more than ten minutes from the system clock are 20001 naming the parameter;
    /// the sign must be lowercase hex (the SDKs never send uppercase); a body that is not JSON
    /// is code 1. The per-minute (100) and per-day (100 000) auth limits answer 10003, and a
    /// rejected call does not use them.
    pub(super) fn issue(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, app: &str) -> (Reply, Value) {
        let mut summary = json!({"scheme": "sign", "ok": false});
        let obj: Map<String, Value> = match serde_json::from_slice(req.body) {
            Ok(Value::Object(o)) => o,
            _ => {
                return (
                    err(NOT_JSON).note("the auth body is not a JSON object"),
                    summary,
                );
            }
        };
        let key = obj.get("appkey").and_then(Value::as_str);
        let Some(ts) = timestamp_text(obj.get("timestamp")) else {
            return (
                err_msg(INVALID, "timestamp is invalid")
                    .note("`timestamp` must be the milliseconds as a string or an integer"),
                summary,
            );
        };
        let given = obj.get("sign").and_then(Value::as_str).unwrap_or("");
        summary["appkey"] = match key {
            Some(k) if k == self.credentials.id => json!(k),
            Some(_) => json!("(not the sandbox's)"),
            None => Value::Null,
        };
        summary["timestamp"] = json!(ts);
        if key != Some(self.credentials.id.as_str()) {
            return (
                err_msg(INVALID, "appkey is invalid").note("not the sandbox's app key"),
                summary,
            );
        }
        if let Some(tol) = self.sign_tolerance {
            let ms: i64 = ts.parse().unwrap_or(i64::MAX);
            let skew = ms.saturating_sub(ctx.real_now.as_millisecond());
            if skew.unsigned_abs() > tol.as_millis() as u64 {
                let hint = if ts.len() <= 10 {
                    " (seconds instead of milliseconds?)"
                } else {
                    ""
                };
                return (
                    err_msg(INVALID, "timestamp is invalid").note(format!(
                        "timestamp is {} s away from the system clock{hint}",
                        skew / 1000
                    )),
                    summary,
                );
            }
        }
        let expected = sign(&self.credentials.id, &ts, &self.credentials.secret);
        if given != expected {
            let why = if given.eq_ignore_ascii_case(&expected) {
                "sign is the uppercase hex of the right digest; GeTui's SDKs send lowercase"
            } else {
                "sign is not sha256(appkey + timestamp + mastersecret) over the timestamp sent"
            };
            return (err_msg(INVALID, "sign is invalid").note(why), summary);
        }
        let minute = self.auth_minute.take(ctx.elapsed);
        if !minute.allowed || !self.auth_day.take(ctx.elapsed).allowed {
            return (err(AUTH_PER_MINUTE), summary);
        }
        summary["ok"] = json!(true);
        let token = random_hex(64);
        let expires = ctx.now + self.token_ttl;
        self.tokens.insert(
            token.clone(),
            Token {
                app: app.to_string(),
                expires,
            },
        );
        self.tokens_issued += 1;
        let data =
            |t: &str| json!({"expire_time": expires.as_millisecond().to_string(), "token": t});
        let mut reply = ok_data(data(&token));
        // The request log never holds a token.
        reply.log_body = Some(json!({"code": 0, "msg": "success", "data": data("<token>")}));
        (reply, summary)
    }

    /// The `token` header of a call to `app`: issued by this sandbox, for this app, alive.
    pub(super) fn check_token(
        &self,
        ctx: &Ctx<'_>,
        req: &Req<'_>,
        app: &str,
    ) -> (Result<(), Reply>, Value) {
        let given = req
            .headers
            .get("token")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let mut summary = json!({"scheme": "token", "ok": false});
        let result = match given.as_deref().map(|t| (t, self.tokens.get(t))) {
            None => Err(err(TOKEN).note("no token header")),
            Some((_, None)) => Err(err(TOKEN).note("not a token this sandbox issued")),
            Some((_, Some(t))) if t.app != app => Err(err(TOKEN).note(format!(
                "the token was issued for another app id ({})",
                t.app
            ))),
            Some((_, Some(t))) if t.expires <= ctx.now => Err(err(TOKEN).note(format!(
                "the token expired at {} (sandbox clock)",
                crate::sandbox::message::fmt_ts(t.expires)
            ))),
            Some(_) => Ok(()),
        };
        summary["ok"] = json!(result.is_ok());
        (result, summary)
    }
}

/// How long issued tokens live: "currently call time + 1 day" (reference §2.1), or a second
/// with the `getui.short_tokens` switch (to rehearse a refresh on 10001).
pub(super) fn token_ttl(short: bool) -> SignedDuration {
    if short {
        SignedDuration::from_secs(1)
    } else {
        SignedDuration::from_hours(24)
    }
}

/// How far an auth timestamp may be from the system clock. GeTui documents none ("误差太大可能
/// 出错"); ten minutes is lenient for skew yet catches seconds sent instead of milliseconds.
pub(super) const SIGN_TOLERANCE: Duration = Duration::from_secs(600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_vectors_from_the_reference() {
        assert_eq!(
            sign("appkey123", "1700000000000", "mastersecret456"),
            "32a6d04f11cef04d950d20438fc89d5f140537871d04c40a9d0b423f7cd36100"
        );
        assert_eq!(
            sign(
                "YZkTKbz91l84HyM0TGlb38",
                "1608172111917",
                "MASTERSECRETexample0000"
            ),
            "8af4df8f9433c3a11589bb1d9e1697329308c9b85789a76a6633fdccf108e4fc"
        );
    }

    #[test]
    fn timestamps_as_strings_or_integers() {
        assert_eq!(
            timestamp_text(Some(&json!("1700000000000"))).as_deref(),
            Some("1700000000000")
        );
        assert_eq!(
            timestamp_text(Some(&json!(1700000000000u64))).as_deref(),
            Some("1700000000000")
        );
        assert_eq!(timestamp_text(Some(&json!("17e11"))), None);
        assert_eq!(timestamp_text(Some(&json!(1.5))), None);
        assert_eq!(timestamp_text(None), None);
    }
}
