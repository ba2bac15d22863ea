//! Seeding the sandbox from a ledger (DESIGN §3): JSON Lines or CSV, each record told apart
//! per record by the id field of the provider it belongs to (`msg_id`, `push_id`, …: each
//! provider's `SEED_ID_FIELD`). This reader is deliberately independent of `crate::ledger` (the
//! sandbox is a second implementation) and lenient about fields it does not need.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::PROVIDERS;
use super::message::Scheduled;
use super::provider::Registered;

/// One sent message the sandbox knows about before any request arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedMessage {
    /// The provider's name (`jpush`, `tpns`).
    pub provider: &'static str,
    /// The provider's id of the message (a JPush `msg_id`, a TPNS `push_id`).
    pub id: String,
    /// Missing in the ledger: the sandbox treats the message as sent when the sandbox started.
    pub sent_at: Option<Timestamp>,
    pub platforms: Vec<String>,
    pub tags: Vec<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    /// The original push's targeting, in the provider's own format.
    pub audience: Option<Value>,
    /// For providers with scheduled pushes.
    pub scheduled: Scheduled,
    /// What else the provider read from the record (already checked; its own accessors read
    /// it back).
    pub extra: Map<String, Value>,
}

impl SeedMessage {
    /// The fields every ledger record may have (`sent_at`, `platforms`, `tags`, `title`,
    /// `body`, `audience`), read from `obj`; a provider's `parse_seed` reads its id first and
    /// its own fields after.
    pub(crate) fn read(
        provider: &'static str,
        id: String,
        obj: &Map<String, Value>,
    ) -> Result<SeedMessage, String> {
        let sent_at = match string(obj, "sent_at")? {
            None => None,
            Some(s) => Some(s.parse::<Timestamp>().map_err(|e| {
                format!("`sent_at` must be an RFC 3339 time with an offset, found `{s}` ({e})")
            })?),
        };
        Ok(SeedMessage {
            provider,
            id,
            sent_at,
            platforms: list(obj, "platforms")?,
            tags: list(obj, "tags")?,
            title: string(obj, "title")?,
            body: string(obj, "body")?,
            audience: obj.get("audience").filter(|v| !v.is_null()).cloned(),
            scheduled: Scheduled::No,
            extra: Map::new(),
        })
    }

    /// A message of `provider` sent at `sent_at` with nothing else known (tests build on it).
    #[cfg(test)]
    pub(crate) fn bare(provider: &'static str, id: &str, sent_at: Timestamp) -> SeedMessage {
        SeedMessage {
            provider,
            id: id.to_string(),
            sent_at: Some(sent_at),
            platforms: Vec::new(),
            tags: Vec::new(),
            title: None,
            body: None,
            audience: None,
            scheduled: Scheduled::No,
            extra: Map::new(),
        }
    }
}

/// A string field (absent or null: None).
pub(crate) fn string(obj: &Map<String, Value>, k: &str) -> Result<Option<String>, String> {
    match obj.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{k}` must be a string")),
    }
}

/// A list of strings: a JSON array, or a `|`-separated string (CSV).
fn list(obj: &Map<String, Value>, k: &str) -> Result<Vec<String>, String> {
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

/// A CSV row as a record. Cells stay strings except the columns every ledger shares: lists
/// (`platforms`, `tags`, `|`-separated) and JSON cells (`audience`, `extras`,
/// `receivers_by_channel`). Provider fields that are numbers or booleans in JSON Lines are read
/// from strings as well by their provider.
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
            _ => Value::String(cell.into()),
        };
        obj.insert(h.to_string(), v);
    }
    Ok(obj)
}

/// The record of the one provider whose id field it has.
fn record(obj: &Map<String, Value>) -> Result<SeedMessage, String> {
    let claims: Vec<&dyn Registered> = PROVIDERS
        .iter()
        .copied()
        .filter(|p| {
            std::iter::once(p.seed_id_field())
                .chain(p.seed_more_id_fields().iter().copied())
                .any(|f| obj.contains_key(f))
        })
        .collect();
    match claims.as_slice() {
        [p] => p.parse_seed(obj),
        [] => Err(format!(
            "a record needs {}",
            id_fields(PROVIDERS.iter().copied())
        )),
        several => Err(format!(
            "a record has either {}, not {}",
            id_fields(several.iter().copied()),
            if several.len() == 2 {
                "both"
            } else {
                "several"
            }
        )),
    }
}

/// "`msg_id` (JPush) or `push_id` (TPNS)".
fn id_fields<'a>(providers: impl Iterator<Item = &'a dyn Registered>) -> String {
    let names: Vec<String> = providers
        .flat_map(|p| {
            std::iter::once(p.seed_id_field())
                .chain(p.seed_more_id_fields().iter().copied())
                .map(move |f| format!("`{f}` ({})", p.title()))
        })
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
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
        assert!(j.iter().all(|m| m.provider == "jpush"));
        assert_eq!(j[0].id, "67554224848000060");
        assert_eq!(
            crate::sandbox::jpush::apns_collapse_id(&j[1]).as_deref(),
            Some("price-alert-1")
        );

        let t = load_ledger(&repo("ledgers/tpns-tasks.jsonl")).unwrap();
        assert!(t.iter().all(|m| m.provider == "tpns"));
        assert_eq!(crate::sandbox::tpns::collapse_id(&t[0]), Some(1000));
        assert!(
            t.iter()
                .any(|m| crate::sandbox::tpns::collapse_id(m).is_none())
        );

        let c = load_ledger(&repo("ledgers/tpns-scheduled.csv")).unwrap();
        assert_eq!(c.len(), 6);
        assert_eq!(c[0].id, "4100000001");
        assert_eq!(c[0].platforms, ["android", "ios"]);
        assert!(matches!(c[0].scheduled, Scheduled::At(_)));
        assert_eq!(c[5].scheduled, Scheduled::No);
        assert_eq!(
            crate::sandbox::tpns::audience_type(&c[1]).as_deref(),
            Some("all")
        );
        assert_eq!(c[1].audience, None);
        assert!(c[0].audience.as_ref().unwrap().get("tag_rules").is_some());
        assert_eq!(crate::sandbox::tpns::collapse_id(&c[3]), Some(504));
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
