//! A selected record checked in full: the common fields, the provider's own
//! (`Provider::ledger_fields`), and the channels its receivers are counted on.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::locate::json_kind;
use super::{LedgerRecord, ScanCtx};
use crate::diag::did_you_mean;
use crate::domain::{Fact, Facts, MsgId, Platform, Scheduled};
use crate::provider::{FieldKind, LedgerField, Provider};

impl ScanCtx<'_> {
    /// Check a selected record in full.
    pub(super) fn record(
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
            Some(s) => Some(crate::domain::parse_instant(&s).map_err(|_| {
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
        // Tags select records (the probe reads them); here they are only checked.
        match raw.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                if !items.iter().all(Value::is_string) {
                    return Err(("tags", "`tags` entries must be strings".to_string()));
                }
            }
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
            Some(v @ Value::Object(_)) => Some(self.shared_audience(v)),
            Some(v @ Value::String(s)) if s == "all" && p.audience_may_be_all() => {
                Some(self.shared_audience(v))
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
            title,
            body,
            audience,
            facts,
            receivers_by_channel: None,
            raw: Box::from(""),
        };
        rec.receivers_by_channel = match raw.get("receivers_by_channel") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                let mut out = Vec::with_capacity(m.len());
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
                    out.push((ch.as_str(), n));
                }
                Some(out.into_iter().collect())
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
        if self.keep_raw {
            let mut raw = raw;
            raw.insert("id".into(), Value::String(rec.id.to_string()));
            rec.raw = serde_json::to_string(&raw).unwrap_or_default().into();
        }
        Ok(rec)
    }

    /// The record's audience, shared with the records that have the same one.
    fn shared_audience(&self, v: &Value) -> Arc<Value> {
        let key = v.to_string();
        self.audiences
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| Arc::new(v.clone()))
            .clone()
    }

    pub(super) fn all_platforms(&self) -> Vec<Platform> {
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
pub(super) fn fact(
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
        FieldKind::Uint => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
            .map(|n| Some(Fact::Uint(n)))
            .ok_or((name, format!("`{name}` must be an unsigned integer"))),
        FieldKind::UintOneOf(options) => {
            let n = value
                .as_u64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                Some(n) if options.contains(&n) => Ok(Some(Fact::Uint(n))),
                _ => Err((
                    name,
                    format!(
                        "`{name}` must be one of {}",
                        options
                            .iter()
                            .map(|o| o.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
        FieldKind::UintMax(max) => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|n| *n <= max)
            .map(|n| Some(Fact::Uint(n)))
            .ok_or((
                name,
                format!("`{name}` must be an unsigned integer of at most {max}"),
            )),
        FieldKind::Object => match value {
            Value::Object(_) => Ok(Some(Fact::Json(value.clone()))),
            v => Err((
                name,
                format!("`{name}` must be an object, found {}", json_kind(v)),
            )),
        },
        FieldKind::Bool => match value {
            Value::Bool(b) => Ok(Some(Fact::Json(Value::Bool(*b)))),
            v => Err((
                name,
                format!("`{name}` must be true or false, found {}", json_kind(v)),
            )),
        },
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
