//! Verifying a UserSig (reference/timpush.md §2.2, after Go's `VerifyUserSig`): undo the
//! character map, base64-decode, inflate, parse the JSON, check SDKAppID, identifier and
//! expiry, and recompute the HMAC over the fields as decoded. Never a byte comparison: the
//! SDKs compress at different levels, so the same inputs give different UserSigs.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

use super::envelope::{
    IDENTIFIER_MISMATCH, SDKAPPID_MISMATCH, USERSIG_EXPIRED, USERSIG_INVALID, USERSIG_UNPARSABLE,
};

/// What a valid UserSig said (for the request log; never the signature).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Decoded {
    pub identifier: String,
    pub sdkappid: u64,
    pub time: u64,
    pub expire: u64,
}

/// Inflated UserSigs larger than this are refused (a zip bomb in a query string).
const MAX_JSON: u64 = 4096;

/// Check `usersig` for the app `sdkappid` with secret `key`, presented with `identifier` in
/// the URL, at `now` (Unix seconds; None: expiry not checked). The error is the REST code and
/// why.
pub(super) fn verify(
    usersig: &str,
    sdkappid: u64,
    identifier: &str,
    key: &str,
    now: Option<u64>,
) -> Result<Decoded, (u32, String)> {
    let unparsable = |why: &str| (USERSIG_UNPARSABLE, format!("UserSig cannot be read: {why}"));
    let std: String = usersig
        .trim()
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    let compressed = STANDARD
        .decode(std.as_bytes())
        .map_err(|_| unparsable("not TLS base64"))?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|_| unparsable("not zlib data (truncated?)"))?;
    if json.len() as u64 > MAX_JSON {
        return Err(unparsable("too large"));
    }
    let doc: Value = serde_json::from_slice(&json).map_err(|_| unparsable("not JSON"))?;
    let text = |k: &str| doc.get(k).and_then(Value::as_str);
    let num = |k: &str| doc.get(k).and_then(Value::as_u64);
    let (Some(ver), Some(id), Some(appid), Some(time), Some(expire), Some(sig)) = (
        text("TLS.ver"),
        text("TLS.identifier"),
        num("TLS.sdkappid"),
        num("TLS.time"),
        num("TLS.expire"),
        text("TLS.sig"),
    ) else {
        return Err(unparsable("a TLS field is missing or of the wrong type"));
    };
    if ver != "2.0" {
        return Err(unparsable("TLS.ver is not 2.0"));
    }
    if appid != sdkappid {
        return Err((
            SDKAPPID_MISMATCH,
            "the UserSig is for another SDKAppID than the URL's".into(),
        ));
    }
    if id != identifier {
        return Err((
            IDENTIFIER_MISMATCH,
            "the UserSig is for another identifier than the URL's".into(),
        ));
    }
    if let Some(now) = now
        && now > time.saturating_add(expire)
    {
        return Err((
            USERSIG_EXPIRED,
            format!("the UserSig expired at {} (now {now})", time + expire),
        ));
    }
    let Ok(presented) = STANDARD.decode(sig) else {
        return Err((USERSIG_INVALID, "TLS.sig is not base64".into()));
    };
    let mut content = format!(
        "TLS.identifier:{id}\nTLS.sdkappid:{appid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(buf) = text("TLS.userbuf") {
        content.push_str(&format!("TLS.userbuf:{buf}\n"));
    }
    let mut mac =
        <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(content.as_bytes());
    if mac.verify_slice(&presented).is_err() {
        return Err((
            USERSIG_INVALID,
            "TLS.sig does not match: wrong secret key, or fields altered".into(),
        ));
    }
    Ok(Decoded {
        identifier: id.to_string(),
        sdkappid: appid,
        time,
        expire,
    })
}

/// Mint a UserSig the way the Go SDK does (zlib without compression), for tests: verifying
/// it as well as the Python SDK's vector shows that no byte comparison is involved.
#[cfg(test)]
pub(crate) fn mint_stored(
    sdkappid: u64,
    identifier: &str,
    key: &str,
    time: u64,
    expire: u64,
) -> String {
    use std::io::Write as _;
    let content = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(content.as_bytes());
    let sig = STANDARD.encode(mac.finalize().into_bytes());
    let doc = serde_json::json!({"TLS.ver": "2.0", "TLS.identifier": identifier, "TLS.sdkappid": sdkappid, "TLS.expire": expire, "TLS.time": time, "TLS.sig": sig});
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::none());
    z.write_all(doc.to_string().as_bytes()).unwrap();
    STANDARD
        .encode(z.finish().unwrap())
        .replace('+', "*")
        .replace('/', "-")
        .replace('=', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    /// reference/timpush.md §2.4 (the Python SDK, `time` pinned to 1700000000).
    pub(crate) const VECTOR: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkElNyM-Myi0uKEkvyi2BKilOyEwsKMlOACgxNDKAAKpdaUZBZlAqSMTU1NUKIl2TmgkXN0dQXZ6aD7PFyrqpIzHOz8AsJiUgsNcnVNsqwLC8zT4-0yqv0yy7ONajINfRzjQg1MjexVaoFANTGNgc_";

    #[test]
    fn the_reference_vector_verifies_then_expires() {
        let d = verify(
            VECTOR,
            1400000000,
            "administrator",
            KEY,
            Some(1_700_000_000),
        )
        .unwrap();
        assert_eq!((d.time, d.expire), (1_700_000_000, 15_552_000));
        // The last second of its life, and the first after.
        assert!(
            verify(
                VECTOR,
                1400000000,
                "administrator",
                KEY,
                Some(1_715_552_000)
            )
            .is_ok()
        );
        assert_eq!(
            verify(
                VECTOR,
                1400000000,
                "administrator",
                KEY,
                Some(1_715_552_001)
            )
            .unwrap_err()
            .0,
            USERSIG_EXPIRED
        );
    }

    #[test]
    fn checks_are_on_the_decoded_fields() {
        let now = Some(1_700_000_000);
        let code = |r: Result<Decoded, (u32, String)>| r.unwrap_err().0;
        assert_eq!(
            code(verify(VECTOR, 1400000001, "administrator", KEY, now)),
            SDKAPPID_MISMATCH
        );
        assert_eq!(
            code(verify(VECTOR, 1400000000, "xiaojun", KEY, now)),
            IDENTIFIER_MISMATCH
        );
        let wrong_key = KEY.replace('5', "6");
        assert_eq!(
            code(verify(VECTOR, 1400000000, "administrator", &wrong_key, now)),
            USERSIG_INVALID
        );
        assert_eq!(
            code(verify(&VECTOR[..60], 1400000000, "administrator", KEY, now)),
            USERSIG_UNPARSABLE
        );
        assert_eq!(
            code(verify("not a sig!", 1400000000, "administrator", KEY, now)),
            USERSIG_UNPARSABLE
        );
        // Another zlib level (the Go SDK's stored blocks): other bytes, the same verdict.
        let go = mint_stored(1400000000, "administrator", KEY, 1_700_000_000, 15_552_000);
        assert_ne!(go, VECTOR);
        assert!(verify(&go, 1400000000, "administrator", KEY, now).is_ok());
        // pushfix's own client.
        let ours = crate::provider::timpush::usersig::usersig(
            "1400000000",
            "administrator",
            KEY,
            1_700_000_000,
            600,
        );
        assert!(verify(&ours, 1400000000, "administrator", KEY, now).is_ok());
        assert_eq!(
            code(verify(
                &ours,
                1400000000,
                "administrator",
                KEY,
                Some(1_700_000_601)
            )),
            USERSIG_EXPIRED
        );
    }
}
