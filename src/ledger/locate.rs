//! Where in a record's line a problem is: columns of fields and values, for diagnostics.

use serde_json::Value;

/// Where in a record line an error about `field` belongs: at the first `token` the message
/// quotes (a bad channel or platform name) when it appears inside that field, else at the field.
pub(super) fn locate_in_record(text: &str, field: &str, msg: &str) -> (u32, u32) {
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
pub(super) fn find_value(text: &str, field: &str) -> (u32, u32) {
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
pub(super) fn raw_value(text: &str, field: &str) -> Option<String> {
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
pub(super) fn strip_json_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

/// Column and width of `"field"` in a JSON line, to point at the offending field.
pub(super) fn find_field(text: &str, field: &str) -> (u32, u32) {
    let needle = format!("\"{field}\"");
    match text.find(&needle) {
        Some(i) => (
            text[..i].chars().count() as u32 + 1,
            needle.chars().count() as u32,
        ),
        None => (1, 1),
    }
}

pub(super) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
