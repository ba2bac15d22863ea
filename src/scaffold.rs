//! `pushfix init`'s playbook: a scaffold for one situation (provider, action, selection,
//! message), written as YAML with comments that teach the format. Pure: the command
//! (commands/init.rs) finds the files, checks the flags and writes the result, which it
//! validates before keeping it.

use std::fmt::Write as _;

use crate::domain::Action;
use crate::matrix::Matrix;
use crate::provider::Provider;

/// What the playbook selects by time (`--since`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// A duration (`24h`): `sent_within`, relative to when the plan is made.
    Within(String),
    /// An instant (RFC 3339): `sent_after`.
    After(String),
}

/// What an override sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `--message-file`: `body_template`, a path relative to the playbook.
    Template(String),
    /// `--body`: `body`, a template written in the playbook.
    Text(String),
}

/// A provider setting written under `provider:` (beyond kind and credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    /// The value as YAML.
    pub value: String,
    pub comment: String,
}

/// Everything the playbook is written from.
#[derive(Clone)]
pub struct Scaffold {
    pub provider: &'static dyn Provider,
    pub action: Action,
    pub name: String,
    pub description: String,
    /// The command line that made it, for the header.
    pub command_line: String,
    /// The playbook's path as the user will type it (in the commands of the header).
    pub path_shown: String,
    /// `$schema=` for the YAML language server, relative to the playbook.
    pub schema_ref: Option<String>,
    pub settings: Vec<Setting>,
    /// The ledger, relative to the playbook.
    pub ledger: Option<String>,
    pub tags: Vec<String>,
    pub since: Option<Since>,
    pub ids: Vec<String>,
    /// An ids file, relative to the playbook.
    pub ids_file: Option<String>,
    pub body: Option<Body>,
    /// `vars:` for the templates (`--var`).
    pub vars: Vec<(String, String)>,
    /// `limits.rate` (`--rate`); None: the provider's quota.
    pub rate: Option<String>,
    pub max_targets: u64,
}

/// The actions a provider offers: those its matrix section has a rule for and that it does
/// not refuse (JPush has no `stop`; TIMPush no `recall`).
pub fn actions(provider: &dyn Provider, matrix: &Matrix) -> Vec<Action> {
    let section = matrix.provider(provider.kind());
    Action::ALL
        .iter()
        .map(|(_, a)| *a)
        .filter(|a| section.rule(*a).is_some() && provider.refuse_action(*a).is_none())
        .collect()
}

/// The ledger field naming what `action` acts on: a provider's schedule id for
/// `cancel_scheduled` where it names schedules apart (JPush `schedule_id`), else its message id.
pub fn id_field(provider: &dyn Provider, action: Action) -> &'static str {
    match provider.schedule_id_field() {
        Some(f) if action == Action::CancelScheduled => f,
        _ => provider.id_field(),
    }
}

/// `PROVIDER_KEY`: the environment variable a credential is read from (`JPUSH_APP_KEY`), as the
/// examples and `pushfix sandbox` name them.
pub fn env_name(provider: &dyn Provider, key: &str) -> String {
    format!("{}_{}", provider.kind().as_str(), key).to_ascii_uppercase()
}

/// The provider settings a scaffold writes, with what each means; `region` and `app_id` as
/// given (`--region`, `--app-id`), else the value written is a default the caller warns about.
/// Every provider of the registry has an entry (a test checks it), so a new provider gets its
/// settings here deliberately rather than a scaffold that does not validate.
pub fn settings(
    provider: &dyn Provider,
    region: Option<&str>,
    app_id: Option<&str>,
) -> Option<Vec<Setting>> {
    let s = |key: &'static str, value: String, comment: &str| Setting {
        key,
        value,
        comment: comment.to_string(),
    };
    let quoted = |v: &str| serde_json::to_string(v).unwrap_or_default();
    Some(match provider.kind().as_str() {
        "jpush" => vec![s(
            "apns_production",
            "true".into(),
            "iOS: production APNs (false: a development build's sandbox APNs)",
        )],
        "tpns" => vec![
            s(
                "region",
                region.unwrap_or("guangzhou").into(),
                "the access point the app was created in: guangzhou | shanghai | hongkong | singapore",
            ),
            s("auth", "sign".into(), "sign (HMAC signature) | basic"),
            s(
                "environment",
                "product".into(),
                "iOS environment of override pushes: product | dev",
            ),
        ],
        "timpush" => vec![
            s(
                "region",
                region.unwrap_or(TIMPUSH_DEFAULT_REGION).into(),
                "CHECK: the data centre the SDKAppID was created in (china | singapore | seoul | tokyo | frankfurt | mumbai | silicon_valley | jakarta | riyadh); it answers nowhere else",
            ),
            s(
                "identifier",
                "administrator".into(),
                "the App admin the UserSig is minted for",
            ),
        ],
        "getui" => vec![s(
            "app_id",
            quoted(app_id.unwrap_or(GETUI_PLACEHOLDER_APP_ID)),
            "CHECK: the AppID of the GeTui console (not a secret: every request path names it)",
        )],
        _ => return None,
    })
}

