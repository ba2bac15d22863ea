//! YAML parsed into a tree whose every node knows where it came from.
//!
//! Playbooks are not deserialized straight into typed structs: serde stops at the first problem,
//! and a playbook author deserves to see all of them at once. serde-saphyr parses the text
//! (rejecting duplicate keys and bounding alias expansion) into this tree, and
//! `playbook::decode` walks it, collecting every problem with its location.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use crate::diag::{Diagnostic, SourceFile, Span};

/// A YAML node with its location in the source file.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// Byte offset and length of the node's text in the file (scalars only; used to locate
    /// problems inside template strings).
    pub offset: usize,
    pub len: usize,
}

#[derive(Debug, Clone)]
pub enum Value {
    Map(Vec<(Key, Node)>),
    Seq(Vec<Node>),
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl Node {
    /// What kind of YAML value this is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Map(_) => "a mapping",
            Value::Seq(_) => "a list",
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Null => "nothing (null)",
        }
    }

    /// The node's source text, for scalars that should be read as written (`title: 2026`).
    pub fn raw<'a>(&self, file: &'a SourceFile) -> Option<&'a str> {
        file.text.get(self.offset..self.offset + self.len)
    }

    /// Convert to JSON (for `vars`, `extras` and other free-form data).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Str(s) => J::String(s.clone()),
            Value::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    J::from(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    J::from(v)
                } else {
                    J::String(i.to_string())
                }
            }
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Bool(b) => J::Bool(*b),
            Value::Null => J::Null,
        }
    }
}

/// Most values a playbook without aliases may hold. serde-saphyr's default node budget
/// (250,000) is what bounds alias expansion, and it stops a playbook of about 18,000 steps;
/// without aliases nothing expands (the values are bounded by the text), so a playbook that
/// uses none is read with this budget, and one that uses aliases with the default.
pub const MAX_NODES: usize = 1_000_000;

fn options(aliases: bool) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    if !aliases {
        budget.max_aliases = 0;
        budget.max_nodes = MAX_NODES;
        budget.max_events = budget.max_events.max(2 * MAX_NODES + 16);
    }
    let mut o = serde_saphyr::Options::default();
    o.budget = Some(budget);
    o
}

fn breach(err: &serde_saphyr::Error, what: &str) -> bool {
    err.to_string()
        .contains(&format!("budget breached: {what}"))
}

/// Parse YAML text into a located tree. A syntax error, duplicate key or alias bomb is returned
/// as one located diagnostic (the parser cannot continue past it).
pub fn parse(file: &SourceFile) -> Result<Node, Diagnostic> {
    if file.text.trim().is_empty() {
        return Err(Diagnostic::error("the file is empty").at(file, Span::point(1, 1)));
    }
    let first = serde_saphyr::from_str_with_options::<Spanned<RawNode>>(&file.text, options(false));
    let parsed = match first {
        Err(e) if breach(&e, "Aliases") => {
            serde_saphyr::from_str_with_options::<Spanned<RawNode>>(&file.text, options(true))
        }
        Err(e) if breach(&e, "Nodes") || breach(&e, "Events") => {
            let span = Span::point(1, 1);
            return Err(Diagnostic::error(format!(
                "the playbook holds more than {MAX_NODES} values"
            ))
            .at(file, span)
            .help("split it: a playbook is one incident's steps"));
        }
        other => other,
    };
    match parsed {
        Ok(root) => {
            let node = convert(file, root);
            if matches!(node.value, Value::Null) {
                return Err(Diagnostic::error(
                    "the file has no YAML content (only comments or blank lines)",
                )
                .at(file, Span::point(1, 1)));
            }
            Ok(node)
        }
        Err(err) => Err(tab_indentation(file).unwrap_or_else(|| parse_error(file, &err))),
    }
}

/// YAML forbids tabs for indentation, and the parser's report of it lands on a neighbouring
/// line; when parsing failed and a line is indented with a tab, say exactly that.
fn tab_indentation(file: &SourceFile) -> Option<Diagnostic> {
    for (i, line) in file.text.lines().enumerate() {
        let indent: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if let Some(pos) = indent.find('\t') {
            if line.trim().is_empty() {
                continue;
            }
            let span = Span::point(i as u32 + 1, pos as u32 + 1);
            return Some(
                Diagnostic::error("a tab indents this line; YAML indentation must use spaces")
                    .at(file, span)
                    .help("replace the tab with spaces (two per level is the convention)"),
            );
        }
    }
    None
}

