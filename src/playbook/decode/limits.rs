//! `vars:`, `limits:` and `retry:`.

use super::secrets::secret_like_name;
use super::{Decoder, VarOverrides, valid_var_name};
use crate::diag::Diagnostic;
use crate::domain::{FailureBudget, Rate};
use crate::playbook::{DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, Limits, Located, RetryPolicy};
use crate::yaml::{Node, Value};

use super::{BACKOFF_KEYS, LIMITS_KEYS, MAX_ATTEMPTS, MAX_CONCURRENCY, RETRY_KEYS};

impl Decoder<'_> {
    pub(super) fn vars(
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

    pub(super) fn limits(&mut self, node: Option<&Node>) -> Option<Limits> {
        let mut limits = Limits {
            rate: None,
            concurrency: DEFAULT_CONCURRENCY,
            max_targets: None,
            max_failures: None,
            timeout: DEFAULT_TIMEOUT,
            verify: false,
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
        if let Some(n) = f.get("verify") {
            match self.boolean(n, "limits.verify") {
                Some(v) => limits.verify = v,
                None => ok = false,
            }
        }
        ok.then_some(limits)
    }

    pub(super) fn retry(&mut self, node: Option<&Node>) -> Option<RetryPolicy> {
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
}
