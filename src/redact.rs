//! Scrubbing credential-derived strings from everything pushfix writes down (the journal,
//! the reports, the `--events` stream, what it prints), even when a provider echoes them back.
//!
//! Two layers:
//!
//! - **Inside values** ([`Redactor::scrub_value`], [`Redactor::scrub_body`]): a record (or a
//!   provider's JSON answer) is parsed, and every secret is replaced inside every *string*
//!   value, whatever its length: the JSON's structure cannot be damaged, because no JSON text
//!   is edited. pushfix's own identifiers in a record ([`OWN_FIELDS`]: step, target, run id,
//!   …) are left as they are: they come from the playbook and ledger, never from a provider,
//!   and the journal is read back by them. Each secret is also looked for in the forms an
//!   echo may take: JSON's `\/` escape and percent-encoding.
//! - **On text** ([`Redactor::scrub`]): each line the journal and the event stream write is
//!   scrubbed once more, for secrets of [`MIN_TEXT`] characters or more (shorter ones could
//!   match JSON syntax or field names, and the first layer has them).

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Shortest secret the text layer replaces; the value layer has no minimum.
pub const MIN_TEXT: usize = 8;

/// The top-level fields of a journal record that are pushfix's own (from the playbook, the
/// ledger, the clock), never a provider's: not scrubbed, so that a short secret that happens
/// to occur in a step name or a target id cannot change what the journal says.
pub const OWN_FIELDS: &[&str] = &[
    "event",
    "note",
    "at",
    "run_id",
    "playbook_path",
    "playbook_name",
    "playbook_sha256",
    "content_sha256",
    "git_commit",
    "operator",
    "provider",
    "base_url",
    "app",
    "sandbox",
    "as_of",
    "step",
    "action",
    "target",
    "targets",
    "attempt",
    "request",
    "family",
    "outcome",
    "class",
    "status",
    "latency_ms",
    "exit_code",
    "to_send",
    "pause",
];

const MASK: &str = "********";

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Every secret, and the forms it takes when echoed (any length).
    all: Vec<String>,
    /// The forms scrubbed on text, longest first (at least MIN_TEXT characters).
    forms: Vec<String>,
    /// Finders for `all` and `forms`: whether a text holds any of them, in one pass. Built on
    /// first use: the transport makes a redactor whenever a TPNS `Sign` changes (every request)
    /// and asks only one of them.
    all_matcher: OnceLock<Matcher>,
    forms_matcher: OnceLock<Matcher>,
    /// Each of `all` as it appears inside a JSON string (escaped: what a record's text holds
    /// when one of its strings holds a secret), and `forms`: a record's JSON that holds none is
    /// clean for both layers ([`Redactor::clean_json`]).
    checked_forms: Vec<String>,
    checked: OnceLock<Matcher>,
    /// Which secrets this redactor scrubs (see [`Redactor::fingerprint`]).
    fingerprint: u64,
}

/// Whether a text holds any of a set of strings: one automaton, built once, looked for in one
/// pass (every record and answer of a run is checked for every form of every secret: a
/// substring search per form, each building its searcher, was 5% of a run's CPU).
#[derive(Debug, Clone, Default)]
struct Matcher(Option<AhoCorasick>);

/// The matcher in `cell`, built from `patterns` the first time.
fn once<'a>(cell: &'a OnceLock<Matcher>, patterns: &[String]) -> &'a Matcher {
    cell.get_or_init(|| Matcher::new(patterns))
}

impl Matcher {
    fn new(patterns: &[String]) -> Matcher {
        if patterns.is_empty() {
            return Matcher(None);
        }
        // Leftmost-first: whether a text holds any pattern does not depend on which match is
        // reported, and only this kind may use the SIMD (Teddy) searcher: ~25 ns for a record
        // instead of ~400 (the standard kind goes byte by byte after a prefilter).
        // Built from at most a few dozen short strings: it cannot fail (no size limit near).
        Matcher(
            AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(patterns)
                .ok(),
        )
    }

    fn is_match(&self, text: &str) -> bool {
        self.0.as_ref().is_some_and(|m| m.is_match(text))
    }
}