/// Written for TIMPush without `--region`: the first data centre TIMPush lists. A wrong one
/// sends nothing (the SDKAppID answers only in its own); `init` says to check it.
pub const TIMPUSH_DEFAULT_REGION: &str = "china";

/// Written for GeTui without `--app-id`: a well-formed AppID that no app has, so a run that
/// was not edited fails at GeTui's auth and sends nothing; `init` says to replace it.
pub const GETUI_PLACEHOLDER_APP_ID: &str = "replaceWithYourGetuiAppId";

/// Where the comments start.
const COMMENT_COL: usize = 40;

/// A line with its comment aligned.
fn line(o: &mut String, indent: usize, text: &str, comment: &str) {
    let mut l = format!("{}{text}", " ".repeat(indent));
    if !comment.is_empty() {
        let pad = COMMENT_COL.saturating_sub(l.chars().count()).max(1);
        l.push_str(&" ".repeat(pad));
        l.push_str("# ");
        l.push_str(comment);
    }
    let _ = writeln!(o, "{l}");
}

/// A YAML string: JSON's double-quoted form is valid YAML and needs no further escaping.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| q(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// The playbook's text.
pub fn render(s: &Scaffold) -> String {
    let p = s.provider;
    let kind = p.kind().as_str();
    let mut o = String::new();
    if let Some(schema) = &s.schema_ref {
        let _ = writeln!(o, "# yaml-language-server: $schema={schema}");
        let _ = writeln!(o, "#");
    }
    let _ = writeln!(o, "# Scaffolded by `{}`.", s.command_line);
    let _ = writeln!(
        o,
        "# Review every line (it is what will be sent), commit it, then:"
    );
    let path = &s.path_shown;
    for (cmd, why) in [
        (
            format!("pushfix validate {path}"),
            "every problem, located; no network",
        ),
        (
            format!("pushfix plan {path}"),
            "per message: what the step reaches, and why",
        ),
        (
            format!("pushfix run {path} --sandbox"),
            "rehearse it against the built-in sandbox",
        ),
        (
            format!("pushfix run {path}"),
            "for real: shows the plan, asks, then sends",
        ),
    ] {
        let _ = writeln!(o, "#   {cmd:<58} # {why}");
    }
    let _ = writeln!(
        o,
        "# The whole format: `pushfix schema`; what each action reaches per platform and channel:"
    );
    let _ = writeln!(o, "# `pushfix matrix --provider {kind}`.");
    line(&mut o, 0, "version: 1", "the playbook format's version");
    line(
        &mut o,
        0,
        &format!("name: {}", s.name),
        "[a-z0-9-]: names run directories, the run lock and run history",
    );
    line(
        &mut o,
        0,
        &format!("description: {}", q(&s.description)),
        "what went wrong; shown in plans and reports",
    );
    line(
        &mut o,
        0,
        "provider:",
        "which app to act on, and how to reach it",
    );
    line(
        &mut o,
        2,
        &format!("kind: {kind}"),
        &format!(
            "{} ({})",
            p.display_name(),
            crate::provider::kind_names().join(" | ")
        ),
    );
    line(
        &mut o,
        2,
        "# endpoint: https://…",
        "replaces the provider's default base URL",
    );
    for st in &s.settings {
        line(&mut o, 2, &format!("{}: {}", st.key, st.value), &st.comment);
    }
    line(
        &mut o,
        2,
        "credentials:",
        "environment variables only: a literal secret is refused",
    );
    let keys = p.credential_keys();
    line(
        &mut o,
        4,
        &format!("{}: {{ env: {} }}", keys.id, env_name(p, keys.id)),
        "the app's id (not a secret)",
    );
    line(
        &mut o,
        4,
        &format!("{}: {{ env: {} }}", keys.secret, env_name(p, keys.secret)),
        "the secret: never printed, journaled or reported",
    );
    match &s.ledger {
        Some(l) => line(
            &mut o,
            0,
            &format!("ledger: {}", q(l)),
            &format!(
                "what was sent (JSON Lines or CSV; `{}` per record), relative to this file",
                id_field(p, s.action)
            ),
        ),
        None => line(
            &mut o,
            0,
            "# ledger: ../ledgers/sends.jsonl",
            "what was sent: lets the plan check each message's channels",
        ),
    }
    if !s.vars.is_empty() {
        line(
            &mut o,
            0,
            "vars:",
            "values for templates, `{{ vars.NAME }}`; --var NAME=VALUE overrides",
        );
        for (k, v) in &s.vars {
            line(&mut o, 2, &format!("{k}: {}", q(v)), "");
        }
    }
    line(&mut o, 0, "limits:", "guards; every one is optional");
    match &s.rate {
        Some(r) => line(
            &mut o,
            2,
            &format!("rate: {r}"),
            "N/s, N/min or N/h: stay under the app's quota",
        ),
        None => line(
            &mut o,
            2,
            "# rate: 10/s",
            "N/s, N/min or N/h; default: the provider's quota",
        ),
    }
    line(
        &mut o,
        2,
        &format!("max_targets: {}", s.max_targets),
        "plan and run refuse (exit 5) a larger selection",
    );
    line(
        &mut o,
        2,
        "max_failures: 2%",
        "the run stops dispatching past this (a count or a %)",
    );
    line(
        &mut o,
        0,
        "steps:",
        "in order; the targets of one step run concurrently",
    );
    let step = s.action.as_str().replace('_', "-");
    line(&mut o, 2, &format!("- name: {step}"), "");
    let offered: Vec<&str> = p_actions(p).iter().map(|a| a.as_str()).collect();
    line(
        &mut o,
        4,
        &format!("action: {}", s.action.as_str()),
        &format!("{} offers: {}", p.display_name(), offered.join(" | ")),
    );
    // An action the provider has taken offline still scaffolds (the run records what the
    // provider answers), but the reader is told before anything else about the step.
    if let Some(offline) = Matrix::builtin()
        .ok()
        .and_then(|m| m.provider(p.kind()).rule(s.action)?.offline.clone())
    {
        let _ = writeln!(o, "    # WARNING: {offline}");
    }
    select(&mut o, s);
    line(
        &mut o,
        4,
        "unsupported: skip",
        "where the matrix says the action cannot reach: skip | fail | force",
    );
    if s.action == Action::Override {
        line(
            &mut o,
            4,
            "on_not_corrected: fail",
            "an override the provider refuses to send is exit 1; `ok` accepts it",
        );
        message(&mut o, s);
    }
    o
}

