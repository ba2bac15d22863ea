//! Credentials and request authentication: the secret wrapper, and HTTP Basic (which JPush
//! and TPNS share). Provider-specific schemes (the TPNS signature) live with their provider.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

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

/// How requests to one provider app are authenticated.
pub trait Auth: Send + Sync {
    /// Headers that authenticate one request whose body is exactly `body`.
    fn headers(&self, body: &[u8]) -> Vec<(&'static str, String)>;
    /// Query parameters that authenticate one request, appended to its URL (TIMPush carries
    /// its UserSig there). Asked once per attempt, so a retry may carry fresh ones.
    fn query(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Put the app's identity into a request body where the provider's protocol repeats it
    /// (TIMPush's scheduled-task calls carry the SDKAppID as `Sdkappid`): the request builders
    /// are pure and never see credentials. Called before the body is serialized and signed.
    fn identify_body(&self, _body: &mut serde_json::Value) {}
    /// Every credential-derived string that would reveal a secret if it were written down
    /// (the secret itself, a Basic token): the journal and reports scrub them.
    fn redactions(&self) -> Vec<String>;
    /// Whether the value of header `name` (as `headers` returns it) derives from the secret
    /// and differs per request (a signature): the transport scrubs each such value it sent
    /// from the answers it gets, since `redactions` cannot list them in advance.
    fn secret_header(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case("authorization")
    }

    /// The body to send for `spec` in place of its own, made at send time: for a scheme that
    /// signs inside the body (GeTui `/auth`), so that every attempt carries a fresh timestamp
    /// and the signature is never in a spec, a plan or a journal. Default: the spec's own.
    fn body(&self, _spec: &super::RequestSpec) -> Option<Vec<u8>> {
        None
    }
    /// The answer to `spec` came back: a scheme whose token comes in an answer (GeTui
    /// `/auth`) learns it here, before the caller reads the answer. Default: nothing.
    fn answered(&self, _spec: &super::RequestSpec, _answer: &super::Answer) {}
}

/// HTTP Basic with the app's id and secret (JPush; TPNS `auth: basic`).
pub struct BasicAuth {
    header: String,
    credentials: AppCredentials,
}

impl BasicAuth {
    pub fn new(credentials: AppCredentials) -> BasicAuth {
        BasicAuth {
            header: basic_header(&credentials),
            credentials,
        }
    }
}

impl Auth for BasicAuth {
    fn headers(&self, _body: &[u8]) -> Vec<(&'static str, String)> {
        vec![("Authorization", self.header.clone())]
    }

    fn redactions(&self) -> Vec<String> {
        vec![
            self.credentials.secret.expose().to_string(),
            self.header.trim_start_matches("Basic ").to_string(),
        ]
    }
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

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "******** Secret(********)");
    }
}
