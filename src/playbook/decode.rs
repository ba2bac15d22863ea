//! From a located YAML tree to a `Playbook`, collecting every problem on the way.
//!
//! Each mapping declares the keys it accepts (the `*_KEYS` constants; a test keeps them equal to
//! the JSON Schema). Keys that belong to the other provider get a message that says so, rather
//! than a bare "unknown key".

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, SourceFile, Span, did_you_mean};
use crate::domain::{Action, MsgId, Platform, UnsupportedPolicy};
use crate::domain::{FailureBudget, Rate, parse_duration};
use crate::ids_file;
use crate::input_set::InputSet;
use crate::ledger::Filter;
use crate::provider::endpoint::check_endpoint;
use crate::provider::{self, KeyPath, Provider, SettingsReader};
use crate::template::{TemplateOrigin, TemplateSrc, TemplateTree};
use crate::yaml::{self, Key, Node, Value};

pub const TOP_KEYS: &[&str] = &[
    "version",
    "name",
    "description",
    "provider",
    "ledger",
    "vars",
    "limits",
    "retry",
    "steps",
];
/// Keys of `provider:` every provider takes; each provider adds its own (`Provider::own_keys`).
pub const PROVIDER_COMMON_KEYS: &[&str] = &["kind", "endpoint", "credentials"];
pub const ENV_REF_KEYS: &[&str] = &["env"];
pub const LIMITS_KEYS: &[&str] = &[
    "rate",
    "concurrency",
    "max_targets",
    "max_failures",
    "timeout",
];
pub const RETRY_KEYS: &[&str] = &["attempts", "backoff"];
pub const BACKOFF_KEYS: &[&str] = &["initial", "max"];
pub const STEP_KEYS: &[&str] = &["name", "action", "select", "unsupported", "message"];
pub const SELECT_KEYS: &[&str] = &["ids", "ids_file", "where"];
pub const WHERE_KEYS: &[&str] = &[
    "tags_any",
    "tags_all",
    "sent_after",
    "sent_before",
    "sent_within",
    "older_than",
    "platforms",
];
/// Keys of an override `message:` every provider takes.
pub const MESSAGE_COMMON_KEYS: &[&str] = &["title", "body", "body_template", "extras"];

/// Every key a mapping accepts: the common ones, then each provider's own in registry order.
/// Keys of another provider than the playbook's are then reported as such, not as unknown.
pub fn keys_at(at: KeyPath) -> Vec<&'static str> {
    let common: &[&str] = match at {
        KeyPath::Provider => PROVIDER_COMMON_KEYS,
        KeyPath::Credentials => &[],
        KeyPath::Message => MESSAGE_COMMON_KEYS,
    };
    let mut out: Vec<&'static str> = common.to_vec();
    for p in provider::all() {
        for k in p.own_keys().iter().filter(|k| k.at == at) {
            if !out.contains(&k.name) {
                out.push(k.name);
            }
        }
    }
    out
}

pub const MAX_CONCURRENCY: u64 = 256;
pub const MAX_ATTEMPTS: u64 = 20;
pub const SUPPORTED_VERSION: i128 = 1;

/// `--var KEY=VALUE` overrides, applied over the playbook's `vars`.
pub type VarOverrides = [(String, String)];

/// Read and decode a playbook. Returns the playbook when it has no errors, and every
/// diagnostic (warnings too) either way. Files it reads (templates, ids files) are recorded in
/// `inputs` for the plan's content hash.
pub fn load(
    path: &Path,
    overrides: &VarOverrides,
    inputs: &mut InputSet,
) -> (Option<Playbook>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let file = match inputs.read_text(path) {
        Ok(f) => f,
        Err(d) => {
            diags.push(d);
            return (None, diags);
        }
    };
    let root = match yaml::parse(&file) {
        Ok(n) => n,
        Err(d) => {
            diags.push(d);
            return (None, diags);
        }
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    // Literal credentials must never be quoted back, whatever the error on their line.
    let file = file.with_redactions(secret_ranges(&root));
    let mut owners = HashMap::new();
    collect_owners(&root, &mut owners);
    let mut dec = Decoder {
        file: &file,
        dir: &dir,
        diags,
        provider: None,
        inputs,
        owners,
    };
    let pb = dec.playbook(&root, overrides);
    let mut diags = dec.diags;
    // Report in reading order: by file, then position.
    diags.items.sort_by(|a, b| {
        (a.file.as_ref(), a.span.map(|s| (s.line, s.col)))
            .cmp(&(b.file.as_ref(), b.span.map(|s| (s.line, s.col))))
    });
    if diags.has_errors() {
        (None, diags)
    } else {
        (pb, diags)
    }
}

struct Decoder<'a> {
    file: &'a SourceFile,
    dir: &'a Path,
    diags: Diagnostics,
    provider: Option<&'static dyn Provider>,
    inputs: &'a mut InputSet,
    /// Mapping position -> span of the key that holds it.
    owners: HashMap<(u32, u32), Span>,
}

