//! JPush verification (docs/verification.md), through the Report API on report.jpush.cn (same
//! Basic auth): the received counts of each message per channel group (`GET
//! /v3/received/detail`, up to 100 msg_ids a request) read twice, an observation window apart,
//! and for recalls the delivery status of the ledger's sample devices (`POST
//! /v3/status/message`, `sample_registration_ids`).
//!
//! What the counts can prove: that a correction went out (an override's new message received on
//! the channels it replaces the original on), and that a correction did not stop delivery (the
//! original still received after it). What they cannot: that a notification was removed from a
//! device. So a recall is never `verified`, only `not_effective` or `unknown`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::REPORT_FAMILY;
use super::requests::{self, MAX_RECEIVED_IDS, MAX_STATUS_IDS};
use crate::domain::{Action, Rate};
use crate::event::VerifyVerdict;
use crate::provider::answer::text_of;
use crate::provider::spec::FamilySpec;
use crate::provider::{CallEnd, Check, Class, Finding, Probes, Verifier};

pub struct JpushVerifier;

/// The Report API's host; a run sent to another endpoint (a sandbox) asks that one.
const REPORT_HOST: &str = "https://report.jpush.cn";

/// The ledger field naming devices to ask about (optional; at most 1000 are asked).
pub const SAMPLE_IDS: &str = "sample_registration_ids";

/// The Report API's free-tier quota (reference/jpush.md §4).
const FAMILY: FamilySpec = FamilySpec {
    family: REPORT_FAMILY,
    quota: Rate::per_minute(2400.0),
    paced_by_limits_rate: false,
};

/// A received count of `/v3/received/detail` and the matrix channels it sums (vendor channels
/// are one figure: `android_pns_received`).
struct Group {
    name: &'static str,
    field: &'static str,
    channels: &'static [&'static str],
}

const GROUPS: &[Group] = &[
    Group {
        name: "jpush",
        field: "jpush_received",
        channels: &["jpush"],
    },
    Group {
        name: "android_pns",
        field: "android_pns_received",
        channels: &[
            "xiaomi",
            "huawei",
            "huawei_legacy",
            "honor",
            "oppo",
            "vivo",
            "meizu",
            "fcm",
        ],
    },
    Group {
        name: "ios_apns",
        field: "ios_apns_received",
        channels: &["apns"],
    },
    Group {
        name: "hmos",
        field: "hmos_hmpns_received",
        channels: &["hmos"],
    },
    Group {
        name: "quickapp",
        field: "quickapp_jpush_received",
        channels: &["quickapp"],
    },
];

/// One message's figures: group -> count (None: null or absent).
type Counts = BTreeMap<&'static str, Option<u64>>;

/// Device statuses of the ledger's samples: registration id -> status (0 delivered, 1 not
/// delivered, 2 not in this app, 3 not a target, 4 system error).
type Statuses = BTreeMap<String, u64>;

#[derive(Default)]
struct Reading {
    at: Option<Timestamp>,
    /// By msg_id; a message missing here was not in the answer.
    counts: HashMap<u64, Counts>,
    /// By msg_id: why its counts could not be read.
    failed: HashMap<u64, String>,
    /// By the check's original msg_id.
    statuses: HashMap<u64, Statuses>,
    status_failed: HashMap<u64, String>,
}

impl Verifier for JpushVerifier {
    fn family(&self) -> FamilySpec {
        FAMILY
    }

    fn base_url(&self, run_base_url: &str) -> String {
        if run_base_url.trim_end_matches('/') == super::DEFAULT_BASE_URL {
            REPORT_HOST.to_string()
        } else {
            // A sandbox (or another endpoint the playbook named) answers the report paths too.
            run_base_url.to_string()
        }
    }

