//! GeTui auth (reference §2): `POST /v2/{appId}/auth` with
//! `sign = lowercase_hex(sha256(appkey + timestamp_ms + mastersecret))` returns a token, sent
//! as the `token` header on every other call.
//!
//! The auth builds the `/auth` body itself, at send time (`Auth::body`): the master secret
//! never leaves it, every attempt signs a fresh timestamp, and the sign is never in a spec, a
//! plan or the journal. It learns the token from the answer (`Auth::answered`); when to ask
//! for one (first use, the end of its lifetime, a 10001) is the session's decision.

use std::sync::Mutex;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::requests::AUTH;
use crate::provider::{Answer, AppCredentials, Auth, RequestSpec};

/// `lowercase_hex(sha256(app_key + timestamp + master_secret))`, the timestamp as the decimal
/// text that is sent.
pub fn sign(app_key: &str, timestamp_ms: &str, master_secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(app_key.as_bytes());
    h.update(timestamp_ms.as_bytes());
    h.update(master_secret.as_bytes());
    hex::encode(h.finalize())
}

/// The `/auth` body for `timestamp_ms`: the timestamp as a string, as the doc's table types it.
pub fn auth_body(c: &AppCredentials, timestamp_ms: i64) -> Value {
    let ts = timestamp_ms.to_string();
    json!({
        "sign": sign(&c.id, &ts, c.secret.expose()),
        "timestamp": ts,
        "appkey": c.id,
    })
}

/// The token a successful `/auth` answer carries.
pub fn token_of(answer: &Answer) -> Option<String> {
    let v: Value = serde_json::from_slice(&answer.body).ok()?;
    if v.get("code").and_then(Value::as_i64) != Some(0) {
        return None;
    }
    v.get("data")?
        .get("token")?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Whether `body` is an `/auth` body (which carries no token header).
fn is_auth_body(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|o| o.contains_key("sign") && o.contains_key("appkey"))
        })
        .unwrap_or(false)
}

/// The app key and master secret, and the token of the run.
pub struct TokenAuth {
    credentials: AppCredentials,
    token: Mutex<Option<String>>,
    now_ms: fn() -> i64,
}

fn system_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl TokenAuth {
    pub fn new(credentials: AppCredentials) -> TokenAuth {
        TokenAuth {
            credentials,
            token: Mutex::new(None),
            now_ms: system_ms,
        }
    }

    #[cfg(test)]
    pub fn with_clock(credentials: AppCredentials, now_ms: fn() -> i64) -> TokenAuth {
        TokenAuth {
            now_ms,
            ..TokenAuth::new(credentials)
        }
    }

    fn token(&self) -> Option<String> {
        self.token.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Auth for TokenAuth {
    fn headers(&self, body: &[u8]) -> Vec<(&'static str, String)> {
        if is_auth_body(body) {
            return Vec::new();
        }
        // Before the first token (never for a session's calls: it asks for one first) the call
        // goes without, and GeTui answers 10001.
        self.token().map(|t| vec![("token", t)]).unwrap_or_default()
    }

    fn redactions(&self) -> Vec<String> {
        // The token is learnt during the run and is not listed here: it only ever travels in
        // the header, and no answer pushfix records holds it (the /auth answer's data is read
        // for its lifetime only).
        vec![self.credentials.secret.expose().to_string()]
    }

    fn body(&self, spec: &RequestSpec) -> Option<Vec<u8>> {
        (spec.call == AUTH).then(|| {
            serde_json::to_vec(&auth_body(&self.credentials, (self.now_ms)())).unwrap_or_default()
        })
    }

    fn answered(&self, spec: &RequestSpec, answer: &Answer) {
        if spec.call != AUTH {
            return;
        }
        if let Some(t) = token_of(answer) {
            *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Secret;
    use crate::provider::answer::RateHeaders;

    #[test]
    fn sign_vectors_from_the_reference() {
        // reference/getui.md §2.2 (computed there; the doc's own example omits mastersecret).
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

    fn creds() -> AppCredentials {
        AppCredentials {
            id: "appkey123".into(),
            secret: Secret::new("mastersecret456"),
        }
    }

    #[test]
    fn the_auth_body_is_signed_at_send_time_over_the_timestamp_it_sends() {
        let a = TokenAuth::with_clock(creds(), || 1_700_000_000_000);
        let spec = super::super::requests::auth("app1");
        let body: Value = serde_json::from_slice(&a.body(&spec).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "sign": "32a6d04f11cef04d950d20438fc89d5f140537871d04c40a9d0b423f7cd36100",
                "timestamp": "1700000000000",
                "appkey": "appkey123",
            })
        );
        // No token header on /auth, nor before a token is known.
        assert!(a.headers(&serde_json::to_vec(&body).unwrap()).is_empty());
        assert!(a.headers(b"").is_empty());
        // Other specs keep their own bodies.
        assert!(
            a.body(&super::super::requests::stop("app1", "RASL_1"))
                .is_none()
        );
    }

    #[test]
    fn the_token_comes_from_the_auth_answer_and_goes_in_every_other_call() {
        let a = TokenAuth::new(creds());
        let spec = super::super::requests::auth("app1");
        let ans = |body: &str| Answer {
            status: 200,
            rate: RateHeaders::default(),
            body: body.as_bytes().to_vec(),
        };
        a.answered(
            &spec,
            &ans(r#"{"code":20001,"msg":"sign is invalid","data":{"token":"nope"}}"#),
        );
        assert!(a.headers(b"").is_empty(), "a refused auth gives no token");
        a.answered(
            &spec,
            &ans(r#"{"code":0,"msg":"success","data":{"expire_time":"1700086400000","token":"tok-1"}}"#),
        );
        assert_eq!(a.headers(b""), vec![("token", "tok-1".to_string())]);
        assert_eq!(
            a.headers(br#"{"request_id":"x","audience":"all"}"#),
            vec![("token", "tok-1".to_string())]
        );
        // Only /auth answers set it.
        let stop = super::super::requests::stop("app1", "RASL_1");
        a.answered(
            &stop,
            &ans(r#"{"code":0,"msg":"success","data":{"token":"other"}}"#),
        );
        assert_eq!(a.headers(b""), vec![("token", "tok-1".to_string())]);
        // A refresh replaces it.
        a.answered(
            &spec,
            &ans(r#"{"code":0,"msg":"","data":{"expire_time":"1","token":"tok-2"}}"#),
        );
        assert_eq!(a.headers(b""), vec![("token", "tok-2".to_string())]);
        assert_eq!(a.redactions(), vec!["mastersecret456".to_string()]);
    }
}
