//! Tencent Cloud IM Push (TIMPush, 推送服务 Push), the successor of TPNS
//! (reference/timpush.md): `v4/timpush/revoke` terminates an all-user or tag task within 24 h
//! of its start and, with `OfflinePushInfo`, replaces the delivered offline notification
//! (`stop` sends the terminate-only form, `override` the content); `delete_sched_task`
//! cancels a pending scheduled task. A task can be revoked once. Auth is a UserSig (TLS sig
//! v2) in the query string, minted per request for the App admin.

mod answer;
mod planning;
pub mod requests;
mod session;
pub mod usersig;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::Value;

use super::spec::{
    CredentialKeys, DecodedSettings, FamilySpec, FieldKind, KeyPath, LedgerField, OwnKey, Settings,
    SettingsReader,
};
use super::{
    Answer, AppCredentials, Auth, Class, Estimate, Family, PlanWarnings, Provider, RequestSpec,
    Session, StepConflict, StepContext, StepSummary,
};
use crate::domain::{Action, Facts, MsgId, ProviderKind, Rate, UnsupportedPolicy};
use crate::target::PlanTarget;

pub use answer::{ALREADY_REVOKED, PUSH_TASK_ID};

pub struct Timpush;

pub static TIMPUSH: Timpush = Timpush;

/// `revoke`, 1/s per SDKAppID (90051 above it, 269/137903).
pub const REVOKE_FAMILY: Family = Family::new("timpush_revoke");
/// The scheduled-task APIs (`get_sched_task`, `delete_sched_task`), 5/s each.
pub const SCHED_FAMILY: Family = Family::new("timpush_sched");

/// Ledger fields.
pub const AUDIENCE_TYPE: &str = "audience_type";
/// The integer `TaskID` `add_sched_task` returned (not the push TaskId).
pub const SCHED_TASK_ID: &str = "sched_task_id";
pub const SCHEDULED: &str = "scheduled";

/// All-user push (no `Condition`), tag or attribute push (`Condition`), or a push to accounts
/// (`batch`, `To_Account`).
pub const AUDIENCE_TYPES: &[&str] = &["all", "tag", "attribute", "user"];

/// The admin account TIMPush apps are created with.
pub const DEFAULT_IDENTIFIER: &str = "administrator";

/// The data centres (§1): the SDKAppID answers only at the host of the region it was
/// created in.
const REGIONS: &[(&str, &str)] = &[
    ("china", "https://console.tim.qq.com"),
    ("singapore", "https://adminapisgp.im.qcloud.com"),
    ("seoul", "https://adminapikr.im.qcloud.com"),
    ("tokyo", "https://adminapijpn.im.qcloud.com"),
    ("frankfurt", "https://adminapiger.im.qcloud.com"),
    ("mumbai", "https://adminapiind.im.qcloud.com"),
    ("silicon_valley", "https://adminapiusa.im.qcloud.com"),
    ("jakarta", "https://adminapiidn.im.qcloud.com"),
    ("riyadh", "https://adminapiksa.im.qcloud.com"),
];

static OWN_KEYS: &[OwnKey] = &[
    OwnKey {
        at: KeyPath::Provider,
        name: "region",
        schema: r#"{"description": "TIMPush only: the data centre the SDKAppID was created in (required unless endpoint is set).", "type": "string", "enum": ["china", "singapore", "seoul", "tokyo", "frankfurt", "mumbai", "silicon_valley", "jakarta", "riyadh"]}"#,
    },
    OwnKey {
        at: KeyPath::Provider,
        name: "identifier",
        schema: r#"{"description": "TIMPush only: the App admin account the UserSig is minted for (default administrator).", "type": "string", "minLength": 1, "maxLength": 32}"#,
    },
    OwnKey {
        at: KeyPath::Credentials,
        name: "sdkappid",
        schema: r##"{"$ref": "#/$defs/EnvRef"}"##,
    },
    OwnKey {
        at: KeyPath::Credentials,
        name: "secret_key",
        schema: r##"{"$ref": "#/$defs/EnvRef"}"##,
    },
];

static FAMILIES: &[FamilySpec] = &[
    FamilySpec {
        family: REVOKE_FAMILY,
        quota: Rate::per_second(1.0),
        paced_by_limits_rate: true,
    },
    FamilySpec {
        family: SCHED_FAMILY,
        quota: Rate::per_second(5.0),
        paced_by_limits_rate: false,
    },
];

/// Longest TaskId accepted (the documented ones are about 50 characters).
const MAX_TASK_ID: usize = 128;

