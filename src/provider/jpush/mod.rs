//! JPush (极光推送), REST API v3 (reference/jpush.md): recall (`DELETE /v3/push/{msg_id}`),
//! override (a new push with `options.override_msg_id`, and `apns_collapse_id` for iOS), and
//! `cancel_scheduled` (`DELETE /v3/schedules/{schedule_id}`).
//!
//! Schedules are named by their own ids, not msg_ids: a schedule (a UUID JPush answers when it
//! is created) has no msg_id until it fires. So `cancel_scheduled` steps list schedule ids, and
//! a ledger names each schedule by `schedule_id` (beside records naming messages by `msg_id`),
//! with `name`, `scheduled` (when it fires for the last time) and `enabled`.

mod answer;
mod planning;
pub mod requests;
mod schedule;
mod session;
mod verify;

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
    Session, StepContext, StepSummary, TargetContext, auth::BasicAuth,
};
use crate::domain::{Action, Facts, MsgId, ProviderKind, Rate, UnsupportedPolicy};
use crate::target::{Original, PlanTarget};

pub struct Jpush;

pub static JPUSH: Jpush = Jpush;

/// The Push API family: push, recall and the cid pool share one quota per AppKey.
pub const PUSH_FAMILY: Family = Family::new("jpush_push");

/// The Report API family (report.jpush.cn: received counts, delivery status): a quota of its
/// own, 2400/min on the free tier (reference/jpush.md §4). Only verification uses it, so it is
/// not among the families a plan paces.
pub const REPORT_FAMILY: Family = Family::new("jpush_report");

/// The Schedule API family: 100 calls a minute per AppKey (jpush-docs
/// rest_api_push_schedule.md "调用限制"; reference/jpush.md §4).
pub const SCHEDULE_FAMILY: Family = Family::new("jpush_schedule");

/// The ledger field naming a schedule, and a schedule's own fields (as the Schedule API
/// answers them: `name`, `enabled`), with `scheduled`: when it fires for the last time (a
/// single trigger's time, a periodical one's `end`), as every provider's ledger says it.
pub const SCHEDULE_ID: &str = "schedule_id";
pub const SCHEDULE_NAME: &str = "name";
pub const ENABLED: &str = "enabled";
pub const SCHEDULED: &str = "scheduled";
/// The API's own trigger object (`single` or `periodical`), read only to say in the plan that
/// a periodical schedule's past firings stay: its times carry no zone.
pub const TRIGGER: &str = "trigger";

/// Where the settings keep the Schedule API's path (set for the Beijing data centre only).
const SCHEDULES_PATH_SETTING: &str = "schedules_path";
/// The Beijing data centre's host, whose Schedule API path differs.
const BEIJING_HOST: &str = "bjapi.push.jiguang.cn";

/// The message and ledger field carrying the iOS collapse id.
pub const APNS_COLLAPSE_ID: &str = "apns_collapse_id";

/// The HarmonyOS notification category of the original (`notification.hmos.category`): a
/// message field (from the step, else the ledger record).
pub const HMOS_CATEGORY: &str = "hmos_category";

/// The category sent when neither the step nor the ledger gives one: HarmonyOS's marketing
/// class, the one every app may use without approval (and the one vendor quotas cap).
pub const DEFAULT_HMOS_CATEGORY: &str = "MARKETING";

/// `options.classification` (0 marketing, 1 system) and `options.third_party_channel`
/// (per-vendor settings: vivo `classification`, `channel_id`, …) of the original, from the
/// ledger: the correction goes out in the same class, on the same vendor channels.
pub const CLASSIFICATION: &str = "classification";
pub const THIRD_PARTY_CHANNEL: &str = "third_party_channel";

/// APNs limit on `apns-collapse-id` (reference/jpush.md §6).
pub const APNS_COLLAPSE_ID_MAX_BYTES: usize = 64;

