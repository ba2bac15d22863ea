//! Limits on message templates, so that no playbook can take `validate`, `plan` or `run` down
//! (stack overflow, memory, a hang). tera has none of its own; docs/decisions.md explains the
//! design. In short:
//!
//! - **Before tera parses** (its parser is recursive): the text's size, the nesting of block
//!   tags, of brackets and the number of operators in one tag are bounded by a scan of our own
//!   ([`scan`]), so the parser's stack use is bounded.
//! - **After parsing**, on tera's public AST ([`check_ast`]): no `include`, `import`,
//!   `extends` or `block` (a message template is one string), no recursive macros, macros
//!   calling macros at most [`MAX_MACRO_DEPTH`] deep. With the nesting bounds this bounds the
//!   renderer's stack use (under 2 MiB in a debug build); parsing and rendering start with at
//!   least [`STACK_RED_ZONE`] (three times that) left, on a fresh [`RENDER_STACK`] segment when
//!   the thread has less, and a panic inside tera becomes an error.
//! - **While rendering**, the AST is rewritten ([`instrument`]) to call functions of ours: a
//!   tick at the start of every loop iteration and macro call (fuel: at most [`MAX_STEPS`] per
//!   string, and the time budget per target), a check of every array literal, concatenation
//!   and macro result (at most [`MAX_VALUE_BYTES`]), and a count of every byte emitted, macro
//!   bodies included (at most [`MAX_EMITTED_BYTES`]). Every builtin filter and function is
//!   wrapped: the ones whose output grows with an argument (`replace`, `indent`, `join`) are
//!   refused before they run when the result would be too big, and every result is checked.
//!   `range` is ours (at most [`MAX_RANGE`] items, `step_by` > 0). The output of one string is
//!   written through a writer that stops at [`MAX_OUTPUT_BYTES`].
//!
//! Every limit hit is an error located at the tag that hit it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tera::ast::{Expr, ExprVal, FunctionCall, MacroDefinition, Node, WS};

/// Largest template text (a push body is a few KiB at most).
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// Deepest nesting of block tags (`if`, `for`, `macro`, `filter`).
pub const MAX_BLOCK_DEPTH: usize = 16;
/// Deepest nesting of brackets in one tag.
pub const MAX_BRACKET_DEPTH: usize = 16;
/// Most operators (`+`, `and`, `~`, `==`, …) in one tag: tera parses each as a level.
pub const MAX_OPERATORS: usize = 48;
/// Most items (`,`-separated: array elements, arguments) in one tag.
pub const MAX_ITEMS: usize = 64;
/// Longest chain of macros calling macros.
pub const MAX_MACRO_DEPTH: usize = 8;
/// Largest rendered string (each template of each target).
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;
/// Largest value computed while rendering (a filter's result, an array literal, a
/// concatenation, a macro's output), measured as its text.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Most bytes emitted while rendering one string, macro bodies and filter sections included
/// (they are buffered, then emitted again by their caller: hence more than the output).
pub const MAX_EMITTED_BYTES: usize = 1024 * 1024;
/// Most loop iterations and macro calls while rendering one string.
pub const MAX_STEPS: u64 = 100_000;
/// Most items `range` makes.
pub const MAX_RANGE: usize = 10_000;
/// Wall-clock time for all the templates of one target.
pub const TIME_BUDGET: Duration = Duration::from_secs(2);
/// Stack a render or a parse starts with at least: three times the most the limits allow
/// (under 2 MiB in a debug build, measured by `the_deepest_template_allowed_renders`).
pub const STACK_RED_ZONE: usize = 6 * 1024 * 1024;
/// Stack segment allocated when a thread has less than that left.
pub const RENDER_STACK: usize = 64 * 1024 * 1024;

/// A limit a template's text breaks, at a byte offset into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    pub offset: Option<usize>,
    /// A name to point at instead (a macro), when there is no offset.
    pub needle: Option<String>,
    pub message: String,
}

impl LimitError {
    fn at(offset: usize, message: impl Into<String>) -> LimitError {
        LimitError {
            offset: Some(offset),
            needle: None,
            message: message.into(),
        }
    }
}

/// One `{{ … }}` or `{% … %}` tag of the text, in order.
#[derive(Debug, Clone)]
pub struct Tag {
    pub start: usize,
    /// For `{% … %}`: the first word (`for`, `endif`, …); empty for `{{ … }}`.
    pub word: String,
}

/// The tags of a template, in text order (their AST nodes are matched to them in order).
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub tags: Vec<Tag>,
}

const OPENING: [&str; 4] = ["if", "for", "macro", "filter"];
const CLOSING: [&str; 4] = ["endif", "endfor", "endmacro", "endfilter"];

