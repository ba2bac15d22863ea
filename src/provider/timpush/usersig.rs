//! TIMPush authentication (reference/timpush.md §1-2): the UserSig of TLS sig API v2, minted
//! for the App admin `identifier` from the SDKAppID and the secret key, and the common query
//! parameters every REST call carries.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::provider::auth::{AppCredentials, Auth, Secret};

/// The lifetime written into each UserSig. Tencent advises at least 24 h (679/131708, row
/// 70001); each request gets a UserSig minted when it leaves, so the lifetime only has to
/// cover the trip and the clocks' difference, and a retry always carries a fresh one.
pub const EXPIRE_SECS: u64 = 86_400;

/// `TLS.identifier:…\nTLS.sdkappid:…\nTLS.time:…\nTLS.expire:…\n` — the text the HMAC covers,
/// a newline after every line including the last (§2.1 step 2).
pub fn content(sdkappid: &str, identifier: &str, time: u64, expire: u64) -> String {
    format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    )
}

/// `TLS.sig`: standard base64 (padded) of the raw HMAC-SHA256 of `content`, keyed with the
/// secret key's UTF-8 bytes (not hex-decoded).
pub fn sig(key: &str, content: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(content.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The JSON document a UserSig carries. The SDKAppID is a number when it is one (every SDK
/// writes it so); anything else is kept as text for TIMPush to refuse.
pub fn document(sdkappid: &str, identifier: &str, time: u64, expire: u64, key: &str) -> Value {
    let appid = sdkappid
        .parse::<u64>()
        .map_or_else(|_| Value::String(sdkappid.to_string()), Value::from);
    json!({
        "TLS.ver": "2.0",
        "TLS.identifier": identifier,
        "TLS.sdkappid": appid,
        "TLS.expire": expire,
        "TLS.time": time,
        "TLS.sig": sig(key, &content(sdkappid, identifier, time, expire)),
    })
}

/// base64 with TLS's URL-safe alphabet: `+`→`*`, `/`→`-`, `=`→`_` (§2.1 step 5).
pub fn tls_base64(bytes: &[u8]) -> String {
    BASE64
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

/// A UserSig: the document, zlib-compressed (default level, as the Python and Java SDKs do),
/// in TLS base64.
pub fn usersig(sdkappid: &str, identifier: &str, key: &str, time: u64, expire: u64) -> String {
    let doc = document(sdkappid, identifier, time, expire, key);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(doc.to_string().as_bytes());
    tls_base64(&z.finish().unwrap_or_default())
}

/// The UserSig auth: no headers; the query parameters of every TIMPush REST call (§1),
/// with a UserSig minted per request and a random `random`. The SDKAppID is the credential
/// id, the secret key the secret; the admin identifier is a playbook setting.
pub struct UserSigAuth {
    sdkappid: String,
    identifier: String,
    key: Secret,
    now: fn() -> u64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl UserSigAuth {
    pub fn new(credentials: AppCredentials, identifier: &str) -> UserSigAuth {
        UserSigAuth {
            sdkappid: credentials.id,
            identifier: identifier.to_string(),
            key: credentials.secret,
            now: unix_now,
        }
    }

    #[cfg(test)]
    pub fn with_clock(mut self, now: fn() -> u64) -> UserSigAuth {
        self.now = now;
        self
    }
}

impl Auth for UserSigAuth {
    fn headers(&self, _body: &[u8]) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        let sig = usersig(
            &self.sdkappid,
            &self.identifier,
            self.key.expose(),
            (self.now)(),
            EXPIRE_SECS,
        );
        vec![
            ("sdkappid", self.sdkappid.clone()),
            ("identifier", self.identifier.clone()),
            ("usersig", sig),
            ("random", rand::random::<u32>().to_string()),
            ("contenttype", "json".to_string()),
        ]
    }

    /// The scheduled-task calls repeat the SDKAppID in the body (`Sdkappid`, which must equal
    /// the URL's): filled in where the request builder left its slot.
    fn identify_body(&self, body: &mut Value) {
        if let Some(slot) = body.get_mut(super::requests::SDKAPPID) {
            *slot = self
                .sdkappid
                .parse::<u64>()
                .map_or_else(|_| Value::String(self.sdkappid.clone()), Value::from);
        }
    }

    /// The secret key. UserSigs are minted per request into the URL the transport builds and
    /// nothing records (the journal keeps the path without its query), so none exists yet to
    /// list here.
    fn redactions(&self) -> Vec<String> {
        vec![self.key.expose().to_string()]
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    /// reference/timpush.md §2.4, computed with the official Python SDK.
    const VECTOR: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkElNyM-Myi0uKEkvyi2BKilOyEwsKMlOACgxNDKAAKpdaUZBZlAqSMTU1NUKIl2TmgkXN0dQXZ6aD7PFyrqpIzHOz8AsJiUgsNcnVNsqwLC8zT4-0yqv0yy7ONajINfRzjQg1MjexVaoFANTGNgc_";

    fn decode(usersig: &str) -> Value {
        let std: String = usersig
            .chars()
            .map(|c| match c {
                '*' => '+',
                '-' => '/',
                '_' => '=',
                c => c,
            })
            .collect();
        let z = BASE64.decode(std).unwrap();
        let mut json = String::new();
        flate2::read::ZlibDecoder::new(&z[..])
            .read_to_string(&mut json)
            .unwrap();
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn the_reference_vector() {
        let c = content("1400000000", "administrator", 1_700_000_000, 15_552_000);
        assert_eq!(
            c,
            "TLS.identifier:administrator\nTLS.sdkappid:1400000000\nTLS.time:1700000000\nTLS.expire:15552000\n"
        );
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(KEY.as_bytes()).unwrap();
        mac.update(c.as_bytes());
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "242cf16a717c3534d76aee26fb687dc2fee06099f2364b26d319b53445d4dbbe"
        );
        assert_eq!(sig(KEY, &c), "JCzxanF8NTTXau4m+2h9wv7gYJnyNksm0xm1NEXU274=");
        let doc = document(
            "1400000000",
            "administrator",
            1_700_000_000,
            15_552_000,
            KEY,
        );
        assert_eq!(
            doc,
            json!({"TLS.ver": "2.0", "TLS.identifier": "administrator", "TLS.sdkappid": 1400000000u64, "TLS.expire": 15552000, "TLS.time": 1700000000, "TLS.sig": "JCzxanF8NTTXau4m+2h9wv7gYJnyNksm0xm1NEXU274="})
        );
        // The Python SDK's UserSig decodes to the same document; ours (another zlib) too.
        assert_eq!(decode(VECTOR), doc);
        let ours = usersig(
            "1400000000",
            "administrator",
            KEY,
            1_700_000_000,
            15_552_000,
        );
        assert_eq!(decode(&ours), doc);
        assert!(
            ours.chars()
                .all(|c| c.is_ascii_alphanumeric() || "*-_".contains(c)),
            "{ours}"
        );
        // The SDK test identifier's sig, from the same reference.
        let x = content("1400000000", "xiaojun", 1_700_000_000, 15_552_000);
        assert_eq!(sig(KEY, &x), "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=");
    }

    #[test]
    fn every_request_carries_the_common_parameters_and_a_fresh_usersig() {
        let auth = UserSigAuth::new(
            AppCredentials {
                id: "1400000000".into(),
                secret: Secret::new(KEY),
            },
            "administrator",
        )
        .with_clock(|| 1_700_000_000);
        let q = auth.query();
        let names: Vec<&str> = q.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            ["sdkappid", "identifier", "usersig", "random", "contenttype"]
        );
        assert_eq!(q[0].1, "1400000000");
        assert_eq!(q[1].1, "administrator");
        assert!(q[3].1.parse::<u32>().is_ok());
        assert_eq!(q[4].1, "json");
        let doc = decode(&q[2].1);
        assert_eq!(doc["TLS.time"], 1_700_000_000u64);
        assert_eq!(doc["TLS.expire"], EXPIRE_SECS);
        assert_eq!(doc["TLS.identifier"], "administrator");
        assert!(auth.headers(b"{}").is_empty());
        assert_eq!(auth.redactions(), [KEY]);
        // The scheduled-task slot gets the SDKAppID as a number; other bodies are untouched.
        let mut b = json!({"Sdkappid": null, "TaskID": 7});
        auth.identify_body(&mut b);
        assert_eq!(b, json!({"Sdkappid": 1400000000u64, "TaskID": 7}));
        let mut r = json!({"TaskId": "x"});
        auth.identify_body(&mut r);
        assert_eq!(r, json!({"TaskId": "x"}));
    }
}
