//! The playbook's JSON Schema, for editors (`# yaml-language-server: $schema=...`) and CI.
//!
//! These types describe the YAML syntax only; `decode` is what reads playbooks. A test keeps
//! each object's properties equal to the keys the decoder accepts.

use std::collections::BTreeMap;

use schemars::JsonSchema;

use crate::provider::{self, KeyPath};

/// A pushfix playbook: a corrective campaign against a push provider (format version 1).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pushfix playbook", rename = "Playbook")]
#[allow(dead_code)]
pub struct PlaybookDoc {
    /// Format version. Always 1.
    #[schemars(range(min = 1, max = 1))]
    version: u32,
    /// Lowercase letters, digits and dashes; used in run directory names and reports.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(min = 1, max = 64))]
    name: String,
    /// What went wrong and what this playbook corrects.
    description: Option<String>,
    provider: ProviderDoc,
    /// The record of sent messages (JSON Lines or CSV), relative to this file.
    ledger: Option<String>,
    /// Values for templates (`{{ vars.name }}`); `--var KEY=VALUE` overrides them.
    vars: Option<BTreeMap<String, serde_json::Value>>,
    limits: Option<LimitsDoc>,
    retry: Option<RetryDoc>,
    /// Run in order; the targets of one step run concurrently.
    #[schemars(length(min = 1))]
    steps: Vec<StepDoc>,
}

/// The provider's name (`pushfix matrix` lists them); the registry fills in the list.
#[derive(JsonSchema)]
#[schemars(rename = "ProviderKind")]
#[allow(dead_code)]
struct ProviderKindDoc(String);

/// Which provider app to act on, and how to reach it. Each provider adds its own keys.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Provider")]
#[allow(dead_code)]
struct ProviderDoc {
    kind: ProviderKindDoc,
    /// Base URL (default per provider). Plain http:// only to a loopback host.
    #[schemars(url)]
    endpoint: Option<String>,
    credentials: CredentialsDoc,
}

/// References to environment variables; a literal secret is refused. Each provider names
/// its two (JPush: app_key and master_secret; TPNS: access_id and secret_key).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Credentials")]
#[allow(dead_code)]
struct CredentialsDoc {}

/// `{ env: NAME }`: the value is read from this environment variable when the run starts.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EnvRef")]
#[allow(dead_code)]
struct EnvRefDoc {
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    env: String,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Limits")]
#[allow(dead_code)]
struct LimitsDoc {
    /// Requests per second or minute, e.g. `10/s` or `600/min`. Default: the provider's quota.
    #[schemars(regex(pattern = r"^\s*[0-9]+(\.[0-9]+)?\s*/\s*(s|sec|m|min|h|hour)\s*$"))]
    rate: Option<String>,
    /// Requests in flight at once (default 8).
    #[schemars(range(min = 1, max = 256))]
    concurrency: Option<u32>,
    /// Blast-radius guard: plan and run refuse more targets than this (exit 5).
    #[schemars(range(min = 1))]
    max_targets: Option<u64>,
    /// Failure budget for the run: a count (`5`) or a percentage (`2%`) of the targets to send.
    /// Never overshot.
    max_failures: Option<CountOrPercentDoc>,
    /// How long to wait for an answer (default `20s`); a lost answer is retried only where
    /// that is idempotent.
    #[schemars(regex(pattern = DURATION))]
    timeout: Option<String>,
    /// After the campaign, ask the provider whether each correction took effect (as `run
    /// --verify`; docs/verification.md). Default false.
    verify: Option<bool>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "CountOrPercent")]