/// Check the text's size and nesting before tera's parser sees it; list its tags.
pub fn scan(text: &str) -> Result<Scan, LimitError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(LimitError::at(
            0,
            format!(
                "the template is {} bytes; at most {} KiB are allowed",
                text.len(),
                MAX_TEMPLATE_BYTES / 1024
            ),
        ));
    }
    let b = text.as_bytes();
    let mut tags = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] != b'{' || !matches!(b[i + 1], b'{' | b'%' | b'#') {
            i += 1;
            continue;
        }
        let start = i;
        if b[i + 1] == b'#' {
            match text[i + 2..].find("#}") {
                Some(j) => i = i + 2 + j + 2,
                None => break,
            }
            continue;
        }
        let block = b[i + 1] == b'%';
        let close = if block { b'%' } else { b'}' };
        let mut j = i + 2;
        let (mut brackets, mut max_brackets, mut ops, mut items) = (0usize, 0usize, 0usize, 0usize);
        let mut word = String::new();
        let mut first_word = block;
        let mut end = None;
        while j < b.len() {
            let c = b[j];
            match c {
                b'"' | b'\'' | b'`' => {
                    match text[j + 1..].find(c as char) {
                        Some(k) => j = j + 1 + k + 1,
                        None => j = b.len(),
                    }
                    first_word = false;
                    continue;
                }
                b'(' | b'[' => {
                    brackets += 1;
                    max_brackets = max_brackets.max(brackets);
                }
                b')' | b']' => brackets = brackets.saturating_sub(1),
                b',' => items += 1,
                b'+' | b'*' | b'/' | b'%' | b'~' | b'<' | b'>' | b'=' | b'!' | b'-' => {
                    if c == close && b.get(j + 1) == Some(&b'}') {
                        end = Some(j + 2);
                        break;
                    }
                    // `-%}` / `-}}`: whitespace control, not an operator.
                    let trailing_dash =
                        c == b'-' && b.get(j + 1) == Some(&close) && b.get(j + 2) == Some(&b'}');
                    let leading_dash = c == b'-' && j == i + 2;
                    let prev_is_op = j > i + 2
                        && matches!(
                            b[j - 1],
                            b'+' | b'*' | b'/' | b'%' | b'~' | b'<' | b'>' | b'=' | b'!' | b'-'
                        );
                    if !trailing_dash && !leading_dash && !prev_is_op {
                        ops += 1;
                    }
                }
                b'}' if !block && b.get(j + 1) == Some(&b'}') => {
                    end = Some(j + 2);
                    break;
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let k = j + b[j..]
                        .iter()
                        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                        .unwrap_or(b.len() - j);
                    let w = &text[j..k];
                    if first_word {
                        word = w.to_string();
                        first_word = false;
                    } else if matches!(w, "and" | "or" | "not" | "in" | "is") {
                        ops += 1;
                    }
                    j = k;
                    continue;
                }
                c if !c.is_ascii_whitespace() && c != b'-' => first_word = false,
                _ => {}
            }
            j += 1;
        }
        let Some(end) = end else {
            // Unterminated: tera reports it.
            break;
        };
        if max_brackets > MAX_BRACKET_DEPTH {
            return Err(LimitError::at(
                start,
                format!(
                    "brackets nest {max_brackets} deep in one tag; at most {MAX_BRACKET_DEPTH} are allowed"
                ),
            ));
        }
        if ops > MAX_OPERATORS {
            return Err(LimitError::at(
                start,
                format!(
                    "one tag has {ops} operators; at most {MAX_OPERATORS} are allowed: split it with `set`"
                ),
            ));
        }
        if items + 1 > MAX_ITEMS {
            return Err(LimitError::at(
                start,
                format!(
                    "one tag has {} items; at most {MAX_ITEMS} are allowed",
                    items + 1
                ),
            ));
        }
        if block && OPENING.contains(&word.as_str()) {
            depth += 1;
            if depth > MAX_BLOCK_DEPTH {
                return Err(LimitError::at(
                    start,
                    format!("blocks nest {depth} deep; at most {MAX_BLOCK_DEPTH} are allowed"),
                ));
            }
        } else if block && CLOSING.contains(&word.as_str()) {
            depth = depth.saturating_sub(1);
        }
        let is_raw = block && word == "raw";
        tags.push(Tag { start, word });
        i = end;
        if is_raw {
            // Everything up to `{% endraw %}` is text.
            match find_endraw(text, i) {
                Some((s, e)) => {
                    tags.push(Tag {
                        start: s,
                        word: "endraw".into(),
                    });
                    i = e;
                }
                None => break,
            }
        }
    }
    Ok(Scan { tags })
}

/// The next `{% endraw %}` (with optional `-`) at or after `from`: (start, end).
fn find_endraw(text: &str, from: usize) -> Option<(usize, usize)> {
    let mut at = from;
    while let Some(k) = text[at..].find("{%") {
        let s = at + k;
        let rest = text[s + 2..].trim_start_matches('-').trim_start();
        if let Some(after) = rest.strip_prefix("endraw") {
            let after = after.trim_start().trim_start_matches('-');
            if after.starts_with("%}") {
                let e = text.len() - after.len() + 2;
                return Some((s, e));
            }
        }
        at = s + 2;
    }
    None
}

