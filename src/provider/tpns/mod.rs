//! Tencent TPNS (腾讯移动推送), REST API v3 (reference/tpns.md): stop, revoke (recall) and
//! cancel of tasks, and override (a new push to the same audience with the original's
//! `collapse_id`). No longer sold by Tencent; its successor is TIMPush.

mod answer;
pub mod requests;
mod session;
pub mod sign;
mod verify;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::spec::{
    CredentialKeys, DecodedSettings, FamilySpec, FieldKind, KeyPath, LedgerField, MessageField,
    OwnKey, Settings, SettingsReader,
};
use super::{
    Answer, AppCredentials, Auth, Class, Estimate, Family, PlanWarnings, Provider, RequestSpec,
    Session, StepContext, StepSummary, TargetContext, auth::BasicAuth,
};
use crate::domain::{
    Action, Disposition, Facts, MsgId, ProviderKind, Rate, UnsupportedPolicy, format_duration,
};
use crate::target::{Original, PlanTarget};

pub use answer::{TPNS_AUTH_FAILURE, TPNS_PUSH_ID_NOT_EXIST, TPNS_PUSH_REPEAT, TPNS_TOO_FAST};

pub struct Tpns;

pub static TPNS: Tpns = Tpns;

/// `/v3/push/app` to all, tags or account packages (1/s).
pub const PUSH_FAMILY: Family = Family::new("tpns_push");
/// stop / revoke / cancel (no documented limit; the reference advises pacing them like pushes).
pub const TASK_FAMILY: Family = Family::new("tpns_task");
/// The statistics API, including get_push_record (200/h).
pub const STATISTICS_FAMILY: Family = Family::new("tpns_statistics");

/// Ledger fields.
pub const AUDIENCE_TYPE: &str = "audience_type";
pub const COLLAPSE_ID: &str = "collapse_id";
pub const SCHEDULED: &str = "scheduled";
/// Account pushes: to the latest device of each account (0, TPNS's default) or to all of
/// them (1); and how the accounts were bound. An override of an account-list task goes out as
/// the original did.
pub const ACCOUNT_PUSH_TYPE: &str = "account_push_type";
pub const ACCOUNT_TYPE: &str = "account_type";
/// The message field carrying the Android action intent.
pub const INTENT: &str = "intent";

pub const AUDIENCE_TYPES: &[&str] = &[
    "all",
    "tag",
    "token",
    "token_list",
    "account",
    "account_list",
    "package_account_push",
    "package_token_push",
];

/// The access points (reference/tpns.md §1).
const REGIONS: &[(&str, &str)] = &[
    ("guangzhou", "https://api.tpns.tencent.com"),
    ("shanghai", "https://api.tpns.sh.tencent.com"),
    ("hongkong", "https://api.tpns.hk.tencent.com"),
    ("singapore", "https://api.tpns.sgp.tencent.com"),
];

static OWN_KEYS: &[OwnKey] = &[
    OwnKey {
        at: KeyPath::Provider,
        name: "region",
        schema: r#"{"description": "TPNS only: the access point the app was created in (default guangzhou).", "type": "string", "enum": ["guangzhou", "shanghai", "hongkong", "singapore"]}"#,
    },
    OwnKey {
        at: KeyPath::Provider,
        name: "auth",
        schema: r#"{"description": "TPNS only: `sign` (HMAC signature, default) or `basic`.", "type": "string", "enum": ["sign", "basic"]}"#,
    },
    OwnKey {
        at: KeyPath::Provider,
        name: "environment",
        schema: r#"{"description": "TPNS only: iOS environment of override pushes, `product` (default) or `dev`.", "type": "string", "enum": ["product", "dev"]}"#,
    },
    OwnKey {
        at: KeyPath::Credentials,
        name: "access_id",
        schema: r##"{"$ref": "#/$defs/EnvRef"}"##,
    },
    OwnKey {
        at: KeyPath::Credentials,
        name: "secret_key",
        schema: r##"{"$ref": "#/$defs/EnvRef"}"##,
    },
    OwnKey {
        at: KeyPath::Message,
        name: INTENT,
        schema: r#"{"description": "TPNS and GeTui: Android action intent of the correction (TPNS advises intent, not custom_content, for overrides; GeTui sends it as click_type intent).", "type": "string"}"#,
    },
];

static FAMILIES: &[FamilySpec] = &[
    FamilySpec {
        family: PUSH_FAMILY,
        quota: Rate::per_second(1.0),
        paced_by_limits_rate: true,
    },
    FamilySpec {
        family: TASK_FAMILY,
        quota: Rate::per_second(1.0),
        paced_by_limits_rate: true,
    },
    FamilySpec {
        family: STATISTICS_FAMILY,
        quota: Rate::per_hour(200.0),
        paced_by_limits_rate: false,
    },
];

