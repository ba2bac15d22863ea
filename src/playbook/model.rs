//! The decoded, validated playbook. Everything here has passed the checks in `decode`;
//! values that can be wrong at plan time (templates) keep their source location.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diag::{SourceFile, Span};
use crate::domain::{Action, FailureBudget, MsgId, ProviderKind, Rate};
use crate::ledger::Filter;
use crate::template::{TemplateSrc, TemplateTree};

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

#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub ids: Vec<Located<MsgId>>,
    pub ids_file: Option<Located<PathBuf>>,
    /// The ids read from `ids_file`.
    pub file_ids: Vec<MsgId>,
    pub filter: Option<Located<Filter>>,
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
