//! The decoded, validated playbook. Everything here has passed the checks in `decode`;
//! values that can be wrong at plan time (templates) keep their source location.

use std::path::PathBuf;
use std::time::Duration;

use crate::diag::{SourceFile, Span};
use crate::domain::{
    Action, FailureBudget, MsgId, NotCorrectedPolicy, ProviderKind, Rate, UnsupportedPolicy,
};
use crate::ledger::Filter;
use crate::provider::{self, Provider, Settings};
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

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// Base URL without a trailing slash; from `endpoint`, or the provider's default (a TPNS
    /// region's access point).
    pub base_url: String,
    /// Where the base URL came from, for the plan ("endpoint", "region guangzhou", "default").
    pub base_url_source: String,
    pub credentials: Credentials,
    /// The provider's own settings (JPush `apns_production`, TPNS `auth`, `environment`).
    pub settings: Settings,
    /// Settings not written whose defaults the plan mentions.
    pub defaulted: Vec<&'static str>,
}

impl ProviderConfig {
    pub fn provider(&self) -> &'static dyn Provider {
        provider::get(self.kind)
    }
}

/// Names of the environment variables that hold the credentials; never the values.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The app's id (JPush `app_key`, TPNS `access_id`).
    pub id_env: Located<String>,
    /// The secret (JPush `master_secret`, TPNS `secret_key`).
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
    /// Ask the provider, after the campaign, whether each correction took effect.
    pub verify: bool,
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

#[derive(Debug, Clone)]
pub struct Step {
    pub name: Located<String>,
    pub action: Action,
    pub action_span: Span,
    pub select: Selector,
    pub unsupported: UnsupportedPolicy,
    /// What an override the provider refused to send means for the run's exit code.
    pub on_not_corrected: NotCorrectedPolicy,
    pub message: Option<MessageSpec>,
    /// Verify this step's corrections after the campaign (true), or never (false); None:
    /// as `limits.verify` says.
    pub verify: Option<bool>,
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
    /// The provider's own fields (JPush `apns_collapse_id`, TPNS `intent`), by name.
    pub fields: Vec<(&'static str, TemplateSrc)>,
    pub span: Span,
}