/// Names of the functions and filters the instrumented AST calls.
pub const TICK: &str = "__pushfix_tick";
pub const CHECK: &str = "__pushfix_check";
pub const EMIT: &str = "__pushfix_emit";

/// What a message template may not contain, and macros that recurse or nest too deep.
pub fn check_ast(t: &tera::Template, scan: &Scan) -> Result<(), LimitError> {
    let offset_of = |word: &str| {
        scan.tags
            .iter()
            .find(|t| t.word == word)
            .map(|t| t.start)
            .unwrap_or(0)
    };
    for (word, what) in [
        ("include", "`include`"),
        ("import", "`import`"),
        ("extends", "`extends`"),
        ("block", "`block`"),
    ] {
        if scan.tags.iter().any(|t| t.word == word) {
            return Err(LimitError::at(
                offset_of(word),
                format!(
                    "{what} is not available in message templates: each template is one string of its own (use a macro)"
                ),
            ));
        }
    }
    // Nodes the scan cannot see (e.g. `super()`): refuse what needs other templates.
    if let Some(what) = forbidden(&t.ast) {
        return Err(LimitError {
            offset: None,
            needle: Some(what.into()),
            message: format!(
                "`{what}` is not available in message templates: each template is one string of its own"
            ),
        });
    }
    // The macros' call graph: no cycle, no chain longer than MAX_MACRO_DEPTH.
    let mut calls: HashMap<&str, Vec<String>> = HashMap::new();
    for (name, m) in &t.macros {
        let mut out = Vec::new();
        macro_calls_in_body(&m.body, &mut out);
        calls.insert(name.as_str(), out);
    }
    let mut names: Vec<&str> = t.macros.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut depth: HashMap<&str, usize> = HashMap::new();
    for name in names {
        macro_depth(name, &calls, &mut depth, &mut Vec::new())?;
    }
    Ok(())
}

fn forbidden(nodes: &[Node]) -> Option<&'static str> {
    for n in nodes {
        let found = match n {
            Node::Super => Some("super()"),
            Node::Extends(..) => Some("extends"),
            Node::Include(..) => Some("include"),
            Node::ImportMacro(..) => Some("import"),
            Node::Block(..) => Some("block"),
            Node::MacroDefinition(_, m, _) => forbidden(&m.body),
            Node::FilterSection(_, f, _) => forbidden(&f.body),
            Node::Forloop(_, f, _) => {
                forbidden(&f.body).or_else(|| f.empty_body.as_deref().and_then(forbidden))
            }
            Node::If(i, _) => i
                .conditions
                .iter()
                .find_map(|(_, _, b)| forbidden(b))
                .or_else(|| i.otherwise.as_ref().and_then(|(_, b)| forbidden(b))),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Longest chain of calls from `name` (1 for a macro that calls none); an error on a cycle.
fn macro_depth<'a>(
    name: &'a str,
    calls: &'a HashMap<&'a str, Vec<String>>,
    memo: &mut HashMap<&'a str, usize>,
    path: &mut Vec<&'a str>,
) -> Result<usize, LimitError> {
    let too_deep = |chain: Vec<&str>| LimitError {
        offset: None,
        needle: Some(format!(
            "self::{}",
            chain.last().copied().unwrap_or_default()
        )),
        message: format!(
            "macros call macros more than {MAX_MACRO_DEPTH} deep ({}…)",
            chain
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" → ")
        ),
    };
    if let Some(d) = memo.get(name) {
        if path.len() + d > MAX_MACRO_DEPTH {
            let mut chain = path.clone();
            chain.push(name);
            return Err(too_deep(chain));
        }
        return Ok(*d);
    }
    if let Some(i) = path.iter().position(|p| *p == name) {
        let mut cycle: Vec<&str> = path[i..].to_vec();
        cycle.push(name);
        let shown = cycle
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(" calls ");
        return Err(LimitError {
            offset: None,
            needle: Some(format!("self::{name}")),
            message: if cycle.len() == 2 {
                format!(
                    "macro `{name}` calls itself: recursive macros are not allowed (they can exhaust the stack)"
                )
            } else {
                format!(
                    "macros call each other in a loop ({shown}): recursive macros are not allowed (they can exhaust the stack)"
                )
            },
        });
    }
    if path.len() >= MAX_MACRO_DEPTH {
        let mut chain = path.clone();
        chain.push(name);
        return Err(too_deep(chain));
    }
    path.push(name);
    let mut deepest = 0;
    if let Some(callees) = calls.get(name) {
        for c in callees {
            // Calls to macros that do not exist fail when rendered, as tera reports them.
            if let Some((k, _)) = calls.get_key_value(c.as_str()) {
                deepest = deepest.max(macro_depth(k, calls, memo, path)?);
            }
        }
    }
    path.pop();
    memo.insert(name, deepest + 1);
    Ok(deepest + 1)
}

fn macro_calls_in_body(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        each_expr_of_node(n, &mut |e| macro_calls_in_expr(e, out));
        for body in child_bodies(n) {
            macro_calls_in_body(body, out);
        }
    }
}