    fn cost(&self, checks: &[Check<'_>]) -> u64 {
        // Deleted schedules are not read (they have no msg_id; see `judge`).
        let ids: usize = checks
            .iter()
            .filter(|c| c.action != Action::CancelScheduled)
            .map(|c| 1 + usize::from(c.action == Action::Override && c.new_id.is_some()))
            .sum();
        let samples = checks
            .iter()
            .filter(|c| c.action == Action::Recall && !samples(c).is_empty())
            .count();
        // Two readings, an observation window apart.
        2 * (ids.div_ceil(MAX_RECEIVED_IDS) + samples) as u64
    }

    fn verify<'a>(
        &'a self,
        probes: &'a dyn Probes,
        checks: &'a [Check<'a>],
        observe: Duration,
    ) -> BoxFuture<'a, ()> {
        run(probes, checks, observe).boxed()
    }

    fn reads_ledger(&self) -> bool {
        true
    }

    fn ledger_problem(&self, record: &Map<String, Value>) -> Option<(&'static str, String)> {
        sample_problem(record.get(SAMPLE_IDS)?).map(|m| (SAMPLE_IDS, m))
    }
}

fn sample_problem(v: &Value) -> Option<String> {
    let items: Vec<&str> = match v {
        Value::Null => return None,
        Value::Array(a) => {
            let mut out = Vec::new();
            for i in a {
                match i.as_str() {
                    Some(s) => out.push(s),
                    None => return Some(format!("`{SAMPLE_IDS}` entries must be strings")),
                }
            }
            out
        }
        Value::String(s) => s.split('|').collect(),
        _ => {
            return Some(format!("`{SAMPLE_IDS}` must be a list of registration ids"));
        }
    };
    if items.len() > MAX_STATUS_IDS {
        return Some(format!(
            "`{SAMPLE_IDS}` has {} registration ids; JPush answers about at most {MAX_STATUS_IDS} a request",
            items.len()
        ));
    }
    items
        .iter()
        .find(|s| {
            let s = s.trim();
            s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_alphanumeric())
        })
        .map(|s| format!("`{}` is not a JPush registration id", s.trim()))
}

/// The check's sample devices (the ledger's, already checked).
fn samples(c: &Check<'_>) -> Vec<String> {
    match c.ledger.and_then(|r| r.get(SAMPLE_IDS)) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .take(MAX_STATUS_IDS)
            .collect(),
        Some(Value::String(s)) => s
            .split('|')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .take(MAX_STATUS_IDS)
            .collect(),
        _ => Vec::new(),
    }
}

/// The day the original was sent, in Beijing time (`date` of status/message).
fn sent_date(c: &Check<'_>) -> Option<String> {
    let sent = c
        .target
        .original
        .as_ref()
        .and_then(|o| o.sent_at)
        .or_else(|| {
            c.ledger
                .and_then(|r| r.get("sent_at"))
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Timestamp>().ok())
        })?;
    let beijing = jiff::tz::TimeZone::fixed(jiff::tz::offset(8));
    Some(sent.to_zoned(beijing).date().to_string())
}

fn msg_id(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|n| *n > 0)
}