#[allow(dead_code)]
enum CountOrPercentDoc {
    Count(u64),
    Percent(#[schemars(regex(pattern = r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"))] String),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Retry")]
#[allow(dead_code)]
struct RetryDoc {
    /// Attempts per request, the first included (default 5). Only transient failures retry.
    #[schemars(range(min = 1, max = 20))]
    attempts: Option<u32>,
    backoff: Option<BackoffDoc>,
}

/// Exponential backoff with full jitter between `initial` and `max`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Backoff")]
#[allow(dead_code)]
struct BackoffDoc {
    /// First delay, e.g. `250ms` (default).
    #[schemars(regex(pattern = DURATION))]
    initial: Option<String>,
    /// Longest delay, e.g. `30s` (default).
    #[schemars(regex(pattern = DURATION))]
    max: Option<String>,
}

const DURATION: &str = r"^\s*[0-9]+(\.[0-9]+)?\s*(ms|s|sec|m|min|h|d)\s*$";

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Action")]
#[allow(dead_code)]
enum ActionDoc {
    /// JPush and TPNS: withdraw the message (TPNS has taken this API offline).
    Recall,
    /// TPNS: end offline delivery of the task.
    Stop,
    /// Send a corrected message that replaces the original where channels allow.
    Override,
    /// Cancel a scheduled push not yet dispatched (TPNS, TIMPush and GeTui tasks; JPush
    /// schedules, by schedule_id).
    CancelScheduled,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "UnsupportedPolicy")]
#[allow(dead_code)]
enum UnsupportedDoc {
    /// Skip unsupported and expired targets; partial ones reach what they can (default).
    Skip,
    /// Fail every target the matrix cannot fully reach, without sending.
    Fail,
    /// Send anyway (TPNS overrides set force_collapse: true).
    Force,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Step")]
#[allow(dead_code)]
struct StepDoc {
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"), length(min = 1, max = 64))]
    name: String,
    action: ActionDoc,
    select: SelectDoc,
    /// What to do where the channel matrix says no (default skip).
    unsupported: Option<UnsupportedDoc>,
    /// Override only: whether an override the provider refused to send (too late, original
    /// gone) fails the run (`fail`, the default: exit 1) or is accepted (`ok`).
    on_not_corrected: Option<NotCorrectedDoc>,
    /// Override only: the corrected notification. Every string is a tera template.
    message: Option<MessageDoc>,
    /// Verify this step's corrections after the campaign (`true`), or never (`false`);
    /// default: as `limits.verify` says.
    verify: Option<bool>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "NotCorrectedPolicy")]
#[allow(dead_code)]
enum NotCorrectedDoc {
    Fail,
    Ok,
}

/// Which messages: `ids`, `ids_file` and `where` combine as a union, without duplicates.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Select")]
#[allow(dead_code)]
struct SelectDoc {
    /// Message ids: JPush msg_ids (unsigned 64-bit; strings or integers) or TPNS push ids; in a
    /// JPush `cancel_scheduled` step, schedule ids (UUID strings).
    ids: Option<Vec<IdDoc>>,
    /// A file with one id per line; `#` comments and blank lines are ignored.
    ids_file: Option<String>,
    /// Filters over the ledger.
    #[serde(rename = "where")]
    where_: Option<WhereDoc>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "MessageId")]
#[allow(dead_code)]
enum IdDoc {
    Text(String),
    Number(u64),
}

