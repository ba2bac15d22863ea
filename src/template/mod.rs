//! Message templates (tera). Compiled when the playbook is read, rendered for every target at
//! plan time; any error points into the playbook or template file.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::Arc;

use crate::diag::{Diagnostic, SourceFile, Span};
pub mod limits;
mod source;

pub use source::{TemplateOrigin, TemplateSrc, TemplateTree};

use limits::{Budget, LimitError, Scan};

/// Compile one template alone (syntax and limits checked while decoding the playbook).
pub fn compile(t: &TemplateSrc) -> Result<(), Diagnostic> {
    let mut tera = new_engine();
    parse(&mut tera, "t", t).map(|_| ())
}

/// Check the limits tera's parser needs, parse, check the AST: `name` is then in `tera`.
fn parse(tera: &mut tera::Tera, name: &str, t: &TemplateSrc) -> Result<Scan, Diagnostic> {
    let scan = limits::scan(&t.text).map_err(|e| limit_error(t, &e))?;
    match limits::on_render_stack(|| tera.add_raw_template(name, &t.text)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(syntax_error(t, &e)),
        Err(panic) => {
            let (file, span) = locate(t, None, None);
            return Err(Diagnostic::error(format!(
                "`{}` cannot be parsed: the template engine failed ({panic})",
                t.field
            ))
            .at(&file, span));
        }
    }
    let checked = match tera.templates.get(name) {
        Some(tpl) => limits::check_ast(tpl, &scan),
        None => Ok(()),
    };
    checked.map_err(|e| limit_error(t, &e))?;
    Ok(scan)
}

fn limit_error(t: &TemplateSrc, e: &LimitError) -> Diagnostic {
    let (file, span) = locate(t, e.needle.as_deref(), e.offset);
    Diagnostic::error(format!("template `{}` is too complex: {}", t.field, e.message))
        .at(&file, span)
        .help("message templates have limits so that no playbook can exhaust the stack, memory or time (docs/decisions.md, \"Template limits\")")
}

/// A tera engine without the functions that would make rendering impure or leak secrets.
fn new_engine() -> tera::Tera {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    for name in ["get_env", "now", "get_random"] {
        tera.register_function(name, move |_: &HashMap<String, tera::Value>| -> tera::Result<tera::Value> {
            Err(tera::Error::msg(match name {
                "get_env" => "`get_env` is disabled: environment values (secrets) must not reach messages; use `vars`",
                "now" => "`now()` is disabled: plans must not depend on the clock; use `run.started_at`",
                _ => "`get_random` is disabled: every target must render the same way at plan and run time",
            }))
        });
    }
    tera
}

/// All templates of one step, compiled once and rendered per target, within the limits of
/// [`limits`].
pub struct StepTemplates {
    tera: tera::Tera,
    budget: Arc<Budget>,
    sources: Vec<TemplateSrc>,
    scans: Vec<Scan>,
    /// The template being rendered (a panic is reported against it).
    current: std::sync::atomic::AtomicUsize,
    /// Templates that hit a limit: not rendered again for the step's other targets (they
    /// get the same error, so a slow template costs its time budget once, not per target).
    over_limit: std::sync::Mutex<HashMap<TemplateId, RenderError>>,
}

impl StepTemplates {
    /// Register templates; returns their handles in order. Syntax was checked when the
    /// playbook was decoded, so errors here are reported the same way.
    pub fn new() -> Self {
        Self::with_time_budget(limits::TIME_BUDGET)
    }

