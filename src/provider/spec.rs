//! What a provider declares about itself as data: the playbook keys it owns, its ledger
//! fields, its message fields, the matrix conditions it evaluates, its rate families. The
//! decoder, the ledger reader, the matrix and the planner read these instead of naming
//! providers.

use serde_json::{Map, Value};

use super::Family;
use crate::domain::Rate;

/// The mappings of a playbook where providers add keys of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPath {
    /// `provider:`
    Provider,
    /// `provider.credentials:`
    Credentials,
    /// `steps[].message:`
    Message,
}

impl KeyPath {
    pub const ALL: [KeyPath; 3] = [KeyPath::Provider, KeyPath::Credentials, KeyPath::Message];

    /// The mapping's name in messages (`provider.credentials`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPath::Provider => "provider",
            KeyPath::Credentials => "provider.credentials",
            KeyPath::Message => "message",
        }
    }
}

/// A key a provider owns, and its JSON Schema (for `pushfix schema`).
#[derive(Debug, Clone, Copy)]
pub struct OwnKey {
    pub at: KeyPath,
    pub name: &'static str,
    /// The property's schema as JSON text (`{"type": "boolean", "description": …}`).
    pub schema: &'static str,
}

/// The two credential keys of `provider.credentials` (both `{ env: NAME }` references).
#[derive(Debug, Clone, Copy)]
pub struct CredentialKeys {
    /// The app's identifier (JPush `app_key`, TPNS `access_id`): not a secret.
    pub id: &'static str,
    /// The secret (JPush `master_secret`, TPNS `secret_key`).
    pub secret: &'static str,
}

/// A provider-specific field of an override `message:` (a template, rendered per target).
#[derive(Debug, Clone, Copy)]
pub struct MessageField {
    pub name: &'static str,
    /// A literal longer than this is an error at validation (`(bytes, whose limit)`).
    pub max_bytes: Option<(usize, &'static str)>,
}

/// A provider-specific field of a ledger record.
#[derive(Debug, Clone, Copy)]
pub struct LedgerField {
    pub name: &'static str,
    pub kind: FieldKind,
    /// Copied into the plan's `original` (what the override request is built from).
    pub in_original: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// A string; empty means absent.
    Text,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// An unsigned 32-bit integer (a number or digits in a string); 0 means absent, as the
    /// SDKs use it.
    U32,
    /// An unsigned integer (a number or digits in a string; 0 allowed).
    Uint,
    /// One of these unsigned integers (a number or digits in a string; 0 allowed).
    UintOneOf(&'static [u64]),
    /// An unsigned integer no larger than this (a number or digits in a string; 0 allowed):
    /// GeTui's `notify_id`, at most 2147483647.
    UintMax(u64),
    /// A JSON object, kept as it is (in CSV: JSON text).
    Object,
    /// `false`, `true`, or the dispatch time (RFC 3339): whether a task is scheduled.
    Schedule,
    /// `true` or `false` (in CSV: the cell `true` or `false`).
    Bool,
}

/// A matrix condition a provider evaluates: a channel is reached only when the target's fact
/// `fact` (from the rendered message, else the ledger) is present and at most `max_bytes` long.
#[derive(Debug, Clone, Copy)]
pub struct Condition {
    /// As `matrix.yaml` names it under `conditional:`.
    pub name: &'static str,
    pub fact: &'static str,
    pub max_bytes: usize,
    /// Why the channel is not reached when the fact is missing.
    pub missing: &'static str,
    /// Whose limit `max_bytes` is (`APNs`).
    pub limit_owner: &'static str,
}

/// One rate-limit family: one client-side pacer each (DESIGN §5).
#[derive(Debug, Clone, Copy)]
pub struct FamilySpec {
    pub family: Family,
    /// The documented quota, the default pace.
    pub quota: Rate,
    /// Whether `limits.rate` replaces the quota (corrective calls), or the family keeps its
    /// own (statistics).
    pub paced_by_limits_rate: bool,
}

/// A provider's settings from `provider:` (beyond kind, endpoint and credentials), as JSON:
/// what the plan records (`plan.json` `provider`) and the provider reads back at run time.
pub type Settings = Map<String, Value>;

/// What a provider made of its `provider:` keys.
#[derive(Debug, Clone, Default)]
pub struct DecodedSettings {
    pub values: Settings,
    /// The base URL when the playbook gives no `endpoint`, and where it came from ("default",
    /// "region shanghai").
    pub base_url: (String, String),
    /// Keys not written whose defaults the plan should mention.
    pub defaulted: Vec<&'static str>,
}

/// How a provider reads its keys of `provider:`; implemented by the playbook decoder, so
/// errors are located and reported with all the others.
pub trait SettingsReader {
    /// Whether the key is written.
    fn has(&self, key: &str) -> bool;
    /// Whether a valid `endpoint` was written.
    fn has_endpoint(&self) -> bool;
    /// `true`/`false`; `None` when absent or invalid (invalid is reported).
    fn boolean(&mut self, key: &str) -> Option<bool>;
    /// A string (a scalar written as it stands); `None` when absent or not a scalar (reported).
    fn string(&mut self, key: &str) -> Option<String>;
    /// One of `options`; `None` when absent or not one of them (reported, with a suggestion).
    fn choice(&mut self, key: &str, options: &[&'static str]) -> Option<&'static str>;
    /// A string; `None` when absent or not a string (reported).
    fn text(&mut self, key: &str) -> Option<String>;
    /// Report a problem at the key.
    fn error(&mut self, key: &str, message: &str, help: &str);
    /// Warn about the mapping (`provider:`) as a whole; validate and plan print it located.
    fn warning(&mut self, message: &str, help: &str);
}
