//! The decoded, validated playbook. Everything here has passed the checks in `decode`;
//! values that can be wrong at plan time (templates) keep their source location.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::diag::{SourceFile, Span};
use crate::units::{FailureBudget, Rate};

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Located<T> {
    pub fn new(value: T, span: Span) -> Self {
        Located { value, span }
    }
}

#[derive(Debug, Clone)]
pub struct Playbook {
    pub file: SourceFile,
    /// Folder the playbook lives in; relative paths inside it resolve against this.
    pub dir: PathBuf,
    pub name: Located<String>,
    pub description: Option<String>,
    pub provider: ProviderConfig,
    pub ledger: Option<Located<PathBuf>>,
    pub vars: serde_json::Map<String, serde_json::Value>,
    pub limits: Limits,
    pub retry: RetryPolicy,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Jpush,
    Tpns,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Jpush => "jpush",
            ProviderKind::Tpns => "tpns",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::Jpush => "JPush",
            ProviderKind::Tpns => "TPNS",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TpnsRegion {
    Guangzhou,
    Shanghai,
    Hongkong,
    Singapore,
}

impl TpnsRegion {
    pub const ALL: [(&'static str, TpnsRegion); 4] = [
        ("guangzhou", TpnsRegion::Guangzhou),
        ("shanghai", TpnsRegion::Shanghai),
        ("hongkong", TpnsRegion::Hongkong),
        ("singapore", TpnsRegion::Singapore),
    ];

    /// The access point's base URL (reference/tpns.md §1).
    pub fn base_url(self) -> &'static str {
        match self {
            TpnsRegion::Guangzhou => "https://api.tpns.tencent.com",
            TpnsRegion::Shanghai => "https://api.tpns.sh.tencent.com",
            TpnsRegion::Hongkong => "https://api.tpns.hk.tencent.com",
            TpnsRegion::Singapore => "https://api.tpns.sgp.tencent.com",
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map_or("guangzhou", |(n, _)| n)
    }
}

/// TPNS accepts two auth schemes; signatures are recommended by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TpnsAuth {
    Sign,
    Basic,
}

/// TPNS iOS environment of an override push; must match how devices registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TpnsEnvironment {
    Product,
    Dev,
}

impl TpnsEnvironment {
    pub fn as_str(self) -> &'static str {
        match self {
            TpnsEnvironment::Product => "product",
            TpnsEnvironment::Dev => "dev",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// Base URL without a trailing slash; from `endpoint`, the TPNS region, or the default.
    pub base_url: String,
    /// Where the base URL came from, for the plan ("endpoint", "region guangzhou", "default").
    pub base_url_source: String,
    pub credentials: Credentials,
    /// JPush: `options.apns_production` on override pushes (always sent).
    pub apns_production: bool,
    pub apns_production_explicit: bool,
    /// TPNS only.
    pub tpns_auth: TpnsAuth,
    pub tpns_environment: TpnsEnvironment,
}

/// Names of the environment variables that hold the credentials; never the values.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// JPush `app_key` / TPNS `access_id`.
    pub id_env: Located<String>,
    /// JPush `master_secret` / TPNS `secret_key`.
    pub secret_env: Located<String>,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub rate: Option<Located<Rate>>,
    pub concurrency: u32,
    pub max_targets: Option<u64>,
    pub max_failures: Option<FailureBudget>,
    /// How long to wait for an answer before treating it as lost.
    pub timeout: Duration,
}

pub const DEFAULT_CONCURRENCY: u32 = 8;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts per request, the first one included.
    pub attempts: u32,
    pub initial: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Recall,
    Stop,
    Override,
    CancelScheduled,
}

impl Action {
    pub const ALL: [(&'static str, Action); 4] = [
        ("recall", Action::Recall),
        ("stop", Action::Stop),
        ("override", Action::Override),
        ("cancel_scheduled", Action::CancelScheduled),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Recall => "recall",
            Action::Stop => "stop",
            Action::Override => "override",
            Action::CancelScheduled => "cancel_scheduled",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a step does with targets the channel matrix says it cannot (fully) reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsupportedPolicy {
    /// Unsupported and expired targets are skipped; partial ones run for what they can reach.
    Skip,
    /// Any target the matrix cannot fully reach fails without a request.
    Fail,
    /// Send anyway (TPNS overrides then set `force_collapse: true`).
    Force,
}

impl UnsupportedPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            UnsupportedPolicy::Skip => "skip",
            UnsupportedPolicy::Fail => "fail",
            UnsupportedPolicy::Force => "force",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: Located<String>,
    pub action: Action,
    pub action_span: Span,
    pub select: Selector,
    pub unsupported: UnsupportedPolicy,
    pub message: Option<MessageSpec>,
    pub span: Span,
}

/// A message id: JPush ids are u64 (never through a float), TPNS push ids are strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MsgId {
    Jpush(u64),
    Tpns(String),
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgId::Jpush(n) => write!(f, "{n}"),
            MsgId::Tpns(s) => f.write_str(s),
        }
    }
}

