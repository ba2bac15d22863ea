//! An override step's `message:` — its templates (inline or from a file, syntax checked now,
//! rendered at plan time) and the provider's own fields.

use super::{Decoder, keys_at};
use crate::diag::{Diagnostic, Span};
use crate::playbook::MessageSpec;
use crate::provider::KeyPath;
use crate::template::{TemplateOrigin, TemplateSrc, TemplateTree};
use crate::yaml::{Node, Value};

impl Decoder<'_> {
    pub(super) fn message(&mut self, node: &Node) -> Option<MessageSpec> {
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

    pub(super) fn template(&mut self, node: &Node, what: &str) -> Option<TemplateSrc> {
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

    pub(super) fn template_file(&mut self, node: &Node, what: &str) -> Option<TemplateSrc> {
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
            // An editor's final newline is not part of the message (it would be pushed to every
            // device); anything else in the file is.
            text: file.text.trim_end_matches(['\n', '\r']).to_string(),
            field: what.trim_end_matches("_template").to_string(),
            origin: TemplateOrigin::File { file },
        };
        self.check_template_syntax(&t).then_some(t)
    }

    pub(super) fn template_tree(&mut self, node: &Node, what: &str) -> Option<TemplateTree> {
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

    pub(super) fn check_template_syntax(&mut self, t: &TemplateSrc) -> bool {
        match crate::template::compile(t) {
            Ok(_) => true,
            Err(d) => {
                self.diags.push(d);
                false
            }
        }
    }
}
