//! CSV ledgers: the same columns as JSON Lines (lists `|`-separated, objects as JSON text);
//! each row becomes a JSON record and takes the JSON path, with errors pointed at its cell.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value};

use super::ScanCtx;
use super::locate::strip_json_position;
use crate::diag::{Diagnostic, Span};
use crate::provider::{FieldKind, LedgerField};

impl ScanCtx<'_> {
    pub(super) fn read_csv<R: Read>(&mut self, reader: &mut R) {
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
        let schedule = self.provider.schedule_id_field();
        if !headers.iter().any(|h| h == own || Some(h) == schedule) {
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
}

/// Columns holding lists (`a|b`) and JSON values in CSV ledgers.
pub(super) const CSV_LIST_COLUMNS: &[&str] = &["platforms", "tags"];
pub(super) const CSV_JSON_COLUMNS: &[&str] = &["extras", "audience", "receivers_by_channel"];

pub(super) fn csv_to_json<'h>(
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
                FieldKind::Schedule | FieldKind::Bool if cell == "true" || cell == "false" => {
                    Value::Bool(cell == "true")
                }
                FieldKind::U32
                | FieldKind::Uint
                | FieldKind::UintOneOf(_)
                | FieldKind::UintMax(_) => cell
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(cell.into())),
                FieldKind::Object => serde_json::from_str(cell).map_err(|e| {
                    let pos = format!(" (at character {} of the cell)", e.column());
                    (
                        h,
                        format!(
                            "column `{h}` must hold JSON: {}{pos}",
                            strip_json_position(&e.to_string())
                        ),
                    )
                })?,
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
pub(super) fn csv_cell_span(raw: &str, index: usize) -> Option<(u32, u32)> {
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
pub(super) fn line_at(path: &Path, byte: u64) -> Option<String> {
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