/// The provider's actions, by the built-in matrix (the decoder checks the same).
fn p_actions(p: &dyn Provider) -> Vec<Action> {
    Matrix::builtin()
        .map(|m| actions(p, &m))
        .unwrap_or_default()
}

fn select(o: &mut String, s: &Scaffold) {
    line(o, 4, "select:", "ids, ids_file and where add up (a union)");
    if !s.ids.is_empty() {
        line(
            o,
            6,
            &format!("ids: {}", list(&s.ids)),
            "exact ids, as strings",
        );
    }
    if let Some(f) = &s.ids_file {
        line(
            o,
            6,
            &format!("ids_file: {}", q(f)),
            "one id per line, `#` comments; relative to this file",
        );
    }
    if s.tags.is_empty() && s.since.is_none() {
        return;
    }
    line(
        o,
        6,
        "where:",
        "filters over the ledger, all of them must hold",
    );
    if !s.tags.is_empty() {
        line(
            o,
            8,
            &format!("tags_any: {}", list(&s.tags)),
            "records carrying any of these tags",
        );
    }
    match &s.since {
        Some(Since::Within(d)) => line(
            o,
            8,
            &format!("sent_within: {d}"),
            "sent in this long before the plan (or sent_after: TIME)",
        ),
        Some(Since::After(t)) => line(
            o,
            8,
            &format!("sent_after: {t}"),
            "sent at or after this instant (or sent_within: 24h)",
        ),
        None => {}
    }
    line(
        o,
        8,
        "# sent_before: 2026-11-21T00:00:00+08:00",
        "or older_than: 6h",
    );
    line(
        o,
        8,
        "# platforms: [android, ios]",
        "only messages sent to these platforms",
    );
}

