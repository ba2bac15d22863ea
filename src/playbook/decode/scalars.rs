//! Scalars of a playbook: strings, numbers, booleans, choices, lists, paths, times and
//! durations, each checked and located.

use std::path::PathBuf;

use jiff::Timestamp;

use super::{Decoder, display_dir};
use crate::diag::did_you_mean;
use crate::domain::{TimestampReason, parse_duration, parse_timestamp};
use crate::playbook::Located;
use crate::yaml::{Node, Value};

impl Decoder<'_> {
    /// A scalar read as text. Numbers and booleans are taken as written (`title: 2026`).
    pub(super) fn string(&mut self, node: &Node, what: &str) -> Option<Located<String>> {
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

    pub(super) fn uint(&mut self, node: &Node, what: &str, min: u64, max: u64) -> Option<u64> {
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

    pub(super) fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
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

    pub(super) fn choice<T: Copy>(
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

    pub(super) fn list<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
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

    pub(super) fn string_list(&mut self, node: &Node, what: &str) -> Option<Vec<String>> {
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
    pub(super) fn path(&mut self, node: &Node, what: &str) -> Option<Located<PathBuf>> {
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

    pub(super) fn ledger(&mut self, node: &Node) -> Option<Located<PathBuf>> {
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

    pub(super) fn timestamp(&mut self, node: &Node, what: &str) -> Option<Timestamp> {
        let s = self.string(node, what)?;
        match parse_timestamp(&s.value) {
            Ok(t) => Some(t),
            Err(e)
                if matches!(
                    e.reason,
                    TimestampReason::NotATime | TimestampReason::NoOffset
                ) =>
            {
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
            Err(e) => {
                self.error(
                    node.span,
                    format!("`{what}`: `{}` {}", s.value, e.explain()),
                );
                None
            }
        }
    }

    pub(super) fn duration(&mut self, node: &Node, what: &str) -> Option<std::time::Duration> {
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
}
