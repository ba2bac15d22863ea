//! Sending requests: the `Transport` the executor drives, and its HTTP implementation.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_platform_verifier::ConfigVerifierExt as _;

use super::answer::{Answer, RateHeaders};
use super::auth::Auth;
use super::request::RequestSpec;
use crate::redact::Redactor;

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportError {
    /// The request never left (connection refused, DNS): safe to retry.
    NotSent(String),
    /// It may have been received and acted on (timeout, connection lost mid-answer).
    Lost(String),
}

impl TransportError {
    pub fn message(&self) -> &str {
        match self {
            TransportError::NotSent(m) | TransportError::Lost(m) => m,
        }
    }
}

/// Something that sends a request and brings back the answer. The executor is generic over it,
/// so its pacing and retry logic is tested with a scripted transport on a paused clock.
pub trait Transport: Send + Sync + 'static {
    fn send(
        &self,
        spec: &RequestSpec,
    ) -> impl Future<Output = Result<Answer, TransportError>> + Send;
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// HTTPS (rustls) to a provider's base URL, authenticating every request.
pub struct HttpTransport {
    client: Client<Connector, Full<Bytes>>,
    /// The provider's base URL, parsed once: each request sets only its path and query.
    base: url::Url,
    /// Each request's whole time, answer included.
    timeout: Duration,
    auth: Box<dyn Auth>,
    /// The auth's fixed secrets (`Auth::redactions`).
    secrets: Vec<String>,
    /// The per-request secret header values (TPNS `Sign`) of the latest requests: an answer
    /// is scrubbed of its own request's and of these before anyone reads it.
    recent: std::sync::Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    values: std::collections::VecDeque<String>,
    /// The redactor for the fixed secrets and `values`, until `values` changes: a JPush
    /// app's Basic token is the same on every request, and building a redactor (every
    /// encoded form of every secret) for each of 20,000 answers a second was a sixth of
    /// the run's CPU.
    redactor: Option<Arc<Redactor>>,
}

/// How many per-request secret values are remembered (an answer echoing an older request's).
const RECENT_SECRETS: usize = 64;

/// Largest answer body kept; corrective APIs answer with a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

impl HttpTransport {
    pub fn new(base_url: &str, auth: Box<dyn Auth>, timeout: Duration) -> Result<Self, String> {
        // No redirect is ever followed (hyper's client follows none): it would resend the
        // request, credentials included, somewhere the playbook did not name.
        let base = url::Url::parse(base_url.trim_end_matches('/'))
            .map_err(|e| format!("not a URL: {base_url}: {e}"))?;
        // The platform's certificates, for HTTPS; a plain-HTTP endpoint (the sandbox) never
        // depends on the machine having them.
        let tls = match base.scheme() {
            "https" => rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| format!("cannot start TLS: {e}"))?,
            _ => rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(5).min(timeout)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_timer(TokioTimer::new())
            .build(connector);
        let secrets = auth.redactions();
        Ok(HttpTransport {
            client,
            base,
            timeout,
            auth,
            secrets,
            recent: std::sync::Mutex::new(Recent::default()),
        })
    }

    /// Remember this request's secret header values; the redactor for all that an answer
    /// must not carry.
    fn redactor_for(&self, sent: &[String]) -> Arc<Redactor> {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        for v in sent {
            if !recent.values.contains(v) {
                recent.values.push_back(v.clone());
                recent.redactor = None;
            }
        }
        while recent.values.len() > RECENT_SECRETS {
            recent.values.pop_front();
        }
        if let Some(r) = &recent.redactor {
            return r.clone();
        }
        let mut all = self.secrets.clone();
        all.extend(recent.values.iter().cloned());
        let r = Arc::new(Redactor::new(all));
        recent.redactor = Some(r.clone());
        r
    }
}

