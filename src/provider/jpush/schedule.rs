//! What the ledger says of a JPush schedule, and what that means for a delete: when it fires
//! for the last time, whether it is disabled or periodical, and whether an answer that reads
//! as a success (deleted, or not there) can be one.
//!
//! The docs do not say what a delete of a schedule that already ran its course answers. The
//! 8100 texts include "has been at term; expired" (read as fired), but JPush might as well
//! forget such a schedule (404 8104, "gone") or delete its record (200): read plainly, both
//! would report a success for pushes that went out. So a success is weighed against the
//! ledger's last firing and the run's clock: a schedule past it (or within [`SKEW`] of it)
//! fired, whatever the answer says.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::{ENABLED, SCHEDULED, TRIGGER};
use crate::event::Outcome;
use crate::provider::Final;
use crate::target::Original;

/// Clocks differ (ours, the ledger's source, JPush's), and JPush starts a schedule's push at
/// its time: a delete answered within this of the last firing may have come too late.
pub const SKEW: SignedDuration = SignedDuration::from_secs(60);

/// When the schedule fires for the last time, by the ledger (`scheduled` as a time).
pub fn last_firing(o: &Original) -> Option<Timestamp> {
    o.facts.get(SCHEDULED)?.as_str()?.parse().ok()
}

/// `enabled: false` in the ledger: it does not fire unless enabled again.
pub fn disabled(o: &Original) -> bool {
    o.facts.get(ENABLED).and_then(Value::as_bool) == Some(false)
}

/// The ledger's `trigger` (the API's own object) is periodical.
pub fn periodical(o: &Original) -> bool {
    o.facts
        .get(TRIGGER)
        .and_then(|t| t.get("periodical"))
        .is_some_and(|p| !p.is_null())
}

/// A delete's final record, weighed against the ledger: `done` or `gone` for a schedule that
/// had fired for the last time by `now` (within [`SKEW`]) is `failed`, saying why. A disabled
/// schedule does not fire, so its answer stands; so does every other outcome.
pub fn weigh(fin: Final, original: Option<&Original>, now: Timestamp) -> Final {
    if !matches!(fin.outcome, Outcome::Done | Outcome::Gone) {
        return fin;
    }
    let Some(o) = original else { return fin };
    let Some(last) = last_firing(o) else {
        return fin;
    };
    if disabled(o) || now + SKEW < last {
        return fin;
    }
    let when = if now >= last {
        format!("fired for the last time at {last}, before this answer (run clock {now:.0})")
    } else {
        format!(
            "fires for the last time at {last}, within a minute of this answer (run clock {now:.0}): JPush may have fired it first"
        )
    };
    let answer = match (fin.outcome, fin.reason.as_deref()) {
        (Outcome::Done, _) => "JPush accepted the delete".to_string(),
        (_, Some(r)) => format!("JPush no longer knows the schedule ({r})"),
        _ => "JPush no longer knows the schedule".to_string(),
    };
    Final {
        outcome: Outcome::Failed,
        reason: Some(format!(
            "{answer}, but by the ledger it {when}: its pushes went out (JPush may {} a schedule that ran its course; the docs do not say), unless an earlier delete (a lost answer, an interrupted run) removed it in time",
            if fin.outcome == Outcome::Done {
                "accept the delete of"
            } else {
                "forget"
            }
        )),
        code: fin.code,
        new_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn original(facts: Value) -> Original {
        Original {
            ledger_line: 1,
            sent_at: None,
            platforms: Vec::new(),
            audience: None,
            facts: facts.as_object().unwrap().clone(),
            push_platforms: Vec::new(),
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const LAST: &str = "2026-11-21T01:00:00Z";

    #[test]
    fn a_success_past_the_last_firing_is_a_failure() {
        let o = original(json!({"scheduled": LAST, "enabled": true}));
        let done = Final::new(Outcome::Done, None);
        let gone = Final {
            code: Some(8104),
            ..Final::new(
                Outcome::Gone,
                Some("Request schedule operation doesn't exist".into()),
            )
        };
        let after = ts("2026-11-21T01:00:01Z");
        let f = weigh(done.clone(), Some(&o), after);
        assert_eq!(f.outcome, Outcome::Failed);
        let r = f.reason.unwrap();
        assert!(
            r.contains("accepted the delete") && r.contains("pushes went out"),
            "{r}"
        );
        let f = weigh(gone.clone(), Some(&o), after);
        assert_eq!((f.outcome, f.code), (Outcome::Failed, Some(8104)));
        assert!(f.reason.unwrap().contains("no longer knows"));
        // Within a minute before: it may have fired first.
        let f = weigh(done.clone(), Some(&o), ts("2026-11-21T00:59:30Z"));
        assert_eq!(f.outcome, Outcome::Failed);
        assert!(f.reason.unwrap().contains("may have fired it first"));
        // Well before: the answer stands.
        assert_eq!(
            weigh(done.clone(), Some(&o), ts("2026-11-21T00:58:59Z")),
            done
        );
        assert_eq!(
            weigh(gone.clone(), Some(&o), ts("2026-11-20T00:00:00Z")),
            gone
        );
    }

    #[test]
    fn disabled_unknown_or_unfinished_answers_stand() {
        let after = ts("2026-11-22T00:00:00Z");
        let done = Final::new(Outcome::Done, None);
        // Disabled: it does not fire.
        let off = original(json!({"scheduled": LAST, "enabled": false}));
        assert_eq!(weigh(done.clone(), Some(&off), after), done);
        // No time in the ledger (`scheduled: true`), or not in the ledger at all.
        let yes = original(json!({"scheduled": true}));
        assert_eq!(weigh(done.clone(), Some(&yes), after), done);
        assert_eq!(weigh(done.clone(), None, after), done);
        // A failure already says what happened.
        let o = original(json!({"scheduled": LAST}));
        let failed = Final::new(Outcome::Failed, Some("8100".into()));
        assert_eq!(weigh(failed.clone(), Some(&o), after), failed);
    }

    #[test]
    fn periodical_from_the_ledger_trigger() {
        assert!(periodical(&original(
            json!({"trigger": {"periodical": {"start": "2026-11-20 00:00:00"}}})
        )));
        assert!(!periodical(&original(
            json!({"trigger": {"single": {"time": "2026-11-20 00:00:00"}}})
        )));
        assert!(!periodical(&original(json!({}))));
    }
}
