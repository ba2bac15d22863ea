//! Providers: everything provider-specific behind one trait, one folder per provider
//! (`jpush/`, `tpns/`, `timpush/`), and a registry. The rest of pushfix — decoder, ledger reader, matrix,
//! planner, executor — asks the playbook's provider instead of naming one.
//!
//! A provider owns: how its ids are written; the playbook keys it adds (with hints for keys of
//! other providers); its ledger fields; its rate families and quotas; the requests of each
//! action for a target (one builder, used by the plan's preview and by the run); how its
//! answers read; its authentication; and its multi-request procedures, written against
//! `Calls`, the executor's paced, retried, journaled request. Adding one is described in
//! docs/adding-a-provider.md.

pub mod answer;
pub mod auth;
pub mod call;
pub mod endpoint;
mod family;
pub mod getui;
pub mod http;
pub mod jpush;
pub mod planning;
mod registry;
pub mod request;
pub mod spec;
pub mod timpush;
pub mod tpns;
pub mod verify;

use std::collections::BTreeMap;

use serde_json::Value;

pub use answer::{Answer, Class, Done, RateHeaders};
pub use auth::{AppCredentials, Auth, Secret};
pub use call::{CallEnd, CallOptions, Calls, Final, Job, Resumed, Session};
pub use family::Family;
pub use planning::{
    Estimate, PlanRate, PlanWarnings, StepConflict, StepContext, StepSummary, TargetContext,
};
pub use registry::{all, find, get, kind_names};
pub use request::RequestSpec;
pub use spec::{
    Condition, CredentialKeys, DecodedSettings, FamilySpec, FieldKind, KeyPath, LedgerField,
    MessageField, OwnKey, Settings, SettingsReader,
};
pub use verify::{Check, Finding, Probes, Verifier};

use crate::domain::{Action, Facts, MsgId, ProviderKind, UnsupportedPolicy};
use crate::target::{Original, PlanTarget};

