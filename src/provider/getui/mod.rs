//! GeTui (个推), RestAPI V2 (reference/getui.md): stop (`DELETE /v2/{appId}/task/{taskid}`),
//! recall (a push whose `push_message` is `revoke {old_task_id, force: false}`), override (a
//! new push to the original audience carrying the original's `notify_id` and
//! `apns-collapse-id`) and cancel of scheduled tasks (`DELETE /v2/{appId}/task/schedule/
//! {taskid}`), with a token from `POST /v2/{appId}/auth` cached for the run.

mod answer;
mod auth;
mod planning;
pub mod requests;
mod session;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::Value;

use super::spec::{
    Condition, CredentialKeys, DecodedSettings, FamilySpec, FieldKind, KeyPath, LedgerField,
    MessageField, OwnKey, Settings, SettingsReader,
};
use super::{
    Answer, AppCredentials, Auth, Class, Estimate, Family, PlanWarnings, Provider, RequestSpec,
    Session, StepContext, StepSummary, TargetContext,
};
use crate::domain::{Action, Facts, MsgId, ProviderKind, Rate, UnsupportedPolicy};
use crate::target::{Original, PlanTarget};

pub use answer::{
    GETUI_DAILY_QUOTA_CODES, GETUI_GROUP_PER_MINUTE, GETUI_SCHEDULE_EXECUTED, GETUI_TOKEN_EXPIRED,
};
pub use auth::sign;

pub struct Getui;

pub static GETUI: Getui = Getui;

/// `POST /v2/{appId}/auth`: 100 a minute (and 100 000 a day).
pub const AUTH_FAMILY: Family = Family::new("getui_auth");
/// stop and delete-schedule: no documented limit; paced like the reference advises (5/s).
pub const TASK_FAMILY: Family = Family::new("getui_task");
/// toSingle and toList pushes (override of single and list tasks).
pub const PUSH_FAMILY: Family = Family::new("getui_push");
/// toApp pushes (`push/all`, `push/tag`, `push/fast_custom_tag`): 5 a minute and 100 a day per
/// app, shared with every other group push the app sends (30014, 30007, 30010).
pub const GROUP_FAMILY: Family = Family::new("getui_group");

/// `provider.app_id`: the app every request path names (`/v2/{appId}/…`).
pub const APP_ID: &str = "app_id";

/// Ledger fields.
pub const AUDIENCE_TYPE: &str = "audience_type";
pub const NOTIFY_ID: &str = "notify_id";
pub const APNS_COLLAPSE_ID: &str = "apns_collapse_id";
pub const SCHEDULED: &str = "scheduled";

/// Message fields: the click action of the correction.
pub const URL: &str = "url";
pub const INTENT: &str = "intent";

/// How the original task was sent (reference §3): toSingle, toList, or toApp to all devices,
/// to tags, or to a fast custom tag.
pub const AUDIENCE_TYPES: &[&str] = &["single", "list", "all", "tag", "fast_custom_tag"];

/// `notify_id` is an integer in [0, 2147483647] (reference §4.3).
pub const NOTIFY_ID_MAX: u64 = 2_147_483_647;
/// APNs limit on `apns-collapse-id`.
pub const APNS_COLLAPSE_ID_MAX_BYTES: usize = 64;

/// GeTui's daily allowance of group pushes (`push/all` + `push/tag`, reference §5: 30007,
/// 30010), and the smaller one a third-party doc reports for some apps.
pub const GROUP_PUSHES_PER_DAY: u64 = 100;
pub const GROUP_PUSHES_PER_DAY_LOW: u64 = 20;

const DEFAULT_BASE_URL: &str = "https://restapi.getui.com";

