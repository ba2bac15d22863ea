//! The ledger: the user's record of sent messages (JSON Lines or CSV), read streaming.
//!
//! Ledgers can hold millions of records. Each line is first read into a small borrowed probe
//! (id, send time, tags, platforms) to decide whether any step selects it; only selected records
//! are parsed and checked in full and kept in memory. The file is hashed while it is read.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use jiff::Timestamp;
use serde::Deserialize;
use serde::de::{self, Visitor};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::diag::{Diagnostic, Diagnostics, Span, did_you_mean};
use crate::domain::{Fact, Facts, MsgId, Platform, Scheduled};
use crate::matrix::ProviderMatrix;
use crate::provider::{self, FieldKind, LedgerField, Provider};

mod filter;

pub use filter::{Filter, matches};

/// One sent message, as the ledger describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRecord {
    pub id: MsgId,
    pub line: u64,
    pub sent_at: Option<Timestamp>,
    pub platforms: Option<Vec<Platform>>,
    pub tags: Vec<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    /// The original targeting (a JPush audience object or "all"; TPNS targeting fields).
    pub audience: Option<Value>,
    /// The provider's own fields (`Provider::ledger_fields`), checked.
    pub facts: Facts,
    pub receivers_by_channel: Option<BTreeMap<String, u64>>,
    /// The whole record, for templates (`message.*`), unknown fields included.
    pub raw: Map<String, Value>,
}

/// What one step wants from the ledger.
#[derive(Debug, Default)]
pub struct StepQuery<'a> {
    /// `ids` and `ids_file`: their records are kept when present.
    pub ids: HashSet<MsgId>,
    pub filter: Option<&'a Filter>,
    /// The filter's absolute time range (`sent_within` resolved against the run's start).
    pub range: (Option<Timestamp>, Option<Timestamp>),
}

#[derive(Debug, Default)]
pub struct Scan {
    /// Records selected by any step, by id.
    pub records: HashMap<MsgId, LedgerRecord>,
    /// Per step, the ids its `where` matched, in ledger order.
    pub matches: Vec<Vec<MsgId>>,
    pub records_read: u64,
    pub duplicates: u64,
    pub sha256: String,
    pub warnings: Diagnostics,
}

/// Stop after this many bad records: the file is probably not a ledger at all.
const MAX_ERRORS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Csv,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Read the whole ledger once, for every step at the same time.
pub fn scan(
    path: &Path,
    provider: &'static dyn Provider,
    matrix: &ProviderMatrix,
    steps: &[StepQuery<'_>],
) -> Result<Scan, Diagnostics> {
    let mut diags = Diagnostics::new();
    let Some(format) = Format::of(path) else {
        diags.push(
            Diagnostic::error(format!("`{}` is not a ledger file name", path.display()))
                .in_file(path)
                .help("ledgers are JSON Lines (.jsonl, .ndjson) or CSV (.csv)"),
        );
        return Err(diags);
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            diags.push(
                Diagnostic::error(format!(
                    "cannot read ledger `{}`: {}",
                    path.display(),
                    crate::io_reason(&e)
                ))
                .in_file(path),
            );
            return Err(diags);
        }
    };
    let mut reader = HashingReader {
        inner: file,
        hasher: Sha256::new(),
    };
    let mut ctx = ScanCtx {
        path,
        provider,
        matrix,
        steps,
        needs_time: steps
            .iter()
            .any(|s| s.filter.is_some_and(Filter::uses_time)),
        scan: Scan {
            matches: vec![Vec::new(); steps.len()],
            ..Scan::default()
        },
        diags,
        seen: HashSet::new(),
    };
    match format {
        Format::JsonLines => ctx.read_jsonl(&mut reader),
        Format::Csv => ctx.read_csv(&mut reader),
    }
    if ctx.diags.has_errors() {
        return Err(ctx.diags);
    }
    // Hash whatever the parser did not consume (nothing, normally).
    let _ = std::io::copy(&mut reader, &mut std::io::sink());
    ctx.scan.sha256 = hex::encode(reader.hasher.finalize());
    if ctx.scan.records_read == 0 {
        ctx.diags.push(
            Diagnostic::warning(format!(
                "the ledger `{}` holds no records; only explicit ids can be selected",
                path.display()
            ))
            .in_file(path),
        );
    }
    if ctx.scan.duplicates > 0 {
        ctx.diags.push(
            Diagnostic::warning(format!(
                "{} records repeat an id seen earlier in the ledger; the first record of each id is used",
                ctx.scan.duplicates
            ))
            .in_file(path),
        );
    }
    ctx.scan.warnings = ctx.diags;
    Ok(ctx.scan)
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

struct ScanCtx<'a> {
    path: &'a Path,
    provider: &'static dyn Provider,
    matrix: &'a ProviderMatrix,
    steps: &'a [StepQuery<'a>],
    needs_time: bool,
    scan: Scan,
    diags: Diagnostics,
    /// Ids seen so far (to count duplicates without keeping unselected records).
    seen: HashSet<MsgId>,
}