fn macro_calls_in_expr(e: &Expr, out: &mut Vec<String>) {
    if let ExprVal::MacroCall(m) = &e.val
        && m.namespace == "self"
    {
        out.push(m.name.clone());
    }
    each_sub_expr(e, &mut |s| macro_calls_in_expr(s, out));
}

/// The bodies nested in a node (not macro definitions' own: those are walked as macros).
fn child_bodies(n: &Node) -> Vec<&Vec<Node>> {
    match n {
        Node::FilterSection(_, f, _) => vec![&f.body],
        Node::Forloop(_, f, _) => {
            let mut v = vec![&f.body];
            if let Some(e) = &f.empty_body {
                v.push(e);
            }
            v
        }
        Node::If(i, _) => {
            let mut v: Vec<&Vec<Node>> = i.conditions.iter().map(|(_, _, b)| b).collect();
            if let Some((_, b)) = &i.otherwise {
                v.push(b);
            }
            v
        }
        _ => Vec::new(),
    }
}

fn each_expr_of_node(n: &Node, f: &mut dyn FnMut(&Expr)) {
    match n {
        Node::VariableBlock(_, e) => f(e),
        Node::Set(_, s) => f(&s.value),
        Node::FilterSection(_, s, _) => s.filter.args.values().for_each(&mut *f),
        Node::Forloop(_, l, _) => f(&l.container),
        Node::If(i, _) => i.conditions.iter().for_each(|(_, e, _)| f(e)),
        Node::MacroDefinition(_, m, _) => m.args.values().flatten().for_each(&mut *f),
        _ => {}
    }
}

fn each_sub_expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    for filter in &e.filters {
        filter.args.values().for_each(&mut *f);
    }
    each_sub_val(&e.val, f);
}

fn each_sub_val(v: &ExprVal, f: &mut dyn FnMut(&Expr)) {
    match v {
        ExprVal::Math(m) => {
            f(&m.lhs);
            f(&m.rhs);
        }
        ExprVal::Logic(l) => {
            f(&l.lhs);
            f(&l.rhs);
        }
        ExprVal::In(i) => {
            f(&i.lhs);
            f(&i.rhs);
        }
        ExprVal::Test(t) => t.args.iter().for_each(&mut *f),
        ExprVal::MacroCall(m) => m.args.values().for_each(&mut *f),
        ExprVal::FunctionCall(c) => c.args.values().for_each(&mut *f),
        ExprVal::Array(items) => items.iter().for_each(&mut *f),
        ExprVal::StringConcat(c) => c.values.iter().for_each(|v| each_sub_val(v, f)),
        _ => {}
    }
}

/// Rewrite the AST so that rendering calls our checks (see the module's doc). Tags are matched
/// to nodes in order; when they do not match (a construct this walk does not know), the
/// checks still run, only without a location.
pub fn instrument(t: &mut tera::Template, scan: &Scan) {
    let mut w = Walker {
        tags: &scan.tags,
        next: 0,
        in_step: true,
    };
    let mut ast = std::mem::take(&mut t.ast);
    w.body(&mut ast);
    // The renderer takes macros from `macros`, copies of the definitions in the AST.
    for n in &ast {
        if let Node::MacroDefinition(_, m, _) = n {
            t.macros.insert(m.name.clone(), m.clone());
        }
    }
    t.ast = ast;
}

struct Walker<'a> {
    tags: &'a [Tag],
    next: usize,
    /// Whether the tags matched so far.
    in_step: bool,
}

impl Walker<'_> {
    /// The next tag, which should start with `word` (`""` for `{{ }}`): its index, or -1.
    fn take(&mut self, words: &[&str]) -> i64 {
        if !self.in_step {
            return -1;
        }
        match self.tags.get(self.next) {
            Some(t) if words.contains(&t.word.as_str()) => {
                self.next += 1;
                (self.next - 1) as i64
            }
            _ => {
                self.in_step = false;
                -1
            }
        }
    }

    fn body(&mut self, nodes: &mut [Node]) {
        for n in nodes {
            self.node(n);
        }
    }

    fn node(&mut self, n: &mut Node) {
        match n {
            Node::Text(_) | Node::Comment(..) => {}
            Node::Raw(..) => {
                self.take(&["raw"]);
                self.take(&["endraw"]);
            }
            Node::VariableBlock(_, e) => {
                let at = self.take(&[""]);
                guard_expr(e, at);
                e.filters.push(call(EMIT, at, None));
            }
            Node::Super => {
                self.take(&[""]);
            }
            Node::Set(_, s) => {
                let at = self.take(&["set", "set_global"]);
                guard_expr(&mut s.value, at);
            }
            Node::Break(_) => {
                self.take(&["break"]);
            }
            Node::Continue(_) => {
                self.take(&["continue"]);
            }
            Node::MacroDefinition(_, m, _) => {
                let at = self.take(&["macro"]);
                for e in m.args.values_mut().flatten() {
                    guard_expr(e, at);
                }
                self.body(&mut m.body);
                self.take(&["endmacro"]);
                tick_first(m, at);
            }
            Node::FilterSection(_, f, _) => {
                let at = self.take(&["filter"]);
                for e in f.filter.args.values_mut() {
                    guard_expr(e, at);
                }
                self.body(&mut f.body);
                self.take(&["endfilter"]);
            }
            Node::Forloop(_, l, _) => {
                let at = self.take(&["for"]);
                guard_expr(&mut l.container, at);
                self.body(&mut l.body);
                if let Some(e) = &mut l.empty_body {
                    self.take(&["else"]);
                    self.body(e);
                }
                self.take(&["endfor"]);
                let text = static_text(&l.body);
                l.body.insert(0, tick(at, text));
            }
            Node::If(i, _) => {
                for (k, (_, e, body)) in i.conditions.iter_mut().enumerate() {
                    let at = self.take(if k == 0 { &["if"] } else { &["elif"] });
                    guard_expr(e, at);
                    self.body(body);
                }
                if let Some((_, body)) = &mut i.otherwise {
                    self.take(&["else"]);
                    self.body(body);
                }
                self.take(&["endif"]);
            }
            // Refused by `check_ast`.
            Node::Extends(..) | Node::Include(..) | Node::ImportMacro(..) | Node::Block(..) => {
                self.in_step = false;
            }
        }
    }
}

