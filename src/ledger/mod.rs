//! The ledger: the user's record of sent messages (JSON Lines or CSV), read streaming.
//!
//! Ledgers can hold millions of records. Each line is first read into a small borrowed probe
//! (id, send time, tags, platforms) to decide whether any step selects it; only selected records
//! are parsed and checked in full and kept in memory. The file is hashed while it is read.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use crate::domain::ChannelMap;
use sha2::Digest;

use hashing::LedgerReader;

use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::domain::{Facts, MsgId, Platform};
use crate::matrix::ProviderMatrix;
use crate::provider::{self, Provider};

mod csv;
mod filter;
mod hashing;
mod jsonl;
mod locate;
mod probe;
mod record;
mod split;

pub use filter::{Filter, matches};

/// One sent message, as the ledger describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRecord {
    pub id: MsgId,
    pub line: u64,
    pub sent_at: Option<Timestamp>,
    pub platforms: Option<Vec<Platform>>,
    pub title: Option<String>,
    pub body: Option<String>,
    /// The original targeting (a JPush audience object or "all"; TPNS targeting fields),
    /// shared by the records that have the same.
    pub audience: Option<Arc<Value>>,
    /// The provider's own fields (`Provider::ledger_fields`), checked.
    pub facts: Facts,
    pub receivers_by_channel: Option<ChannelMap<u64>>,
    /// The whole record as JSON (its id as a string), for templates (`message.*`, unknown
    /// fields included): kept as text, parsed again when a template renders, and only when a
    /// step has templates (a selected record held as a map cost ~3 KB).
    pub raw: Box<str>,
}

impl LedgerRecord {
    /// The record as templates see it (`message`).
    pub fn raw_value(&self) -> Value {
        serde_json::from_str(&self.raw).unwrap_or(Value::Null)
    }
}

/// What one step wants from the ledger.
#[derive(Debug, Default)]
pub struct StepQuery<'a> {
    /// `ids` and `ids_file`: their records are kept when present.
    pub ids: HashSet<MsgId>,
    pub filter: Option<&'a Filter>,
    /// The filter's absolute time range (`sent_within` resolved against the run's start).
    pub range: (Option<Timestamp>, Option<Timestamp>),
    /// The step renders templates from its records (`message.*`): keep each whole record.
    pub templates: bool,
    /// The step corrects schedules named apart from messages (`Provider::schedule_id_field`):
    /// its `where` matches schedule records only, and other steps' never match them.
    pub schedules: bool,
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
    /// What the whole ledger holds, to say why a selection matches nothing.
    pub stats: LedgerStats,
}

/// Distinct tags counted, at most (a ledger with more is not using tags as campaign names).
pub const MAX_TAGS: usize = 10_000;

/// The ledger as a whole: the span of its send times (read when a step filters by time) and
/// its tags with how many records carry each.
#[derive(Debug, Default)]
pub struct LedgerStats {
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    pub tags: HashMap<String, u64>,
    /// Records naming a schedule (`Provider::schedule_id_field`); the others name messages.
    pub schedules: u64,
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
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if format == Format::JsonLines
        && len >= split::MIN_BYTES
        && let Some((scan, diags)) = split::scan(len, path, provider, matrix, steps)
    {
        return Ok(finish(scan, path, diags));
    }
    let mut reader = LedgerReader::open(file);
    let mut ctx = ScanCtx::new(path, provider, matrix, steps, diags);
    match format {
        Format::JsonLines => ctx.read_jsonl(&mut reader),
        Format::Csv => ctx.read_csv(&mut reader),
    }
    if ctx.diags.has_errors() {
        return Err(ctx.diags);
    }
    ctx.resolve_repeats();
    // Hash whatever the parser did not consume (nothing, normally).
    let _ = std::io::copy(&mut reader, &mut std::io::sink());
    ctx.scan.sha256 = hex::encode(reader.finish().finalize());
    Ok(finish(ctx.scan, path, ctx.diags))
}