fn message(o: &mut String, s: &Scaffold) {
    line(
        o,
        4,
        "message:",
        "each string a template; `message` is the target's ledger record",
    );
    line(
        o,
        6,
        "title: \"{{ message.title }}\"",
        "the original's title, or write a new one",
    );
    match &s.body {
        Some(Body::Template(path)) => line(
            o,
            6,
            &format!("body_template: {}", q(path)),
            "the corrected text, a template file relative to this file",
        ),
        Some(Body::Text(text)) => line(
            o,
            6,
            &format!("body: {}", q(text)),
            "the corrected text (or body_template: FILE)",
        ),
        None => {}
    }
    line(
        o,
        6,
        "# extras: { url: \"{{ vars.help_url }}\" }",
        "key/values delivered with the push",
    );
    for f in s.provider.message_fields() {
        line(
            o,
            6,
            &format!("# {}: …", f.name),
            &format!("{} only: see `pushfix schema`", s.provider.display_name()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_has_scaffold_settings() {
        for p in crate::provider::all() {
            assert!(
                settings(*p, None, None).is_some(),
                "`pushfix init` has no settings for {}: add them to scaffold::settings",
                p.kind()
            );
        }
    }

    #[test]
    fn env_names_are_the_documented_ones() {
        let jpush = crate::provider::find("jpush").unwrap();
        assert_eq!(env_name(jpush, "master_secret"), "JPUSH_MASTER_SECRET");
        let timpush = crate::provider::find("timpush").unwrap();
        assert_eq!(env_name(timpush, "sdkappid"), "TIMPUSH_SDKAPPID");
    }

    #[test]
    fn actions_follow_the_matrix_and_refusals() {
        let m = Matrix::builtin().unwrap();
        let of = |k: &str| actions(crate::provider::find(k).unwrap(), &m);
        assert!(!of("jpush").contains(&Action::Stop));
        assert!(of("jpush").contains(&Action::Recall));
        assert!(!of("timpush").contains(&Action::Recall));
        assert_eq!(of("tpns").len(), 4);
    }

    #[test]
    fn an_offline_action_is_flagged_in_the_text() {
        let tpns = crate::provider::find("tpns").unwrap();
        let scaffold = |action| Scaffold {
            provider: tpns,
            action,
            name: "n".into(),
            description: "d".into(),
            command_line: "pushfix init".into(),
            path_shown: "pb.yaml".into(),
            schema_ref: None,
            settings: settings(tpns, None, None).unwrap(),
            ledger: None,
            tags: vec!["t".into()],
            since: None,
            ids: vec![],
            ids_file: None,
            body: None,
            vars: vec![],
            rate: None,
            max_targets: 10,
        };
        let recall = render(&scaffold(Action::Recall));
        assert!(
            recall.contains("    # WARNING: TPNS marked revoke_push_msg offline"),
            "{recall}"
        );
        assert!(!render(&scaffold(Action::Stop)).contains("WARNING"));
    }

    #[test]
    fn strings_are_quoted_yaml() {
        assert_eq!(q("a \"b\"\n#c"), "\"a \\\"b\\\"\\n#c\"");
        assert_eq!(list(&["x".into(), "y: z".into()]), "[\"x\", \"y: z\"]");
    }
}