fn parse_error(file: &SourceFile, err: &serde_saphyr::Error) -> Diagnostic {
    let inner = err.without_snippet();
    let raw = inner.to_string();
    let message = strip_location_suffix(&raw);
    let mut span = err
        .location()
        .filter(|l| l.line() > 0)
        .map(|l| Span::point(l.line() as u32, l.column().max(1) as u32))
        .unwrap_or(Span::point(1, 1));
    let mut help = None;
    let message = if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        // The library's text ends with a hint for programmers (about DuplicateKeyPolicy);
        // a playbook author needs to know which key, where it first was, and what to do.
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest)
            .trim();
        span.width = key.chars().count().max(1) as u32;
        let first = first_definition(file, key, span);
        help = Some(match first {
            Some(line) => format!(
                "`{key}` is first defined on line {line}; each key may appear only once in a mapping"
            ),
            None => {
                "each key may appear only once in a mapping; remove or merge the repeated entry"
                    .to_string()
            }
        });
        format!("duplicate key `{key}`")
    } else if message.contains("budget breached") {
        help =
            Some("write the values out, or reduce the aliases (`*name`) that repeat them".into());
        "invalid YAML: the document expands to too many values (an alias bomb?)".to_string()
    } else if message.contains("recursion limit") {
        "invalid YAML: values are nested too deeply".to_string()
    } else if message.contains("multiple YAML documents") {
        help =
            Some("remove the `---` separator, or split the file into one playbook per file".into());
        "a playbook is one YAML document, but this file holds several".to_string()
    } else {
        format!("invalid YAML: {message}")
    };
    let mut d = Diagnostic::error(message).at(file, span);
    if let Some(h) = help {
        d = d.help(h);
    }
    d
}

/// serde-saphyr appends " at line N, column M" (the location is printed separately); strip
/// only that exact suffix.
fn strip_location_suffix(message: &str) -> String {
    if let Some(idx) = message.rfind(" at line ") {
        let tail = &message[idx + " at line ".len()..];
        let mut parts = tail.splitn(2, ", column ");
        let line_ok = parts
            .next()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()));
        let col_ok = parts
            .next()
            .is_some_and(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_digit()));
        if line_ok && col_ok {
            return message[..idx].to_string();
        }
    }
    message.to_string()
}

/// The line where `key` was first defined, at the same indentation, before the duplicate.
fn first_definition(file: &SourceFile, key: &str, dup: Span) -> Option<u32> {
    let dup_line = file.line_text(dup.line)?;
    let indent = dup_line.len() - dup_line.trim_start().len();
    let before: Vec<&str> = file.text.lines().take(dup.line as usize - 1).collect();
    for (i, line) in before.iter().enumerate().rev() {
        let trimmed = line.trim_start();
        let this_indent = line.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if this_indent < indent {
            break; // left the mapping
        }
        let k = trimmed.trim_start_matches("- ");
        if this_indent == indent
            && (k.starts_with(&format!("{key}:")) || k.starts_with(&format!("\"{key}\":")))
        {
            return Some(i as u32 + 1);
        }
    }
    // A flow mapping on one line: `{ a: 1, a: 2 }`.
    (dup_line.matches(&format!("{key}:")).count() > 1).then_some(dup.line)
}

fn span_of(file: &SourceFile, loc: &Location) -> (Span, usize, usize) {
    let s = loc.span();
    match (s.byte_offset(), s.byte_len()) {
        (Some(off), Some(len)) => {
            let (off, len) = (off as usize, len as usize);
            // The parser knows the line and column; only the width is ours to count (never
            // a scan from the top of the file per node: that made decoding quadratic).
            let span = Span {
                line: loc.line() as u32,
                col: loc.column() as u32,
                width: file.width_at(off, len),
            };
            (span, off, len)
        }
        _ => (
            Span {
                line: loc.line() as u32,
                col: loc.column() as u32,
                width: 1,
            },
            0,
            0,
        ),
    }
}

fn convert(file: &SourceFile, raw: Spanned<RawNode>) -> Node {
    let (span, offset, len) = span_of(file, &raw.referenced);
    let value = match raw.value {
        RawNode::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let (kspan, _, _) = span_of(file, &k.referenced);
                    (
                        Key {
                            name: k.value,
                            span: kspan,
                        },
                        convert(file, v),
                    )
                })
                .collect(),
        ),
        RawNode::Seq(items) => Value::Seq(items.into_iter().map(|n| convert(file, n)).collect()),
        RawNode::Str(s) => Value::Str(s),
        RawNode::Int(i) => Value::Int(i),
        RawNode::Float(f) => Value::Float(f),
        RawNode::Bool(b) => Value::Bool(b),
        RawNode::Null => Value::Null,
    };
    // A mapping's own location is where its first key starts; that is what we want to point at.
    Node {
        value,
        span,
        offset,
        len,
    }
}