fn tick_first(m: &mut MacroDefinition, at: i64) {
    let text = static_text(&m.body);
    m.body.insert(0, tick(at, text));
}

/// Text a body emits each time it runs (loops nested in it count their own).
fn static_text(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .map(|n| match n {
            Node::Text(s) | Node::Raw(_, s, _) => s.len(),
            Node::If(i, _) => {
                i.conditions
                    .iter()
                    .map(|(_, _, b)| static_text(b))
                    .sum::<usize>()
                    + i.otherwise.as_ref().map_or(0, |(_, b)| static_text(b))
            }
            Node::FilterSection(_, f, _) => static_text(&f.body),
            Node::Forloop(_, l, _) => l.empty_body.as_deref().map_or(0, static_text),
            _ => 0,
        })
        .sum()
}

fn tick(at: i64, text: usize) -> Node {
    let mut args = HashMap::new();
    args.insert("at".to_string(), Expr::new(ExprVal::Int(at)));
    args.insert("text".to_string(), Expr::new(ExprVal::Int(text as i64)));
    Node::VariableBlock(
        WS::default(),
        Expr::new(ExprVal::FunctionCall(FunctionCall {
            name: TICK.into(),
            args,
        })),
    )
}

fn call(name: &str, at: i64, what: Option<&str>) -> FunctionCall {
    let mut args = HashMap::new();
    args.insert("at".to_string(), Expr::new(ExprVal::Int(at)));
    if let Some(w) = what {
        args.insert("what".to_string(), Expr::new(ExprVal::String(w.into())));
    }
    FunctionCall {
        name: name.into(),
        args,
    }
}

/// Check the values an expression builds that no wrapped filter or function sees: array
/// literals, concatenations, macro results (at every level).
fn guard_expr(e: &mut Expr, at: i64) {
    for f in &mut e.filters {
        for a in f.args.values_mut() {
            guard_expr(a, at);
        }
    }
    guard_val(&mut e.val, at);
    let what = match &e.val {
        ExprVal::Array(_) => Some("an array"),
        ExprVal::StringConcat(_) => Some("a concatenation"),
        ExprVal::MacroCall(_) => Some("a macro's output"),
        _ => None,
    };
    if let Some(w) = what {
        // After `default` (tera only honours it first), before any other filter.
        let pos = usize::from(e.has_default_filter());
        e.filters.insert(pos, call(CHECK, at, Some(w)));
    }
}

fn guard_val(v: &mut ExprVal, at: i64) {
    match v {
        ExprVal::Math(m) => {
            guard_expr(&mut m.lhs, at);
            guard_expr(&mut m.rhs, at);
        }
        ExprVal::Logic(l) => {
            guard_expr(&mut l.lhs, at);
            guard_expr(&mut l.rhs, at);
        }
        ExprVal::In(i) => {
            guard_expr(&mut i.lhs, at);
            guard_expr(&mut i.rhs, at);
        }
        ExprVal::Test(t) => t.args.iter_mut().for_each(|a| guard_expr(a, at)),
        ExprVal::MacroCall(m) => m.args.values_mut().for_each(|a| guard_expr(a, at)),
        ExprVal::FunctionCall(c) => c.args.values_mut().for_each(|a| guard_expr(a, at)),
        ExprVal::Array(items) => items.iter_mut().for_each(|a| guard_expr(a, at)),
        ExprVal::StringConcat(c) => c.values.iter_mut().for_each(|v| guard_val(v, at)),
        _ => {}
    }
}

/// The first limit a render hit: what, and at which tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the tag in the template's [`Scan`], when known.
    pub tag: Option<usize>,
    /// A name to point at (a filter), when the tag is not known.
    pub needle: Option<String>,
    pub message: String,
}