/// The scan's closing warnings, after the diagnostics of its records.
fn finish(mut scan: Scan, path: &Path, mut diags: Diagnostics) -> Scan {
    if scan.records_read == 0 {
        diags.push(
            Diagnostic::warning(format!(
                "the ledger `{}` holds no records; only explicit ids can be selected",
                path.display()
            ))
            .in_file(path),
        );
    }
    if scan.duplicates > 0 {
        diags.push(
            Diagnostic::warning(format!(
                "{} records repeat an id seen earlier in the ledger; the first record of each id is used",
                scan.duplicates
            ))
            .in_file(path),
        );
    }
    scan.warnings = diags;
    scan
}

/// The first record of each id is the one used: a kept record whose id an earlier record
/// (not kept) already had is dropped; repeats are counted.
fn resolve_repeats(scan: &mut Scan, seen: &mut SeenIds) {
    if !seen.kept_at.is_empty() {
        let mut dropped = rustc_hash::FxHashSet::default();
        for (i, n) in seen.nums.iter().enumerate() {
            if seen.kept_at.get(n).is_some_and(|&at| i < at) {
                dropped.insert(*n);
            }
        }
        if !dropped.is_empty() {
            let gone = |id: &MsgId| matches!(id, MsgId::Num(n) if dropped.contains(n));
            scan.records.retain(|id, _| !gone(id));
            for m in &mut scan.matches {
                m.retain(|id| !gone(id));
            }
        }
    }
    seen.nums.sort_unstable();
    scan.duplicates += seen.nums.windows(2).filter(|w| w[0] == w[1]).count() as u64;
    seen.nums = Vec::new();
}

struct ScanCtx<'a> {
    path: &'a Path,
    provider: &'static dyn Provider,
    matrix: &'a ProviderMatrix,
    steps: &'a [StepQuery<'a>],
    needs_time: bool,
    /// Some step renders templates: selected records keep their whole text.
    keep_raw: bool,
    /// Audiences by their JSON: the records of one campaign share theirs.
    audiences: std::cell::RefCell<HashMap<String, Arc<Value>>>,
    scan: Scan,
    diags: Diagnostics,
    /// Ids seen so far (to count duplicates without keeping unselected records).
    seen: SeenIds,
    /// The steps a record matched (reused from record to record).
    hits: Vec<usize>,
    /// Lines read so far, and whether they are the file's first (a byte-order mark can start
    /// only the file).
    lines: u64,
    from_start: bool,
}

/// The ids of a ledger read so far. Numeric ids (JPush's, TPNS's) are kept in ledger order
/// and their repeats found once at the end, in one sort: a set probed record by record (between
/// two records' parsing, each probe a cache and TLB miss of its own) was a sixth of planning a
/// million-record ledger, and a million `MsgId`s in a set were 64 MB; the list is 8 MB.
#[derive(Default)]
struct SeenIds {
    nums: Vec<u64>,
    texts: rustc_hash::FxHashSet<String>,
    /// The kept (selected) numeric ids, with their place in `nums`: an earlier record of the
    /// same id, not selected, wins over them at the end.
    kept_at: rustc_hash::FxHashMap<u64, usize>,
}

impl SeenIds {
    /// Note a record's id. False when it repeats a text id seen before (numeric repeats are
    /// found by [`ScanCtx::resolve_repeats`]).
    fn note(&mut self, id: &MsgId) -> bool {
        match id {
            MsgId::Num(n) => {
                self.nums.push(*n);
                true
            }
            MsgId::Text(t) => !self.texts.contains(t.as_str()) && self.texts.insert(t.clone()),
        }
    }

    /// The record just noted is kept for a step.
    fn kept(&mut self, id: &MsgId) {
        if let MsgId::Num(n) = id {
            self.kept_at.insert(*n, self.nums.len() - 1);
        }
    }
}