/// The few fields needed to decide whether a record is selected, borrowed from the line: the
/// provider's id field (and whether another provider's is there instead), send time, tags and
/// platforms. Everything else is skipped unparsed.
#[derive(Default)]
struct Probe<'a> {
    id: Option<IdValue<'a>>,
    /// The id field of another provider, when the record has one.
    other_id: Option<&'static str>,
    sent_at: Option<Cow<'a, str>>,
    tags: Option<Vec<Cow<'a, str>>>,
    platforms: Option<Vec<Cow<'a, str>>>,
}

/// Reads a `Probe` for `own` (the provider's id field); `others` are the other providers'.
struct ProbeSeed<'s> {
    own: &'static str,
    others: &'s [&'static str],
}

/// A string borrowed from the line when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

fn texts(v: Option<Vec<Text<'_>>>) -> Option<Vec<Cow<'_, str>>> {
    v.map(|items| items.into_iter().map(|t| t.0).collect())
}

impl<'de> de::DeserializeSeed<'de> for ProbeSeed<'_> {
    type Value = Probe<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V<'s>(ProbeSeed<'s>);
        impl<'de> Visitor<'de> for V<'_> {
            type Value = Probe<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a ledger record")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut p = Probe::default();
                // A repeated field is an error, as serde's derived structs make it: which of
                // two values did the exporter mean?
                let mut seen = [false; 4];
                let mut once = |i: usize, name: &'static str| {
                    if std::mem::replace(&mut seen[i], true) {
                        Err(de::Error::duplicate_field(name))
                    } else {
                        Ok(())
                    }
                };
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match key.0.as_ref() {
                        k if k == self.0.own => {
                            once(0, self.0.own)?;
                            p.id = map.next_value()?;
                        }
                        "sent_at" => {
                            once(1, "sent_at")?;
                            p.sent_at = map.next_value::<Option<Text>>()?.map(|t| t.0);
                        }
                        "tags" => {
                            once(2, "tags")?;
                            p.tags = texts(map.next_value()?);
                        }
                        "platforms" => {
                            once(3, "platforms")?;
                            p.platforms = texts(map.next_value()?);
                        }
                        k => {
                            if let Some(o) = self.0.others.iter().find(|o| **o == k) {
                                p.other_id = Some(o);
                            }
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_map(V(self))
    }
}

/// An id written as a JSON string or an integer (never through a float).
enum IdValue<'a> {
    Text(Cow<'a, str>),
    Int(u64),
}

