//! Seeding the sandbox from a ledger (DESIGN §3): JSON Lines or CSV, JPush records (`msg_id`)
//! and TPNS records (`push_id`), told apart per record by field. This reader is deliberately
//! independent of `crate::ledger` (the sandbox is a second implementation) and lenient about
//! fields it does not need.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use jiff::Timestamp;
use serde_json::{Map, Value};

/// Which provider a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Jpush,
    Tpns,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Jpush => "jpush",
            Provider::Tpns => "tpns",
        }
    }
}

/// Whether a TPNS task was a scheduled push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheduled {
    /// Sent at once.
    #[default]
    No,
    /// Scheduled, dispatch time unknown: the sandbox treats it as not yet dispatched.
    Yes,
    /// Scheduled for this time: dispatched once the sandbox clock passes it.
    At(Timestamp),
}

/// One sent message the sandbox knows about before any request arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedMessage {
    pub provider: Provider,
    /// JPush `msg_id` (decimal u64) or TPNS `push_id`.
    pub id: String,
    /// Missing in the ledger: the sandbox treats the message as sent when the sandbox started.
    pub sent_at: Option<Timestamp>,
    pub platforms: Vec<String>,
    pub tags: Vec<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    /// JPush: the audience object or `"all"`. TPNS: the targeting fields (`{"tag_rules": …}`).
    pub audience: Option<Value>,
    /// JPush only.
    pub apns_collapse_id: Option<String>,
    /// TPNS only (`all`, `tag`, `account_list`, `token`, …).
    pub audience_type: Option<String>,
    /// TPNS only. Missing: the sandbox assigns one (as TPNS does for every task).
    pub collapse_id: Option<u32>,
    /// TPNS only.
    pub scheduled: Scheduled,
}

impl SeedMessage {
    /// A JPush message sent at `sent_at` (platforms android+ios, audience all).
    pub fn jpush(msg_id: u64, sent_at: Timestamp) -> SeedMessage {
        SeedMessage {
            provider: Provider::Jpush,
            id: msg_id.to_string(),
            sent_at: Some(sent_at),
            platforms: vec!["android".into(), "ios".into()],
            tags: Vec::new(),
            title: None,
            body: None,
            audience: Some(Value::String("all".into())),
            apns_collapse_id: None,
            audience_type: None,
            collapse_id: None,
            scheduled: Scheduled::No,
        }
    }

    /// A TPNS task (`audience_type` `all` unless changed) sent at `sent_at`.
    pub fn tpns(push_id: &str, sent_at: Timestamp) -> SeedMessage {
        SeedMessage {
            provider: Provider::Tpns,
            id: push_id.to_string(),
            audience: None,
            audience_type: Some("all".into()),
            ..SeedMessage::jpush(0, sent_at)
        }
    }
}

/// Load a ledger: `.csv` is CSV (lists `|`-separated, `audience`/`extras` cells hold JSON),
/// anything else JSON Lines (a first byte other than `{` in a file of unknown extension means
/// CSV). Errors name `file:line`.
pub fn load_ledger(path: &Path) -> Result<Vec<SeedMessage>, String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("{shown}: {}", crate::io_reason(&e)))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    let mut reader = BufReader::new(file);
    let csv = match ext.as_deref() {
        Some("csv") => true,
        Some("jsonl" | "ndjson" | "json") => false,
        _ => {
            let buf = reader
                .fill_buf()
                .map_err(|e| format!("{shown}: {}", crate::io_reason(&e)))?;
            let first = buf.iter().find(|b| !b.is_ascii_whitespace());
            !matches!(first, Some(b'{') | None)
        }
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |rec: SeedMessage| {
        // A repeated id: the first record wins (a ledger may be appended to twice).
        if seen.insert((rec.provider, rec.id.clone())) {
            out.push(rec);
        }
    };
    if csv {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let headers = rdr
            .headers()
            .map_err(|e| format!("{shown}:1: {e}"))?
            .clone();
        for (i, row) in rdr.records().enumerate() {
            let line = i + 2;
            let row = row.map_err(|e| format!("{shown}:{line}: {e}"))?;
            let obj = csv_object(&headers, &row).map_err(|e| format!("{shown}:{line}: {e}"))?;
            push(record(&obj).map_err(|e| format!("{shown}:{line}: {e}"))?);
        }
    } else {
        for (i, l) in reader.lines().enumerate() {
            let line = i + 1;
            let l = l.map_err(|e| format!("{shown}:{line}: {}", crate::io_reason(&e)))?;
            let t = l.trim();
            if t.is_empty() || t.starts_with("//") {
                continue;
            }
            let v: Value = serde_json::from_str(t)
                .map_err(|e| format!("{shown}:{line}: not a JSON record: {e}"))?;
            let Value::Object(obj) = v else {
                return Err(format!(
                    "{shown}:{line}: a ledger record must be a JSON object"
                ));
            };
            push(record(&obj).map_err(|e| format!("{shown}:{line}: {e}"))?);
        }
    }
    Ok(out)
}

fn csv_object(
    headers: &csv::StringRecord,
    row: &csv::StringRecord,
) -> Result<Map<String, Value>, String> {
    let mut obj = Map::new();
    for (h, cell) in headers.iter().zip(row.iter()) {
        let h = h.trim();
        if cell.is_empty() {
            continue;
        }
        let v = match h {
            "platforms" | "tags" => Value::Array(
                cell.split('|')
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.into()))
                    .collect(),
            ),
            "audience" if cell == "all" => Value::String(cell.into()),
            "audience" | "extras" | "receivers_by_channel" => serde_json::from_str(cell)
                .map_err(|e| format!("column `{h}` must hold JSON: {e}"))?,
            "scheduled" if cell == "true" || cell == "false" => Value::Bool(cell == "true"),
            "collapse_id" | "msg_id" if cell.bytes().all(|b| b.is_ascii_digit()) => cell
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or(Value::String(cell.into())),
            _ => Value::String(cell.into()),
        };
        obj.insert(h.to_string(), v);
    }
    Ok(obj)
}