/// The entries of a YAML mapping whose keys were checked.
struct Fields<'n> {
    entries: &'n [(Key, Node)],
    span: Span,
    /// The key this mapping is the value of (where "missing key" errors point).
    owner: Option<Span>,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    fn key(&self, key: &str) -> Option<&'n Key> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k)
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// A provider's view of its keys in `provider:`, errors located by the decoder.
struct ProviderKeys<'d, 'a, 'n> {
    dec: &'d mut Decoder<'a>,
    fields: &'d Fields<'n>,
    endpoint: bool,
}

impl SettingsReader for ProviderKeys<'_, '_, '_> {
    fn has(&self, key: &str) -> bool {
        self.fields.has(key)
    }

    fn has_endpoint(&self) -> bool {
        self.endpoint
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        let n = self.fields.get(key)?;
        self.dec.boolean(n, &format!("provider.{key}"))
    }

    fn choice(&mut self, key: &str, options: &[&'static str]) -> Option<&'static str> {
        let n = self.fields.get(key)?;
        let options: Vec<(&'static str, &'static str)> = options.iter().map(|o| (*o, *o)).collect();
        self.dec.choice(n, &format!("provider.{key}"), &options)
    }

    fn error(&mut self, key: &str, message: &str, help: &str) {
        let span = self.fields.key(key).map_or(self.fields.span, |k| k.span);
        self.dec.error(span, message).with_help(help);
    }
}

impl<'a> Decoder<'a> {
    fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(message).at(self.file, span));
        self.diags.items.last_mut().expect("just pushed")
    }

    /// Check that `node` is a mapping with only `allowed` keys; report every other key.
    fn fields<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.error(
                node.span,
                format!("`{path}` must be a mapping, found {}", node.kind()),
            );
            return None;
        };
        for (key, _) in entries {
            if allowed.contains(&key.name.as_str()) {
                continue;
            }
            let d = self.error(key.span, format!("unknown key `{}` in `{path}`", key.name));
            match did_you_mean(&key.name, allowed.iter().copied()) {
                Some(s) => d.label = Some(format!("did you mean `{s}`?")),
                None => d
                    .help
                    .push(format!("`{path}` accepts: {}", allowed.join(", "))),
            }
        }
        Some(Fields {
            entries,
            span: node.span,
            owner: self.owners.get(&(node.span.line, node.span.col)).copied(),
        })
    }

    fn require<'n>(&mut self, f: &Fields<'n>, key: &str, path: &str) -> Option<&'n Node> {
        let v = f.get(key);
        // A misspelling of this key was already reported as "unknown key … did you mean";
        // a second error for the same typo would only add noise.
        let misspelled = f
            .entries
            .iter()
            .any(|(k, _)| k.name != key && did_you_mean(&k.name, [key]).is_some());
        if v.is_none() && !misspelled {
            self.error(
                f.owner.unwrap_or(f.span),
                format!("`{path}` is missing the required key `{key}`"),
            );
        }
        v
    }

    /// A scalar read as text. Numbers and booleans are taken as written (`title: 2026`).
    fn string(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        match &node.value {
            Value::Str(s) => Some(Located::new(s.clone(), node.span)),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                let raw = node.raw(self.file).unwrap_or("").trim().to_string();
                Some(Located::new(raw, node.span))
            }
            _ => {
                self.error(
                    node.span,
                    format!("`{what}` must be a string, found {}", node.kind()),
                );
                None
            }
        }
    }

    fn uint(&mut self, node: &Node, what: &str, min: u64, max: u64) -> Option<u64> {
        let value = match &node.value {
            Value::Int(i) => *i,
            Value::Str(s) if s.trim().parse::<i128>().is_ok() => {
                s.trim().parse().unwrap_or_default()
            }
            _ => {
                self.error(
                    node.span,
                    format!("`{what}` must be a whole number, found {}", node.kind()),
                );
                return None;
            }
        };
        if value < min as i128 || value > max as i128 {
            let range = if max == u64::MAX {
                format!("at least {min}")
            } else {
                format!("between {min} and {max}")
            };
            self.error(
                node.span,
                format!("`{what}` must be {range}, found {value}"),
            );
            return None;
        }
        Some(value as u64)
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            _ => {
                self.error(
                    node.span,
                    format!("`{what}` must be true or false, found {}", node.kind()),
                );
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        node: &Node,
        what: &str,
        options: &[(&'static str, T)],
    ) -> Option<T> {
        let text = self.string(node, what)?;
        if let Some((_, v)) = options.iter().find(|(n, _)| *n == text.value) {
            return Some(*v);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let d = self.error(node.span, format!("`{what}` cannot be `{}`", text.value));
        match did_you_mean(&text.value, names.iter().copied()) {
            Some(s) => d.label = Some(format!("did you mean `{s}`?")),
            None => d.label = Some(format!("expected one of: {}", names.join(", "))),
        }
        None
    }

    fn list<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                let d = self.error(
                    node.span,
                    format!("`{what}` must be a list, found {}", node.kind()),
                );
                if let Value::Str(s) = &node.value {
                    d.help.push(format!("write a one-element list: [{s}]"));
                }
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
        let items = self.list(node, what)?;
        let mut out = Vec::new();
        for item in items {
            if let Some(s) = self.string(item, what) {
                if s.value.trim().is_empty() {
                    self.error(item.span, format!("`{what}` entries cannot be empty"));
                    continue;
                }
                out.push(s.value);
            }
        }
        Some(out)
    }

    /// A path relative to the playbook; reports a missing file at the value's location.
    fn path(&mut self, node: &Node, what: &str) -> Option<Located<PathBuf>> {
        let s = self.string(node, what)?;
        if s.value.trim().is_empty() {
            self.error(node.span, format!("`{what}` cannot be empty"));
            return None;
        }
        let p = crate::input_set::normalize(&self.dir.join(&s.value));
        if !p.is_file() {
            let reason = if p.exists() {
                "is not a file"
            } else {
                "does not exist"
            };
            let dir = display_dir(self.dir);
            self.error(
                node.span,
                format!("`{what}` file `{}` {reason}", p.display()),
            )
            .with_help(format!(
                "paths in a playbook are relative to the playbook's folder ({dir})"
            ));
            return None;
        }
        Some(Located::new(p, s.span))
    }

    fn ledger(&mut self, node: &Node) -> Option<Located<PathBuf>> {
        let p = self.path(node, "ledger")?;
        if crate::ledger::Format::of(&p.value).is_none() {
            self.error(
                node.span,
                format!("`{}` is not a ledger file name", p.value.display()),
            )
            .with_help("ledgers are JSON Lines (.jsonl, .ndjson) or CSV (.csv)");
            return None;
        }
        Some(p)
    }

    fn timestamp(&mut self, node: &Node, what: &str) -> Option<Timestamp> {
        let s = self.string(node, what)?;
        match s.value.trim().parse::<Timestamp>() {
            Ok(t) => Some(t),
            Err(_) => {
                self.error(
                    node.span,
                    format!(
                        "`{what}` must be a timestamp with an offset, found `{}`",
                        s.value
                    ),
                )
                .with_help("for example 2026-11-20T00:00:00+08:00 or 2026-11-19T16:00:00Z");
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<std::time::Duration> {
        let s = self.string(node, what)?;
        match parse_duration(&s.value) {
            Ok(d) if d.is_zero() => {
                self.error(node.span, format!("`{what}` must be longer than zero"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.error(node.span, format!("invalid `{what}`: {e}"));
                None
            }
        }
    }

    /// Report keys that belong to another provider than the playbook's.
    fn provider_only_keys(&mut self, f: &Fields<'_>, at: KeyPath) {
        let Some(mine) = self.provider else { return };
        let owns =
            |p: &dyn Provider, key: &str| p.own_keys().iter().any(|k| k.at == at && k.name == key);
        for (key, _) in f.entries {
            if owns(mine, &key.name) {
                continue;
            }
            let Some(owner) = provider::all().iter().find(|p| owns(**p, &key.name)) else {
                continue;
            };
            let span = key.span;
            self.error(
                span,
                format!(
                    "`{}` is a {} setting, but this playbook's provider is {}",
                    key.name,
                    owner.display_name(),
                    mine.display_name()
                ),
            )
            .with_help(mine.keys_hint(at));
        }
    }

    fn playbook(&mut self, root: &Node, overrides: &VarOverrides) -> Option<Playbook> {
        let f = self.fields(root, "playbook", TOP_KEYS)?;

        if let Some(v) = self.require(&f, "version", "playbook") {
            match v.value {
                Value::Int(SUPPORTED_VERSION) => {}
                Value::Int(n) => {
                    self.error(
                        v.span,
                        format!("unsupported playbook version {n}; this pushfix reads version 1"),
                    );
                }
                _ => {
                    self.error(
                        v.span,
                        format!("`version` must be the number 1, found {}", v.kind()),
                    );
                }
            }
        }
        let name = self
            .require(&f, "name", "playbook")
            .and_then(|n| self.name(n, "name"));
        let description = f
            .get("description")
            .and_then(|n| self.string(n, "description"))
            .map(|l| l.value);
        // The provider decides how ids and provider-specific keys are read, so it goes first.
        let provider = self
            .require(&f, "provider", "playbook")
            .and_then(|n| self.provider(n));
        let ledger = f.get("ledger").and_then(|n| self.ledger(n));
        let vars = self.vars(f.get("vars"), overrides);
        let limits = self.limits(f.get("limits"));
        let retry = self.retry(f.get("retry"));
        let steps = self
            .require(&f, "steps", "playbook")
            .and_then(|n| self.steps(n, f.has("ledger")));
        Some(Playbook {
            file: self.file.clone(),
            dir: self.dir.to_path_buf(),
            name: name?,
            description,
            provider: provider?,
            ledger,
            vars: vars?,
            limits: limits?,
            retry: retry?,
            steps: steps?,
        })
    }

    fn name(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        let s = self.string(node, what)?;
        if !valid_name(&s.value) {
            self.error(node.span, format!("`{what}` must match [a-z0-9][a-z0-9-]* (at most 64 characters), found `{}`", s.value))
                .with_help("names are used in run directory names and reports: lowercase letters, digits and dashes");
            return None;
        }
        Some(s)
    }

    fn provider(&mut self, node: &Node) -> Option<ProviderConfig> {
        let allowed = keys_at(KeyPath::Provider);
        let f = self.fields(node, "provider", &allowed)?;
        let kind_node = self.require(&f, "kind", "provider")?;
        let names = provider::kind_names();
        let options: Vec<(&'static str, &'static str)> = names.iter().map(|n| (*n, *n)).collect();
        let name = self.choice(kind_node, "provider.kind", &options)?;
        let p = provider::find(name)?;
        self.provider = Some(p);
        self.provider_only_keys(&f, KeyPath::Provider);

        let endpoint = f.get("endpoint").and_then(|n| self.endpoint(n));
        let decoded = p.decode_settings(&mut ProviderKeys {
            dec: self,
            fields: &f,
            endpoint: endpoint.is_some(),
        });
        let (base_url, base_url_source) = match endpoint {
            Some(e) => (e, "endpoint".to_string()),
            None => decoded.base_url,
        };
        let credentials = match self.require(&f, "credentials", "provider") {
            Some(n) => self.credentials(n, p),
            None => None,
        };
        Some(ProviderConfig {
            kind: p.kind(),
            base_url,
            base_url_source,
            credentials: credentials?,
            settings: decoded.values,
            defaulted: decoded.defaulted,
        })
    }

    fn endpoint(&mut self, node: &Node) -> Option<String> {
        let s = self.string(node, "provider.endpoint")?;
        match check_endpoint(&s.value) {
            Ok(url) => Some(url),
            Err(e) => {
                self.error(node.span, e.message).with_help(e.help);
                None
            }
        }
    }

    fn credentials(&mut self, node: &Node, p: &dyn Provider) -> Option<Credentials> {
        let allowed = keys_at(KeyPath::Credentials);
        let f = self.fields(node, "provider.credentials", &allowed)?;
        self.provider_only_keys(&f, KeyPath::Credentials);
        let keys = p.credential_keys();
        let id = self
            .require(&f, keys.id, "provider.credentials")
            .and_then(|n| self.env_ref(n, keys.id));
        let secret = self
            .require(&f, keys.secret, "provider.credentials")
            .and_then(|n| self.env_ref(n, keys.secret));
        Some(Credentials {
            id_env: id?,
            secret_env: secret?,
        })
    }

    /// `{ env: NAME }`. A literal value is refused without echoing it.
    fn env_ref(&mut self, node: &Node, key: &str) -> Option<Located<String>> {
        let what = format!("provider.credentials.{key}");
        if !matches!(node.value, Value::Map(_)) {
            let upper = format!(
                "{}_{}",
                self.provider
                    .map_or("PUSH", |p| p.kind().as_str())
                    .to_uppercase(),
                key.to_uppercase()
            );
            self.error(
                node.span,
                format!("`{what}` must reference an environment variable, not hold a value"),
            )
            .with_label("a literal credential here would end up in git")
            .with_help(format!(
                "write `{key}: {{ env: {upper} }}` and export {upper} where pushfix runs"
            ));
            return None;
        }
        let f = self.fields(node, &what, ENV_REF_KEYS)?;
        let env = self.require(&f, "env", &what)?;
        let name = self.string(env, &format!("{what}.env"))?;
        if looks_like_secret(&name.value) {
            // Never echo it: this is most likely the secret itself, pasted where its name belongs.
            self.error(env.span, format!("`{what}.env` looks like a credential value, not an environment variable name"))
                .with_label("a secret here would end up in git")
                .with_help("put the variable's name here (for example JPUSH_MASTER_SECRET) and export the value where pushfix runs");
            return None;
        }
        if !valid_env_name(&name.value) {
            self.error(env.span, format!("`{}` is not an environment variable name", name.value))
                .with_help("use letters, digits and underscores, not starting with a digit (for example JPUSH_MASTER_SECRET)");
            return None;
        }
        Some(name)
    }

    fn vars(
        &mut self,
        node: Option<&Node>,
        overrides: &VarOverrides,
    ) -> Option<serde_json::Map<String, serde_json::Value>> {
        let mut vars = serde_json::Map::new();
        if let Some(node) = node {
            let Value::Map(entries) = &node.value else {
                self.error(
                    node.span,
                    format!("`vars` must be a mapping, found {}", node.kind()),
                );
                return None;
            };
            for (k, v) in entries {
                if secret_like_name(&k.name) && !matches!(v.value, Value::Map(_)) {
                    self.diags.push(
                        Diagnostic::warning(format!("`vars.{}` looks like a credential", k.name))
                            .at(self.file, k.span)
                            .help("vars are rendered into messages and plans; credentials belong in provider.credentials as { env: NAME }"),
                    );
                }
                if !valid_var_name(&k.name) {
                    self.error(
                        k.span,
                        format!(
                            "`{}` cannot be used as a variable name in templates",
                            k.name
                        ),
                    )
                    .with_help("use letters, digits and underscores, starting with a letter");
                    continue;
                }
                vars.insert(k.name.clone(), v.to_json());
            }
        }
        for (k, v) in overrides {
            vars.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        Some(vars)
    }

    fn limits(&mut self, node: Option<&Node>) -> Option<Limits> {
        let mut limits = Limits {
            rate: None,
            concurrency: DEFAULT_CONCURRENCY,
            max_targets: None,
            max_failures: None,
            timeout: DEFAULT_TIMEOUT,
        };
        let Some(node) = node else {
            return Some(limits);
        };
        let f = self.fields(node, "limits", LIMITS_KEYS)?;
        let mut ok = true;
        if let Some(n) = f.get("rate") {
            match self.string(n, "limits.rate") {
                Some(s) => match Rate::parse(&s.value) {
                    Ok(r) => limits.rate = Some(Located::new(r, n.span)),
                    Err(e) => {
                        self.error(n.span, format!("invalid `limits.rate`: {e}"));
                        ok = false;
                    }
                },
                None => ok = false,
            }
        }
        if let Some(n) = f.get("concurrency") {
            match self.uint(n, "limits.concurrency", 1, MAX_CONCURRENCY) {
                Some(c) => limits.concurrency = c as u32,
                None => ok = false,
            }
        }
        if let Some(n) = f.get("timeout") {
            match self.duration(n, "limits.timeout") {
                Some(d) if d > std::time::Duration::from_secs(300) => {
                    self.error(
                        n.span,
                        "`limits.timeout` is above 5 minutes; a corrective call answers in seconds",
                    );
                    ok = false;
                }
                Some(d) => limits.timeout = d,
                None => ok = false,
            }
        }
        if let Some(n) = f.get("max_targets") {
            match self.uint(n, "limits.max_targets", 1, u64::MAX) {
                Some(m) => limits.max_targets = Some(m),
                None => ok = false,
            }
        }
        if let Some(n) = f.get("max_failures") {
            let text = match &n.value {
                Value::Int(i) => Some(i.to_string()),
                Value::Str(s) => Some(s.clone()),
                _ => None,
            };
            match text.map(|t| FailureBudget::parse(&t)) {
                Some(Ok(FailureBudget::Count(0) | FailureBudget::Percent(0.0))) => {
                    self.error(n.span, "`limits.max_failures` of 0 would allow no request at all: any one could fail")
                        .with_help("use 1 to stop at the first failure (requests then run one at a time)");
                    ok = false;
                }
                Some(Ok(b)) => limits.max_failures = Some(b),
                Some(Err(e)) => {
                    self.error(n.span, format!("invalid `limits.max_failures`: {e}"));
                    ok = false;
                }
                None => {
                    self.error(
                        n.span,
                        format!(
                            "`limits.max_failures` must be a count or a percentage, found {}",
                            n.kind()
                        ),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(limits)
    }

    fn retry(&mut self, node: Option<&Node>) -> Option<RetryPolicy> {
        let mut retry = RetryPolicy::default();
        let Some(node) = node else { return Some(retry) };
        let f = self.fields(node, "retry", RETRY_KEYS)?;
        let mut ok = true;
        if let Some(n) = f.get("attempts") {
            match self.uint(n, "retry.attempts", 1, MAX_ATTEMPTS) {
                Some(a) => retry.attempts = a as u32,
                None => ok = false,
            }
        }
        if let Some(b) = f.get("backoff") {
            let bf = self.fields(b, "retry.backoff", BACKOFF_KEYS)?;
            if let Some(n) = bf.get("initial") {
                match self.duration(n, "retry.backoff.initial") {
                    Some(d) => retry.initial = d,
                    None => ok = false,
                }
            }
            if let Some(n) = bf.get("max") {
                match self.duration(n, "retry.backoff.max") {
                    Some(d) => retry.max = d,
                    None => ok = false,
                }
            }
            if ok && retry.initial > retry.max {
                let span = bf
                    .get("max")
                    .or(bf.get("initial"))
                    .map_or(b.span, |n| n.span);
                self.error(
                    span,
                    "`retry.backoff.max` is shorter than `retry.backoff.initial`",
                );
                ok = false;
            }
        }
        ok.then_some(retry)
    }

    fn steps(&mut self, node: &Node, has_ledger: bool) -> Option<Vec<Step>> {
        let items = self.list(node, "steps")?;
        if items.is_empty() {
            self.error(
                node.span,
                "`steps` is empty; a playbook needs at least one step",
            );
            return None;
        }
        let mut steps = Vec::new();
        let mut names: HashSet<String> = HashSet::new();
        let mut ok = true;
        for item in items {
            match self.step(item, has_ledger) {
                Some(step) => {
                    if !names.insert(step.name.value.clone()) {
                        self.error(step.name.span, format!("two steps are named `{}`", step.name.value))
                            .with_help("step names identify steps in the journal and the report; make them unique");
                        ok = false;
                    }
                    steps.push(step);
                }
                None => ok = false,
            }
        }
        ok.then_some(steps)
    }

    fn step(&mut self, node: &Node, has_ledger: bool) -> Option<Step> {
        let f = self.fields(node, "step", STEP_KEYS)?;
        let name = self
            .require(&f, "name", "step")
            .and_then(|n| self.name(n, "step name"));
        let action_node = self.require(&f, "action", "step");
        let action = action_node.and_then(|n| self.choice(n, "action", &Action::ALL));
        if let (Some(a), Some(p), Some(n)) = (action, self.provider, action_node)
            && let Some((message, help)) = p.refuse_action(a)
        {
            self.error(n.span, message).with_help(help);
        }
        let unsupported = match f.get("unsupported") {
            Some(n) => self.choice(
                n,
                "unsupported",
                &[
                    ("skip", UnsupportedPolicy::Skip),
                    ("fail", UnsupportedPolicy::Fail),
                    ("force", UnsupportedPolicy::Force),
                ],
            ),
            None => Some(UnsupportedPolicy::Skip),
        };
        let select = match self.require(&f, "select", "step") {
            Some(n) => self.select(n, has_ledger),
            None => None,
        };
        let message = match (action, f.get("message")) {
            (Some(Action::Override), Some(n)) => self.message(n).map(Some),
            (Some(Action::Override), None) => {
                let span = action_node.map_or(f.span, |n| n.span);
                self.error(
                    span,
                    "an `override` step needs a `message`: the corrected notification to send",
                )
                .with_help("add `message: { title: ..., body: ... }` to the step");
                None
            }
            (Some(a), Some(_)) => {
                let span = f.key("message").map_or(f.span, |k| k.span);
                self.error(
                    span,
                    format!(
                        "`message` is only used by override steps; `{a}` sends no new notification"
                    ),
                );
                None
            }
            (_, _) => Some(None),
        };
        Some(Step {
            name: name?,
            action: action?,
            action_span: action_node?.span,
            select: select?,
            unsupported: unsupported?,
            message: message?,
            span: node.span,
        })
    }

    fn select(&mut self, node: &Node, has_ledger: bool) -> Option<Selector> {
        let f = self.fields(node, "select", SELECT_KEYS)?;
        let mut sel = Selector::default();
        let mut ok = true;
        if f.entries.is_empty() {
            self.error(
                node.span,
                "`select` is empty: say which messages with `ids`, `ids_file` or `where`",
            );
            return None;
        }
        if let Some(n) = f.get("ids") {
            match self.list(n, "select.ids") {
                Some(items) => {
                    if items.is_empty() {
                        self.error(n.span, "`select.ids` is empty");
                        ok = false;
                    }
                    for item in items {
                        match self.msg_id(item) {
                            Some(id) => sel.ids.push(id),
                            None => ok = false,
                        }
                    }
                }
                None => ok = false,
            }
        }
        if let Some(n) = f.get("ids_file") {
            match self.path(n, "select.ids_file") {
                Some(p) => {
                    if let Some(provider) = self.provider {
                        match ids_file::read(&p.value, provider, self.inputs) {
                            Ok(ids) if ids.is_empty() => {
                                self.error(
                                    n.span,
                                    format!("ids file `{}` lists no ids", p.value.display()),
                                );
                                ok = false;
                            }
                            Ok(ids) => sel.file_ids = ids,
                            Err(ds) => {
                                self.diags.extend(ds);
                                ok = false;
                            }
                        }
                    }
                    sel.ids_file = Some(p);
                }
                None => ok = false,
            }
        }
        if let Some(n) = f.get("where") {
            if !has_ledger {
                let span = f.key("where").map_or(n.span, |k| k.span);
                self.error(span, "`where` filters the ledger, but this playbook has no `ledger`")
                    .with_help("add `ledger: path/to/sends.jsonl` at the top level, or select by `ids` / `ids_file`");
                ok = false;
            }
            match self.filter(n) {
                Some(flt) => sel.filter = Some(Located::new(flt, n.span)),
                None => ok = false,
            }
        }
        ok.then_some(sel)
    }

    fn msg_id(&mut self, node: &Node) -> Option<Located<MsgId>> {
        let p = self.provider?;
        let parsed = match &node.value {
            Value::Int(i) => p.id_from_int(*i),
            Value::Str(s) => p.parse_id(s),
            // Integers beyond u64 (and digits with leading zeros) reach us as floats; the text
            // says what was meant.
            Value::Float(_) => p.id_from_float(node.raw(self.file).unwrap_or("?").trim()),
            _ => Err(format!(
                "ids must be strings or integers, found {}",
                node.kind()
            )),
        };
        match parsed {
            Ok(id) => Some(Located::new(id, node.span)),
            Err(e) => {
                self.error(node.span, e);
                None
            }
        }
    }

    fn filter(&mut self, node: &Node) -> Option<Filter> {
        let f = self.fields(node, "where", WHERE_KEYS)?;
        let mut flt = Filter::default();
        let mut ok = true;
        if f.entries.is_empty() {
            self.error(node.span, "`where` has no conditions; it would select the whole ledger")
                .with_help("filter by tags_any, tags_all, sent_after/sent_before, sent_within/older_than or platforms");
            return None;
        }
        for key in ["tags_any", "tags_all"] {
            if let Some(n) = f.get(key) {
                match self.string_list(n, &format!("where.{key}")) {
                    Some(v) if v.is_empty() => {
                        self.error(
                            n.span,
                            format!("`where.{key}` is empty; it would match nothing"),
                        );
                        ok = false;
                    }
                    Some(v) if key == "tags_any" => flt.tags_any = v,
                    Some(v) => flt.tags_all = v,
                    None => ok = false,
                }
            }
        }
        macro_rules! opt {
            ($key:literal, $method:ident, $field:ident) => {
                if let Some(n) = f.get($key) {
                    match self.$method(n, concat!("where.", $key)) {
                        Some(v) => flt.$field = Some(v),
                        None => ok = false,
                    }
                }
            };
        }
        opt!("sent_after", timestamp, sent_after);
        opt!("sent_before", timestamp, sent_before);
        opt!("sent_within", duration, sent_within);
        opt!("older_than", duration, older_than);
        if let Some(n) = f.get("platforms") {
            match self.list(n, "where.platforms") {
                Some(items) => {
                    for item in items {
                        match self.choice(item, "where.platforms", &Platform::ALL) {
                            Some(p) => flt.platforms.push(p),
                            None => ok = false,
                        }
                    }
                    if items.is_empty() {
                        self.error(n.span, "`where.platforms` is empty; it would match nothing");
                        ok = false;
                    }
                }
                None => ok = false,
            }
        }
        if f.has("sent_after") && f.has("sent_within") {
            let span = f.key("sent_within").map_or(node.span, |k| k.span);
            self.error(
                span,
                "`sent_after` and `sent_within` both set the earliest send time; keep one",
            );
            ok = false;
        }
        if f.has("sent_before") && f.has("older_than") {
            let span = f.key("older_than").map_or(node.span, |k| k.span);
            self.error(
                span,
                "`sent_before` and `older_than` both set the latest send time; keep one",
            );
            ok = false;
        }
        if let (Some(a), Some(b)) = (flt.sent_after, flt.sent_before)
            && a >= b
        {
            // Quote the times as written: a reader compares them with the playbook, not UTC.
            let raw = |k: &str| {
                f.get(k)
                    .and_then(|n| n.raw(self.file))
                    .map_or(String::new(), |r| r.trim().trim_matches('"').to_string())
            };
            let (a, b) = (raw("sent_after"), raw("sent_before"));
            let span = f.get("sent_before").map_or(node.span, |n| n.span);
            self.error(
                span,
                format!("`sent_before` ({b}) is not after `sent_after` ({a}); the range is empty"),
            );
            ok = false;
        }
        if let (Some(w), Some(o)) = (flt.sent_within, flt.older_than)
            && o >= w
        {
            let span = f.get("older_than").map_or(node.span, |n| n.span);
            self.error(
                span,
                "`older_than` is not shorter than `sent_within`; the range is empty",
            );
            ok = false;
        }
        ok.then_some(flt)
    }

    fn message(&mut self, node: &Node) -> Option<MessageSpec> {
        let allowed = keys_at(KeyPath::Message);
        let f = self.fields(node, "message", &allowed)?;
        self.provider_only_keys(&f, KeyPath::Message);
        let mut ok = true;
        let title = f
            .get("title")
            .and_then(|n| self.template(n, "message.title"));
        if f.has("title") && title.is_none() {
            ok = false;
        }
        let body = match (f.get("body"), f.get("body_template")) {
            (Some(_), Some(_)) => {
                let span = f.key("body_template").map_or(node.span, |k| k.span);
                self.error(span, "set either `body` or `body_template`, not both");
                None
            }
            (Some(n), None) => self.template(n, "message.body"),
            (None, Some(n)) => self.template_file(n, "message.body_template"),
            (None, None) => {
                self.error(
                    node.span,
                    "`message` needs a `body` (or a `body_template` file)",
                );
                None
            }
        };
        let extras = match f.get("extras") {
            Some(n) if matches!(n.value, Value::Map(_)) => self.template_tree(n, "message.extras"),
            Some(n) => {
                self.error(
                    n.span,
                    format!("`message.extras` must be a mapping, found {}", n.kind()),
                );
                None
            }
            None => None,
        };
        if f.has("extras") && extras.is_none() {
            ok = false;
        }
        let mut fields = Vec::new();
        let own = self.provider.map_or(&[][..], |p| p.message_fields());
        for field in own {
            let Some(n) = f.get(field.name) else { continue };
            let what = format!("message.{}", field.name);
            let Some(t) = self.template(n, &what) else {
                ok = false;
                continue;
            };
            // A literal (no template syntax) can be checked now; rendered values at plan time.
            if let Some((max, whose)) = field.max_bytes
                && !t.text.contains("{{")
                && !t.text.contains("{%")
                && t.text.len() > max
            {
                self.error(
                    n.span,
                    format!(
                        "`{what}` is {} bytes; {whose} allows at most {max}",
                        t.text.len()
                    ),
                );
                ok = false;
            }
            fields.push((field.name, t));
        }
        if !ok {
            return None;
        }
        Some(MessageSpec {
            title,
            body: body?,
            extras,
            fields,
            span: node.span,
        })
    }

    fn template(&mut self, node: &Node, what: &str) -> Option<TemplateSrc> {
        let s = self.string(node, what)?;
        if s.value.trim().is_empty() {
            self.error(node.span, format!("`{what}` is empty"));
            return None;
        }
        let t = TemplateSrc {
            text: s.value,
            field: what.to_string(),
            origin: TemplateOrigin::Inline {
                file: self.file.clone(),
                offset: node.offset,
                len: node.len,
                span: node.span,
            },
        };
        self.check_template_syntax(&t).then_some(t)
    }

    fn template_file(&mut self, node: &Node, what: &str) -> Option<TemplateSrc> {
        let p = self.path(node, what)?;
        let file = match self.inputs.read_text(&p.value) {
            Ok(f) => f,
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        if file.text.trim().is_empty() {
            self.diags.push(
                Diagnostic::error(format!("template file `{}` is empty", p.value.display()))
                    .at(&file, Span::point(1, 1)),
            );
            return None;
        }
        let t = TemplateSrc {
            text: file.text.to_string(),
            field: what.trim_end_matches("_template").to_string(),
            origin: TemplateOrigin::File { file },
        };
        self.check_template_syntax(&t).then_some(t)
    }

    fn template_tree(&mut self, node: &Node, what: &str) -> Option<TemplateTree> {
        match &node.value {
            Value::Map(entries) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (k, v) in entries {
                    match self.template_tree(v, &format!("{what}.{}", k.name)) {
                        Some(t) => out.push((k.name.clone(), t)),
                        None => ok = false,
                    }
                }
                ok.then_some(TemplateTree::Map(out))
            }
            Value::Seq(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, v) in items.iter().enumerate() {
                    match self.template_tree(v, &format!("{what}[{i}]")) {
                        Some(t) => out.push(t),
                        None => ok = false,
                    }
                }
                ok.then_some(TemplateTree::List(out))
            }
            Value::Str(_) => self.template(node, what).map(TemplateTree::Template),
            _ => Some(TemplateTree::Literal(node.to_json())),
        }
    }

    fn check_template_syntax(&mut self, t: &TemplateSrc) -> bool {
        match crate::template::compile(t) {
            Ok(_) => true,
            Err(d) => {
                self.diags.push(d);
                false
            }
        }
    }
}

fn display_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() {
        ".".to_string()
    } else {
        dir.display().to_string()
    }
}

/// Byte ranges of every value under `provider.credentials` (the whole subtree: misspelled keys
/// and literal values included) and of the user:password part of `provider.endpoint`.
fn secret_ranges(root: &Node) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let Value::Map(top) = &root.value else {
        return out;
    };
    let Some((_, provider)) = top.iter().find(|(k, _)| k.name == "provider") else {
        return out;
    };
    let Value::Map(p) = &provider.value else {
        return out;
    };
    // Template variables named like secrets are not credentials, but never quote them either.
    if let Some((
        _,
        Node {
            value: Value::Map(vars),
            ..
        },
    )) = top.iter().find(|(k, _)| k.name == "vars")
    {
        for (k, v) in vars {
            if secret_like_name(&k.name) {
                collect_secret_scalars(v, &mut out);
            }
        }
    }
    for (k, v) in p {
        match k.name.as_str() {
            "credentials" => collect_secret_scalars(v, &mut out),
            "endpoint" => {
                if let Value::Str(url) = &v.value
                    && let (Some(scheme_end), Some(at)) = (url.find("://"), url.find('@'))
                    && at > scheme_end
                {
                    // The scalar may be quoted: find the userinfo in the raw text.
                    let user = &url[scheme_end + 3..at];
                    let skip = usize::from(v.len > url.len());
                    let start = v.offset + skip + scheme_end + 3;
                    out.push(start..start + user.len());
                }
            }
            _ => {}
        }
    }
    out
}

fn collect_secret_scalars(node: &Node, out: &mut Vec<Range<usize>>) {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                // `env: NAME` names a variable; only values that look like secrets are hidden.
                if k.name == "env" && matches!(&v.value, Value::Str(n) if !looks_like_secret(n)) {
                    continue;
                }
                collect_secret_scalars(v, out);
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| collect_secret_scalars(i, out)),
        _ if node.len > 0 => out.push(node.offset..node.offset + node.len),
        _ => {}
    }
}

fn secret_like_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret",
        "password",
        "passwd",
        "token",
        "master_key",
        "private_key",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Environment variable names are conventionally upper case; a long mixed-case or hex-looking
/// string where a name belongs is most likely a pasted secret.
fn looks_like_secret(s: &str) -> bool {
    let has_lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let has_digit = s.bytes().any(|b| b.is_ascii_digit());
    s.len() >= 16 && has_lower && has_digit
}

/// Remember, for every mapping, the key it is the value of.
fn collect_owners(node: &Node, owners: &mut HashMap<(u32, u32), Span>) {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                if matches!(v.value, Value::Map(_)) {
                    owners.insert((v.span.line, v.span.col), k.span);
                }
                collect_owners(v, owners);
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| collect_owners(i, owners)),
        _ => {}
    }
}

pub fn valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn valid_env_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn valid_var_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("bf-promo-broken-link"));
        assert!(valid_name("2026-fix"));
        assert!(!valid_name("BF"));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a_b"));
        assert!(!valid_name(""));
    }
}