/// The shape serde-saphyr fills in; converted to `Node` right away.
enum RawNode {
    Map(Vec<(Spanned<String>, Spanned<RawNode>)>),
    Seq(Vec<Spanned<RawNode>>),
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
    Null,
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawNode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_str<E>(self, v: &str) -> Result<RawNode, E> {
                Ok(RawNode::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<RawNode, E> {
                Ok(RawNode::Str(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawNode, E> {
                Ok(RawNode::Int(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawNode, E> {
                Ok(RawNode::Int(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<RawNode, E> {
                Ok(RawNode::Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawNode, E> {
                i128::try_from(v)
                    .map(RawNode::Int)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawNode, E> {
                Ok(RawNode::Float(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<RawNode, E> {
                Ok(RawNode::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<RawNode, E> {
                Ok(RawNode::Null)
            }
            fn visit_none<E>(self) -> Result<RawNode, E> {
                Ok(RawNode::Null)
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<RawNode, D::Error> {
                RawNode::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<RawNode, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(RawNode::Seq(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<RawNode, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = a.next_entry()? {
                    v.push(entry);
                }
                Ok(RawNode::Map(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Node, Diagnostic> {
        parse(&SourceFile::new("t.yaml", s))
    }

    /// Locating every node must read the file a bounded number of times, not once per node
    /// (that made `validate` quadratic: 4,000 steps took 8 s, 20,000 failed). Counted, not
    /// timed, so it cannot be flaky.
    #[test]
    fn locating_nodes_is_linear_in_the_file() {
        let step = "  - name: s\n    action: recall\n    select: { ids: [\"1\", \"2\"] }\n    message: { title: \"{{ message.title }}\", body: x }\n";
        let text = format!("version: 1\nsteps:\n{}", step.repeat(3000));
        let file = SourceFile::new("t.yaml", text.as_str());
        let node = parse(&file).unwrap();
        assert!(matches!(node.value, Value::Map(_)));
        assert!(
            file.scanned_bytes() <= 3 * text.len(),
            "{} bytes read to locate the nodes of a {}-byte file",
            file.scanned_bytes(),
            text.len()
        );
    }

    #[test]
    fn a_playbook_of_20000_steps_is_within_the_node_budget() {
        let text = format!(
            "steps:\n{}",
            "  - { name: s, action: recall, select: { ids: [\"1\"] } }\n".repeat(20_000)
        );
        assert!(parse_str(&text).is_ok());
    }

    #[test]
    fn keeps_locations_of_keys_and_values() {
        let n = parse_str("a: 1\nb:\n  c: hello\n").unwrap();
        let Value::Map(entries) = &n.value else {
            panic!()
        };
        assert_eq!(entries[1].0.name, "b");
        assert_eq!((entries[1].0.span.line, entries[1].0.span.col), (2, 1));
        let Value::Map(inner) = &entries[1].1.value else {
            panic!()
        };
        assert_eq!(
            (
                inner[0].1.span.line,
                inner[0].1.span.col,
                inner[0].1.span.width
            ),
            (3, 6, 5)
        );
    }

    #[test]
    fn big_integers_stay_exact() {
        let n = parse_str("ids: [67554224848096790, 18446744073709551615]\n").unwrap();
        let Value::Map(e) = &n.value else { panic!() };
        let Value::Seq(items) = &e[0].1.value else {
            panic!()
        };
        assert!(matches!(items[0].value, Value::Int(67554224848096790)));
        assert!(matches!(items[1].value, Value::Int(18446744073709551615)));
    }

    #[test]
    fn duplicate_keys_are_reworded_for_authors() {
        let d = parse_str("name: a\nname: b\n").unwrap_err();
        assert_eq!(d.message, "duplicate key `name`");
        assert_eq!(d.location().unwrap(), "t.yaml:2:1");
    }

    #[test]
    fn duplicate_key_names_the_first_definition() {
        let d = parse_str("a: 1\nname: a\nb: 2\nname: b\n").unwrap_err();
        assert_eq!(
            d.help[0],
            "`name` is first defined on line 2; each key may appear only once in a mapping"
        );
        assert_eq!(d.span.unwrap().width, 4);
    }

    #[test]
    fn tabs_and_comment_only_files() {
        let d = parse_str("a:\n\tb: 1\n").unwrap_err();
        assert_eq!(d.location().unwrap(), "t.yaml:2:1");
        assert!(d.message.contains("tab"));
        let d = parse_str("# nothing\n\n").unwrap_err();
        assert!(d.message.contains("no YAML content"), "{}", d.message);
        let d = parse_str("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(d.message.contains("one YAML document"), "{}", d.message);
    }

    #[test]
    fn location_suffix_is_stripped_exactly() {
        assert_eq!(strip_location_suffix("x at line 3, column 8"), "x");
        assert_eq!(
            strip_location_suffix("y (used at line 2"),
            "y (used at line 2"
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let d = parse_str("a: {b: 1\n").unwrap_err();
        assert!(d.message.starts_with("invalid YAML: "), "{}", d.message);
        assert_eq!(d.location().unwrap(), "t.yaml:1:4");
    }
}