impl MsgId {
    /// Parse an id written as text, by the rules of `kind`.
    pub fn parse(kind: ProviderKind, text: &str) -> Result<MsgId, String> {
        let t = text.trim();
        match kind {
            ProviderKind::Jpush => {
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("`{t}` is not a JPush msg_id (an unsigned integer)"));
                }
                match t.parse::<u64>() {
                    Ok(0) => Err("0 is not a JPush msg_id".to_string()),
                    Ok(n) => Ok(MsgId::Jpush(n)),
                    Err(_) => Err(format!(
                        "`{t}` is too large for a JPush msg_id (at most 18446744073709551615)"
                    )),
                }
            }
            ProviderKind::Tpns => {
                if t.is_empty() {
                    return Err("a TPNS push id cannot be empty".to_string());
                }
                if t.len() > 64 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!("`{t}` is not a TPNS push id"));
                }
                Ok(MsgId::Tpns(t.to_string()))
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub ids: Vec<Located<MsgId>>,
    pub ids_file: Option<Located<PathBuf>>,
    /// The ids read from `ids_file`.
    pub file_ids: Vec<MsgId>,
    pub filter: Option<Located<Filter>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Android,
    Ios,
    Hmos,
    Quickapp,
}

impl Platform {
    pub const ALL: [(&'static str, Platform); 4] = [
        ("android", Platform::Android),
        ("ios", Platform::Ios),
        ("hmos", Platform::Hmos),
        ("quickapp", Platform::Quickapp),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Hmos => "hmos",
            Platform::Quickapp => "quickapp",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, p)| *p)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Filters over the ledger. All given conditions must hold (AND); within a list, any (OR).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub tags_any: Vec<String>,
    pub tags_all: Vec<String>,
    pub sent_after: Option<Timestamp>,
    pub sent_before: Option<Timestamp>,
    /// Relative to the run's start: sent no earlier than now - d.
    pub sent_within: Option<Duration>,
    /// Relative to the run's start: sent no later than now - d.
    pub older_than: Option<Duration>,
    pub platforms: Vec<Platform>,
}

impl Filter {
    /// The absolute time range this filter selects, given the run's start.
    pub fn time_range(&self, now: Timestamp) -> (Option<Timestamp>, Option<Timestamp>) {
        let lower = match (self.sent_after, self.sent_within) {
            (Some(a), _) => Some(a),
            (None, Some(d)) => now.checked_sub(d).ok(),
            (None, None) => None,
        };
        let upper = match (self.sent_before, self.older_than) {
            (Some(b), _) => Some(b),
            (None, Some(d)) => now.checked_sub(d).ok(),
            (None, None) => None,
        };
        (lower, upper)
    }

    pub fn uses_time(&self) -> bool {
        self.sent_after.is_some()
            || self.sent_before.is_some()
            || self.sent_within.is_some()
            || self.older_than.is_some()
    }
}

/// A template and where its text came from, so render errors point into the right file.
#[derive(Debug, Clone)]
pub struct TemplateSrc {
    pub text: String,
    /// The field it came from, for messages (`message.body`).
    pub field: String,
    pub origin: TemplateOrigin,
}

#[derive(Debug, Clone)]
pub enum TemplateOrigin {
    /// Written in the playbook: the scalar's byte range in the playbook file.
    Inline {
        file: SourceFile,
        offset: usize,
        len: usize,
        span: Span,
    },
    /// Read from a template file (`body_template`).
    File { file: SourceFile },
}

/// Free-form JSON whose strings are templates (`extras`).
#[derive(Debug, Clone)]
pub enum TemplateTree {
    Template(TemplateSrc),
    Literal(serde_json::Value),
    Map(Vec<(String, TemplateTree)>),
    List(Vec<TemplateTree>),
}

#[derive(Debug, Clone)]
pub struct MessageSpec {
    pub title: Option<TemplateSrc>,
    pub body: TemplateSrc,
    pub extras: Option<TemplateTree>,
    /// JPush: collapse id for iOS when the ledger does not carry the original's.
    pub apns_collapse_id: Option<TemplateSrc>,
    /// TPNS: Android `action.intent` (TPNS advises `intent`, not `custom_content`, for overrides).
    pub intent: Option<TemplateSrc>,
    pub span: Span,
}

/// APNs limit on `apns-collapse-id` (reference/jpush.md §6).
pub const APNS_COLLAPSE_ID_MAX_BYTES: usize = 64;