impl<'de: 'a, 'a> Deserialize<'de> for IdValue<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id as a string or an unsigned integer")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(IdValue::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(IdValue::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(IdValue::Text(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(IdValue::Int(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(IdValue::Int)
                    .map_err(|_| E::custom(format!("id {v} is negative")))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                // Reworded by `explain_probe_error`, which quotes the number as written.
                Err(E::custom("inexact id"))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'a> ScanCtx<'a> {
    fn id_field(&self) -> &'static str {
        self.provider.id_field()
    }

    /// The other providers' id fields (a record naming one is probably the wrong ledger).
    fn other_id_fields(&self) -> Vec<&'static str> {
        provider::all()
            .iter()
            .map(|p| p.id_field())
            .filter(|f| *f != self.id_field())
            .collect()
    }

    fn error(&mut self, line: u64, col: u32, width: u32, text: &str, message: String) {
        self.error_with_help(line, col, width, text, message, None);
    }

    fn error_with_help(
        &mut self,
        line: u64,
        col: u32,
        width: u32,
        text: &str,
        message: String,
        help: Option<String>,
    ) {
        let mut d = Diagnostic::error(message).at_line(
            self.path,
            Span {
                line: line as u32,
                col,
                width,
            },
            Some(text),
        );
        if let Some(h) = help {
            d = d.help(h);
        }
        self.diags.push(d);
    }

    fn too_many_errors(&mut self) -> bool {
        if self.diags.error_count() >= MAX_ERRORS {
            self.diags.push(
                Diagnostic::error(format!(
                    "stopped reading the ledger after {MAX_ERRORS} bad records"
                ))
                .in_file(self.path),
            );
            return true;
        }
        false
    }

    fn read_jsonl<R: Read>(&mut self, reader: &mut R) {
        let mut buf = BufReader::with_capacity(1 << 20, reader);
        let mut bytes = Vec::with_capacity(4096);
        let mut line_no: u64 = 0;
        loop {
            bytes.clear();
            match buf.read_until(b'\n', &mut bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    self.diags.push(
                        Diagnostic::error(format!("cannot read ledger: {}", crate::io_reason(&e)))
                            .in_file(self.path),
                    );
                    return;
                }
            }
            line_no += 1;
            // Spreadsheet exports often start with a UTF-8 byte-order mark.
            if line_no == 1 && bytes.starts_with(b"\xEF\xBB\xBF") {
                bytes.drain(..3);
            }
            let text = match std::str::from_utf8(&bytes) {
                Ok(t) => t.trim_end_matches(['\n', '\r']),
                Err(e) => {
                    let col = String::from_utf8_lossy(&bytes[..e.valid_up_to()])
                        .chars()
                        .count() as u32
                        + 1;
                    let lossy = String::from_utf8_lossy(&bytes).into_owned();
                    self.error(
                        line_no,
                        col,
                        1,
                        lossy.trim_end(),
                        "the ledger line is not valid UTF-8".into(),
                    );
                    if self.too_many_errors() {
                        return;
                    }
                    continue;
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            self.json_line(line_no, text);
            if self.diags.has_errors() && self.too_many_errors() {
                return;
            }
        }
    }

    fn json_line(&mut self, line_no: u64, text: &str) {
        if !text.trim_start().starts_with('{') {
            let col = (text.len() - text.trim_start().len()) as u32 + 1;
            self.error(
                line_no,
                col,
                1,
                text,
                "a ledger record must be a JSON object (`{...}` on one line)".into(),
            );
            return;
        }
        let others = self.other_id_fields();
        let seed = ProbeSeed {
            own: self.id_field(),
            others: &others,
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let probe = match de::DeserializeSeed::deserialize(seed, &mut de).and_then(|p| {
            de.end()?;
            Ok(p)
        }) {
            Ok(p) => p,
            Err(e) => {
                if let Some((field, msg)) = e
                    .is_data()
                    .then(|| self.explain_probe_error(text))
                    .flatten()
                {
                    let (col, width) = find_value(text, field);
                    self.error(line_no, col, width, text, msg);
                    return;
                }
                let col = e.column().max(1) as u32;
                let msg = strip_json_position(&e.to_string());
                let help = (msg.contains("key must be a string") && text.contains('\''))
                    .then(|| "JSON needs double quotes around keys and strings (this looks like a Python dict)".to_string());
                let msg = if e.is_data() {
                    format!("bad ledger record: {msg}")
                } else {
                    format!("invalid JSON in ledger record: {msg}")
                };
                self.error_with_help(line_no, col, 1, text, msg, help);
                return;
            }
        };
        let own = self.id_field();
        let Some(raw_id) = probe.id else {
            let help = probe.other_id.map(|other| {
                let owner = provider::all()
                    .iter()
                    .find(|p| p.id_field() == other)
                    .map_or("another provider's", |p| p.display_name());
                format!(
                    "`{other}` is the {owner} id field; a {} ledger names each message by `{own}`",
                    self.provider.display_name()
                )
            });
            self.error_with_help(
                line_no,
                1,
                1,
                text,
                format!("ledger record has no `{own}`"),
                help,
            );
            return;
        };
        let id_text = match &raw_id {
            IdValue::Text(s) => s.clone(),
            IdValue::Int(n) => Cow::Owned(n.to_string()),
        };
        let id = match self.provider.parse_id(&id_text) {
            Ok(id) => id,
            Err(e) => {
                let (col, width) = find_field(text, own);
                self.error(line_no, col, width, text, e);
                return;
            }
        };
        self.scan.records_read += 1;
        if !self.seen.insert(id.clone()) {
            self.scan.duplicates += 1;
            return;
        }
        let sent_at = match (&probe.sent_at, self.needs_time) {
            (Some(s), true) => match s.parse::<Timestamp>() {
                Ok(t) => Some(t),
                Err(_) => {
                    let (col, width) = find_field(text, "sent_at");
                    self.error(
                        line_no,
                        col,
                        width,
                        text,
                        format!("`sent_at` is not a timestamp with an offset: `{s}`"),
                    );
                    return;
                }
            },
            _ => None,
        };
        let tags: Vec<&str> = probe
            .tags
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|c| c.as_ref())
            .collect();
        let platforms: Vec<&str> = probe
            .platforms
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|c| c.as_ref())
            .collect();
        let mut wanted = false;
        for (i, q) in self.steps.iter().enumerate() {
            let by_id = q.ids.contains(&id);
            let by_filter = q
                .filter
                .is_some_and(|f| matches(f, q.range, sent_at, &tags, &platforms));
            if by_filter {
                self.scan.matches[i].push(id.clone());
            }
            wanted |= by_id || by_filter;
        }
        if !wanted {
            return;
        }
        let map: Map<String, Value> = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                self.error(
                    line_no,
                    e.column().max(1) as u32,
                    1,
                    text,
                    format!("bad ledger record: {e}"),
                );
                return;
            }
        };
        match self.record(line_no, id.clone(), map, text) {
            Ok(r) => {
                self.scan.records.insert(id, r);
            }
            Err((field, msg)) => {
                let (col, width) = locate_in_record(text, field, &msg);
                self.error(line_no, col, width, text, msg);
            }
        }
    }

    /// Which probe field has the wrong type, and how to say so (the error path only).
    fn explain_probe_error(&self, text: &str) -> Option<(&'static str, String)> {
        let v: Value = serde_json::from_str(text).ok()?;
        let own = self.id_field();
        for id_field in provider::all().iter().map(|p| p.id_field()) {
            match v.get(id_field) {
                Some(Value::Number(n)) if n.as_u64().is_none() => {
                    let raw = raw_value(text, id_field).unwrap_or_else(|| n.to_string());
                    let why = if raw.starts_with('-') {
                        "negative"
                    } else {
                        "not an exact integer (too large, or fractional)"
                    };
                    let field = id_field;
                    return Some((
                        field,
                        format!(
                            "`{field}` {raw} is {why}; write ids as strings to keep every digit"
                        ),
                    ));
                }
                Some(Value::String(_) | Value::Number(_)) | None => {}
                Some(other) if id_field == own => {
                    return Some((
                        own,
                        format!(
                            "`{own}` must be a string or an integer, found {}",
                            json_kind(other)
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        match v.get("sent_at") {
            Some(Value::String(_) | Value::Null) | None => {}
            Some(other) => {
                return Some((
                    "sent_at",
                    format!(
                        "`sent_at` must be a timestamp string, found {}",
                        json_kind(other)
                    ),
                ));
            }
        }
        for field in ["tags", "platforms"] {
            match v.get(field) {
                Some(Value::Array(items)) if items.iter().all(Value::is_string) => {}
                Some(Value::Null) | None => {}
                Some(Value::Array(_)) => {
                    return Some((
                        if field == "tags" { "tags" } else { "platforms" },
                        format!("`{field}` entries must be strings"),
                    ));
                }
                Some(other) => {
                    return Some((
                        if field == "tags" { "tags" } else { "platforms" },
                        format!(
                            "`{field}` must be a list of strings, found {}",
                            json_kind(other)
                        ),
                    ));
                }
            }
        }
        None
    }

    fn read_csv<R: Read>(&mut self, reader: &mut R) {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(reader);
        let headers = match rdr.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                self.error(1, 1, 1, "", format!("cannot read the CSV header: {e}"));
                return;
            }
        };
        let own = self.id_field();
        if headers.is_empty() || headers.iter().all(str::is_empty) {
            self.diags.push(
                Diagnostic::error("the CSV ledger is empty: it has no header row").at_line(
                    self.path,
                    Span::point(1, 1),
                    None,
                ),
            );
            return;
        }
        if !headers.iter().any(|h| h == own) {
            let text = line_at(self.path, 0)
                .unwrap_or_else(|| headers.iter().collect::<Vec<_>>().join(","));
            self.error(
                1,
                1,
                text.chars().count() as u32,
                &text,
                format!("the CSV ledger has no `{own}` column"),
            );
            return;
        }
        let mut record = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    let raw = e
                        .position()
                        .and_then(|p| line_at(self.path, p.byte()))
                        .unwrap_or_default();
                    let msg = match e.kind() {
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => {
                            format!("this CSV row has {len} fields, the header has {expected_len}")
                        }
                        csv::ErrorKind::Utf8 { .. } => "the CSV row is not valid UTF-8".to_string(),
                        _ => format!("bad CSV row: {e}"),
                    };
                    self.error(line, 1, raw.chars().count().max(1) as u32, &raw, msg);
                    if self.too_many_errors() {
                        return;
                    }
                    continue;
                }
            }
            let line_no = record.position().map_or(0, |p| p.line());
            let raw = record
                .position()
                .and_then(|p| line_at(self.path, p.byte()))
                .unwrap_or_else(|| record.iter().collect::<Vec<_>>().join(","));
            match csv_to_json(&headers, &record, self.provider.ledger_fields()) {
                Ok(obj) => {
                    // Re-serialize so both formats share one code path and one set of checks,
                    // then point the diagnostics at the CSV cell instead of the JSON text.
                    let json = Value::Object(obj).to_string();
                    let before = self.diags.items.len();
                    self.json_line(line_no, &json);
                    for d in self.diags.items.iter_mut().skip(before) {
                        let column = d
                            .message
                            .split('`')
                            .skip(1)
                            .step_by(2)
                            .find_map(|tok| headers.iter().position(|h| h == tok));
                        let (col, width) = column
                            .and_then(|i| csv_cell_span(&raw, i))
                            .unwrap_or((1, 1));
                        if let Some(s) = d.span.as_mut() {
                            s.col = col;
                            s.width = width;
                        }
                        d.snippet = Some(raw.clone());
                    }
                }
                Err((column, msg)) => {
                    let (col, width) = headers
                        .iter()
                        .position(|h| h == column)
                        .and_then(|i| csv_cell_span(&raw, i))
                        .unwrap_or((1, 1));
                    self.error(line_no, col, width, &raw, msg);
                }
            }
            if self.diags.has_errors() && self.too_many_errors() {
                return;
            }
        }
    }

    /// Check a selected record in full.
    fn record(
        &self,
        line: u64,
        id: MsgId,
        raw: Map<String, Value>,
        _text: &str,
    ) -> Result<LedgerRecord, (&'static str, String)> {
        let p = self.provider;
        let str_field = |k: &'static str| -> Result<Option<String>, (&'static str, String)> {
            match raw.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v) => Err((k, format!("`{k}` must be a string, found {}", json_kind(v)))),
            }
        };
        let sent_at = match str_field("sent_at")? {
            None => None,
            Some(s) => Some(s.parse::<Timestamp>().map_err(|_| {
                (
                    "sent_at",
                    format!("`sent_at` is not a timestamp with an offset: `{s}`"),
                )
            })?),
        };
        let platforms = match raw.get("platforms") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "all" => Some(self.all_platforms()),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    let s = item.as_str().ok_or((
                        "platforms",
                        "`platforms` entries must be strings".to_string(),
                    ))?;
                    if s == "all" {
                        out.extend(self.all_platforms());
                        continue;
                    }
                    let p = Platform::parse(s)
                        .filter(|p| self.all_platforms().contains(p))
                        .ok_or_else(|| {
                            (
                                "platforms",
                                match did_you_mean(
                                    s,
                                    self.all_platforms().iter().map(|p| p.as_str()),
                                ) {
                                    Some(m) => format!(
                                        "`{s}` is not a {} platform (did you mean `{m}`?)",
                                        p.display_name()
                                    ),
                                    None => format!(
                                        "`{s}` is not a {} platform; expected one of: {}",
                                        p.display_name(),
                                        self.all_platforms()
                                            .iter()
                                            .map(|p| p.as_str())
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                },
                            )
                        })?;
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
                Some(out)
            }
            Some(v) => {
                return Err((
                    "platforms",
                    format!("`platforms` must be a list, found {}", json_kind(v)),
                ));
            }
        };
        let tags = match raw.get("tags") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|t| {
                    t.as_str()
                        .map(String::from)
                        .ok_or(("tags", "`tags` entries must be strings".to_string()))
                })
                .collect::<Result<_, _>>()?,
            Some(v) => {
                return Err((
                    "tags",
                    format!("`tags` must be a list, found {}", json_kind(v)),
                ));
            }
        };
        let title = str_field("title")?;
        let body = str_field("body")?;
        if let Some(v) = raw.get("extras")
            && !v.is_object()
            && !v.is_null()
        {
            return Err((
                "extras",
                format!("`extras` must be an object, found {}", json_kind(v)),
            ));
        }
        let audience = match raw.get("audience") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(Value::String(s)) if s == "all" && p.audience_may_be_all() => {
                Some(Value::String(s.clone()))
            }
            Some(v) => {
                let expected = if p.audience_may_be_all() {
                    "\"all\" or an object"
                } else {
                    "an object"
                };
                return Err((
                    "audience",
                    format!("`audience` must be {expected}, found {}", json_kind(v)),
                ));
            }
        };
        let mut facts = Facts::new();
        for field in p.ledger_fields() {
            if let Some(f) = fact(p, field, raw.get(field.name))? {
                facts.insert(field.name, f);
            }
        }
        let mut rec = LedgerRecord {
            id,
            line,
            sent_at,
            platforms,
            tags,
            title,
            body,
            audience,
            facts,
            receivers_by_channel: None,
            raw: Map::new(),
        };
        rec.receivers_by_channel = match raw.get("receivers_by_channel") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                let mut out = BTreeMap::new();
                for (ch, n) in m {
                    if self.matrix.channel(ch).is_none() {
                        let mut msg = format!("`{ch}` is not a {} channel", p.display_name());
                        match did_you_mean(ch, self.matrix.channel_names()) {
                            Some(s) => msg.push_str(&format!(" (did you mean `{s}`?)")),
                            None => msg.push_str(&format!(
                                "; known channels: {}",
                                self.matrix.channel_names().collect::<Vec<_>>().join(", ")
                            )),
                        }
                        return Err(("receivers_by_channel", msg));
                    }
                    let n = n.as_u64().ok_or((
                        "receivers_by_channel",
                        format!("`receivers_by_channel.{ch}` must be a non-negative integer"),
                    ))?;
                    out.insert(ch.clone(), n);
                }
                Some(out)
            }
            Some(v) => {
                return Err((
                    "receivers_by_channel",
                    format!(
                        "`receivers_by_channel` must be an object, found {}",
                        json_kind(v)
                    ),
                ));
            }
        };
        let mut raw = raw;
        raw.insert("id".into(), Value::String(rec.id.to_string()));
        rec.raw = raw;
        Ok(rec)
    }

    fn all_platforms(&self) -> Vec<Platform> {
        let mut out: Vec<Platform> = Vec::new();
        for c in &self.matrix.channels {
            if !out.contains(&c.platform) {
                out.push(c.platform);
            }
        }
        out
    }
}