pub trait Provider: Send + Sync + 'static {
    // --- who ---
    /// The name playbooks write as `provider.kind`.
    fn kind(&self) -> ProviderKind;
    /// The name people read (`JPush`).
    fn display_name(&self) -> &'static str;

    // --- ids ---
    /// The ledger field naming each message (`msg_id`).
    fn id_field(&self) -> &'static str;
    /// An id written as text (a YAML or JSON string, a line of an ids file).
    fn parse_id(&self, text: &str) -> Result<MsgId, String>;
    /// An id written as an integer.
    fn id_from_int(&self, value: i128) -> Result<MsgId, String>;
    /// An id the YAML parser read as a float (`raw` as written: digits beyond 64 bits, or a
    /// fraction).
    fn id_from_float(&self, raw: &str) -> Result<MsgId, String>;
    /// The ledger field naming a schedule, for a provider whose `cancel_scheduled` takes
    /// schedule ids rather than message ids (JPush: `schedule_id`, a UUID; its msg_ids exist
    /// only once a schedule fires). None: schedules are named by `id_field` like messages.
    fn schedule_id_field(&self) -> Option<&'static str> {
        None
    }
    /// A schedule id written as text (read only where `schedule_id_field` is Some).
    fn parse_schedule_id(&self, text: &str) -> Result<MsgId, String> {
        self.parse_id(text)
    }
    /// An id a step of `action` names, written as text: a schedule id for `cancel_scheduled`
    /// where the provider names schedules apart, else a message id.
    fn parse_step_id(&self, action: Action, text: &str) -> Result<MsgId, String> {
        if action == Action::CancelScheduled && self.schedule_id_field().is_some() {
            self.parse_schedule_id(text)
        } else {
            self.parse_id(text)
        }
    }

    // --- playbook ---
    /// The keys this provider adds to the playbook's mappings, with their schemas.
    fn own_keys(&self) -> &'static [OwnKey];
    /// What this provider takes at `at`, for a key written for another provider.
    fn keys_hint(&self, at: KeyPath) -> &'static str;
    fn credential_keys(&self) -> CredentialKeys;
    /// Read the provider's own keys of `provider:`.
    fn decode_settings(&self, r: &mut dyn SettingsReader) -> DecodedSettings;
    /// The message fields it renders (each also one of `own_keys` at `KeyPath::Message`).
    fn message_fields(&self) -> &'static [MessageField] {
        &[]
    }
    /// Why an action is not offered, and what to use instead.
    fn refuse_action(&self, _action: Action) -> Option<(&'static str, &'static str)> {
        None
    }

    // --- ledger ---
    fn ledger_fields(&self) -> &'static [LedgerField] {
        &[]
    }
    /// Whether `audience` may be the string "all" (else only an object).
    fn audience_may_be_all(&self) -> bool {
        false
    }
    /// Whether the original targeting is known well enough to send an override to it.
    fn has_audience(&self, audience: Option<&Value>, facts: &Facts) -> bool;

    // --- matrix ---
    /// The conditions its matrix section names under `conditional:`.
    fn conditions(&self) -> &'static [Condition] {
        &[]
    }

    // --- pacing ---
    fn families(&self) -> &'static [FamilySpec];
    /// The family of each action's main request.
    fn step_family(&self, action: Action) -> Family;
    /// The family of one target's main request, where it depends on the target (a GeTui
    /// override of a single push is not a group push). Default: the step's.
    fn target_family(&self, action: Action, _target: &PlanTarget) -> Family {
        self.step_family(action)
    }

    // --- plan ---
    /// Whether the plan keeps each target's ledger facts (`original`) for `action`: an
    /// override is always built from them; a provider whose other requests need ledger facts
    /// too (TIMPush's scheduled-task id) says so here.
    fn keeps_original(&self, action: Action) -> bool {
        action == Action::Override
    }
    /// Targets a step may not correct because an earlier step of the plan already does (a
    /// provider that corrects a message only once: TIMPush revokes a task once). Each is a
    /// located error at the step's `action`: the playbook cannot run as written.
    fn step_conflicts(&self, _steps: &[StepSummary<'_>]) -> Vec<StepConflict> {
        Vec::new()
    }
    /// Adjust an override target's original (platforms to push to) and notes.
    fn plan_target(
        &self,
        _cx: &TargetContext<'_>,
        _original: &mut Original,
        _notes: &mut Vec<String>,
    ) {
    }
    /// Requests beyond one per target to send (lookups, idempotency keys), and warnings.
    fn estimate(&self, _cx: &StepContext<'_>) -> Estimate {
        Estimate::default()
    }
    /// Warnings about a step once its duration is estimated.
    fn step_warnings(&self, _cx: &StepContext<'_>, _estimated_seconds: f64) -> Vec<String> {
        Vec::new()
    }
    /// Warnings across steps, and about defaulted settings.
    fn plan_warnings(
        &self,
        _defaulted: &[&'static str],
        _steps: &[StepSummary<'_>],
    ) -> PlanWarnings {
        PlanWarnings::default()
    }
    /// The requests one target would send, with placeholders where values come at run time.
    fn preview(
        &self,
        settings: &Settings,
        action: Action,
        policy: UnsupportedPolicy,
        target: &PlanTarget,
    ) -> Vec<RequestSpec>;
    /// The auth headers as a preview shows them: variable names, never values.
    fn preview_headers(
        &self,
        settings: &Settings,
        id_env: &str,
        secret_env: &str,
    ) -> BTreeMap<String, String>;

    // --- run ---
    fn auth(&self, settings: &Settings, credentials: AppCredentials) -> Box<dyn Auth>;
    /// What an answer to `spec` means.
    fn classify(&self, spec: &RequestSpec, answer: &Answer) -> Class;
    /// State for one run (caches, pools) and the procedures that correct each target.
    fn session(&self, settings: &Settings) -> Box<dyn Session>;

    // --- verify ---
    /// How to ask the provider whether corrections took effect (docs/verification.md); None:
    /// it cannot be asked, and every correction stays `unchecked`.
    fn verifier(&self, _settings: &Settings) -> Option<Box<dyn Verifier>> {
        None
    }
}