static OWN_KEYS: &[OwnKey] = &[
    OwnKey {
        at: KeyPath::Provider,
        name: APP_ID,
        schema: r#"{"description": "GeTui only (required): the AppID every request path names, /v2/{app_id}/... (not a secret: it ships inside the app).", "type": "string", "pattern": "^[A-Za-z0-9]{1,64}$"}"#,
    },
    OwnKey {
        at: KeyPath::Credentials,
        name: "app_key",
        schema: r##"{"$ref": "#/$defs/EnvRef"}"##,
    },
    OwnKey {
        at: KeyPath::Credentials,
        name: "master_secret",
        schema: r##"{"$ref": "#/$defs/EnvRef"}"##,
    },
    OwnKey {
        at: KeyPath::Message,
        name: URL,
        schema: r#"{"description": "GeTui only: the web page a tap on the correction opens (click_type url).", "type": "string"}"#,
    },
    OwnKey {
        at: KeyPath::Message,
        name: INTENT,
        schema: r#"{"description": "Android action intent of the correction (TPNS; GeTui click_type intent).", "type": "string"}"#,
    },
];

static FAMILIES: &[FamilySpec] = &[
    FamilySpec {
        family: AUTH_FAMILY,
        quota: Rate::per_minute(100.0),
        paced_by_limits_rate: false,
    },
    FamilySpec {
        family: TASK_FAMILY,
        quota: Rate::per_second(5.0),
        paced_by_limits_rate: true,
    },
    FamilySpec {
        family: PUSH_FAMILY,
        quota: Rate::per_second(5.0),
        paced_by_limits_rate: true,
    },
    // Never faster than GeTui allows, whatever `limits.rate` says: past 5 a minute every
    // group push is refused (30014).
    FamilySpec {
        family: GROUP_FAMILY,
        quota: Rate::per_minute(5.0),
        paced_by_limits_rate: false,
    },
];

impl Provider for Getui {
    fn kind(&self) -> ProviderKind {
        ProviderKind::new("getui")
    }