impl Transport for HttpTransport {
    async fn send(&self, spec: &RequestSpec) -> Result<Answer, TransportError> {
        let mut url = self.base.clone();
        let (path, query) = match spec.path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (spec.path.as_str(), None),
        };
        // The base's own path prefix (if any) and the request's path after it.
        let prefix = self.base.path().trim_end_matches('/');
        if prefix.is_empty() {
            url.set_path(path);
        } else {
            url.set_path(&format!("{prefix}{path}"));
        }
        url.set_query(query);
        let query = self.auth.query();
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &query {
                pairs.append_pair(k, v);
            }
        }
        let method = http::Method::from_bytes(spec.method.as_bytes())
            .map_err(|e| TransportError::NotSent(e.to_string()))?;
        let mut req = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(http::header::USER_AGENT, USER_AGENT)
            .header(http::header::ACCEPT, "*/*")
            .header(http::header::CONTENT_TYPE, "application/json");
        // Serialize once: a signature covers exactly these bytes, and exactly these bytes are
        // sent.
        let body = match &spec.body {
            Some(v) => {
                let mut v = v.clone();
                self.auth.identify_body(&mut v);
                Some(serde_json::to_vec(&v).map_err(|e| TransportError::NotSent(e.to_string()))?)
            }
            None => None,
        };
        let mut sent_secrets = Vec::new();
        let body = self.auth.body(spec).or(body);
        for (name, value) in self.auth.headers(body.as_deref().unwrap_or(b"")) {
            if self.auth.secret_header(name) {
                // The header as sent, and its token alone (`Basic xyz` -> `xyz`).
                if let Some((_, token)) = value.split_once(' ') {
                    sent_secrets.push(token.to_string());
                }
                sent_secrets.push(value.clone());
            }
            req = req.header(name, value);
        }
        let req = req
            .body(Full::new(body.map(Bytes::from).unwrap_or_default()))
            // A header value the builder refuses (a control character): nothing was sent.
            // The message names no value, so no credential can leak through it.
            .map_err(|_| TransportError::NotSent("not a valid request".into()))?;
        let redactor = self.redactor_for(&sent_secrets);
        let exchange = async {
            let resp = self.client.request(req).await.map_err(classify_error)?;
            let status = resp.status().as_u16();
            let headers = resp.headers();
            let rate = RateHeaders::from_headers(|name| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(String::from)
            });
            let mut body = Vec::new();
            let mut incoming = resp.into_body();
            while let Some(frame) = incoming.frame().await {
                let frame = frame.map_err(|e| {
                    TransportError::Lost(with_sources("the answer was cut off", &e))
                })?;
                if let Ok(chunk) = frame.into_data()
                    && body.len() < MAX_BODY
                {
                    body.extend_from_slice(&chunk);
                }
            }
            Ok((status, rate, body))
        };
        let (status, rate, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| TransportError::Lost("timed out waiting for the answer".into()))??;
        // Scrubbed before anything reads it: a provider that echoes the Authorization header
        // or the Sign in an error cannot get either into the journal, the reports or stdout.
        let body = redactor.scrub_body(&body).unwrap_or(body);
        let answer = Answer { status, rate, body };
        self.auth.answered(spec, &answer);
        Ok(answer)
    }
}

const USER_AGENT: &str = concat!("pushfix/", env!("CARGO_PKG_VERSION"));

/// `what`, then each cause in the chain.
fn with_sources(what: &str, e: &dyn std::error::Error) -> String {
    let mut msg = what.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}

/// Client errors, sorted by whether the request could have reached the provider. The
/// messages name no header, so no credential can leak through them.
fn classify_error(e: hyper_util::client::legacy::Error) -> TransportError {
    // A connect error (refused, or timed out while connecting) means nothing was sent.
    if e.is_connect() {
        return TransportError::NotSent(with_sources("could not connect", &e));
    }
    TransportError::Lost(with_sources("the connection failed", &e))
}