    /// With another time budget per target (tests).
    pub fn with_time_budget(time: std::time::Duration) -> Self {
        let budget = Budget::new(time);
        let mut tera = new_engine();
        limits::install(&mut tera, &budget);
        StepTemplates {
            tera,
            budget,
            sources: Vec::new(),
            scans: Vec::new(),
            current: std::sync::atomic::AtomicUsize::new(0),
            over_limit: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn add(&mut self, t: &TemplateSrc) -> Result<TemplateId, Diagnostic> {
        let id = TemplateId(self.sources.len());
        let name = id.name();
        let scan = parse(&mut self.tera, &name, t)?;
        if let Some(tpl) = self.tera.templates.get_mut(&name) {
            limits::instrument(tpl, &scan);
        }
        self.sources.push(t.clone());
        self.scans.push(scan);
        Ok(id)
    }

    /// Render every template of one target with `f`, on a stack known to be large enough
    /// and within the target's time budget; a panic in the template engine is an error
    /// against the template it was rendering.
    pub fn render_target<R>(
        &self,
        f: impl FnOnce() -> Result<R, RenderError>,
    ) -> Result<R, RenderError> {
        self.budget.start_target();
        let r = limits::on_render_stack(f);
        self.budget.end_target();
        r.unwrap_or_else(|panic| {
            let e = RenderError {
                template: TemplateId(self.current.load(std::sync::atomic::Ordering::Relaxed)),
                message: format!("the template engine failed ({panic})"),
                offset: None,
            };
            self.remember(&e);
            Err(e)
        })
    }

    fn remember(&self, e: &RenderError) {
        self.over_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(e.template, e.clone());
    }

    pub fn render(&self, id: TemplateId, ctx: &tera::Context) -> Result<String, RenderError> {
        if let Some(e) = self
            .over_limit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Err(e.clone());
        }
        self.current
            .store(id.0, std::sync::atomic::Ordering::Relaxed);
        self.budget.start_render();
        let mut out = limits::Bounded {
            buf: Vec::new(),
            exceeded: false,
        };
        let r = self.tera.render_to(&id.name(), ctx, &mut out);
        if out.exceeded {
            let _ = self.budget.output_exceeded();
        }
        let hit = self.budget.end_render();
        match r {
            Ok(()) => String::from_utf8(out.buf).map_err(|e| RenderError {
                template: id,
                message: format!("the rendered text is not UTF-8: {e}"),
                offset: None,
            }),
            Err(e) => Err(match hit {
                Some(h) => {
                    let scan = &self.scans[id.0];
                    let offset = h.tag.and_then(|k| scan.tags.get(k)).map(|t| t.start);
                    let offset = offset.or_else(|| {
                        h.needle
                            .as_deref()
                            .and_then(|n| find_token(&self.sources[id.0].text, n))
                    });
                    let e = RenderError {
                        template: id,
                        message: h.message,
                        offset,
                    };
                    self.remember(&e);
                    e
                }
                None => RenderError {
                    template: id,
                    message: error_chain(&e),
                    offset: None,
                },
            }),
        }
    }

    pub fn source(&self, id: TemplateId) -> &TemplateSrc {
        &self.sources[id.0]
    }

    /// A located diagnostic for a render failure.
    pub fn diagnostic(&self, err: &RenderError, target: &str, more: usize) -> Diagnostic {
        let src = self.source(err.template);
        let needle = match err.offset {
            Some(_) => None,
            None => render_error_needle(&err.message),
        };
        let (file, span) = locate(src, needle.as_deref(), err.offset);
        // An empty target means the check ran against a stand-in record (no target had one).
        let mut msg = if target.is_empty() {
            format!("`{}` cannot be rendered: {}", src.field, err.message)
        } else {
            format!(
                "`{}` cannot be rendered for target {target}: {}",
                src.field, err.message
            )
        };
        if more > 0 {
            msg.push_str(&format!(
                " (and {more} more target{} with the same error)",
                if more == 1 { "" } else { "s" }
            ));
        }
        let mut d = Diagnostic::error(msg).at(&file, span);
        if err.message.contains("not found in context") {
            d = d.help(
                "templates see `message` (the target's ledger record), `vars`, `step` (name, action) and `run` (id, started_at); \
                 use `{{ x | default(value=\"...\") }}` for fields some records lack",
            );
        }
        if target.is_empty() {
            d = d.help("no target has a ledger record today, so the template was checked against an empty stand-in record");
        }
        d
    }
}

impl Default for StepTemplates {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateId(usize);

impl TemplateId {
    fn name(self) -> String {
        format!("t{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderError {
    pub template: TemplateId,
    pub message: String,
    /// Where in the template text the error is, when known (a limit hit at a tag).
    pub offset: Option<usize>,
}

/// `extras` compiled: the same tree with template handles at the string leaves.
#[derive(Debug, Clone)]
pub enum CompiledTree {
    Template(TemplateId),
    Literal(serde_json::Value),
    Map(Vec<(String, CompiledTree)>),
    List(Vec<CompiledTree>),
}

impl CompiledTree {
    pub fn compile(
        tree: &TemplateTree,
        templates: &mut StepTemplates,
    ) -> Result<CompiledTree, Diagnostic> {
        Ok(match tree {
            TemplateTree::Template(t) => CompiledTree::Template(templates.add(t)?),
            TemplateTree::Literal(v) => CompiledTree::Literal(v.clone()),
            TemplateTree::Map(entries) => CompiledTree::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), CompiledTree::compile(v, templates)?)))
                    .collect::<Result<_, Diagnostic>>()?,
            ),
            TemplateTree::List(items) => CompiledTree::List(
                items
                    .iter()
                    .map(|v| CompiledTree::compile(v, templates))
                    .collect::<Result<_, Diagnostic>>()?,
            ),
        })
    }

    pub fn render(
        &self,
        templates: &StepTemplates,
        ctx: &tera::Context,
    ) -> Result<serde_json::Value, RenderError> {
        Ok(match self {
            CompiledTree::Template(id) => serde_json::Value::String(templates.render(*id, ctx)?),
            CompiledTree::Literal(v) => v.clone(),
            CompiledTree::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.render(templates, ctx)?)))
                    .collect::<Result<_, RenderError>>()?,
            ),
            CompiledTree::List(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|v| v.render(templates, ctx))
                    .collect::<Result<_, RenderError>>()?,
            ),
        })
    }
}