/// The budget of the render under way, shared by the functions and filters registered on one
/// engine (one render at a time per engine).
pub struct Budget {
    steps: AtomicU64,
    emitted: AtomicU64,
    /// The end of the current target's time, between `start_target` and `end_target`.
    target_deadline: Mutex<Option<Instant>>,
    /// The end of the current render's time.
    deadline: Mutex<Option<Instant>>,
    time_budget: Duration,
    hit: Mutex<Option<Hit>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Budget {
    pub fn new(time_budget: Duration) -> Arc<Budget> {
        Arc::new(Budget {
            steps: AtomicU64::new(0),
            emitted: AtomicU64::new(0),
            target_deadline: Mutex::new(None),
            deadline: Mutex::new(None),
            time_budget,
            hit: Mutex::new(None),
        })
    }

    /// A new target: the time budget covers all its templates from now.
    pub fn start_target(&self) {
        *locked(&self.target_deadline) = Some(Instant::now() + self.time_budget);
    }

    pub fn end_target(&self) {
        *locked(&self.target_deadline) = None;
    }

    /// A new string: fuel and emitted bytes start again; the time is the target's, or a
    /// budget of its own outside a target.
    pub fn start_render(&self) {
        self.steps.store(0, Ordering::Relaxed);
        self.emitted.store(0, Ordering::Relaxed);
        *locked(&self.hit) = None;
        let d = locked(&self.target_deadline).unwrap_or_else(|| Instant::now() + self.time_budget);
        *locked(&self.deadline) = Some(d);
    }

    /// The render ended: the first limit it hit, if any.
    pub fn end_render(&self) -> Option<Hit> {
        *locked(&self.deadline) = None;
        locked(&self.hit).take()
    }

    fn fail(&self, tag: Option<usize>, needle: Option<&str>, message: String) -> tera::Error {
        let mut h = locked(&self.hit);
        if h.is_none() {
            *h = Some(Hit {
                tag,
                needle: needle.map(String::from),
                message: message.clone(),
            });
        }
        tera::Error::msg(message)
    }

    fn check_time(&self, tag: Option<usize>, needle: Option<&str>) -> tera::Result<()> {
        let late = locked(&self.deadline).is_some_and(|d| Instant::now() > d);
        if late {
            return Err(self.fail(
                tag,
                needle,
                format!(
                    "rendering took longer than the time budget of {} s per target",
                    self.time_budget.as_secs_f64()
                ),
            ));
        }
        Ok(())
    }

    fn emit(&self, bytes: usize, tag: Option<usize>) -> tera::Result<()> {
        let total = self.emitted.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
        if total > MAX_EMITTED_BYTES as u64 {
            return Err(self.fail(
                tag,
                None,
                format!(
                    "the template produces more than {} KiB (loops and macros included)",
                    MAX_EMITTED_BYTES / 1024
                ),
            ));
        }
        Ok(())
    }

    /// The output of one string grew past the limit.
    pub fn output_exceeded(&self) -> tera::Error {
        self.fail(
            None,
            None,
            format!(
                "the rendered text is longer than {} KiB",
                MAX_OUTPUT_BYTES / 1024
            ),
        )
    }
}

fn tag_arg(args: &HashMap<String, tera::Value>) -> Option<usize> {
    args.get("at")
        .and_then(|v| v.as_i64())
        .and_then(|i| usize::try_from(i).ok())
}

/// Size of a value as text, counting only up to `limit` (a larger one is cut short).
pub fn value_size(v: &tera::Value, limit: usize) -> usize {
    let mut total = 0usize;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            tera::Value::String(s) => s.len(),
            tera::Value::Array(a) => {
                stack.extend(a.iter());
                2 + a.len()
            }
            tera::Value::Object(o) => {
                for (k, v) in o {
                    total += k.len() + 4;
                    stack.push(v);
                }
                2
            }
            tera::Value::Number(n) => match n.as_u64().or(n.as_i64().map(i64::unsigned_abs)) {
                Some(i) => 2 + i.checked_ilog10().unwrap_or(0) as usize,
                None => 24,
            },
            tera::Value::Bool(_) | tera::Value::Null => 5,
        };
        if total > limit {
            return total;
        }
    }
    total
}

