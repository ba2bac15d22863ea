//! JPush auth: HTTP Basic `base64(app_key:master_secret)`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::sandbox::config::Credentials;

pub(super) struct Auth {
    pub ok: bool,
    /// For the request log.
    pub summary: Value,
}

/// HTTP Basic `base64(app_key:master_secret)`. The summary names the app key only when it is
/// the sandbox's own (a client that swapped the fields must not get its secret logged).
pub(super) fn check(c: &Credentials, headers: &hyper::HeaderMap) -> Auth {
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
    let key_ok = user == c.id;
    let ok = key_ok && pass == c.secret;
    Auth {
        ok,
        summary: json!({
            "scheme": "basic",
            "app_key": if key_ok { Value::String(user) } else { Value::String("(not the sandbox's)".into()) },
            "ok": ok,
        }),
    }
}