/// tera keeps the useful part of its messages in the `source()` chain.
fn error_chain(e: &tera::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    // The outermost ("Failed to render 't3'") names our internal template; drop it when there
    // is something more specific, and strip "while rendering 'tN'" suffixes.
    if parts.len() > 1 {
        parts.remove(0);
    }
    let joined = parts.join(": ");
    match joined.find(" while rendering '") {
        Some(i) => joined[..i].to_string(),
        None => joined,
    }
}

fn syntax_error(t: &TemplateSrc, e: &tera::Error) -> Diagnostic {
    // The parse error's source renders as " --> L:C\n  |\n ... = expected ...".
    let detail = e
        .source()
        .map(|s| s.to_string())
        .unwrap_or_else(|| e.to_string());
    let pos = detail.split("-->").nth(1).and_then(|rest| {
        let loc = rest.split_whitespace().next()?;
        let (l, c) = loc.split_once(':')?;
        Some((l.parse::<usize>().ok()?, c.parse::<usize>().ok()?))
    });
    let expected = detail
        .lines()
        .find_map(|l| l.trim().strip_prefix("= "))
        .unwrap_or("the template could not be parsed")
        .to_string();
    let offset = pos.map(|(l, c)| offset_of_line_col(&t.text, l, c));
    // At the end of the text, tera only says what it expected there; the mistake is the block
    // that was never closed: point at its opening tag instead.
    let at_end = offset.is_none_or(|o| t.text[o.min(t.text.len())..].trim().is_empty());
    if at_end && let Some((open, tag)) = unclosed_block(&t.text) {
        let (file, span) = locate(t, None, Some(open));
        return Diagnostic::error(format!(
            "invalid template in `{}`: `{{% {tag} %}}` is never closed",
            t.field
        ))
        .at(&file, span)
        .help(format!("end it with `{{% end{tag} %}}`"));
    }
    let (file, span) = locate(t, None, offset);
    Diagnostic::error(format!("invalid template in `{}`: {expected}", t.field)).at(&file, span)
}

