//! `where`: filters over the ledger, and whether a record matches one.

use std::time::Duration;

use jiff::Timestamp;

use crate::domain::Platform;

/// Filters over the ledger. All given conditions must hold (AND); within a list, any (OR).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub tags_any: Vec<String>,
    pub tags_all: Vec<String>,
    pub sent_after: Option<Timestamp>,
    pub sent_before: Option<Timestamp>,
    /// Relative to the run's start: sent no earlier than now - d.
    pub sent_within: Option<Duration>,
    /// Relative to the run's start: sent no later than now - d.
    pub older_than: Option<Duration>,
    pub platforms: Vec<Platform>,
}

impl Filter {
    /// The absolute time range this filter selects, given the run's start.
    pub fn time_range(&self, now: Timestamp) -> (Option<Timestamp>, Option<Timestamp>) {
        let lower = match (self.sent_after, self.sent_within) {
            (Some(a), _) => Some(a),
            (None, Some(d)) => now.checked_sub(d).ok(),
            (None, None) => None,
        };
        let upper = match (self.sent_before, self.older_than) {
            (Some(b), _) => Some(b),
            (None, Some(d)) => now.checked_sub(d).ok(),
            (None, None) => None,
        };
        (lower, upper)
    }

    pub fn uses_time(&self) -> bool {
        self.sent_after.is_some()
            || self.sent_before.is_some()
            || self.sent_within.is_some()
            || self.older_than.is_some()
    }
}

/// Does a record match a `where` filter? Lower time bounds are inclusive, upper exclusive.
/// `tags` and `platforms` as the record's probe holds them (borrowed or unescaped strings): no
/// list is built per record to ask.
pub fn matches<S: AsRef<str>>(
    f: &Filter,
    range: (Option<Timestamp>, Option<Timestamp>),
    sent_at: Option<Timestamp>,
    tags: &[S],
    platforms: &[S],
) -> bool {
    let has = |list: &[S], t: &str| list.iter().any(|x| x.as_ref() == t);
    if !f.tags_any.is_empty() && !f.tags_any.iter().any(|t| has(tags, t)) {
        return false;
    }
    if !f.tags_all.is_empty() && !f.tags_all.iter().all(|t| has(tags, t)) {
        return false;
    }
    if !f.platforms.is_empty()
        && !f
            .platforms
            .iter()
            .any(|p| has(platforms, p.as_str()) || has(platforms, "all"))
    {
        return false;
    }
    if range.0.is_some() || range.1.is_some() {
        let Some(t) = sent_at else { return false };
        if range.0.is_some_and(|lo| t < lo) || range.1.is_some_and(|hi| t >= hi) {
            return false;
        }
    }
    true
}