fn record(obj: &Map<String, Value>) -> Result<SeedMessage, String> {
    let (provider, id) = match (obj.get("msg_id"), obj.get("push_id")) {
        (Some(_), Some(_)) => {
            return Err(
                "a record has either `msg_id` (JPush) or `push_id` (TPNS), not both".into(),
            );
        }
        (Some(v), None) => {
            let id = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            }
            .filter(|n| *n > 0)
            .ok_or("`msg_id` must be a positive integer (as a JSON string or integer)")?;
            (Provider::Jpush, id.to_string())
        }
        (None, Some(v)) => {
            let id = match v {
                Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
                Value::Number(n) if n.is_u64() => n.to_string(),
                _ => return Err("`push_id` must be a non-empty string or an integer".into()),
            };
            (Provider::Tpns, id)
        }
        (None, None) => {
            return Err("a record needs `msg_id` (JPush) or `push_id` (TPNS)".into());
        }
    };
    let string = |k: &str| -> Result<Option<String>, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{k}` must be a string")),
        }
    };
    let list = |k: &str| -> Result<Vec<String>, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or(format!("`{k}` must be a list of strings"))
                })
                .collect(),
            Some(Value::String(s)) => Ok(s
                .split('|')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()),
            Some(_) => Err(format!("`{k}` must be a list of strings")),
        }
    };
    let sent_at = match string("sent_at")? {
        None => None,
        Some(s) => Some(s.parse::<Timestamp>().map_err(|e| {
            format!("`sent_at` must be an RFC 3339 time with an offset, found `{s}` ({e})")
        })?),
    };
    let mut rec = SeedMessage {
        provider,
        id,
        sent_at,
        platforms: list("platforms")?,
        tags: list("tags")?,
        title: string("title")?,
        body: string("body")?,
        audience: obj.get("audience").filter(|v| !v.is_null()).cloned(),
        apns_collapse_id: None,
        audience_type: None,
        collapse_id: None,
        scheduled: Scheduled::No,
    };
    match provider {
        Provider::Jpush => {
            rec.apns_collapse_id = string("apns_collapse_id")?.filter(|s| !s.is_empty());
        }
        Provider::Tpns => {
            rec.audience_type = string("audience_type")?;
            if let Some(Value::String(s)) = &rec.audience {
                // CSV `all` / an empty targeting string: no targeting fields.
                if s == "all" || s.is_empty() {
                    rec.audience = None;
                }
            }
            rec.collapse_id = match obj.get("collapse_id") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or("`collapse_id` must be an unsigned 32-bit integer")?,
                ),
            };
            rec.scheduled = match obj.get("scheduled") {
                None | Some(Value::Null) | Some(Value::Bool(false)) => Scheduled::No,
                Some(Value::Bool(true)) => Scheduled::Yes,
                Some(Value::String(s)) => match s.trim() {
                    "false" | "" => Scheduled::No,
                    "true" => Scheduled::Yes,
                    t => Scheduled::At(t.parse::<Timestamp>().map_err(|_| {
                        format!("`scheduled` must be true, false or an RFC 3339 time, found `{t}`")
                    })?),
                },
                Some(_) => return Err("`scheduled` must be true, false or an RFC 3339 time".into()),
            };
        }
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(p: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
    }

    #[test]
    fn loads_the_example_ledgers() {
        let j = load_ledger(&repo("ledgers/jpush-sends.jsonl")).unwrap();
        assert!(!j.is_empty());
        assert!(j.iter().all(|m| m.provider == Provider::Jpush));
        assert_eq!(j[0].id, "67554224848000060");
        assert_eq!(j[1].apns_collapse_id.as_deref(), Some("price-alert-1"));

        let t = load_ledger(&repo("ledgers/tpns-tasks.jsonl")).unwrap();
        assert!(t.iter().all(|m| m.provider == Provider::Tpns));
        assert_eq!(t[0].collapse_id, Some(1000));
        assert!(t.iter().any(|m| m.collapse_id.is_none()));

        let c = load_ledger(&repo("ledgers/tpns-scheduled.csv")).unwrap();
        assert_eq!(c.len(), 6);
        assert_eq!(c[0].id, "4100000001");
        assert_eq!(c[0].platforms, ["android", "ios"]);
        assert!(matches!(c[0].scheduled, Scheduled::At(_)));
        assert_eq!(c[5].scheduled, Scheduled::No);
        assert_eq!(c[1].audience_type.as_deref(), Some("all"));
        assert_eq!(c[1].audience, None);
        assert!(c[0].audience.as_ref().unwrap().get("tag_rules").is_some());
        assert_eq!(c[3].collapse_id, Some(504));
    }

    #[test]
    fn errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("pushfix-sbx-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.jsonl");
        std::fs::write(&p, "{\"msg_id\":\"1\"}\n\n{\"msg_id\":1.5}\n").unwrap();
        let e = load_ledger(&p).unwrap_err();
        assert!(e.contains("bad.jsonl:3:"), "{e}");
        std::fs::write(&p, "{\"title\":\"x\"}\n").unwrap();
        assert!(load_ledger(&p).unwrap_err().contains(":1: a record needs"));
        let c = dir.join("bad.csv");
        std::fs::write(&c, "push_id,sent_at\n1,yesterday\n").unwrap();
        assert!(load_ledger(&c).unwrap_err().contains("bad.csv:2:"));
    }
}
