//! From a located YAML tree to a `Playbook`, collecting every problem on the way.
//!
//! Each mapping declares the keys it accepts (the `*_KEYS` constants; a test keeps them equal to
//! the JSON Schema). Keys that belong to the other provider get a message that says so, rather
//! than a bare "unknown key".

mod limits;
mod message;
mod provider;
mod scalars;
mod secrets;
mod steps;

use std::collections::HashMap;
use std::path::Path;

pub use provider::keys_at;

use super::model::*;
use crate::diag::{Diagnostic, Diagnostics, SourceFile, Span, did_you_mean};
use crate::input_set::InputSet;
use crate::provider::Provider;
use crate::yaml::{self, Key, Node, Value};
use secrets::secret_ranges;

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
    "verify",
];
pub const RETRY_KEYS: &[&str] = &["attempts", "backoff"];
pub const BACKOFF_KEYS: &[&str] = &["initial", "max"];
pub const STEP_KEYS: &[&str] = &[
    "name",
    "action",
    "select",
    "unsupported",
    "on_not_corrected",
    "message",
    "verify",
];
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

impl<'a> Decoder<'a> {
    pub(super) fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(message).at(self.file, span));
        self.diags.items.last_mut().expect("just pushed")
    }

    /// Check that `node` is a mapping with only `allowed` keys; report every other key.
    pub(super) fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
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

    pub(super) fn require<'n>(
        &mut self,
        f: &Fields<'n>,
        key: &str,
        path: &str,
    ) -> Option<&'n Node> {
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

    pub(super) fn name(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
        let s = self.string(node, what)?;
        if !valid_name(&s.value) {
            self.error(node.span, format!("`{what}` must match [a-z0-9][a-z0-9-]* (at most 64 characters), found `{}`", s.value))
                .with_help("names are used in run directory names and reports: lowercase letters, digits and dashes");
            return None;
        }
        Some(s)
    }
}

/// Remember, for every mapping, the key it is the value of.
pub(super) fn collect_owners(node: &Node, owners: &mut HashMap<(u32, u32), Span>) {
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

pub(super) fn valid_env_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

pub(super) fn valid_var_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

pub(super) fn display_dir(dir: &Path) -> String {
    if dir.as_os_str().is_empty() {
        ".".to_string()
    } else {
        dir.display().to_string()
    }
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
