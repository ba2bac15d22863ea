//! Scrubbing credential-derived strings from everything pushfix writes down (the journal, the
//! `--events` stream), even when a provider echoes them back.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Shortest string scrubbed: replacing shorter ones would mangle the JSON; real keys are 24
/// characters or more.
const MIN_REDACTED: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Each secret as written, and as JSON escapes it inside a string.
    forms: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: Vec<String>) -> Redactor {
        let mut forms = Vec::new();
        for s in secrets.into_iter().filter(|s| s.len() >= MIN_REDACTED) {
            let escaped = serde_json::to_string(&s).unwrap_or_default();
            let escaped = escaped.trim_matches('"').to_string();
            if escaped != s {
                forms.push(escaped);
            }
            forms.push(s);
        }
        Redactor { forms }
    }

    /// `text` with every secret replaced by `********`.
    pub fn scrub(&self, mut text: String) -> String {
        for form in &self.forms {
            if text.contains(form.as_str()) {
                text = text.replace(form.as_str(), "********");
            }
        }
        text
    }
}

impl Redactor {
    /// `value` with every secret scrubbed, when it holds one (`None`: it is clean as it is).
    /// A JSON round trip, so every string field is covered whatever the type.
    pub fn scrub_value<T: Serialize + DeserializeOwned>(&self, value: &T) -> Option<T> {
        if self.forms.is_empty() {
            return None;
        }
        let text = serde_json::to_string(value).ok()?;
        if !self.holds_secret(&text) {
            return None;
        }
        serde_json::from_str(&self.scrub(text)).ok()
    }

    /// Whether `text` holds a secret.
    pub fn holds_secret(&self, text: &str) -> bool {
        self.forms.iter().any(|f| text.contains(f.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_plain_and_json_escaped_forms_but_not_short_strings() {
        let r = Redactor::new(vec!["s3cret/value\"x".into(), "ab".into()]);
        assert_eq!(
            r.scrub(r#"{"m":"s3cret/value\"x and ab"}"#.into()),
            r#"{"m":"******** and ab"}"#
        );
        assert_eq!(r.scrub("s3cret/value\"x".into()), "********");
    }
}