impl Provider for Timpush {
    fn kind(&self) -> ProviderKind {
        ProviderKind::new("timpush")
    }

    fn display_name(&self) -> &'static str {
        "TIMPush"
    }

    fn id_field(&self) -> &'static str {
        "task_id"
    }

    fn parse_id(&self, text: &str) -> Result<MsgId, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("a TIMPush TaskId cannot be empty".to_string());
        }
        if t.len() > MAX_TASK_ID || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "`{t}` is not a TIMPush TaskId (no spaces, at most {MAX_TASK_ID} bytes)"
            ));
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_task_id(t));
        }
        Ok(MsgId::Text(t.to_string()))
    }

    /// TaskIds are strings (`660cc447_537ed82a_…`); an integer is most likely a scheduled
    /// task's id, which belongs in the ledger's `sched_task_id`.
    fn id_from_int(&self, value: i128) -> Result<MsgId, String> {
        Err(not_a_task_id(&value.to_string()))
    }

    fn id_from_float(&self, raw: &str) -> Result<MsgId, String> {
        Err(format!(
            "`{raw}` is not a TIMPush TaskId: write TaskIds as strings, exactly as TIMPush returned them"
        ))
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        OWN_KEYS
    }

    fn keys_hint(&self, at: KeyPath) -> &'static str {
        match at {
            KeyPath::Credentials => "TIMPush credentials are `sdkappid` and `secret_key`",
            KeyPath::Message => {
                "a TIMPush override message takes title, body/body_template and extras (sent as OfflinePushInfo Title, Desc and Ext)"
            }
            KeyPath::Provider => {
                "TIMPush takes `region` (or `endpoint`), `identifier` and `credentials`"
            }
        }
    }

    fn credential_keys(&self) -> CredentialKeys {
        CredentialKeys {
            id: "sdkappid",
            secret: "secret_key",
        }
    }

    fn decode_settings(&self, r: &mut dyn SettingsReader) -> DecodedSettings {
        let names: Vec<&'static str> = REGIONS.iter().map(|(n, _)| *n).collect();
        let region = r.choice("region", &names);
        if r.has_endpoint() && r.has("region") {
            r.error(
                "region",
                "set either `endpoint` or `region`, not both",
                "`region` picks the TIMPush data centre; `endpoint` replaces it (for example a sandbox URL)",
            );
        } else if !r.has_endpoint() && !r.has("region") {
            // No default: an SDKAppID answers only in its own data centre (70016/70020
            // elsewhere), and guessing China for an app created in Singapore fails every call.
            r.error(
                "region",
                "TIMPush needs `provider.region`: the SDKAppID answers only in the data centre it was created in",
                "set `region:` to one of china, singapore, seoul, tokyo, frankfurt, mumbai, silicon_valley, jakarta, riyadh (or `endpoint:`)",
            );
        }
        let identifier = match r.text("identifier") {
            Some(id) if valid_identifier(&id) => Some(id),
            Some(_) => {
                r.error(
                    "identifier",
                    "`provider.identifier` is not a TIMPush account: 1 to 32 bytes, no spaces",
                    "write the App admin's UserID (apps are created with `administrator`)",
                );
                None
            }
            None => None,
        };
        let mut defaulted = Vec::new();
        if !r.has("identifier") {
            defaulted.push("identifier");
        }
        let mut values = Settings::new();
        values.insert(
            "identifier".into(),
            Value::String(identifier.unwrap_or_else(|| DEFAULT_IDENTIFIER.to_string())),
        );
        let region = region.unwrap_or("china");
        let url = REGIONS
            .iter()
            .find(|(n, _)| *n == region)
            .map_or(REGIONS[0].1, |(_, u)| *u);
        DecodedSettings {
            values,
            base_url: (url.to_string(), format!("region {region}")),
            defaulted,
        }
    }

    fn refuse_action(&self, action: Action) -> Option<(&'static str, &'static str)> {
        match action {
            Action::Recall => Some((
                "TIMPush has no separate recall: `v4/timpush/revoke` terminates the task and overrides the delivered offline notification",
                "use `override` (terminate and replace) or `stop` (terminate only); a task can be revoked once",
            )),
            _ => None,
        }
    }

    fn ledger_fields(&self) -> &'static [LedgerField] {
        &[
            LedgerField {
                name: AUDIENCE_TYPE,
                kind: FieldKind::OneOf(AUDIENCE_TYPES),
                in_original: true,
            },
            LedgerField {
                name: SCHED_TASK_ID,
                kind: FieldKind::Uint,
                in_original: true,
            },
            LedgerField {
                name: SCHEDULED,
                kind: FieldKind::Schedule,
                in_original: false,
            },
        ]
    }

    fn audience_may_be_all(&self) -> bool {
        true
    }

    /// A revoke names the task, not its audience: the audience is never needed.
    fn has_audience(&self, audience: Option<&Value>, facts: &Facts) -> bool {
        audience.is_some() || facts.contains_key(AUDIENCE_TYPE)
    }

    fn families(&self) -> &'static [FamilySpec] {
        FAMILIES
    }

    fn step_family(&self, action: Action) -> Family {
        match action {
            Action::CancelScheduled => SCHED_FAMILY,
            _ => REVOKE_FAMILY,
        }
    }

    /// Every action may need the record's `sched_task_id` (a cancel always, a revoke of a
    /// scheduled task to find its push TaskId).
    fn keeps_original(&self, _action: Action) -> bool {
        true
    }

    fn step_conflicts(&self, steps: &[StepSummary<'_>]) -> Vec<StepConflict> {
        planning::step_conflicts(steps)
    }

    fn estimate(&self, cx: &StepContext<'_>) -> Estimate {
        planning::estimate(cx)
    }

    fn step_warnings(&self, cx: &StepContext<'_>, _estimated_seconds: f64) -> Vec<String> {
        planning::step_warnings(cx)
    }

    fn plan_warnings(&self, defaulted: &[&'static str], steps: &[StepSummary<'_>]) -> PlanWarnings {
        planning::plan_warnings(defaulted, steps)
    }

    fn preview(
        &self,
        settings: &Settings,
        action: Action,
        _policy: UnsupportedPolicy,
        t: &PlanTarget,
    ) -> Vec<RequestSpec> {
        let sdkappid = || Value::String("<SDKAppID of provider.credentials.sdkappid>".into());
        let sched = t.original.as_ref().and_then(|o| o.fact_u64(SCHED_TASK_ID));
        let mut out = Vec::new();
        match action {
            Action::CancelScheduled => {
                let Some(n) = sched else { return out };
                out.push(requests::get_sched_task(n, sdkappid()));
                out.push(requests::delete_sched_task(
                    n,
                    Value::String("<Type from get_sched_task>".into()),
                    sdkappid(),
                ));
            }
            Action::Stop | Action::Override => {
                let info = if action == Action::Stop {
                    requests::stop_info()
                } else {
                    match &t.message {
                        Some(m) => requests::override_info(m),
                        None => return out,
                    }
                };
                let task_id = match sched {
                    Some(n) => {
                        out.push(requests::get_sched_task(n, sdkappid()));
                        "<PushTaskID from get_sched_task>".to_string()
                    }
                    None => t.id.clone(),
                };
                out.push(requests::revoke(&task_id, info));
            }
            Action::Recall => {}
        }
        for r in &mut out {
            r.path.push_str(&preview_query(settings));
        }
        out
    }

    fn preview_headers(
        &self,
        _settings: &Settings,
        _id_env: &str,
        _secret_env: &str,
    ) -> BTreeMap<String, String> {
        let mut h = BTreeMap::new();
        h.insert("Content-Type".into(), "application/json".into());
        h
    }

    fn auth(&self, settings: &Settings, credentials: AppCredentials) -> Box<dyn Auth> {
        Box::new(usersig::UserSigAuth::new(credentials, identifier(settings)))
    }

    fn classify(&self, spec: &RequestSpec, a: &Answer) -> Class {
        answer::classify(spec.call, a)
    }

    fn session(&self, _settings: &Settings) -> Box<dyn Session> {
        Box::new(session::TimpushSession::new())
    }
}

/// The common query parameters as a preview shows them: the UserSig is never shown.
fn preview_query(settings: &Settings) -> String {
    format!(
        "?sdkappid=<SDKAppID>&identifier={}&usersig=<redacted: UserSig minted per request>&random=<random u32>&contenttype=json",
        identifier(settings)
    )
}

fn identifier(settings: &Settings) -> &str {
    settings
        .get("identifier")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_IDENTIFIER)
}

/// Digits alone are never a push TaskId (`660cc447_537ed82a_…`, `batch_…`): most likely the
/// integer id of a scheduled task.
fn not_a_task_id(t: &str) -> String {
    format!(
        "`{t}` is not a TIMPush TaskId: TaskIds are strings such as \"660cc447_537ed82a_…\" (a scheduled task's integer TaskID goes in the ledger's `sched_task_id`)"
    )
}

/// An IM UserID: 1 to 32 bytes, printable, no whitespace.
fn valid_identifier(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}