/// Register the checks on an engine, wrap its builtin filters and functions, and replace
/// `range` (tera's has no bound and loops for ever on `step_by=0`).
pub fn install(tera: &mut tera::Tera, budget: &Arc<Budget>) {
    let b = budget.clone();
    tera.register_function(TICK, move |args: &HashMap<String, tera::Value>| {
        let tag = tag_arg(args);
        let text = args.get("text").and_then(|v| v.as_u64()).unwrap_or(0);
        let n = b.steps.fetch_add(1, Ordering::Relaxed) + 1;
        if n > MAX_STEPS {
            return Err(b.fail(
                tag,
                None,
                format!("the template runs more than {MAX_STEPS} loop iterations and macro calls"),
            ));
        }
        b.emit(text as usize, tag)?;
        if n.is_multiple_of(64) {
            b.check_time(tag, None)?;
        }
        Ok(tera::Value::String(String::new()))
    });
    let b = budget.clone();
    tera.register_filter(
        CHECK,
        move |v: &tera::Value, args: &HashMap<String, tera::Value>| {
            let tag = tag_arg(args);
            if value_size(v, MAX_VALUE_BYTES) > MAX_VALUE_BYTES {
                let what = args
                    .get("what")
                    .and_then(|w| w.as_str())
                    .unwrap_or("a value");
                return Err(b.fail(
                    tag,
                    None,
                    format!(
                        "{what} in the template is larger than {} KiB",
                        MAX_VALUE_BYTES / 1024
                    ),
                ));
            }
            Ok(v.clone())
        },
    );
    let b = budget.clone();
    tera.register_filter(
        EMIT,
        move |v: &tera::Value, args: &HashMap<String, tera::Value>| {
            b.emit(value_size(v, MAX_EMITTED_BYTES), tag_arg(args))?;
            Ok(v.clone())
        },
    );
    let b = budget.clone();
    tera.register_function("range", move |args: &HashMap<String, tera::Value>| {
        bounded_range(args).map_err(|m| b.fail(None, Some("range"), m))
    });
    // Every other builtin: checked before (when its output grows with an argument) and after.
    let filters: Vec<(String, Arc<dyn tera::Filter>)> = tera
        .filters
        .iter()
        .filter(|(n, _)| !n.starts_with("__pushfix"))
        .map(|(n, f)| (n.clone(), f.clone()))
        .collect();
    for (name, inner) in filters {
        tera.register_filter(
            &name.clone(),
            GuardedFilter {
                name,
                inner,
                budget: budget.clone(),
            },
        );
    }
    let functions: Vec<(String, Arc<dyn tera::Function>)> = tera
        .functions
        .iter()
        .filter(|(n, _)| !n.starts_with("__pushfix") && n.as_str() != "range")
        .map(|(n, f)| (n.clone(), f.clone()))
        .collect();
    for (name, inner) in functions {
        let b = budget.clone();
        tera.register_function(&name.clone(), move |args: &HashMap<String, tera::Value>| {
            b.check_time(None, Some(&name))?;
            let out = inner.call(args)?;
            if value_size(&out, MAX_VALUE_BYTES) > MAX_VALUE_BYTES {
                return Err(b.fail(
                    None,
                    Some(&name),
                    format!(
                        "function `{name}` made a value larger than {} KiB",
                        MAX_VALUE_BYTES / 1024
                    ),
                ));
            }
            Ok(out)
        });
    }
}

struct GuardedFilter {
    name: String,
    inner: Arc<dyn tera::Filter>,
    budget: Arc<Budget>,
}

impl tera::Filter for GuardedFilter {
    fn filter(
        &self,
        value: &tera::Value,
        args: &HashMap<String, tera::Value>,
    ) -> tera::Result<tera::Value> {
        let b = &self.budget;
        let needle = Some(self.name.as_str());
        b.check_time(None, needle)?;
        if let Some(n) = predicted_size(&self.name, value, args)
            && n > MAX_VALUE_BYTES
        {
            return Err(b.fail(
                None,
                needle,
                format!(
                    "filter `{}` would make a value of about {} KiB; at most {} KiB are allowed",
                    self.name,
                    n / 1024,
                    MAX_VALUE_BYTES / 1024
                ),
            ));
        }
        let out = self.inner.filter(value, args)?;
        if value_size(&out, MAX_VALUE_BYTES) > MAX_VALUE_BYTES {
            return Err(b.fail(
                None,
                needle,
                format!(
                    "filter `{}` made a value larger than {} KiB",
                    self.name,
                    MAX_VALUE_BYTES / 1024
                ),
            ));
        }
        Ok(out)
    }

    fn is_safe(&self) -> bool {
        self.inner.is_safe()
    }
}

/// An upper bound of the size of what the filters whose output grows with an argument would
/// make (`None`: not one of them, or its arguments are wrong and it will say so).
fn predicted_size(
    name: &str,
    value: &tera::Value,
    args: &HashMap<String, tera::Value>,
) -> Option<usize> {
    let s = |k: &str| args.get(k).and_then(|v| v.as_str()).map(str::len);
    match name {
        "replace" => {
            let text = value.as_str()?;
            let (from, to) = (args.get("from")?.as_str()?, s("to")?);
            let count = if from.is_empty() {
                text.chars().count() + 1
            } else {
                text.matches(from).count()
            };
            Some(text.len() + count.saturating_mul(to))
        }
        "indent" => {
            let text = value.as_str()?;
            let prefix = s("prefix").unwrap_or(4);
            let lines = text.bytes().filter(|&c| c == b'\n').count() + 1;
            Some(text.len() + lines.saturating_mul(prefix))
        }
        "join" => {
            let items = value.as_array()?;
            let sep = s("sep").unwrap_or(0);
            let parts: usize = items
                .iter()
                .map(|v| value_size(v, MAX_VALUE_BYTES + 1))
                .fold(0usize, usize::saturating_add);
            Some(parts.saturating_add(items.len().saturating_mul(sep)))
        }
        _ => None,
    }
}

