//! TPNS auth: HTTP Basic `base64(access_id:secret_key)`, or the HMAC `Sign` header.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};

use super::envelope::{AUTH_FAILURE, WRONG_ACCESS_ID};
use crate::sandbox::config::Credentials;
use crate::sandbox::exchange::{Ctx, Req};

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

/// Check either scheme: HTTP Basic `base64(access_id:secret_key)`, or the `AccessId` /
/// `TimeStamp` / `Sign` headers over the exact body bytes received. Both present: both must
/// pass.
///
/// **Choice:** a wrong access id (Basic user or `AccessId` header) is 1008035 ("accessId is not
/// correct or domain not correct", its documented meaning); everything else (no credentials,
/// wrong secret, bad or stale signature, malformed headers) is 1008003 "auth failure".
/// `TimeStamp` must be Unix seconds within ten minutes of the system clock (not the sandbox
/// clock: the client signs with its real clock); Tencent documents no window.
pub(super) fn check(
    c: &Credentials,
    sign_tolerance: Option<Duration>,
    ctx: &Ctx<'_>,
    req: &Req<'_>,
) -> (Result<(), (u32, String)>, Value) {
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
        if id == c.id {
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
            if user != c.id {
                return Err((
                    WRONG_ACCESS_ID,
                    "Basic auth: not the sandbox's access id".into(),
                ));
            }
            if pass != c.secret {
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
            if *acc != c.id {
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
            if let Some(tol) = sign_tolerance {
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
            if *sig != sign(&c.secret, ts, acc, req.body) {
                let why = if *sig == sign_raw_digest(&c.secret, ts, acc, req.body) {
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
}