/// The msg_ids to read: every check's original, and an override's new message.
fn ids_of(checks: &[Check<'_>]) -> Vec<u64> {
    let mut ids = Vec::new();
    for c in checks {
        ids.extend(msg_id(&c.target.id));
        if c.action == Action::Override {
            ids.extend(c.new_id.and_then(msg_id));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Read the counts of `ids` and the sample statuses of the recalls; false when interrupted.
async fn read(probes: &dyn Probes, checks: &[Check<'_>], ids: &[u64], r: &mut Reading) -> bool {
    for chunk in ids.chunks(MAX_RECEIVED_IDS) {
        let spec = requests::received_detail(chunk);
        match probes.call(&spec, chunk.len() as u64).await {
            CallEnd::Answered(Class::Done(d)) => {
                for item in d
                    .data
                    .as_ref()
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(id) = item
                        .get("msg_id")
                        .and_then(text_of)
                        .and_then(|t| msg_id(&t))
                    else {
                        continue;
                    };
                    let counts = GROUPS
                        .iter()
                        .map(|g| (g.name, item.get(g.field).and_then(Value::as_u64)))
                        .collect();
                    r.counts.insert(id, counts);
                }
            }
            CallEnd::Interrupted { .. } => return false,
            other => {
                let why = end_text(&other);
                for id in chunk {
                    r.failed.insert(*id, why.clone());
                }
            }
        }
    }
    for c in checks.iter().filter(|c| c.action == Action::Recall) {
        let (Some(id), ids) = (msg_id(&c.target.id), samples(c)) else {
            continue;
        };
        if ids.is_empty() {
            continue;
        }
        let spec = requests::status_message(id, &ids, sent_date(c).as_deref());
        match probes.call(&spec, 1).await {
            CallEnd::Answered(Class::Done(d)) => {
                let s: Statuses = d
                    .data
                    .as_ref()
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.clone(), v.get("status")?.as_u64()?)))
                    .collect();
                r.statuses.insert(id, s);
            }
            CallEnd::Interrupted { .. } => return false,
            other => {
                r.status_failed.insert(id, end_text(&other));
            }
        }
    }
    r.at = Some(Timestamp::now());
    true
}

fn end_text(end: &CallEnd) -> String {
    match end {
        CallEnd::Answered(c) => {
            let code = c.code().map(|c| format!("{c} ")).unwrap_or_default();
            format!("{code}{}", c.message().unwrap_or(c.name()))
        }
        CallEnd::GaveUp(why) => why.clone(),
        CallEnd::Interrupted { .. } => "interrupted".into(),
    }
}

async fn run(probes: &dyn Probes, checks: &[Check<'_>], observe: Duration) {
    // Deleted schedules have nothing to read: settled at once, without waiting the window.
    if checks.iter().all(|c| c.action == Action::CancelScheduled) {
        for c in checks {
            if let Ok(f) = judge(c, &Reading::default(), &Reading::default(), observe) {
                probes.found(c, f);
            }
        }
        return;
    }
    let ids = ids_of(checks);
    let mut first = Reading::default();
    if !read(probes, checks, &ids, &mut first).await {
        return missed_all(probes, checks, "interrupted before the first reading");
    }
    let second = if observe.is_zero() {
        None
    } else {
        if !probes.wait(observe).await {
            return missed_all(probes, checks, "interrupted during the observation window");
        }
        let mut second = Reading::default();
        if !read(probes, checks, &ids, &mut second).await {
            return missed_all(probes, checks, "interrupted before the second reading");
        }
        Some(second)
    };
    let second = second.as_ref().unwrap_or(&first);
    for c in checks {
        match judge(c, &first, second, observe) {
            Ok(f) => probes.found(c, f),
            Err(why) => probes.missed(c, why),
        }
    }
}

fn missed_all(probes: &dyn Probes, checks: &[Check<'_>], why: &str) {
    for c in checks {
        probes.missed(c, why.to_string());
    }
}

/// A reading's counts as evidence: `{"jpush": 2600, "android_pns": null, …}`.
fn counts_json(c: Option<&Counts>) -> Value {
    match c {
        None => Value::Null,
        Some(c) => Value::Object(
            c.iter()
                .map(|(k, v)| (k.to_string(), v.map_or(Value::Null, Value::from)))
                .collect(),
        ),
    }
}

fn has_figures(c: Option<&Counts>) -> bool {
    c.is_some_and(|c| c.values().any(Option::is_some))
}

/// Every channel of the group the original may have reached is one the correction reaches:
/// a change of the group's count can only come from the correction's channels.
fn clean(c: &Check<'_>, g: &Group) -> bool {
    g.channels
        .iter()
        .all(|ch| !c.may_have_reached(ch) || c.reaches(ch))
}

/// Groups whose count went up between the readings.
fn grown(before: Option<&Counts>, after: Option<&Counts>) -> Vec<(&'static str, u64, u64)> {
    let (Some(b), Some(a)) = (before, after) else {
        return Vec::new();
    };
    GROUPS
        .iter()
        .filter_map(|g| {
            match (
                b.get(g.name).copied().flatten(),
                a.get(g.name).copied().flatten(),
            ) {
                (Some(x), Some(y)) if y > x => Some((g.name, x, y)),
                _ => None,
            }
        })
        .collect()
}

fn group(name: &str) -> &'static Group {
    GROUPS.iter().find(|g| g.name == name).unwrap_or(&GROUPS[0])
}

fn words(d: Duration) -> String {
    crate::domain::format_duration(d)
}

fn judge(c: &Check<'_>, a: &Reading, b: &Reading, observe: Duration) -> Result<Finding, String> {
    if c.action == Action::CancelScheduled {
        return Ok(Finding::new(
            VerifyVerdict::Unknown,
            "the Report API counts messages, and a deleted schedule never became one: not checked",
        ));
    }
    let Some(id) = msg_id(&c.target.id) else {
        return Ok(Finding::new(
            VerifyVerdict::Unknown,
            format!("`{}` is not a JPush msg_id", c.target.id),
        ));
    };
    if let Some(why) = a.failed.get(&id).or_else(|| b.failed.get(&id)) {
        return Err(format!("received/detail: {why}"));
    }
    let base = Finding::new(VerifyVerdict::Unknown, "")
        .with("msg_id", json!(id.to_string()))
        .with("first_reading_at", json!(a.at.map(|t| t.to_string())))
        .with("second_reading_at", json!(b.at.map(|t| t.to_string())))
        .with("received_first", counts_json(a.counts.get(&id)))
        .with("received_second", counts_json(b.counts.get(&id)));
    match c.action {
        Action::Recall => Ok(recall(c, id, a, b, observe, base)),
        Action::Override => override_(c, id, a, b, observe, base),
        other => Ok(Finding {
            reason: format!("JPush has no report that shows the effect of `{other}`"),
            ..base
        }),
    }
}

fn recall(
    c: &Check<'_>,
    id: u64,
    a: &Reading,
    b: &Reading,
    observe: Duration,
    mut f: Finding,
) -> Finding {
    let (before, after) = (a.counts.get(&id), b.counts.get(&id));
    let grew = grown(before, after);
    let clean_growth: Vec<_> = grew.iter().filter(|(g, _, _)| clean(c, group(g))).collect();
    // Sample devices that received the message between the readings (after the recall).
    let (sa, sb) = (a.statuses.get(&id), b.statuses.get(&id));
    let mut during: Vec<String> = Vec::new();
    if let (Some(sa), Some(sb)) = (sa, sb) {
        let count = |s: &Statuses, v: u64| s.values().filter(|x| **x == v).count();
        during = sa
            .iter()
            .filter(|(r, st)| **st == 1 && sb.get(*r) == Some(&0))
            .map(|(r, _)| r.clone())
            .collect();
        f = f.with(
            "sample_devices",
            json!({
                "asked": sa.len(),
                "delivered_first": count(sa, 0),
                "not_delivered_first": count(sa, 1),
                "delivered_second": count(sb, 0),
                "not_delivered_second": count(sb, 1),
                "not_in_app": count(sb, 2),
                "not_targeted": count(sb, 3),
                "delivered_between_readings": during.iter().take(10).collect::<Vec<_>>(),
            }),
        );
    } else if let Some(why) = a
        .status_failed
        .get(&id)
        .or_else(|| b.status_failed.get(&id))
    {
        f = f.with("sample_devices_error", json!(why));
    }
    let all_clean = GROUPS.iter().all(|g| clean(c, g));
    let watched = words(observe);
    if !clean_growth.is_empty() {
        let what: Vec<String> = clean_growth
            .iter()
            .map(|(g, x, y)| format!("{g} {x} → {y}"))
            .collect();
        f.verdict = VerifyVerdict::NotEffective;
        f.reason = format!(
            "delivery went on after the recall: JPush counted more receipts in the {watched} watched ({})",
            what.join(", ")
        );
        return f;
    }
    if !during.is_empty() && all_clean {
        f.verdict = VerifyVerdict::NotEffective;
        f.reason = format!(
            "delivery went on after the recall: {} sample device(s) received it in the {watched} watched",
            during.len()
        );
        return f;
    }
    f.reason = if !has_figures(before) && !has_figures(after) {
        "JPush has no delivery figures for the message (it keeps 28 days; the message may not be counted yet)".into()
    } else if !grew.is_empty() || !during.is_empty() {
        let other: Vec<&str> = GROUPS
            .iter()
            .filter(|g| !clean(c, g))
            .flat_map(|g| g.channels.iter().copied())
            .filter(|ch| c.may_have_reached(ch) && !c.reaches(ch))
            .collect();
        format!(
            "receipts grew, but on channels that also carry ones recall does not reach ({}): cannot tell",
            other.join(", ")
        )
    } else if observe.is_zero() {
        "one reading only (no observation window): JPush cannot show a recall took effect".into()
    } else {
        format!(
            "no receipt was added in the {watched} watched, but JPush reports no removal from devices: no API shows a recall took effect"
        )
    };
    f
}

fn override_(
    c: &Check<'_>,
    id: u64,
    a: &Reading,
    b: &Reading,
    observe: Duration,
    mut f: Finding,
) -> Result<Finding, String> {
    let Some(new) = c.new_id.and_then(msg_id) else {
        f.reason = "the run recorded no msg_id for the correction: nothing to look up".into();
        return Ok(f);
    };
    if let Some(why) = a.failed.get(&new).or_else(|| b.failed.get(&new)) {
        return Err(format!("received/detail: {why}"));
    }
    let new_counts = b.counts.get(&new);
    f = f
        .with("new_msg_id", json!(new.to_string()))
        .with("new_received", counts_json(new_counts));
    // The original should stop being delivered where the override replaces it.
    let orig_growth: Vec<String> = grown(a.counts.get(&id), b.counts.get(&id))
        .iter()
        .filter(|(g, _, _)| clean(c, group(g)))
        .map(|(g, x, y)| format!("{g} {x} → {y}"))
        .collect();
    if !orig_growth.is_empty() {
        f.verdict = VerifyVerdict::NotEffective;
        f.reason = format!(
            "the original was still delivered after the override ({})",
            orig_growth.join(", ")
        );
        return Ok(f);
    }
    // The groups where the correction should have been received: a channel it reaches that the
    // original went out on.
    let expected: Vec<&Group> = GROUPS
        .iter()
        .filter(|g| {
            g.channels
                .iter()
                .any(|ch| c.reaches(ch) && c.may_have_reached(ch))
        })
        .collect();
    if expected.is_empty() {
        f.reason =
            "the override reaches no channel the original went out on: nothing to expect".into();
        return Ok(f);
    }
    let received = |g: &Group| {
        new_counts
            .and_then(|n| n.get(g.name).copied().flatten())
            .unwrap_or(0)
    };
    let positive: Vec<&str> = expected
        .iter()
        .filter(|g| received(g) > 0)
        .map(|g| g.name)
        .collect();
    let missing: Vec<&str> = expected
        .iter()
        .filter(|g| received(g) == 0)
        .map(|g| g.name)
        .collect();
    // Every reached channel of the original has a receiver count in the ledger: a group with
    // none of the correction's receipts is a shortfall, not a channel without users.
    let counted = expected.iter().all(|g| {
        g.channels
            .iter()
            .filter(|ch| c.reaches(ch) && c.may_have_reached(ch))
            .all(|ch| c.receivers(ch).is_some())
    });
    let since =
        b.at.map(|t| t.duration_since(c.corrected_at))
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or_default();
    if counted {
        if missing.is_empty() {
            f.verdict = VerifyVerdict::Verified;
            f.reason = format!(
                "JPush counted receipts of the correction on every channel group it replaces the original on ({})",
                positive.join(", ")
            );
        } else if positive.is_empty() {
            let originally: u64 = expected
                .iter()
                .flat_map(|g| g.channels.iter())
                .filter(|ch| c.reaches(ch))
                .filter_map(|ch| c.receivers(ch))
                .sum();
            if since >= observe {
                f.verdict = VerifyVerdict::NotEffective;
                f.reason = format!(
                    "JPush counted no receipt of the correction {} after it was sent, on channels where the original reached {originally} receivers ({})",
                    words(since),
                    missing.join(", ")
                );
            } else {
                f.reason = format!(
                    "no receipt of the correction counted yet, {} after it was sent",
                    words(since)
                );
            }
        } else {
            f.reason = format!(
                "the correction was received on {} but not yet on {}",
                positive.join(", "),
                missing.join(", ")
            );
        }
    } else if !positive.is_empty() {
        f.verdict = VerifyVerdict::Verified;
        f.reason = format!(
            "JPush counted receipts of the correction on {} (the ledger gives no receivers per channel, so no more is expected)",
            positive.join(", ")
        );
    } else {
        f.reason = "no receipt of the correction counted, and the ledger gives no receivers per channel to expect any".into();
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Disposition, Verdict};
    use crate::target::PlanTarget;

    fn target(id: &str, reached: &[&str]) -> PlanTarget {
        PlanTarget {
            id: id.into(),
            verdict: Verdict::WillRun,
            reason: None,
            not_reached: Default::default(),
            reached: reached
                .iter()
                .map(|s| std::sync::Arc::<str>::from(*s))
                .collect(),
            uncertain: Default::default(),
            disposition: Disposition::Send,
            done_in: None,
            in_ledger: true,
            notes: Default::default(),
            receivers: None,
            original: None,
            message: None,
        }
    }

    fn counts(pairs: &[(&'static str, Option<u64>)]) -> Counts {
        GROUPS
            .iter()
            .map(|g| {
                (
                    g.name,
                    pairs
                        .iter()
                        .find(|(n, _)| *n == g.name)
                        .and_then(|(_, v)| *v),
                )
            })
            .collect()
    }

    fn reading(at: &str, c: &[(u64, Counts)]) -> Reading {
        Reading {
            at: Some(at.parse().unwrap()),
            counts: c.iter().cloned().collect(),
            ..Reading::default()
        }
    }

    fn check<'a>(
        t: &'a PlanTarget,
        action: Action,
        new_id: Option<&'a str>,
        channels: &'a crate::domain::ChannelMap<Option<u64>>,
    ) -> Check<'a> {
        Check {
            step: "s",
            action,
            target: t,
            new_id,
            corrected_at: "2026-11-21T00:00:00Z".parse().unwrap(),
            channels: Some(channels),
            ledger: None,
        }
    }

    const A: &str = "2026-11-21T00:00:01Z";
    const B: &str = "2026-11-21T00:01:01Z";
    const W: Duration = Duration::from_secs(60);

    #[test]
    fn a_recall_is_never_verified_and_growth_on_its_channels_is_not_effective() {
        let t = target("11", &["jpush", "xiaomi", "vivo"]);
        let ch: crate::domain::ChannelMap<Option<u64>> =
            [("jpush", Some(5000)), ("huawei", Some(100))]
                .into_iter()
                .collect();
        let c = check(&t, Action::Recall, None, &ch);
        let a = reading(
            A,
            &[(
                11,
                counts(&[("jpush", Some(2500)), ("android_pns", Some(50))]),
            )],
        );
        let same = reading(
            B,
            &[(
                11,
                counts(&[("jpush", Some(2500)), ("android_pns", Some(50))]),
            )],
        );
        let f = judge(&c, &a, &same, W).unwrap();
        assert_eq!(f.verdict, VerifyVerdict::Unknown, "{}", f.reason);
        let more = reading(
            B,
            &[(
                11,
                counts(&[("jpush", Some(2600)), ("android_pns", Some(50))]),
            )],
        );
        let f = judge(&c, &a, &more, W).unwrap();
        assert_eq!(f.verdict, VerifyVerdict::NotEffective, "{}", f.reason);
        assert!(f.reason.contains("jpush 2500 → 2600"), "{}", f.reason);
        // Vendor receipts grow on huawei, which recall does not reach: no verdict from it.
        let vendor = reading(
            B,
            &[(
                11,
                counts(&[("jpush", Some(2500)), ("android_pns", Some(80))]),
            )],
        );
        let f = judge(&c, &a, &vendor, W).unwrap();
        assert_eq!(f.verdict, VerifyVerdict::Unknown, "{}", f.reason);
        assert!(f.reason.contains("huawei"), "{}", f.reason);
    }

    #[test]
    fn sample_devices_delivered_after_a_recall() {
        let t = target("11", &["jpush", "xiaomi", "vivo"]);
        let ch: crate::domain::ChannelMap<Option<u64>> =
            [("jpush", Some(10))].into_iter().collect();
        let c = check(&t, Action::Recall, None, &ch);
        let flat = counts(&[("jpush", Some(5))]);
        let mut a = reading(A, &[(11, flat.clone())]);
        let mut b = reading(B, &[(11, flat)]);
        a.statuses
            .insert(11, [("r1".into(), 1), ("r2".into(), 0)].into());
        b.statuses
            .insert(11, [("r1".into(), 0), ("r2".into(), 0)].into());
        let f = judge(&c, &a, &b, W).unwrap();
        assert_eq!(f.verdict, VerifyVerdict::NotEffective, "{}", f.reason);
        assert_eq!(
            f.evidence["sample_devices"]["delivered_between_readings"],
            json!(["r1"])
        );
    }

    #[test]
    fn an_override_is_verified_by_the_new_message_on_every_expected_group() {
        let t = target("11", &["jpush", "xiaomi", "huawei"]);
        let ch: crate::domain::ChannelMap<Option<u64>> = [
            ("jpush", Some(5000)),
            ("xiaomi", Some(300)),
            ("vivo", Some(200)),
        ]
        .into_iter()
        .collect();
        let c = check(&t, Action::Override, Some("99"), &ch);
        let orig = counts(&[("jpush", Some(5000)), ("android_pns", Some(500))]);
        let a = reading(
            A,
            &[(11, orig.clone()), (99, counts(&[("jpush", Some(2000))]))],
        );
        let b = reading(
            B,
            &[
                (11, orig.clone()),
                (
                    99,
                    counts(&[("jpush", Some(2500)), ("android_pns", Some(150))]),
                ),
            ],
        );
        let f = judge(&c, &a, &b, W).unwrap();
        assert_eq!(f.verdict, VerifyVerdict::Verified, "{}", f.reason);
        // Nothing of the correction anywhere, a minute after: not effective.
        let none = reading(B, &[(11, orig.clone())]);
        let f = judge(&c, &a, &none, W).unwrap();
        assert_eq!(f.verdict, VerifyVerdict::NotEffective, "{}", f.reason);
        // Received on one group only: cannot tell yet.
        let part = reading(
            B,
            &[(11, orig.clone()), (99, counts(&[("jpush", Some(9))]))],
        );
        assert_eq!(
            judge(&c, &a, &part, W).unwrap().verdict,
            VerifyVerdict::Unknown
        );
        // The original kept growing on the JPush channel, which the override replaces.
        let grew = reading(
            B,
            &[
                (
                    11,
                    counts(&[("jpush", Some(5100)), ("android_pns", Some(500))]),
                ),
                (
                    99,
                    counts(&[("jpush", Some(2500)), ("android_pns", Some(150))]),
                ),
            ],
        );
        assert_eq!(
            judge(&c, &a, &grew, W).unwrap().verdict,
            VerifyVerdict::NotEffective
        );
    }

    #[test]
    fn without_receiver_counts_an_empty_override_is_unknown() {
        let t = target("11", &["jpush"]);
        let ch: crate::domain::ChannelMap<Option<u64>> = [("jpush", None)].into_iter().collect();
        let c = check(&t, Action::Override, Some("99"), &ch);
        let a = reading(A, &[]);
        let b = reading(B, &[(99, counts(&[("jpush", Some(0))]))]);
        assert_eq!(
            judge(&c, &a, &b, W).unwrap().verdict,
            VerifyVerdict::Unknown
        );
        let b = reading(B, &[(99, counts(&[("jpush", Some(3))]))]);
        assert_eq!(
            judge(&c, &a, &b, W).unwrap().verdict,
            VerifyVerdict::Verified
        );
    }

    #[test]
    fn samples_are_checked() {
        assert!(sample_problem(&json!(["1507bfd3f710de7a40a"])).is_none());
        assert!(sample_problem(&json!("a1|b2")).is_none());
        assert!(sample_problem(&json!([1])).is_some());
        assert!(sample_problem(&json!(["a b"])).is_some());
        assert!(sample_problem(&json!({"a": 1})).is_some());
        let many: Vec<String> = (0..1001).map(|i| format!("r{i}")).collect();
        assert!(sample_problem(&json!(many)).is_some());
    }

    #[test]
    fn deleted_schedules_cost_nothing_and_stay_unknown() {
        let t = target("0eac1b80-c2ac-4b69-948b-c65b34b96512", &["jpush"]);
        let ch: crate::domain::ChannelMap<Option<u64>> = [("jpush", None)].into_iter().collect();
        let c = check(&t, Action::CancelScheduled, None, &ch);
        assert_eq!(JpushVerifier.cost(&[c]), 0);
        let f = judge(&c, &Reading::default(), &Reading::default(), W).unwrap();
        assert_eq!(f.verdict, VerifyVerdict::Unknown);
        assert!(f.reason.contains("schedule"), "{}", f.reason);
    }

    #[test]
    fn report_host_unless_another_endpoint() {
        let v = JpushVerifier;
        assert_eq!(
            v.base_url("https://api.jpush.cn"),
            "https://report.jpush.cn"
        );
        assert_eq!(v.base_url("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }
}