/// `range(end, start=0, step_by=1)` as tera's, with at most MAX_RANGE items.
fn bounded_range(args: &HashMap<String, tera::Value>) -> Result<tera::Value, String> {
    let arg = |k: &str, default: Option<u64>| -> Result<u64, String> {
        match args.get(k) {
            Some(v) => v.as_u64().ok_or_else(|| {
                format!("Function `range` received {k}={v} but `{k}` can only be a number")
            }),
            None => default
                .ok_or_else(|| format!("Function `range` was called without a `{k}` argument")),
        }
    };
    let start = arg("start", Some(0))?;
    let end = arg("end", None)?;
    let step = arg("step_by", Some(1))?;
    if step == 0 {
        return Err("Function `range` was called with step_by=0 (it would never end)".into());
    }
    if start > end {
        return Err(
            "Function `range` was called with a `start` argument greater than the `end` one".into(),
        );
    }
    let count = (end - start).div_ceil(step);
    if count > MAX_RANGE as u64 {
        return Err(format!(
            "Function `range` would make {count} items; at most {MAX_RANGE} are allowed"
        ));
    }
    Ok(tera::Value::Array(
        (0..count)
            .map(|i| tera::Value::from(start + i * step))
            .collect(),
    ))
}

/// A writer that refuses to grow past MAX_OUTPUT_BYTES.
pub struct Bounded {
    pub buf: Vec<u8>,
    pub exceeded: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            self.exceeded = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// Set while a guarded section runs: its panics are reported as errors, not printed.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` with at least [`STACK_RED_ZONE`] of stack left: in place when the thread has that
/// much (the main thread does), else on a fresh segment of [`RENDER_STACK`] (stacker). A panic
/// (a bug in tera) comes back as its message.
pub fn on_render_stack<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catching(|| stacker::maybe_grow(STACK_RED_ZONE, RENDER_STACK, f))
}

/// Run `f` on this thread, a panic coming back as its message (tera's parser).
pub fn catching<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    install_quiet_hook();
    let was = QUIET.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(panic_message);
    QUIET.with(|q| q.set(was));
    r
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_lists_tags_and_skips_strings_comments_and_raw() {
        let s =
            scan("a {{ x }} {# {{ y }} #} {% if \"%}\" %}{% raw %}{{ z }}{% endraw %}{% endif %}")
                .unwrap();
        let words: Vec<&str> = s.tags.iter().map(|t| t.word.as_str()).collect();
        assert_eq!(words, ["", "if", "raw", "endraw", "endif"]);
        assert_eq!(s.tags[0].start, 2);
    }

    #[test]
    fn scan_bounds_nesting_and_operators() {
        let deep = format!("{}x{}", "{% if a %}".repeat(17), "{% endif %}".repeat(17));
        let e = scan(&deep).unwrap_err();
        assert!(e.message.contains("blocks nest 17 deep"), "{}", e.message);
        assert_eq!(e.offset, Some(16 * 10));
        let ops = format!("{{{{ 1{} }}}}", " + 1".repeat(49));
        assert!(scan(&ops).unwrap_err().message.contains("49 operators"));
        let parens = format!("{{{{ {}1{} }}}}", "(".repeat(17), ")".repeat(17));
        assert!(
            scan(&parens)
                .unwrap_err()
                .message
                .contains("brackets nest 17")
        );
        // Whitespace control and comparison operators are not counted twice.
        assert!(scan("{%- if a >= 1 and b != 2 -%}x{%- endif -%}").is_ok());
        assert!(scan(&"x".repeat(MAX_TEMPLATE_BYTES + 1)).is_err());
    }

    #[test]
    fn range_is_bounded_and_never_endless() {
        let args = |pairs: &[(&str, u64)]| -> HashMap<String, tera::Value> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), tera::Value::from(*v)))
                .collect()
        };
        assert_eq!(
            bounded_range(&args(&[("start", 1), ("end", 7), ("step_by", 2)])).unwrap(),
            serde_json::json!([1, 3, 5])
        );
        assert!(bounded_range(&args(&[("end", 5), ("step_by", 0)])).is_err());
        assert!(bounded_range(&args(&[("end", 100_000_000)])).is_err());
        assert!(bounded_range(&args(&[("end", MAX_RANGE as u64)])).is_ok());
    }

    #[test]
    fn amplifying_filters_are_predicted() {
        let big = tera::Value::String("x".repeat(1000));
        let mut a = HashMap::new();
        a.insert("from".to_string(), tera::Value::String(String::new()));
        a.insert("to".to_string(), tera::Value::String("y".repeat(1000)));
        assert!(predicted_size("replace", &big, &a).unwrap() > MAX_VALUE_BYTES);
    }
}