/// One provider field of a selected record, checked by its kind.
fn fact(
    p: &dyn Provider,
    field: &LedgerField,
    value: Option<&Value>,
) -> Result<Option<Fact>, (&'static str, String)> {
    let name = field.name;
    let value = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let text = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        v => Err((
            name,
            format!("`{name}` must be a string, found {}", json_kind(v)),
        )),
    };
    match field.kind {
        FieldKind::Text => Ok(Some(text(value)?).filter(|s| !s.is_empty()).map(Fact::Text)),
        FieldKind::OneOf(options) => {
            let t = text(value)?;
            if options.contains(&t.as_str()) {
                return Ok(Some(Fact::Text(t)));
            }
            let mut msg = format!("`{t}` is not a {} {name}", p.display_name());
            match did_you_mean(&t, options.iter().copied()) {
                Some(s) => msg.push_str(&format!(" (did you mean `{s}`?)")),
                None => msg.push_str(&format!("; expected one of: {}", options.join(", "))),
            }
            Err((name, msg))
        }
        FieldKind::U32 => {
            let n = value
                .as_u64()
                .or_else(|| value.as_str().and_then(|s| s.parse().ok()));
            let n = n.and_then(|n| u32::try_from(n).ok()).ok_or((
                name,
                format!("`{name}` must be an unsigned 32-bit integer"),
            ))?;
            // By the SDKs' convention 0 means "none".
            Ok((n != 0).then_some(Fact::Uint(u64::from(n))))
        }
        FieldKind::Schedule => match value {
            Value::Bool(false) => Ok(Some(Fact::Scheduled(Scheduled::No))),
            Value::Bool(true) => Ok(Some(Fact::Scheduled(Scheduled::Yes))),
            Value::String(s) => s
                .parse::<Timestamp>()
                .map(|t| Some(Fact::Scheduled(Scheduled::At(t))))
                .map_err(|_| {
                    (
                        name,
                        format!("`{name}` must be true, false or the send time with an offset, found `{s}`"),
                    )
                }),
            v => Err((
                name,
                format!(
                    "`{name}` must be a boolean or a timestamp, found {}",
                    json_kind(v)
                ),
            )),
        },
    }
}