/// `options.apns_production`, always sent on override pushes (default true, the API's own).
const APNS_PRODUCTION: &str = "apns_production";

const DEFAULT_BASE_URL: &str = "https://api.jpush.cn";

static OWN_KEYS: &[OwnKey] = &[
    OwnKey {
        at: KeyPath::Provider,
        name: APNS_PRODUCTION,
        schema: r#"{"description": "JPush only: `options.apns_production` on override pushes; always sent (default true).", "type": "boolean"}"#,
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
        name: APNS_COLLAPSE_ID,
        schema: r#"{"description": "JPush only: iOS collapse id when the ledger lacks the original's (at most 64 bytes).", "type": "string"}"#,
    },
    OwnKey {
        at: KeyPath::Message,
        name: HMOS_CATEGORY,
        schema: r#"{"description": "JPush only: HarmonyOS notification category of the correction when the ledger lacks the original's (default MARKETING).", "type": "string"}"#,
    },
];

static FAMILIES: &[FamilySpec] = &[
    FamilySpec {
        family: PUSH_FAMILY,
        quota: Rate::per_minute(600.0),
        paced_by_limits_rate: true,
    },
    // Never faster than the Schedule API allows, whatever `limits.rate` says (a rate meant for
    // pushes, such as 50/s, would have every delete past the 100th in a minute refused).
    FamilySpec {
        family: SCHEDULE_FAMILY,
        quota: Rate::per_minute(100.0),
        paced_by_limits_rate: false,
    },
];

impl Provider for Jpush {
    fn kind(&self) -> ProviderKind {
        ProviderKind::new("jpush")
    }

