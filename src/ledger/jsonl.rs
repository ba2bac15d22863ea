//! JSON Lines ledgers: each line probed for what selection needs, selected records parsed in
//! full; every problem located at its line and column.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};

use serde::de;
use serde_json::{Map, Value};

use super::locate::{
    find_field, find_value, json_kind, locate_in_record, raw_value, strip_json_position,
};
use super::probe::{IdValue, ProbeSeed};
use super::{MAX_TAGS, ScanCtx, matches};
use crate::diag::Diagnostic;
use crate::provider;

impl ScanCtx<'_> {
    pub(super) fn read_jsonl<R: Read>(&mut self, reader: &mut R) {
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
            self.lines = line_no;
            // Spreadsheet exports often start with a UTF-8 byte-order mark.
            if line_no == 1 && self.from_start && bytes.starts_with(b"\xEF\xBB\xBF") {
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

    pub(super) fn json_line(&mut self, line_no: u64, text: &str) {
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
            schedule: self.provider.schedule_id_field(),
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
        // A record names a message (`own`) or, where the provider names schedules apart, a
        // schedule; steps select only records of the kind they correct.
        let (raw_id, id_field, is_schedule) = match (probe.id, probe.schedule_id) {
            (Some(id), None) => (Some(id), own, false),
            (None, Some(id)) => (
                Some(id),
                self.provider.schedule_id_field().unwrap_or(own),
                true,
            ),
            (Some(_), Some(_)) => {
                let sched = self.provider.schedule_id_field().unwrap_or(own);
                let (col, width) = find_field(text, sched);
                self.error_with_help(
                    line_no,
                    col,
                    width,
                    text,
                    format!("a ledger record names a message (`{own}`) or a schedule (`{sched}`), not both"),
                    Some(format!(
                        "a schedule has no `{own}` until it fires; write one record per message and one per schedule"
                    )),
                );
                return;
            }
            (None, None) => (None, own, false),
        };
        let Some(raw_id) = raw_id else {
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
        let parsed = if is_schedule {
            self.provider.parse_schedule_id(&id_text)
        } else {
            self.provider.parse_id(&id_text)
        };
        let id = match parsed {
            Ok(id) => id,
            Err(e) => {
                let (col, width) = find_field(text, id_field);
                self.error(line_no, col, width, text, e);
                return;
            }
        };
        self.scan.records_read += 1;
        // A repeat of a text id is known at once (numeric ones at the end): it counts in the
        // ledger's statistics like every record, and selects nothing.
        let repeat = !self.seen.note(&id);
        if repeat {
            self.scan.duplicates += 1;
        }
        let sent_at = match (&probe.sent_at, self.needs_time) {
            (Some(s), true) => match crate::domain::parse_instant(s) {
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
        let tags: &[Cow<str>] = probe.tags.as_deref().unwrap_or_default();
        let stats = &mut self.scan.stats;
        stats.schedules += u64::from(is_schedule);
        if let Some(t) = sent_at {
            stats.oldest = Some(stats.oldest.map_or(t, |o| o.min(t)));
            stats.newest = Some(stats.newest.map_or(t, |n| n.max(t)));
        }
        for tag in tags {
            let room = stats.tags.len() < MAX_TAGS;
            match stats.tags.get_mut(tag.as_ref()) {
                Some(n) => *n += 1,
                None if room => {
                    stats.tags.insert(tag.to_string(), 1);
                }
                None => {}
            }
        }
        if repeat {
            return;
        }
        let platforms: &[Cow<str>] = probe.platforms.as_deref().unwrap_or_default();
        let mut wanted = false;
        let mut hits = std::mem::take(&mut self.hits);
        hits.clear();
        for (i, q) in self.steps.iter().enumerate() {
            let by_id = q.ids.contains(&id);
            let by_filter = q.schedules == is_schedule
                && q.filter
                    .is_some_and(|f| matches(f, q.range, sent_at, tags, platforms));
            if by_filter {
                hits.push(i);
            }
            wanted |= by_id || by_filter;
        }
        // A repeat of a record kept already: the first one is used (it is counted with the
        // other repeats at the end).
        let repeat = wanted && self.scan.records.contains_key(&id);
        if wanted && !repeat {
            for &i in &hits {
                self.scan.matches[i].push(id.clone());
            }
        }
        self.hits = hits;
        if !wanted || repeat {
            return;
        }
        self.seen.kept(&id);
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
    pub(super) fn explain_probe_error(&self, text: &str) -> Option<(&'static str, String)> {
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
}
