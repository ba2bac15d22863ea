//! Rendering one override step's templates for every target, errors grouped per template.

use std::collections::{BTreeMap, HashMap};

use super::build::PlanContext;
use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::{Facts, MsgId};
use crate::ledger::LedgerRecord;
use crate::playbook::{MessageSpec, Playbook, Step};
use crate::provider::MessageField;
use crate::target::RenderedMessage;
use crate::template::{CompiledTree, RenderError, StepTemplates, TemplateId};

/// Renders one override step's templates for each target, grouping errors.
pub struct StepRenderer<'a> {
    templates: StepTemplates,
    title: Option<TemplateId>,
    body: TemplateId,
    extras: Option<CompiledTree>,
    /// The provider's message fields: each rendered from the step's template if it has one,
    /// else taken from the ledger record's fact of the same name.
    fields: Vec<(&'static str, Option<TemplateId>)>,
    base: tera::Context,
    /// error -> (first target, further targets with the same error)
    errors: Vec<(RenderError, String, usize)>,
    index: HashMap<RenderError, usize>,
    /// Targets rendered from a ledger record so far.
    rendered: usize,
    _pb: &'a Playbook,
}

impl<'a> StepRenderer<'a> {
    pub fn new(
        ctx: &PlanContext<'a>,
        step: &Step,
        m: &MessageSpec,
        own: &[MessageField],
    ) -> Result<Self, Diagnostic> {
        let mut templates = StepTemplates::new();
        let title = m.title.as_ref().map(|t| templates.add(t)).transpose()?;
        let body = templates.add(&m.body)?;
        let extras = m
            .extras
            .as_ref()
            .map(|t| CompiledTree::compile(t, &mut templates))
            .transpose()?;
        let mut fields = Vec::new();
        for f in own {
            let template = m.fields.iter().find(|(name, _)| *name == f.name);
            let id = template.map(|(_, t)| templates.add(t)).transpose()?;
            fields.push((f.name, id));
        }
        let mut base = tera::Context::new();
        base.insert("vars", &ctx.playbook.vars);
        base.insert(
            "step",
            &serde_json::json!({ "name": step.name.value, "action": step.action.as_str() }),
        );
        base.insert(
            "run",
            &serde_json::json!({ "id": ctx.run_id, "started_at": ctx.now.to_string() }),
        );
        Ok(StepRenderer {
            templates,
            title,
            body,
            extras,
            fields,
            base,
            errors: Vec::new(),
            index: HashMap::new(),
            rendered: 0,
            _pb: ctx.playbook,
        })
    }

    /// Every template of the step for one target, within the template limits (a stack of
    /// their own, a time budget for the target: `crate::template::limits`).
    pub fn render(&mut self, record: &LedgerRecord) -> Result<RenderedMessage, RenderError> {
        self.rendered += 1;
        let this = &*self;
        self.templates.render_target(|| this.render_fields(record))
    }

    fn render_fields(&self, record: &LedgerRecord) -> Result<RenderedMessage, RenderError> {
        let mut ctx = self.base.clone();
        ctx.insert("message", &record.raw_value());
        let t = &self.templates;
        let title = match self.title {
            Some(id) => Some(t.render(id, &ctx)?),
            None => record.title.clone(),
        };
        let mut fields = BTreeMap::new();
        for (name, id) in &self.fields {
            let value = match id {
                Some(id) => Some(t.render(*id, &ctx)?).filter(|s| !s.is_empty()),
                None => record
                    .facts
                    .get(name)
                    .and_then(|f| f.as_text())
                    .map(String::from),
            };
            if let Some(v) = value {
                fields.insert(name.to_string(), v);
            }
        }
        let body = t.render(self.body, &ctx)?;
        if body.trim().is_empty() {
            return Err(RenderError {
                template: self.body,
                message: "it renders empty: a notification needs text".into(),
                offset: None,
            });
        }
        Ok(RenderedMessage {
            title,
            body,
            extras: self
                .extras
                .as_ref()
                .map(|e| e.render(t, &ctx))
                .transpose()?,
            fields,
        })
    }

    pub fn fail(&mut self, e: RenderError, target: &MsgId) {
        match self.index.get(&e) {
            Some(&i) => self.errors[i].2 += 1,
            None => {
                self.index.insert(e.clone(), self.errors.len());
                self.errors.push((e, target.to_string(), 0));
            }
        }
    }

    pub fn into_diagnostics(mut self) -> Diagnostics {
        if self.rendered == 0 {
            self.check_without_targets();
        }
        let mut d = Diagnostics::new();
        for (e, target, more) in &self.errors {
            d.push(self.templates.diagnostic(e, target, *more));
        }
        d
    }

    /// With no target to render (nothing selected today, or no ledger record), still render
    /// once against a stand-in record so a broken template fails CI now rather than on the
    /// day it matters. Only errors about `message.*` fields are ignored: real records may
    /// have fields the stand-in lacks.
    fn check_without_targets(&mut self) {
        let stub = LedgerRecord {
            id: MsgId::Text("0".into()),
            line: 0,
            sent_at: None,
            platforms: None,
            title: Some(String::new()),
            body: Some(String::new()),
            audience: None,
            facts: Facts::new(),
            receivers_by_channel: None,
            raw:
                r#"{"id": "0", "title": "", "body": "", "tags": [], "platforms": [], "extras": {}}"#
                    .into(),
        };
        if let Err(e) = self.render(&stub)
            && !e.message.contains("Variable `message.")
        {
            self.fail(e, &MsgId::Text(String::new()));
        }
    }
}