    fn display_name(&self) -> &'static str {
        "JPush"
    }

    fn id_field(&self) -> &'static str {
        "msg_id"
    }

    fn parse_id(&self, text: &str) -> Result<MsgId, String> {
        let t = text.trim();
        if is_uuid(t) {
            return Err(format!(
                "`{t}` is a JPush schedule id, not a msg_id: schedules are deleted with `cancel_scheduled`; `recall` and `override` take the msg_ids of sent messages"
            ));
        }
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{t}` is not a JPush msg_id (an unsigned integer)"));
        }
        match t.parse::<u64>() {
            Ok(0) => Err("0 is not a JPush msg_id".to_string()),
            Ok(n) => Ok(MsgId::Num(n)),
            Err(_) => Err(format!(
                "`{t}` is too large for a JPush msg_id (at most 18446744073709551615)"
            )),
        }
    }

    fn id_from_int(&self, value: i128) -> Result<MsgId, String> {
        u64::try_from(value).map(MsgId::Num).map_err(|_| {
            if value < 0 {
                format!("`{value}` is negative; JPush msg_ids are unsigned integers")
            } else {
                format!("`{value}` is too large for a JPush msg_id (at most 18446744073709551615)")
            }
        })
    }

    fn id_from_float(&self, raw: &str) -> Result<MsgId, String> {
        // Integers beyond u64 reach us as floats; digits say what was meant.
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            self.parse_id(raw)
        } else {
            Err(format!(
                "`{raw}` is not a JPush msg_id: ids are exact unsigned integers, not floating-point numbers"
            ))
        }
    }

    fn schedule_id_field(&self) -> Option<&'static str> {
        Some(SCHEDULE_ID)
    }

    /// A UUID (the docs: an id that is not a valid UUID is answered 404), kept in lowercase,
    /// as JPush writes them (UUIDs are case-insensitive), so a playbook's and a ledger's
    /// spellings of one schedule match.
    fn parse_schedule_id(&self, text: &str) -> Result<MsgId, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("a JPush schedule id cannot be empty".to_string());
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{t}` is a JPush msg_id, not a schedule id: `cancel_scheduled` takes the schedule_id JPush answered when the schedule was created (a UUID such as 0eac1b80-c2ac-4b69-948b-c65b34b96512); sent messages are corrected with `recall` or `override`"
            ));
        }
        if !is_uuid(t) {
            return Err(format!(
                "`{t}` is not a JPush schedule id (a UUID such as 0eac1b80-c2ac-4b69-948b-c65b34b96512)"
            ));
        }
        Ok(MsgId::Text(t.to_ascii_lowercase()))
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        OWN_KEYS
    }

    fn keys_hint(&self, at: KeyPath) -> &'static str {
        match at {
            KeyPath::Credentials => "JPush credentials are `app_key` and `master_secret`",
            KeyPath::Message => {
                "a JPush override message takes title, body/body_template, extras and apns_collapse_id"
            }
            KeyPath::Provider => "JPush takes `endpoint`, `credentials` and `apns_production`",
        }
    }

    fn credential_keys(&self) -> CredentialKeys {
        CredentialKeys {
            id: "app_key",
            secret: "master_secret",
        }
    }

    fn decode_settings(&self, r: &mut dyn SettingsReader) -> DecodedSettings {
        let apns = r.boolean(APNS_PRODUCTION);
        let mut values = Settings::new();
        values.insert(APNS_PRODUCTION.into(), Value::Bool(apns.unwrap_or(true)));
        // The Beijing data centre serves schedules at another path than the default host.
        if r.has_endpoint()
            && r.string("endpoint")
                .is_some_and(|e| host_of(&e).eq_ignore_ascii_case(BEIJING_HOST))
        {
            values.insert(
                SCHEDULES_PATH_SETTING.into(),
                Value::String(requests::BEIJING_SCHEDULES_PATH.into()),
            );
        }
        DecodedSettings {
            values,
            base_url: (DEFAULT_BASE_URL.into(), "default".into()),
            defaulted: if apns.is_none() && !r.has(APNS_PRODUCTION) {
                vec![APNS_PRODUCTION]
            } else {
                Vec::new()
            },
        }
    }

    fn message_fields(&self) -> &'static [MessageField] {
        &[
            MessageField {
                name: APNS_COLLAPSE_ID,
                max_bytes: Some((APNS_COLLAPSE_ID_MAX_BYTES, "APNs")),
            },
            MessageField {
                name: HMOS_CATEGORY,
                max_bytes: None,
            },
        ]
    }

    fn refuse_action(&self, action: Action) -> Option<(&'static str, &'static str)> {
        match action {
            Action::Stop => Some((
                "JPush has no `stop` action; stopping offline delivery is a TPNS API",
                "use `recall` (DELETE /v3/push/{msg_id}) to cancel a JPush message",
            )),
            _ => None,
        }
    }

    fn ledger_fields(&self) -> &'static [LedgerField] {
        &[
            LedgerField {
                name: APNS_COLLAPSE_ID,
                kind: FieldKind::Text,
                in_original: false,
            },
            LedgerField {
                name: HMOS_CATEGORY,
                kind: FieldKind::Text,
                in_original: false,
            },
            LedgerField {
                name: CLASSIFICATION,
                kind: FieldKind::UintOneOf(&[0, 1]),
                in_original: true,
            },
            LedgerField {
                name: THIRD_PARTY_CHANNEL,
                kind: FieldKind::Object,
                in_original: true,
            },
            // A schedule's (records named by `schedule_id`).
            LedgerField {
                name: SCHEDULE_NAME,
                kind: FieldKind::Text,
                in_original: true,
            },
            LedgerField {
                name: ENABLED,
                kind: FieldKind::Bool,
                in_original: true,
            },
            LedgerField {
                name: SCHEDULED,
                kind: FieldKind::Schedule,
                in_original: true,
            },
            LedgerField {
                name: TRIGGER,
                kind: FieldKind::Object,
                in_original: true,
            },
        ]
    }

    fn audience_may_be_all(&self) -> bool {
        true
    }

    fn has_audience(&self, audience: Option<&Value>, _facts: &Facts) -> bool {
        audience.is_some()
    }

    fn conditions(&self) -> &'static [Condition] {
        &[Condition {
            name: "original_apns_collapse_id",
            fact: APNS_COLLAPSE_ID,
            max_bytes: APNS_COLLAPSE_ID_MAX_BYTES,
            missing: "the original push carried no apns_collapse_id, so iOS cannot replace it",
            limit_owner: "APNs",
        }]
    }

    fn families(&self) -> &'static [FamilySpec] {
        FAMILIES
    }

    fn step_family(&self, action: Action) -> Family {
        match action {
            Action::CancelScheduled => SCHEDULE_FAMILY,
            _ => PUSH_FAMILY,
        }
    }

    /// Overrides are built from the original; a schedule's plan shows its name and state.
    fn keeps_original(&self, action: Action) -> bool {
        matches!(action, Action::Override | Action::CancelScheduled)
    }

    fn plan_target(
        &self,
        cx: &TargetContext<'_>,
        original: &mut Original,
        notes: &mut Vec<String>,
    ) {
        planning::push_platforms(cx, original, notes);
        planning::schedule_notes(cx, original, notes);
    }

    fn estimate(&self, cx: &StepContext<'_>) -> Estimate {
        planning::estimate(cx)
    }

    fn step_warnings(&self, cx: &StepContext<'_>, estimated_seconds: f64) -> Vec<String> {
        planning::step_warnings(cx, estimated_seconds)
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
        if action == Action::CancelScheduled {
            return vec![requests::delete_schedule(schedules_path(settings), &t.id)];
        }
        let Ok(id) = t.id.parse::<u64>() else {
            return Vec::new();
        };
        match action {
            Action::Override => {
                let (Some(o), Some(m)) = (&t.original, &t.message) else {
                    return Vec::new();
                };
                vec![
                    requests::cid_pool(1),
                    session::override_request(
                        id,
                        o,
                        m,
                        apns_production(settings),
                        "<cid from GET /v3/push/cid, taken before the first attempt>",
                    ),
                ]
            }
            _ => vec![requests::recall(id)],
        }
    }

    fn preview_headers(
        &self,
        _settings: &Settings,
        id_env: &str,
        secret_env: &str,
    ) -> BTreeMap<String, String> {
        let mut h = BTreeMap::new();
        h.insert("Content-Type".into(), "application/json".into());
        h.insert(
            "Authorization".into(),
            format!("Basic <redacted: base64(${id_env}:${secret_env})>"),
        );
        h
    }

    fn auth(&self, _settings: &Settings, credentials: AppCredentials) -> Box<dyn Auth> {
        Box::new(BasicAuth::new(credentials))
    }

    fn classify(&self, spec: &RequestSpec, a: &Answer) -> Class {
        answer::classify(spec.call, a)
    }

    fn session(&self, settings: &Settings) -> Box<dyn Session> {
        Box::new(session::JpushSession::new(
            apns_production(settings),
            schedules_path(settings),
        ))
    }

    fn verifier(&self, _settings: &Settings) -> Option<Box<dyn super::Verifier>> {
        Some(Box::new(verify::JpushVerifier))
    }
}

/// The Schedule API's path: the Beijing data centre's when the endpoint is its host.
fn schedules_path(settings: &Settings) -> &str {
    settings
        .get(SCHEDULES_PATH_SETTING)
        .and_then(Value::as_str)
        .unwrap_or(requests::SCHEDULES_PATH)
}

/// The host of a URL (`https://host:port/path` -> `host`).
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.split(':').next().unwrap_or("")
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits of either case.
fn is_uuid(t: &str) -> bool {
    let groups: Vec<&str> = t.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn apns_production(settings: &Settings) -> bool {
    settings
        .get(APNS_PRODUCTION)
        .and_then(Value::as_bool)
        .unwrap_or(true)
}