/// Where in a record line an error about `field` belongs: at the first `token` the message
/// quotes (a bad channel or platform name) when it appears inside that field, else at the field.
fn locate_in_record(text: &str, field: &str, msg: &str) -> (u32, u32) {
    let field_at = text.find(&format!("\"{field}\""));
    let token = msg
        .split('`')
        .nth(1)
        .map(|t| t.rsplit('.').next().unwrap_or(t));
    if let (Some(start), Some(tok)) = (field_at, token)
        && tok != field
    {
        let quoted = format!("\"{tok}\"");
        if let Some(i) = text[start + field.len() + 2..].find(&quoted) {
            let at = start + field.len() + 2 + i;
            return (
                text[..at].chars().count() as u32 + 1,
                quoted.chars().count() as u32,
            );
        }
    }
    find_field(text, field)
}

/// Column and width of the value of `"field"` in a JSON line (falls back to the field name).
fn find_value(text: &str, field: &str) -> (u32, u32) {
    let needle = format!("\"{field}\"");
    let Some(i) = text.find(&needle) else {
        return (1, 1);
    };
    let after = &text[i + needle.len()..];
    let Some(colon) = after.find(':') else {
        return find_field(text, field);
    };
    let value_start = i + needle.len() + colon + 1;
    let ws = text[value_start..].len() - text[value_start..].trim_start().len();
    let start = value_start + ws;
    let len = raw_value(text, field).map_or(1, |r| r.chars().count());
    (text[..start].chars().count() as u32 + 1, len as u32)
}

