//! Credentials and request authentication: HTTP Basic (JPush, TPNS) and the TPNS signature.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A secret value. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// App credentials: JPush app_key + master_secret, or TPNS access_id + secret_key.
#[derive(Clone, Debug)]
pub struct AppCredentials {
    pub id: String,
    pub secret: Secret,
}

/// `Authorization: Basic base64(id:secret)`.
pub fn basic_header(c: &AppCredentials) -> String {
    format!(
        "Basic {}",
        BASE64.encode(format!("{}:{}", c.id, c.secret.expose()))
    )
}

/// TPNS `Sign`: Base64 of the lowercase hex HMAC-SHA256 of TimeStamp + AccessId + body, keyed
/// with the secret key (reference/tpns.md §2.2: every official sample hex-encodes first).
pub fn tpns_sign(secret_key: &str, timestamp: &str, access_id: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(access_id.as_bytes());
    mac.update(body);
    let hex = hex::encode(mac.finalize().into_bytes());
    BASE64.encode(hex.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpush_basic_auth_doc_vector() {
        let c = AppCredentials {
            id: "7d431e42dfa6a6d693ac2d04".into(),
            secret: Secret::new("5e987ac6d2e04d95a9d8f0d1"),
        };
        assert_eq!(
            basic_header(&c),
            "Basic N2Q0MzFlNDJkZmE2YTZkNjkzYWMyZDA0OjVlOTg3YWM2ZDJlMDRkOTVhOWQ4ZjBkMQ=="
        );
    }

    #[test]
    fn tpns_basic_auth_vector() {
        let c = AppCredentials {
            id: "1500001048".into(),
            secret: Secret::new("1452fcebae9f3115ba794fb0fff2fd73"),
        };
        assert_eq!(
            basic_header(&c),
            "Basic MTUwMDAwMTA0ODoxNDUyZmNlYmFlOWYzMTE1YmE3OTRmYjBmZmYyZmQ3Mw=="
        );
    }

    const V1_BODY: &str = r#"{"audience_type": "account","platform": "android","message": {"title": "test title","content": "test content","android": { "action": {"action_type": 3,"intent": "xgscheme://com.xg.push/notify_detail?param1=xg"}}},"message_type": "notify","account_list": ["5822f0eee44c3625ef0000bb"] }"#;
    const V2_BODY: &str = r#"{"audience_type": "account","message": {"title": "test title","content": "test content","android": { "action": {"action_type": 3,"intent": "xgscheme://com.xg.push/notify_detail?param1=xg"}}},"message_type": "notify","account_list": ["5822f0eee44c3625ef0000bb"] }"#;

    #[test]
    fn tpns_signature_v1_official() {
        let s = tpns_sign(
            "1452fcebae9f3115ba794fb0fff2fd73",
            "1565314789",
            "1500001048",
            V1_BODY.as_bytes(),
        );
        assert_eq!(
            s,
            "Y2QyMDc3NDY4MmJmNzhiZmRiNDNlMTdkMWQ1ZDU2YjNlNWI3ODlhMTY3MGZjMTUyN2VmNTRjNjVkMmQ3Yjc2ZA=="
        );
    }

    #[test]
    fn tpns_signature_v2_doc_body() {
        let s = tpns_sign(
            "1452fcebae9f3115ba794fb0fff2fd73",
            "1565314789",
            "1500001048",
            V2_BODY.as_bytes(),
        );
        assert_eq!(
            s,
            "MDlmMDdkMmE1MThhODgxNGUzNjlkY2Q5NTM0ZjEwYjhhMjlkMTI4NTMxYTE5YWRhYTI4Y2IyNDc2MDVjMWU4NA=="
        );
        // The wrong-but-plausible reading (Base64 of the raw digest) must not be what we send.
        assert_ne!(s, "CfB9KlGKiBTjadzZU08QuKKdEoUxoZraooyyR2BcHoQ=");
    }

    #[test]
    fn tpns_signature_v3_csharp_sample() {
        let body = V2_BODY.replace("5822f0eee44c3625ef0000bb", "234");
        let s = tpns_sign(
            "2b1163d904bd5f82dcf82dcf82dc4407",
            "1621307510",
            "1500004469",
            body.as_bytes(),
        );
        assert_eq!(
            s,
            "ZWUzNTM1ODQyYmRiODBkYWJiZTFmMzY3ODcwMGY2Yzc2Y2M2M2U0ZjRkZDZiMDkwYzRhM2JjYWU2N2Y2OGQ4NQ=="
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "******** Secret(********)");
    }
}