/// The innermost block tag (`if`, `for`, `macro`, …) left open at the end of a template: its
/// offset and name.
fn unclosed_block(text: &str) -> Option<(usize, String)> {
    const BLOCKS: [&str; 6] = ["if", "for", "macro", "block", "filter", "raw"];
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut rest = 0;
    while let Some(i) = text[rest..].find("{%") {
        let start = rest + i;
        let body = text[start + 2..].trim_start_matches(['-', ' ', '\t', '\n', '\r']);
        let word: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if BLOCKS.contains(&word.as_str()) {
            open.push((start, word));
        } else if let Some(name) = word.strip_prefix("end")
            && let Some(pos) = open.iter().rposition(|(_, w)| w == name)
        {
            open.truncate(pos);
        }
        rest = start + 2;
    }
    open.pop()
}

fn offset_of_line_col(text: &str, line: usize, col: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return offset
                + l.char_indices()
                    .nth(col.saturating_sub(1))
                    .map_or(l.len(), |(b, _)| b);
        }
        offset += l.len();
    }
    text.len()
}

/// The text a render error is about (a variable or filter name), to point at in the source.
fn render_error_needle(message: &str) -> Option<String> {
    for (start, end) in [
        ("Variable `", "`"),
        ("Filter `", "`"),
        ("Filter '", "'"),
        ("Function '", "'"),
        ("Function `", "`"),
    ] {
        if let Some(i) = message.find(start) {
            let rest = &message[i + start.len()..];
            if let Some(j) = rest.find(end) {
                return Some(rest[..j].to_string());
            }
        }
    }
    if message.contains("get_env") {
        return Some("get_env".into());
    }
    None
}

/// The first use of `needle` as a whole name (not inside a longer name, not in a `{# #}`
/// comment), so `vars.nope` is not found inside `vars.nope_url`.
fn find_token(text: &str, needle: &str) -> Option<usize> {
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    let comments: Vec<(usize, usize)> = text
        .match_indices("{#")
        .map(|(i, _)| (i, text[i..].find("#}").map_or(text.len(), |j| i + j)))
        .collect();
    text.match_indices(needle).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        let whole = !before.is_some_and(|c| is_name(c) || c == '.') && !after.is_some_and(is_name);
        whole && !comments.iter().any(|(a, b)| *a <= i && i < *b)
    })
}