/// All conditions must hold; within a list any value matches.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Where")]
#[allow(dead_code)]
struct WhereDoc {
    /// Records carrying any of these tags.
    tags_any: Option<Vec<String>>,
    /// Records carrying all of these tags.
    tags_all: Option<Vec<String>>,
    /// Sent at or after this instant (with offset).
    #[schemars(extend("format" = "date-time"))]
    sent_after: Option<String>,
    /// Sent before this instant (with offset).
    #[schemars(extend("format" = "date-time"))]
    sent_before: Option<String>,
    /// Sent within this long before the run's start, e.g. `24h`.
    #[schemars(regex(pattern = DURATION))]
    sent_within: Option<String>,
    /// Sent longer ago than this before the run's start, e.g. `6h`.
    #[schemars(regex(pattern = DURATION))]
    older_than: Option<String>,
    /// Records sent to any of these platforms.
    platforms: Option<Vec<PlatformDoc>>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Platform")]
#[allow(dead_code)]
enum PlatformDoc {
    Android,
    Ios,
    Hmos,
    Quickapp,
}

/// The corrected notification. Templates see `message` (the ledger record), `vars`, `step`, `run`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Message")]
#[allow(dead_code)]
struct MessageDoc {
    /// Notification title (default: the original's title).
    title: Option<String>,
    /// Notification text; or use body_template.
    body: Option<String>,
    /// A template file for the body, relative to the playbook.
    body_template: Option<String>,
    /// Custom data sent with the notification; string values are templates.
    extras: Option<BTreeMap<String, serde_json::Value>>,
}

/// The schema as pretty JSON (what `pushfix schema` prints and `playbook.schema.json` holds).
pub fn playbook_schema_json() -> String {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    // Providers' credential keys refer to `EnvRef`: keep it in `$defs`.
    let _ = generator.subschema_for::<EnvRefDoc>();
    let mut schema = generator.into_root_schema_for::<PlaybookDoc>();
    schema.insert(
        "$id".into(),
        "https://pushfix.dev/playbook.schema.json".into(),
    );
    let mut value = schema.to_value();
    strip_null(&mut value);
    add_provider_keys(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Each provider's own keys, and the list of provider names, from the registry.
fn add_provider_keys(schema: &mut serde_json::Value) {
    use serde_json::Value;
    let defs = &mut schema["$defs"];
    defs["ProviderKind"] = serde_json::json!({
        "description": "The provider's name (`pushfix matrix` lists them).",
        "type": "string",
        "enum": provider::kind_names(),
    });
    for at in KeyPath::ALL {
        let def = match at {
            KeyPath::Provider => "Provider",
            KeyPath::Credentials => "Credentials",
            KeyPath::Message => "Message",
        };
        let props = &mut defs[def]["properties"];
        if !props.is_object() {
            *props = Value::Object(serde_json::Map::new());
        }
        for p in provider::all() {
            for k in p.own_keys().iter().filter(|k| k.at == at) {
                let schema: Value = serde_json::from_str(k.schema).unwrap_or(Value::Bool(true));
                if let Some(obj) = props.as_object_mut() {
                    match obj.get_mut(k.name) {
                        Some(have) => merge_key_schema(have, schema),
                        None => {
                            obj.insert(k.name.to_string(), schema);
                        }
                    }
                }
            }
        }
    }
}

/// Two providers own a key of the same name (TPNS's and TIMPush's `region`): the schema
/// accepts either's values and says both descriptions.
fn merge_key_schema(have: &mut serde_json::Value, other: serde_json::Value) {
    use serde_json::Value;
    if let (Some(Value::Array(a)), Some(Value::Array(b))) =
        (have.get_mut("enum"), other.get("enum"))
    {
        for v in b {
            if !a.contains(v) {
                a.push(v.clone());
            }
        }
    }
    if let (Some(Value::String(a)), Some(Value::String(b))) =
        (have.get("description").cloned(), other.get("description"))
        && a != *b
    {
        have["description"] = Value::String(format!("{a} {b}"));
    }
}

/// Optional keys may be omitted but not written as `null` (the decoder refuses `key: ~`), so
/// remove the `null` alternatives schemars adds for `Option` fields.
fn strip_null(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types[0].clone();
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(alts)) = map.get("anyOf") {
                let kept: Vec<Value> = alts
                    .iter()
                    .filter(|a| a.get("type") != Some(&Value::from("null")))
                    .cloned()
                    .collect();
                if kept.len() == 1 {
                    map.remove("anyOf");
                    if let Value::Object(inner) = &kept[0] {
                        for (k, val) in inner {
                            map.entry(k.clone()).or_insert_with(|| val.clone());
                        }
                    }
                } else {
                    map.insert("anyOf".into(), Value::Array(kept));
                }
            }
            for val in map.values_mut() {
                strip_null(val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::keys::*;

    fn props(schema: &serde_json::Value, def: Option<&str>) -> Vec<String> {
        let obj = match def {
            None => schema,
            Some(d) => &schema["$defs"][d],
        };
        let mut keys: Vec<String> = obj["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(
            obj["additionalProperties"], false,
            "{def:?} must reject unknown keys"
        );
        keys
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    /// The decoder and the schema must accept exactly the same keys.
    #[test]
    fn schema_matches_the_decoder() {
        let schema: serde_json::Value = serde_json::from_str(&playbook_schema_json()).unwrap();
        assert_eq!(props(&schema, None), sorted(TOP_KEYS));
        assert_eq!(
            props(&schema, Some("Provider")),
            sorted(&keys_at(KeyPath::Provider))
        );
        assert_eq!(
            props(&schema, Some("Credentials")),
            sorted(&keys_at(KeyPath::Credentials))
        );
        assert_eq!(props(&schema, Some("EnvRef")), sorted(ENV_REF_KEYS));
        assert_eq!(props(&schema, Some("Limits")), sorted(LIMITS_KEYS));
        assert_eq!(props(&schema, Some("Retry")), sorted(RETRY_KEYS));
        assert_eq!(props(&schema, Some("Backoff")), sorted(BACKOFF_KEYS));
        assert_eq!(props(&schema, Some("Step")), sorted(STEP_KEYS));
        assert_eq!(props(&schema, Some("Select")), sorted(SELECT_KEYS));
        assert_eq!(props(&schema, Some("Where")), sorted(WHERE_KEYS));
        assert_eq!(
            props(&schema, Some("Message")),
            sorted(&keys_at(KeyPath::Message))
        );
    }
}
