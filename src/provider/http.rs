//! Sending requests: the `Transport` the executor drives, and its HTTP implementation.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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

/// HTTPS (rustls) to a provider's base URL, authenticating every request.
pub struct HttpTransport {
    client: reqwest::Client,
    /// The provider's base URL, parsed once: each request sets only its path and query (a
    /// whole URL parse per request, host and IDNA included, was a few percent of the CPU).
    base: reqwest::Url,
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
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("pushfix/", env!("CARGO_PKG_VERSION")))
            // Never follow a redirect: it would resend the request, credentials included,
            // somewhere the playbook did not name.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        let secrets = auth.redactions();
        let base = reqwest::Url::parse(base_url.trim_end_matches('/'))
            .map_err(|e| format!("not a URL: {base_url}: {e}"))?;
        Ok(HttpTransport {
            client,
            base,
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
        let method = reqwest::Method::from_bytes(spec.method.as_bytes())
            .map_err(|e| TransportError::NotSent(e.to_string()))?;
        let mut req = self
            .client
            .request(method, url)
            .header("Content-Type", "application/json");
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
        if let Some(b) = body {
            req = req.body(b);
        }
        let redactor = self.redactor_for(&sent_secrets);
        let resp = req.send().await.map_err(classify_error)?;
        let status = resp.status().as_u16();
        let headers = resp.headers();
        let rate = RateHeaders::from_headers(|name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        });
        let mut body = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp.chunk().await.map_err(classify_error)? {
            if body.len() < MAX_BODY {
                body.extend_from_slice(&chunk);
            }
        }
        // Scrubbed before anything reads it: a provider that echoes the Authorization header
        // or the Sign in an error cannot get either into the journal, the reports or stdout.
        let body = redactor.scrub_body(&body).unwrap_or(body);
        let answer = Answer { status, rate, body };
        self.auth.answered(spec, &answer);
        Ok(answer)
    }
}

/// reqwest errors, sorted by whether the request could have reached the provider. The
/// messages name no header, so no credential can leak through them.
fn classify_error(e: reqwest::Error) -> TransportError {
    let what = if e.is_timeout() {
        "timed out waiting for the answer"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "the connection failed"
    };
    let mut msg = what.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    // A connect error (refused, or timed out while connecting) means nothing was sent.
    if e.is_connect() {
        TransportError::NotSent(msg)
    } else {
        TransportError::Lost(msg)
    }
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
        let resp = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", classify_error(e).message()))?;
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