impl Provider for Tpns {
    fn kind(&self) -> ProviderKind {
        ProviderKind::new("tpns")
    }

    fn display_name(&self) -> &'static str {
        "TPNS"
    }

    fn id_field(&self) -> &'static str {
        "push_id"
    }

    fn parse_id(&self, text: &str) -> Result<MsgId, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("a TPNS push id cannot be empty".to_string());
        }
        if t.len() > 64 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("`{t}` is not a TPNS push id"));
        }
        Ok(MsgId::Text(t.to_string()))
    }

    fn id_from_int(&self, value: i128) -> Result<MsgId, String> {
        Ok(MsgId::Text(value.to_string()))
    }

    fn id_from_float(&self, raw: &str) -> Result<MsgId, String> {
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            self.parse_id(raw)
        } else {
            Err(format!(
                "`{raw}` is not a TPNS push id: write push ids as strings, exactly as TPNS returned them"
            ))
        }
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        OWN_KEYS
    }

    fn keys_hint(&self, at: KeyPath) -> &'static str {
        match at {
            KeyPath::Credentials => "TPNS credentials are `access_id` and `secret_key`",
            KeyPath::Message => {
                "a TPNS override message takes title, body/body_template, extras and intent"
            }
            KeyPath::Provider => {
                "TPNS takes `region` (or `endpoint`), `credentials`, `auth` and `environment`"
            }
        }
    }

    fn credential_keys(&self) -> CredentialKeys {
        CredentialKeys {
            id: "access_id",
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
                "`region` picks the TPNS access point; `endpoint` replaces it (for example a sandbox URL)",
            );
        }
        let auth = r.choice("auth", &["sign", "basic"]).unwrap_or("sign");
        let environment = r
            .choice("environment", &["product", "dev"])
            .unwrap_or("product");
        let mut values = Settings::new();
        values.insert("auth".into(), Value::String(auth.into()));
        values.insert("environment".into(), Value::String(environment.into()));
        let url = |name: &str| {
            REGIONS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(REGIONS[0].1, |(_, u)| *u)
                .to_string()
        };
        let (base_url, defaulted) = match region {
            Some(r) => ((url(r), format!("region {r}")), Vec::new()),
            None => {
                // The reference advises making it required: a wrong access point answers
                // 1008035 to every request. Loud, located, but the documented default stands.
                if !r.has("region") && !r.has_endpoint() {
                    r.warning(
                        "`provider.region` is not set: TPNS apps live in one access point, and the default (guangzhou) answers 1008035 for an app created elsewhere",
                        "set `region: guangzhou | shanghai | hongkong | singapore` to the app's region",
                    );
                }
                (
                    (url("guangzhou"), "default region guangzhou".to_string()),
                    vec!["region"],
                )
            }
        };
        DecodedSettings {
            values,
            base_url,
            defaulted,
        }
    }

    fn message_fields(&self) -> &'static [MessageField] {
        &[MessageField {
            name: INTENT,
            max_bytes: None,
        }]
    }

    fn ledger_fields(&self) -> &'static [LedgerField] {
        &[
            LedgerField {
                name: AUDIENCE_TYPE,
                kind: FieldKind::OneOf(AUDIENCE_TYPES),
                in_original: true,
            },
            LedgerField {
                name: COLLAPSE_ID,
                kind: FieldKind::U32,
                in_original: true,
            },
            LedgerField {
                name: SCHEDULED,
                kind: FieldKind::Schedule,
                in_original: false,
            },
            LedgerField {
                name: ACCOUNT_PUSH_TYPE,
                kind: FieldKind::UintOneOf(&[0, 1]),
                in_original: true,
            },
            LedgerField {
                name: ACCOUNT_TYPE,
                kind: FieldKind::Uint,
                in_original: true,
            },
        ]
    }

    fn has_audience(&self, audience: Option<&Value>, facts: &Facts) -> bool {
        match facts.get(AUDIENCE_TYPE).and_then(|f| f.as_text()) {
            None => audience.is_some(),
            Some("all") => true,
            Some(t) => {
                let a = audience.and_then(Value::as_object);
                let has = |k: &str| a.is_some_and(|m| m.contains_key(k));
                match t {
                    "tag" => has("tag_rules") || has("tag_list"),
                    "account_list" | "account" => has("account_list"),
                    "token_list" | "token" => has("token_list"),
                    "package_account_push" | "package_token_push" => has("upload_id"),
                    _ => false,
                }
            }
        }
    }

    fn families(&self) -> &'static [FamilySpec] {
        FAMILIES
    }

    fn step_family(&self, action: Action) -> Family {
        match action {
            Action::Override => PUSH_FAMILY,
            _ => TASK_FAMILY,
        }
    }

    fn plan_target(&self, cx: &TargetContext<'_>, o: &mut Original, notes: &mut Vec<String>) {
        if cx.action == Action::Override
            && matches!(o.fact_str(AUDIENCE_TYPE), Some("account_list" | "account"))
            && o.fact_u64(ACCOUNT_PUSH_TYPE).is_none()
        {
            notes.push(
                "account_push_type not in the ledger: TPNS's default is sent (0, the latest device of each account); record 1 if the original went to all of an account's devices"
                    .into(),
            );
        }
    }

    /// Overrides of tasks whose ledger record lacks `collapse_id` look it up first, in the
    /// statistics API's much smaller quota.
    fn estimate(&self, cx: &StepContext<'_>) -> Estimate {
        let mut e = Estimate::default();
        if cx.action != Action::Override {
            return e;
        }
        let lookups = cx
            .targets
            .iter()
            .filter(|t| t.disposition == Disposition::Send)
            .filter(|t| {
                t.original
                    .as_ref()
                    .is_some_and(|o| o.fact_u64(COLLAPSE_ID).is_none())
            })
            .count() as u64;
        if lookups > 0 {
            e.requests.push((STATISTICS_FAMILY, lookups));
            let stats = cx.rates.get(&STATISTICS_FAMILY);
            let per_second = stats.map_or(200.0 / 3600.0, |r| r.per_second);
            e.warnings.push(format!(
                "{lookups} targets have no collapse_id in the ledger: each needs a get_push_record lookup (statistics API, {}), about {}",
                stats.map_or("200/h".to_string(), |r| r.rate.clone()),
                format_duration(Duration::from_secs_f64(lookups as f64 / per_second))
            ));
        }
        e
    }

    fn plan_warnings(
        &self,
        defaulted: &[&'static str],
        _steps: &[StepSummary<'_>],
    ) -> PlanWarnings {
        let mut w = PlanWarnings::default();
        if defaulted.contains(&"region") {
            w.plan.push("provider.region is not set: using the guangzhou access point (a wrong region answers 1008035)".into());
        }
        w
    }

    fn preview(
        &self,
        settings: &Settings,
        action: Action,
        policy: UnsupportedPolicy,
        t: &PlanTarget,
    ) -> Vec<RequestSpec> {
        match action {
            Action::Override => {
                let (Some(o), Some(m)) = (&t.original, &t.message) else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                let collapse = match o.fact_u64(COLLAPSE_ID) {
                    Some(c) => Value::from(c),
                    None => {
                        out.push(requests::get_push_record(&t.id));
                        Value::String("<collapseID from get_push_record>".into())
                    }
                };
                out.push(session::override_request(
                    o,
                    m,
                    environment(settings),
                    policy == UnsupportedPolicy::Force,
                    collapse,
                ));
                out
            }
            _ => vec![requests::task_op(action, &t.id)],
        }
    }

    fn preview_headers(
        &self,
        settings: &Settings,
        id_env: &str,
        secret_env: &str,
    ) -> BTreeMap<String, String> {
        let mut h = BTreeMap::new();
        h.insert("Content-Type".into(), "application/json".into());
        if signed(settings) {
            h.insert("AccessId".into(), format!("${id_env}"));
            h.insert("TimeStamp".into(), "<unix seconds at send time>".into());
            h.insert("Sign".into(), "<redacted: base64(hex(HMAC-SHA256))>".into());
        } else {
            h.insert(
                "Authorization".into(),
                format!("Basic <redacted: base64(${id_env}:${secret_env})>"),
            );
        }
        h
    }

    fn auth(&self, settings: &Settings, credentials: AppCredentials) -> Box<dyn Auth> {
        if signed(settings) {
            Box::new(sign::SignAuth::new(credentials))
        } else {
            Box::new(BasicAuth::new(credentials))
        }
    }

    fn classify(&self, spec: &RequestSpec, a: &Answer) -> Class {
        answer::classify(spec.call, a)
    }

    fn session(&self, settings: &Settings) -> Box<dyn Session> {
        Box::new(session::TpnsSession::new(environment(settings)))
    }

    fn verifier(&self, _settings: &Settings) -> Option<Box<dyn super::Verifier>> {
        Some(Box::new(verify::TpnsVerifier))
    }
}

fn signed(settings: &Settings) -> bool {
    settings.get("auth").and_then(Value::as_str) != Some("basic")
}

fn environment(settings: &Settings) -> &'static str {
    match settings.get("environment").and_then(Value::as_str) {
        Some("dev") => "dev",
        _ => "product",
    }
}