/// The raw text of a scalar value of `"field"` (numbers keep every digit as written).
fn raw_value(text: &str, field: &str) -> Option<String> {
    let needle = format!("\"{field}\"");
    let i = text.find(&needle)?;
    let after = text[i + needle.len()..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = after.find([',', '}', ']']).unwrap_or(after.len());
    Some(after[..end].trim().to_string())
}

/// serde_json appends " at line L column C"; our own locations replace it.
fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

/// Column and width of `"field"` in a JSON line, to point at the offending field.
fn find_field(text: &str, field: &str) -> (u32, u32) {
    let needle = format!("\"{field}\"");
    match text.find(&needle) {
        Some(i) => (
            text[..i].chars().count() as u32 + 1,
            needle.chars().count() as u32,
        ),
        None => (1, 1),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Columns holding lists (`a|b`) and JSON values in CSV ledgers.
const CSV_LIST_COLUMNS: &[&str] = &["platforms", "tags"];
const CSV_JSON_COLUMNS: &[&str] = &["extras", "audience", "receivers_by_channel"];

fn csv_to_json<'h>(
    headers: &'h csv::StringRecord,
    row: &csv::StringRecord,
    fields: &[LedgerField],
) -> Result<Map<String, Value>, (&'h str, String)> {
    let mut obj = Map::new();
    for (h, cell) in headers.iter().zip(row.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = if CSV_LIST_COLUMNS.contains(&h) {
            Value::Array(
                cell.split('|')
                    .map(|s| Value::String(s.trim().to_string()))
                    .collect(),
            )
        } else if h == "audience" && cell == "all" {
            Value::String(cell.into())
        } else if CSV_JSON_COLUMNS.contains(&h) {
            serde_json::from_str(cell).map_err(|e| {
                let pos = format!(" (at character {} of the cell)", e.column());
                (
                    h,
                    format!(
                        "column `{h}` must hold JSON: {}{pos}",
                        strip_json_position(&e.to_string())
                    ),
                )
            })?
        } else if let Some(f) = fields.iter().find(|f| f.name == h) {
            // A provider field: cells are text, so read them as their kind would be written.
            match f.kind {
                FieldKind::Schedule if cell == "true" || cell == "false" => {
                    Value::Bool(cell == "true")
                }
                FieldKind::U32 => cell
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(cell.into())),
                _ => Value::String(cell.to_string()),
            }
        } else {
            Value::String(cell.to_string())
        };
        obj.insert(h.to_string(), value);
    }
    Ok(obj)
}

/// 1-based column and width of the `index`-th cell of a raw CSV line (quotes respected).
fn csv_cell_span(raw: &str, index: usize) -> Option<(u32, u32)> {
    let mut cell = 0;
    let mut start = 0;
    let mut quoted = false;
    let chars: Vec<char> = raw.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                if cell == index {
                    return Some((start as u32 + 1, (i - start).max(1) as u32));
                }
                cell += 1;
                start = i + 1;
            }
            _ => {}
        }
    }
    (cell == index).then(|| (start as u32 + 1, (chars.len() - start).max(1) as u32))
}