/// Where in which file a template problem is: at `needle` if found, else at `offset` into the
/// template text, else at the template's start.
fn locate(t: &TemplateSrc, needle: Option<&str>, offset: Option<usize>) -> (SourceFile, Span) {
    match &t.origin {
        TemplateOrigin::File { file } => {
            let off = needle.and_then(|n| find_token(&t.text, n)).or(offset);
            let span = match (off, needle) {
                (Some(o), Some(n)) => file.span_at(o, n.len()),
                (Some(o), None) => file.span_at(o, 1),
                (None, _) => Span::point(1, 1),
            };
            (file.clone(), span)
        }
        TemplateOrigin::Inline {
            file,
            offset: node_off,
            len,
            span,
        } => {
            let raw = file.text.get(*node_off..node_off + len).unwrap_or("");
            if let Some(n) = needle
                && let Some(i) = find_token(raw, n)
            {
                return (file.clone(), file.span_at(node_off + i, n.len()));
            }
            if let Some(o) = offset {
                // Find the template text around the offset in the raw scalar (quotes and
                // escapes shift it); a short probe from the enclosing tag is usually unique.
                let tag_start = t.text[..o.min(t.text.len())]
                    .rfind("{{")
                    .or_else(|| t.text[..o.min(t.text.len())].rfind("{%"));
                if let Some(ts) = tag_start {
                    let probe: String = t.text[ts..].chars().take(12).collect();
                    // The same occurrence of the probe as in the template text (repeated
                    // tags must not all point at the first one).
                    let nth = t.text[..ts].match_indices(probe.as_str()).count();
                    let found = raw
                        .match_indices(probe.as_str())
                        .nth(nth)
                        .or_else(|| raw.match_indices(probe.as_str()).next());
                    if let Some((i, _)) = found {
                        return (file.clone(), file.span_at(node_off + i + (o - ts), 1));
                    }
                }
            }
            (file.clone(), *span)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline(yaml: &str, value: &str) -> TemplateSrc {
        let file = SourceFile::new("pb.yaml", yaml);
        let offset = yaml.find(value).unwrap();
        let span = file.span_at(offset, value.len());
        TemplateSrc {
            text: value.trim_matches('"').to_string(),
            field: "message.body".into(),
            origin: TemplateOrigin::Inline {
                file,
                offset,
                len: value.len(),
                span,
            },
        }
    }

    #[test]
    fn undefined_variable_points_at_the_variable() {
        let t = inline(
            "message:\n  body: \"Hi {{ vars.nope }}\"\n",
            "\"Hi {{ vars.nope }}\"",
        );
        let mut st = StepTemplates::new();
        let id = st.add(&t).unwrap();
        let ctx = tera::Context::from_value(serde_json::json!({"vars": {}})).unwrap();
        let err = st.render(id, &ctx).unwrap_err();
        let d = st.diagnostic(&err, "42", 0);
        assert_eq!(d.location().unwrap(), "pb.yaml:2:16");
        assert!(
            d.message
                .contains("Variable `vars.nope` not found in context"),
            "{}",
            d.message
        );
    }

    #[test]
    fn syntax_error_is_located_in_the_playbook() {
        let t = inline(
            "message:\n  body: \"x {{ vars.a + }}\"\n",
            "\"x {{ vars.a + }}\"",
        );
        let d = compile(&t).unwrap_err();
        assert!(
            d.message.starts_with("invalid template in `message.body`"),
            "{}",
            d.message
        );
        // tera points where an expression was expected: at the closing `}}`.
        assert_eq!(d.location().unwrap(), "pb.yaml:2:24");
    }

    #[test]
    fn tokens_are_matched_whole_and_outside_comments() {
        assert_eq!(
            find_token("{{ vars.nope_url }} {{ vars.nope }}", "vars.nope"),
            Some(23)
        );
        assert_eq!(find_token("{# vars.x #}\n{{ vars.x }}", "vars.x"), Some(16));
        assert_eq!(find_token("{{ myvars.x }}", "vars.x"), None);
    }

    #[test]
    fn get_env_cannot_leak_secrets() {
        let t = inline(
            "body: \"{{ get_env(name='HOME') }}\"\n",
            "\"{{ get_env(name='HOME') }}\"",
        );
        let mut st = StepTemplates::new();
        let id = st.add(&t).unwrap();
        let err = st.render(id, &tera::Context::new()).unwrap_err();
        assert!(err.message.contains("disabled"), "{}", err.message);
    }

    #[test]
    fn renders_without_html_escaping() {
        let t = inline(
            "body: \"<a href='{{ vars.u }}'>\"\n",
            "\"<a href='{{ vars.u }}'>\"",
        );
        let mut st = StepTemplates::new();
        let id = st.add(&t).unwrap();
        let ctx =
            tera::Context::from_value(serde_json::json!({"vars": {"u": "https://x/?a=1&b=2"}}))
                .unwrap();
        assert_eq!(
            st.render(id, &ctx).unwrap(),
            "<a href='https://x/?a=1&b=2'>"
        );
    }
    fn render_one(st: &mut StepTemplates, text: &str) -> Result<String, RenderError> {
        let mut t = inline(&format!("body: '{text}'\n"), &format!("'{text}'"));
        t.text = text.to_string();
        let id = st.add(&t).map_err(|d| RenderError {
            template: TemplateId(0),
            message: d.message,
            offset: None,
        })?;
        let ctx = tera::Context::from_value(
            serde_json::json!({"vars": {}, "message": {"tags": ["a", "b"], "body": "hi"}}),
        )
        .unwrap();
        st.render_target(|| st.render(id, &ctx))
    }

    #[test]
    fn templates_within_the_limits_render_as_tera_does() {
        let mut st = StepTemplates::new();
        let out = render_one(
            &mut st,
            "{% macro m(x) %}[{{ x | upper }}]{% endmacro %}{% for t in message.tags %}{{ self::m(x=t) }}{% if loop.last %}.{% endif %}{% endfor %} {{ range(start=1, end=7, step_by=2) | join(sep=\",\") }} {{ \"a\" ~ message.body }}",
        )
        .unwrap();
        assert_eq!(out, "[A][B]. 1,3,5 ahi");
    }

    #[test]
    fn the_deepest_template_allowed_renders() {
        // Every bound at once: macros 8 deep, each nesting blocks and brackets to the limit.
        let ifs = |n: usize| "{% if true %}".repeat(n);
        let endifs = |n: usize| "{% endif %}".repeat(n);
        let expr = format!(
            "{}1{} + {}",
            "(".repeat(limits::MAX_BRACKET_DEPTH),
            ")".repeat(limits::MAX_BRACKET_DEPTH),
            vec!["1"; limits::MAX_OPERATORS].join(" + ")
        );
        let depth = limits::MAX_MACRO_DEPTH;
        let mut text = String::new();
        for i in 0..depth {
            let inner = if i + 1 < depth {
                format!("{{{{ self::m{}() }}}}", i + 1)
            } else {
                format!("{{{{ {expr} }}}}")
            };
            text.push_str(&format!(
                "{{% macro m{i}() %}}{}{inner}{}{{% endmacro %}}",
                ifs(limits::MAX_BLOCK_DEPTH - 1),
                endifs(limits::MAX_BLOCK_DEPTH - 1)
            ));
        }
        text.push_str("{{ self::m0() }}");
        let mut st = StepTemplates::new();
        assert_eq!(render_one(&mut st, &text).unwrap(), "49");
        // The claim behind STACK_RED_ZONE: this worst case renders in 2 MiB (an overflow
        // here aborts the test binary).
        let t = inline("body: x\n", "x");
        let mut st = StepTemplates::new();
        let id = st.add(&TemplateSrc { text, ..t }).unwrap();
        let ctx = tera::Context::from_value(serde_json::json!({"vars": {}})).unwrap();
        let out = std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(2 * 1024 * 1024)
                .spawn_scoped(s, || st.render(id, &ctx))
                .unwrap()
                .join()
                .unwrap()
        });
        assert_eq!(out.unwrap(), "49");
        const { assert!(2 * 1024 * 1024 * 3 <= limits::STACK_RED_ZONE) };
    }

    #[test]
    fn limits_hit_while_rendering_are_located_errors() {
        let mut st = StepTemplates::new();
        let e = render_one(
            &mut st,
            "x {% for i in range(end=3000) %}{% for j in range(end=3000) %}{% endfor %}{% endfor %}",
        )
        .unwrap_err();
        assert!(
            e.message.contains("more than 100000 loop iterations"),
            "{}",
            e.message
        );
        assert_eq!(e.offset, Some(32), "at the inner loop");
        let e = render_one(&mut st, "{{ range(end=100000000) }}").unwrap_err();
        assert!(e.message.contains("at most 10000"), "{}", e.message);
        // Once over a limit, a template is not rendered again (the same error at once).
        let first = render_one(
            &mut st,
            "{% for i in range(end=9000) %}0123456789{% endfor %}",
        )
        .unwrap_err();
        assert!(
            first.message.contains("longer than 64 KiB"),
            "{}",
            first.message
        );
    }

    #[test]
    fn the_time_budget_is_per_target() {
        let mut st = StepTemplates::with_time_budget(std::time::Duration::ZERO);
        let e = render_one(&mut st, "{{ message.tags | join(sep=\",\") }}").unwrap_err();
        assert!(e.message.contains("time budget"), "{}", e.message);
        assert!(st.diagnostic(&e, "1", 0).location().is_some());
    }

    #[test]
    fn a_panic_in_the_engine_is_an_error_and_prints_nothing() {
        let r: Result<(), String> = limits::on_render_stack(|| panic!("boom"));
        assert_eq!(r.unwrap_err(), "boom");
        assert_eq!(limits::catching(|| 1).unwrap(), 1);
    }
}
