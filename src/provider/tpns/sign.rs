//! The TPNS request signature (reference/tpns.md §2.2), and the auth that sends it.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::provider::auth::{AppCredentials, Auth, basic_header};

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

/// `auth: sign` (the provider's recommendation): `AccessId`, `TimeStamp` and `Sign` headers
/// over exactly the bytes sent.
pub struct SignAuth {
    credentials: AppCredentials,
}

impl SignAuth {
    pub fn new(credentials: AppCredentials) -> SignAuth {
        SignAuth { credentials }
    }
}

impl Auth for SignAuth {
    fn headers(&self, body: &[u8]) -> Vec<(&'static str, String)> {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        let sign = tpns_sign(
            self.credentials.secret.expose(),
            &ts,
            &self.credentials.id,
            body,
        );
        vec![
            ("AccessId", self.credentials.id.clone()),
            ("TimeStamp", ts),
            ("Sign", sign),
        ]
    }

    fn secret_header(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case("sign") || name.eq_ignore_ascii_case("authorization")
    }

    fn redactions(&self) -> Vec<String> {
        // The Basic form too: the same credentials may be configured either way.
        vec![
            self.credentials.secret.expose().to_string(),
            basic_header(&self.credentials)
                .trim_start_matches("Basic ")
                .to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