/// The clock of a pushfix sandbox at `base_url` (`GET /_sandbox`: `{"clock": …}`), for runs
/// rehearsed `--as-of` a past instant: both sides must judge time windows by the same clock.
pub fn sandbox_clock(base_url: &str) -> Result<jiff::Timestamp, String> {
    let url = format!("{}/_sandbox", base_url.trim_end_matches('/'));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let resp = client.get(&url).send().await.map_err(|e| {
            let what = if e.is_timeout() {
                "timed out waiting for the answer"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "the connection failed"
            };
            format!("GET {url}: {}", with_sources(what, &e))
        })?;
        if !resp.status().is_success() {
            return Err(format!("GET {url} answered {}", resp.status()));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|_| format!("GET {url}: the answer was cut off"))?;
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| format!("GET {url} did not answer JSON"))?;
        v.get("clock")
            .and_then(serde_json::Value::as_str)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("GET {url} names no clock (not a pushfix sandbox?)"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Family;
    use crate::provider::auth::{AppCredentials, BasicAuth, Secret};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn transport(base: &str, timeout: Duration) -> HttpTransport {
        let auth = BasicAuth::new(AppCredentials {
            id: "app".into(),
            secret: Secret::new("s3cret-value"),
        });
        HttpTransport::new(base, Box::new(auth), timeout).unwrap()
    }

    fn spec(path: &str) -> RequestSpec {
        RequestSpec {
            family: Family::new("test"),
            method: "DELETE",
            path: path.into(),
            body: None,
            call: "recall",
        }
    }

    /// A one-connection server: reads a request head, then does `then` with the socket; gives
    /// back the request head it read.
    async fn serve_once(
        then: &'static [u8],
        close: bool,
    ) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            s.write_all(then).await.unwrap();
            if !close {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            String::from_utf8_lossy(&head).into_owned()
        });
        (url, handle)
    }

    #[tokio::test]
    async fn requests_go_to_the_base_path_with_the_auth_and_answers_come_back() {
        let (url, server) = serve_once(
            b"HTTP/1.1 200 OK\r\ncontent-length: 23\r\nX-Rate-Limit-Remaining: 7\r\n\r\n{\"echo\":\"s3cret-value\"}",
            true,
        )
        .await;
        let t = transport(&format!("{url}/prefix/"), Duration::from_secs(5));
        let a = t.send(&spec("/v3/push/12?x=a%20b")).await.unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(a.rate.remaining, Some(7));
        // An echoed secret never reaches anyone.
        assert_eq!(String::from_utf8_lossy(&a.body), r#"{"echo":"********"}"#);
        let head = server.await.unwrap();
        assert!(
            head.starts_with("DELETE /prefix/v3/push/12?x=a%20b HTTP/1.1\r\n"),
            "{head}"
        );
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("authorization: basic "), "{head}");
        assert!(lower.contains("user-agent: pushfix/"), "{head}");
    }

    #[tokio::test]
    async fn nothing_sent_when_no_connection_and_lost_when_the_answer_is() {
        // A closed port: refused, nothing sent (over TLS as well).
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        for scheme in ["http", "https"] {
            let t = transport(
                &format!("{scheme}://127.0.0.1:{port}"),
                Duration::from_secs(5),
            );
            match t.send(&spec("/v3/push/1")).await {
                Err(TransportError::NotSent(m)) => {
                    assert!(m.starts_with("could not connect"), "{m}")
                }
                other => panic!("{scheme}: {other:?}"),
            }
        }
        // A server that is not TLS, asked over TLS: the handshake fails, nothing was sent.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        });
        let t = transport(&format!("https://{addr}"), Duration::from_secs(5));
        assert!(matches!(
            t.send(&spec("/v3/push/1")).await,
            Err(TransportError::NotSent(_))
        ));
        // Received, then silence: the request may have been acted on.
        let (url, _server) = serve_once(b"", false).await;
        let t = transport(&url, Duration::from_millis(300));
        match t.send(&spec("/v3/push/1")).await {
            Err(TransportError::Lost(m)) => assert_eq!(m, "timed out waiting for the answer"),
            other => panic!("{other:?}"),
        }
        // Received, then the connection closed without an answer.
        let (url, _server) = serve_once(b"", true).await;
        let t = transport(&url, Duration::from_secs(5));
        match t.send(&spec("/v3/push/1")).await {
            Err(TransportError::Lost(m)) => assert!(m.starts_with("the connection failed"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