    fn display_name(&self) -> &'static str {
        "GeTui"
    }

    fn id_field(&self) -> &'static str {
        "taskid"
    }

    fn parse_id(&self, text: &str) -> Result<MsgId, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("a GeTui taskid cannot be empty".to_string());
        }
        // Ids go into request paths: only the characters task ids are made of (`RASA_1120_…`).
        if t.len() > 64
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "`{t}` is not a GeTui taskid (letters, digits, `_` and `-`, at most 64)"
            ));
        }
        Ok(MsgId::Text(t.to_string()))
    }

    fn id_from_int(&self, value: i128) -> Result<MsgId, String> {
        Err(format!(
            "`{value}` is not a GeTui taskid: task ids are strings such as RASA_1120_…, write them quoted"
        ))
    }

    fn id_from_float(&self, raw: &str) -> Result<MsgId, String> {
        Err(format!(
            "`{raw}` is not a GeTui taskid: task ids are strings such as RASA_1120_…, write them quoted"
        ))
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        OWN_KEYS
    }

    fn keys_hint(&self, at: KeyPath) -> &'static str {
        match at {
            KeyPath::Credentials => "GeTui credentials are `app_key` and `master_secret`",
            KeyPath::Message => {
                "a GeTui override message takes title, body/body_template, extras, url and intent"
            }
            KeyPath::Provider => "GeTui takes `app_id`, `endpoint` and `credentials`",
        }
    }

    fn credential_keys(&self) -> CredentialKeys {
        CredentialKeys {
            id: "app_key",
            secret: "master_secret",
        }
    }

    fn decode_settings(&self, r: &mut dyn SettingsReader) -> DecodedSettings {
        let mut values = Settings::new();
        if !r.has(APP_ID) {
            r.error(
                APP_ID,
                "a GeTui playbook needs `provider.app_id`: every request path names the app (/v2/{app_id}/…)",
                "add `app_id: <AppID>` under `provider:` (the AppID from the GeTui console; not a secret)",
            );
        } else if let Some(id) = r.string(APP_ID) {
            let id = id.trim().to_string();
            let ok =
                !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
            if ok {
                values.insert(APP_ID.into(), Value::String(id));
            } else {
                r.error(
                    APP_ID,
                    &format!("`{id}` is not a GeTui AppID (letters and digits, at most 64)"),
                    "copy the AppID from the GeTui console (应用配置 → AppID)",
                );
            }
        }
        DecodedSettings {
            values,
            base_url: (DEFAULT_BASE_URL.into(), "default".into()),
            defaulted: Vec::new(),
        }
    }

    fn message_fields(&self) -> &'static [MessageField] {
        &[
            MessageField {
                name: URL,
                max_bytes: None,
            },
            MessageField {
                name: INTENT,
                max_bytes: None,
            },
        ]
    }

    fn ledger_fields(&self) -> &'static [LedgerField] {
        &[
            LedgerField {
                name: AUDIENCE_TYPE,
                kind: FieldKind::OneOf(AUDIENCE_TYPES),
                in_original: true,
            },
            LedgerField {
                name: NOTIFY_ID,
                kind: FieldKind::UintMax(NOTIFY_ID_MAX),
                in_original: true,
            },
            LedgerField {
                name: APNS_COLLAPSE_ID,
                kind: FieldKind::Text,
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

    fn has_audience(&self, audience: Option<&Value>, facts: &Facts) -> bool {
        let kind = facts.get(AUDIENCE_TYPE).and_then(|f| f.as_text());
        requests::Audience::of(kind, audience).is_ok()
    }

    fn conditions(&self) -> &'static [Condition] {
        &[
            Condition {
                name: "original_notify_id",
                fact: NOTIFY_ID,
                max_bytes: 10,
                missing: "the original push carried no notify_id (or the ledger did not record it), so nothing can replace or recall it there",
                limit_owner: "GeTui",
            },
            Condition {
                name: "original_apns_collapse_id",
                fact: APNS_COLLAPSE_ID,
                max_bytes: APNS_COLLAPSE_ID_MAX_BYTES,
                missing: "the original push carried no apns-collapse-id (or the ledger did not record it), so iOS cannot replace it",
                limit_owner: "APNs",
            },
        ]
    }

    fn families(&self) -> &'static [FamilySpec] {
        FAMILIES
    }

    fn step_family(&self, action: Action) -> Family {
        match action {
            Action::Stop | Action::CancelScheduled => TASK_FAMILY,
            Action::Recall | Action::Override => GROUP_FAMILY,
        }
    }

    fn target_family(&self, action: Action, t: &PlanTarget) -> Family {
        match action {
            Action::Override => planning::override_family(t),
            other => self.step_family(other),
        }
    }

    fn plan_target(&self, cx: &TargetContext<'_>, o: &mut Original, notes: &mut Vec<String>) {
        planning::plan_target(cx, o, notes);
    }

    fn estimate(&self, cx: &StepContext<'_>) -> Estimate {
        planning::estimate(cx)
    }

    fn step_warnings(&self, cx: &StepContext<'_>, estimated_seconds: f64) -> Vec<String> {
        planning::step_warnings(cx, estimated_seconds)
    }

    fn plan_warnings(
        &self,
        _defaulted: &[&'static str],
        steps: &[StepSummary<'_>],
    ) -> PlanWarnings {
        planning::plan_warnings(steps)
    }

    fn preview(
        &self,
        settings: &Settings,
        action: Action,
        _policy: UnsupportedPolicy,
        t: &PlanTarget,
    ) -> Vec<RequestSpec> {
        session::requests_for(
            app_id(settings),
            action,
            t,
            requests::REQUEST_ID_PLACEHOLDER,
            requests::LIST_TASKID_PLACEHOLDER,
        )
        .unwrap_or_default()
    }

    fn preview_headers(
        &self,
        settings: &Settings,
        id_env: &str,
        secret_env: &str,
    ) -> BTreeMap<String, String> {
        let mut h = BTreeMap::new();
        h.insert("Content-Type".into(), "application/json".into());
        h.insert(
            "token".into(),
            format!(
                "<redacted: from POST /v2/{}/auth, sign = sha256(${id_env} + timestamp + ${secret_env})>",
                app_id(settings)
            ),
        );
        h
    }

    fn auth(&self, _settings: &Settings, credentials: AppCredentials) -> Box<dyn Auth> {
        Box::new(auth::TokenAuth::new(credentials))
    }

    fn classify(&self, spec: &RequestSpec, a: &Answer) -> Class {
        answer::classify(spec.call, a)
    }

    fn session(&self, settings: &Settings) -> Box<dyn Session> {
        Box::new(session::GetuiSession::new(app_id(settings)))
    }
}

/// The playbook's app id (always there: decoding refuses a playbook without one).
fn app_id(settings: &Settings) -> &str {
    settings.get(APP_ID).and_then(Value::as_str).unwrap_or("")
}