/// The line of a file starting at `byte` (for quoting a CSV row the parser rejected).
fn line_at(path: &Path, byte: u64) -> Option<String> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path).ok()?;
    f.seek(SeekFrom::Start(byte)).ok()?;
    let mut line = Vec::new();
    BufReader::new(f)
        .take(64 * 1024)
        .read_until(b'\n', &mut line)
        .ok()?;
    let text = String::from_utf8_lossy(&line);
    Some(
        text.trim_start_matches('\u{feff}')
            .trim_end_matches(['\n', '\r'])
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProviderKind;
    use crate::matrix::Matrix;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pushfix-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn filter_tag(tag: &str) -> Filter {
        Filter {
            tags_any: vec![tag.into()],
            ..Filter::default()
        }
    }

    const LINE_A: &str = r#"{"msg_id":"67554224848096790","sent_at":"2026-11-20T10:02:11+08:00","platforms":["android","ios"],"tags":["bf-promo"],"title":"48h sale","audience":{"tag":["bf-promo"]},"apns_collapse_id":"bf-1","receivers_by_channel":{"jpush":5200,"apns":8000}}"#;
    const LINE_B: &str = r#"{"msg_id":67554224848096791,"sent_at":"2026-11-20T11:00:00+08:00","platforms":["android"],"tags":["other"],"audience":"all"}"#;

    #[test]
    fn selects_by_filter_and_id_and_keeps_exact_ids() {
        let m = Matrix::builtin().unwrap();
        let p = write("a.jsonl", &format!("{LINE_A}\n\n{LINE_B}\n"));
        let f = filter_tag("bf-promo");
        let q1 = StepQuery {
            filter: Some(&f),
            ..Default::default()
        };
        let q2 = StepQuery {
            ids: [MsgId::Num(67554224848096791), MsgId::Num(1)].into(),
            ..Default::default()
        };
        let s = scan(
            &p,
            provider::find("jpush").unwrap(),
            m.provider(ProviderKind::new("jpush")),
            &[q1, q2],
        )
        .unwrap();
        assert_eq!(s.records_read, 2);
        assert_eq!(s.matches[0], vec![MsgId::Num(67554224848096790)]);
        assert!(s.matches[1].is_empty());
        let b = &s.records[&MsgId::Num(67554224848096791)];
        assert_eq!(b.audience, Some(Value::String("all".into())));
        assert_eq!(b.line, 3);
        let a = &s.records[&MsgId::Num(67554224848096790)];
        assert_eq!(a.facts["apns_collapse_id"].as_text(), Some("bf-1"));
        assert_eq!(a.raw["id"], "67554224848096790");
        assert_eq!(s.sha256.len(), 64);
    }

    #[test]
    fn time_range_is_half_open() {
        let f = Filter::default();
        let lo: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
        let hi: Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
        assert!(matches(&f, (Some(lo), Some(hi)), Some(lo), &[], &[]));
        assert!(!matches(&f, (Some(lo), Some(hi)), Some(hi), &[], &[]));
        assert!(!matches(&f, (Some(lo), None), None, &[], &[]));
    }

    #[test]
    fn bad_records_are_located() {
        let m = Matrix::builtin().unwrap();
        let text = format!(
            "{LINE_A}\n{{\"msg_id\": 1.5e17}}\n{{\"msg_id\": \"1\", oops}}\n{{\"push_id\": \"9\"}}\n"
        );
        let p = write("b.jsonl", &text);
        let f = filter_tag("bf-promo");
        let err = scan(
            &p,
            provider::find("jpush").unwrap(),
            m.provider(ProviderKind::new("jpush")),
            &[StepQuery {
                filter: Some(&f),
                ..Default::default()
            }],
        )
        .unwrap_err();
        let locs: Vec<String> = err.items.iter().map(|d| d.location().unwrap()).collect();
        assert!(locs[0].ends_with("b.jsonl:2:12"), "{locs:?}");
        assert!(
            err.items[0].message.contains("not an exact integer"),
            "{}",
            err.items[0].message
        );
        assert!(locs[1].ends_with("b.jsonl:3:17"), "{locs:?}");
        assert!(err.items[2].message.contains("no `msg_id`"));
        assert!(err.items[2].help[0].contains("TPNS id field"));
    }

    #[test]
    fn unknown_channel_in_a_selected_record() {
        let m = Matrix::builtin().unwrap();
        let p = write(
            "c.jsonl",
            "{\"msg_id\":\"5\",\"tags\":[\"x\"],\"receivers_by_channel\":{\"xaomi\":3}}\n",
        );
        let f = filter_tag("x");
        let err = scan(
            &p,
            provider::find("jpush").unwrap(),
            m.provider(ProviderKind::new("jpush")),
            &[StepQuery {
                filter: Some(&f),
                ..Default::default()
            }],
        )
        .unwrap_err();
        assert!(
            err.items[0].message.contains("did you mean `xiaomi`"),
            "{}",
            err.items[0].message
        );
        assert!(err.items[0].location().unwrap().ends_with(":1:52"));
    }

    #[test]
    fn csv_ledger() {
        let m = Matrix::builtin().unwrap();
        let p = write(
            "d.csv",
            "push_id,sent_at,platforms,tags,audience_type,audience,collapse_id,title\n\
             43214535,2026-11-20T10:00:00+08:00,android|ios,bf-promo|sale,tag,\"{\"\"tag_rules\"\":[]}\",17,Sale\n\
             43214536,2026-11-20T10:00:00+08:00,android,other,all,,,\n",
        );
        let f = filter_tag("bf-promo");
        let s = scan(
            &p,
            provider::find("tpns").unwrap(),
            m.provider(ProviderKind::new("tpns")),
            &[StepQuery {
                filter: Some(&f),
                ..Default::default()
            }],
        )
        .unwrap();
        let r = &s.records[&MsgId::Text("43214535".into())];
        assert_eq!(r.platforms, Some(vec![Platform::Android, Platform::Ios]));
        assert_eq!(r.facts["collapse_id"].as_uint(), Some(17));
        assert_eq!(r.line, 2);
        assert!(
            provider::find("tpns")
                .unwrap()
                .has_audience(r.audience.as_ref(), &r.facts)
        );
        assert_eq!(s.records.len(), 1);
    }

    #[test]
    fn csv_errors_name_the_row() {
        let m = Matrix::builtin().unwrap();
        let p = write("e.csv", "push_id,tags\n1,a\n2\n");
        let err = scan(
            &p,
            provider::find("tpns").unwrap(),
            m.provider(ProviderKind::new("tpns")),
            &[],
        )
        .unwrap_err();
        assert!(
            err.items[0].location().unwrap().ends_with("e.csv:3:1"),
            "{:?}",
            err.items[0]
        );
    }
}