/// `s` as it may come back in an echo: itself, with `/` escaped as JSON allows (`\/`), its
/// JSON-escaped form, and percent-encoded (as in a URL or a form body).
fn forms_of(s: &str) -> Vec<String> {
    let mut out = vec![s.to_string()];
    let json = serde_json::to_string(s).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let slash = json.replace('/', "\\/");
    let pct: String = s
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    for f in [json, slash, pct.clone(), pct.to_lowercase()] {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

impl Redactor {
    pub fn new(secrets: Vec<String>) -> Redactor {
        let mut all: Vec<String> = Vec::new();
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            for f in forms_of(s) {
                if !all.contains(&f) {
                    all.push(f);
                }
            }
        }
        // Longest first, so a secret inside a longer one (the secret in its Basic token's
        // clear text) does not leave the rest of the longer one behind.
        all.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let forms: Vec<String> = all
            .iter()
            .filter(|f| f.chars().count() >= MIN_TEXT)
            .cloned()
            .collect();
        let mut in_json: Vec<String> = Vec::new();
        for f in &all {
            let escaped = serde_json::to_string(f).unwrap_or_default();
            // Without its quotes (serde_json always writes them: at least two bytes).
            let escaped = escaped[1..escaped.len() - 1].to_string();
            if !in_json.contains(&escaped) {
                in_json.push(escaped);
            }
        }
        let mut checked = in_json.clone();
        checked.extend(forms.iter().filter(|f| !in_json.contains(f)).cloned());
        let fingerprint = {
            use std::hash::{Hash, Hasher};
            let mut sorted = all.clone();
            sorted.sort();
            let mut h = rustc_hash::FxHasher::default();
            sorted.hash(&mut h);
            h.finish()
        };
        Redactor {
            all_matcher: OnceLock::new(),
            forms_matcher: OnceLock::new(),
            checked_forms: checked,
            checked: OnceLock::new(),
            fingerprint,
            all,
            forms,
        }
    }

    /// Whether the JSON text `json` is clean for both layers, in one pass: none of its strings
    /// or keys holds a secret, so [`Redactor::scrub_value`] would find nothing (JSON escapes
    /// character by character, so a string holding a secret's form holds its escape), and
    /// [`Redactor::scrub`] would change nothing in its text.
    pub fn clean_json(&self, json: &str) -> bool {
        !once(&self.checked, &self.checked_forms).is_match(json)
    }

    /// The secrets this redactor scrubs, as a number: a sink holding a redactor of the same
    /// fingerprint need not scrub a text another one found clean.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Whether there is anything to scrub.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// `text` with every secret of at least MIN_TEXT characters replaced by `********`.
    pub fn scrub(&self, mut text: String) -> String {
        if !once(&self.forms_matcher, &self.forms).is_match(&text) {
            return text;
        }
        for form in &self.forms {
            if text.contains(form.as_str()) {
                text = text.replace(form.as_str(), MASK);
            }
        }
        text
    }

    /// Whether `text` holds a secret (any length).
    pub fn holds_secret(&self, text: &str) -> bool {
        once(&self.all_matcher, &self.all).is_match(text)
    }

    /// `s` with every secret (any length) replaced, when it holds one.
    pub fn scrub_str(&self, s: &str) -> Option<String> {
        if !self.holds_secret(s) {
            return None;
        }
        let mut out = s.to_string();
        for f in &self.all {
            if out.contains(f.as_str()) {
                out = out.replace(f.as_str(), MASK);
            }
        }
        Some(out)
    }

    /// Scrub every string in `v` (object keys included), except the top-level fields named in
    /// `own`; true when something changed.
    pub fn scrub_json(&self, v: &mut Value, own: &[&str]) -> bool {
        if self.all.is_empty() {
            return false;
        }
        match v {
            Value::Object(map) => {
                let mut changed = false;
                for (k, item) in map.iter_mut() {
                    if !own.contains(&k.as_str()) {
                        changed |= self.scrub_json(item, &[]);
                    }
                }
                // Keys too (a provider's facts), rebuilt in order only when one holds a secret.
                if map
                    .keys()
                    .any(|k| !own.contains(&k.as_str()) && self.holds_secret(k))
                {
                    for (k, item) in std::mem::take(map) {
                        let k = match own.contains(&k.as_str()) {
                            true => k,
                            false => self.scrub_str(&k).unwrap_or(k),
                        };
                        map.insert(k, item);
                    }
                    changed = true;
                }
                changed
            }
            _ => self.scrub_leaf(v),
        }
    }

    fn scrub_leaf(&self, v: &mut Value) -> bool {
        match v {
            Value::String(s) => match self.scrub_str(s) {
                Some(clean) => {
                    *s = clean;
                    true
                }
                None => false,
            },
            Value::Array(items) => {
                let mut changed = false;
                for i in items {
                    changed |= self.scrub_json(i, &[]);
                }
                changed
            }
            _ => false,
        }
    }

    /// `value` with every secret scrubbed inside its string values (its [`OWN_FIELDS`] left
    /// as they are), when it holds one (`None`: it is clean as it is).
    pub fn scrub_value<T: Serialize + DeserializeOwned>(&self, value: &T) -> Option<T> {
        if self.all.is_empty() {
            return None;
        }
        let mut v = serde_json::to_value(value).ok()?;
        if !self.scrub_json(&mut v, OWN_FIELDS) {
            return None;
        }
        serde_json::from_value(v).ok()
    }

    /// A provider's answer body with every secret scrubbed (`None`: clean as it is): inside
    /// the JSON's strings when it is JSON, else on its text.
    pub fn scrub_body(&self, body: &[u8]) -> Option<Vec<u8>> {
        if self.all.is_empty() {
            return None;
        }
        // Without a backslash, JSON's strings are their own text: a body whose text holds no
        // secret has none in any string (nearly every answer), and need not be parsed.
        if !body.contains(&b'\\')
            && let Ok(text) = std::str::from_utf8(body)
            && !self.holds_secret(text)
        {
            return None;
        }
        if let Ok(mut v) = serde_json::from_slice::<Value>(body) {
            if !self.scrub_json(&mut v, &[]) {
                return None;
            }
            return serde_json::to_vec(&v).ok();
        }
        let text = String::from_utf8_lossy(body);
        self.scrub_str(&text).map(String::into_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path of the record scrub: a record whose JSON shows no secret's escaped form
    /// holds none; one that holds any form of a secret in a string or a key always shows it.
    #[test]
    fn a_record_holding_any_form_of_a_secret_shows_it_in_its_json() {
        let secret = "p/a\"ss\\w0rd%";
        let r = Redactor::new(vec![secret.to_string()]);
        for form in forms_of(secret) {
            for v in [
                serde_json::json!({ "message": format!("echo: {form}!") }),
                serde_json::json!({ "facts": { format!("k{form}"): 1 } }),
            ] {
                let json = serde_json::to_string(&v).unwrap();
                assert!(!r.clean_json(&json), "{form:?} in {json}");
                let mut v = v;
                assert!(r.scrub_json(&mut v, &[]), "{form:?}");
            }
        }
        let clean =
            serde_json::to_string(&serde_json::json!({ "message": "nothing here" })).unwrap();
        assert!(r.clean_json(&clean));
    }

    /// A JSON text found clean holds no secret for either layer; fingerprints name the
    /// secrets, whatever their order.
    #[test]
    fn clean_json_covers_both_layers_and_fingerprints_name_the_secrets() {
        let r = Redactor::new(vec!["s3cret/value".into(), "ab\"cdefgh".into()]);
        assert!(r.clean_json(r#"{"x":"nothing here"}"#));
        assert!(!r.clean_json(r#"{"x":"s3cret\/value"}"#), "escaped form");
        assert!(!r.clean_json(r#"{"x":"s3cret/value"}"#));
        // The raw form of a secret with a quote, across the JSON's structure: no string holds
        // it, but the text layer would scrub it, so the text is not clean.
        let text = r#"{"x":"ab"cdefgh"}"#;
        assert_ne!(r.scrub(text.to_string()), text);
        assert!(!r.clean_json(text));
        let same = Redactor::new(vec!["ab\"cdefgh".into(), "s3cret/value".into()]);
        assert_eq!(r.fingerprint(), same.fingerprint());
        assert_ne!(
            r.fingerprint(),
            Redactor::new(vec!["s3cret/value".into()]).fingerprint()
        );
    }

    #[test]
    fn text_layer_scrubs_plain_and_json_escaped_forms_but_not_short_strings() {
        let r = Redactor::new(vec!["s3cret/value\"x".into(), "ab".into()]);
        assert_eq!(
            r.scrub(r#"{"m":"s3cret/value\"x and ab"}"#.into()),
            r#"{"m":"******** and ab"}"#
        );
        assert_eq!(r.scrub("s3cret/value\"x".into()), "********");
    }

    #[test]
    fn value_layer_scrubs_secrets_of_any_length_and_keeps_the_structure() {
        let r = Redactor::new(vec!["k3".into()]);
        let mut v = serde_json::json!({
            "event": "answer", "step": "k3-step", "target": "k3",
            "message": "bad key k3 (k3)", "facts": {"k3": ["xk3x", 7]}, "code": 1003
        });
        assert!(r.scrub_json(&mut v, OWN_FIELDS));
        assert_eq!(
            v,
            serde_json::json!({
                "event": "answer", "step": "k3-step", "target": "k3",
                "message": "bad key ******** (********)", "facts": {"********": ["x********x", 7]},
                "code": 1003
            })
        );
    }

    #[test]
    fn echoes_in_other_forms_are_scrubbed() {
        let sign = "Y2Qy/MDc3+NDY4=";
        let r = Redactor::new(vec![sign.into()]);
        // As a PHP-style JSON escape, percent-encoded, and in a non-JSON body.
        let body = br#"{"err_msg":"sign Y2Qy\/MDc3+NDY4= or Y2Qy%2FMDc3%2BNDY4%3D"}"#;
        let clean = String::from_utf8(r.scrub_body(body).unwrap()).unwrap();
        assert_eq!(clean, r#"{"err_msg":"sign ******** or ********"}"#);
        let html = b"<p>Sign: Y2Qy/MDc3+NDY4=</p>";
        assert_eq!(r.scrub_body(html).unwrap(), b"<p>Sign: ********</p>");
        assert!(r.scrub_body(br#"{"ok":true}"#).is_none());
    }
}