impl<'a> ScanCtx<'a> {
    fn new(
        path: &'a Path,
        provider: &'static dyn Provider,
        matrix: &'a ProviderMatrix,
        steps: &'a [StepQuery<'a>],
        diags: Diagnostics,
    ) -> ScanCtx<'a> {
        ScanCtx {
            path,
            provider,
            matrix,
            steps,
            needs_time: steps
                .iter()
                .any(|s| s.filter.is_some_and(Filter::uses_time)),
            keep_raw: steps.iter().any(|s| s.templates),
            audiences: Default::default(),
            scan: Scan {
                matches: vec![Vec::new(); steps.len()],
                ..Scan::default()
            },
            diags,
            seen: SeenIds::default(),
            hits: Vec::new(),
            lines: 0,
            from_start: true,
        }
    }

    /// The first record of each id is the one used (see [`resolve_repeats`]).
    fn resolve_repeats(&mut self) {
        resolve_repeats(&mut self.scan, &mut self.seen);
    }

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
            // At the last bad record: where reading stopped.
            let last = self
                .diags
                .items
                .iter()
                .rev()
                .find(|d| d.is_error())
                .and_then(|d| d.span);
            let d = Diagnostic::error(format!(
                "stopped reading the ledger after {MAX_ERRORS} bad records"
            ));
            self.diags.push(match last {
                Some(span) => d.at_line(self.path, span, None),
                None => d.in_file(self.path),
            });
            return true;
        }
        false
    }
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
        assert_eq!(b.audience.as_deref(), Some(&Value::String("all".into())));
        assert_eq!(b.line, 3);
        let a = &s.records[&MsgId::Num(67554224848096790)];
        assert_eq!(a.facts["apns_collapse_id"].as_text(), Some("bf-1"));
        assert!(
            a.raw.is_empty(),
            "no step renders templates: no whole record kept"
        );
        assert_eq!(s.sha256.len(), 64);
    }

    /// The first record of an id is the one used, whether or not a step keeps it; every
    /// later one is counted as a repeat and selects nothing.
    #[test]
    fn the_first_record_of_an_id_wins() {
        let m = Matrix::builtin().unwrap();
        let rec = |id: u64, tag: &str| format!("{{\"msg_id\":\"{id}\",\"tags\":[\"{tag}\"]}}");
        let text = [
            rec(1, "other"), // 1: not kept, so its repeat (3) is not kept either
            rec(2, "x"),     // 2: kept
            rec(1, "x"),
            rec(2, "x"), // a repeat of a kept record
            rec(4, "x"),
            rec(2, "other"),
            rec(5, "x"),
            rec(6, "other"), // not kept by any step: its repeat is not kept either
            rec(6, "x"),
        ]
        .join("\n");
        let p = write("r.jsonl", &text);
        let f = filter_tag("x");
        let ids: HashSet<MsgId> = [MsgId::Num(1)].into_iter().collect();
        let s = scan(
            &p,
            provider::find("jpush").unwrap(),
            m.provider(ProviderKind::new("jpush")),
            &[
                StepQuery {
                    filter: Some(&f),
                    ..Default::default()
                },
                StepQuery {
                    ids,
                    ..Default::default()
                },
            ],
        )
        .unwrap();
        assert_eq!(s.records_read, 9);
        assert_eq!(s.duplicates, 4);
        let nums = |v: &[MsgId]| v.to_vec();
        assert_eq!(
            nums(&s.matches[0]),
            vec![MsgId::Num(2), MsgId::Num(4), MsgId::Num(5)]
        );
        // Record 1's first line is kept for the step naming it, as that line says.
        assert_eq!(s.records[&MsgId::Num(1)].line, 1);
        assert_eq!(s.records[&MsgId::Num(2)].line, 2);
        assert_eq!(s.records.len(), 4);
    }

    #[test]
    fn time_range_is_half_open() {
        let f = Filter::default();
        let lo: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
        let hi: Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
        let none: &[&str] = &[];
        assert!(matches(&f, (Some(lo), Some(hi)), Some(lo), none, none));
        assert!(!matches(&f, (Some(lo), Some(hi)), Some(hi), none, none));
        assert!(!matches(&f, (Some(lo), None), None, none, none));
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
                .has_audience(r.audience.as_deref(), &r.facts)
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
