//! `steps:` — each step's name, action, selection (`ids`, `ids_file`, `where`) and policy.

use std::collections::HashSet;

use super::{Decoder, SELECT_KEYS, STEP_KEYS, WHERE_KEYS};
use crate::domain::{Action, MsgId, NotCorrectedPolicy, Platform, UnsupportedPolicy};
use crate::ids_file;
use crate::ledger::Filter;
use crate::playbook::{Located, Selector, Step};
use crate::yaml::{Node, Value};

impl Decoder<'_> {
    pub(super) fn steps(&mut self, node: &Node, has_ledger: bool) -> Option<Vec<Step>> {
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

    pub(super) fn step(&mut self, node: &Node, has_ledger: bool) -> Option<Step> {
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
        let on_not_corrected = match f.get("on_not_corrected") {
            Some(n) => {
                let p = self.choice(
                    n,
                    "on_not_corrected",
                    &[
                        ("fail", NotCorrectedPolicy::Fail),
                        ("ok", NotCorrectedPolicy::Ok),
                    ],
                );
                if action.is_some_and(|a| a != Action::Override) {
                    let span = f.key("on_not_corrected").map_or(f.span, |k| k.span);
                    self.error(
                        span,
                        "`on_not_corrected` is for override steps: only an override can be refused without a correction going out",
                    );
                    None
                } else {
                    p
                }
            }
            None => Some(NotCorrectedPolicy::Fail),
        };
        let select = match self.require(&f, "select", "step") {
            Some(n) => self.select(n, has_ledger, action),
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
        let verify = match f.get("verify") {
            Some(n) => self.boolean(n, "verify").map(Some),
            None => Some(None),
        };
        Some(Step {
            name: name?,
            action: action?,
            action_span: action_node?.span,
            select: select?,
            unsupported: unsupported?,
            on_not_corrected: on_not_corrected?,
            message: message?,
            verify: verify?,
            span: node.span,
        })
    }

    /// `action` decides what the ids name (JPush's `cancel_scheduled` takes schedule ids).
    pub(super) fn select(
        &mut self,
        node: &Node,
        has_ledger: bool,
        action: Option<Action>,
    ) -> Option<Selector> {
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
                        match self.step_id(item, action) {
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
                        let read = match action {
                            Some(a) => ids_file::read_for(&p.value, provider, a, self.inputs),
                            None => ids_file::read(&p.value, provider, self.inputs),
                        };
                        match read {
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

    /// An id of a step of `action`: a schedule id where the provider names schedules apart
    /// (written as text only: a number is a message id), else a message id.
    pub(super) fn step_id(
        &mut self,
        node: &Node,
        action: Option<Action>,
    ) -> Option<Located<MsgId>> {
        let p = self.provider?;
        let schedules = action == Some(Action::CancelScheduled) && p.schedule_id_field().is_some();
        let parsed = match &node.value {
            // A number is never a schedule id; the provider says what it looks like instead.
            Value::Int(i) if schedules => p.parse_schedule_id(&i.to_string()),
            Value::Float(_) if schedules => {
                p.parse_schedule_id(node.raw(self.file).unwrap_or("?").trim())
            }
            Value::Str(s) if schedules => p.parse_schedule_id(s),
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

    pub(super) fn filter(&mut self, node: &Node) -> Option<Filter> {
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
}
