//! The channel matrix (`matrix.yaml`): which vendor channels each corrective action reaches.
//! Loaded at start from the data file compiled into the binary, and used by the planner to
//! give every target a verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{Action, Platform, ProviderKind};
use crate::domain::{format_duration, parse_duration};

/// The data file, checked into the source tree beside this module.
pub const MATRIX_YAML: &str = include_str!("matrix.yaml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    pub jpush: ProviderMatrix,
    pub tpns: ProviderMatrix,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderMatrix {
    pub channels: Vec<Channel>,
    pub actions: BTreeMap<Action, ActionRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub name: String,
    pub platform: Platform,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRule {
    pub api: String,
    pub summary: String,
    pub reaches: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditional: BTreeMap<String, Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scheduled: bool,
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Reached only when the original push carried an `apns_collapse_id` (≤ 64 bytes).
    OriginalApnsCollapseId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    SentAt,
    Platforms,
    Audience,
    AudienceType,
}

impl Need {
    fn field(self) -> &'static str {
        match self {
            Need::SentAt => "sent_at",
            Need::Platforms => "platforms",
            Need::Audience => "audience",
            Need::AudienceType => "audience_type",
        }
    }
}

impl Matrix {
    /// Parse the built-in data file. It is part of the binary, so a failure is a bug that the
    /// test suite catches; the error still says where.
    pub fn builtin() -> Result<Matrix, String> {
        let m: Matrix =
            serde_saphyr::from_str(MATRIX_YAML).map_err(|e| format!("src/matrix.yaml: {e}"))?;
        m.check()?;
        Ok(m)
    }

    pub fn provider(&self, kind: ProviderKind) -> &ProviderMatrix {
        match kind {
            ProviderKind::Jpush => &self.jpush,
            ProviderKind::Tpns => &self.tpns,
        }
    }

    /// Internal consistency: every channel named in a rule exists, windows parse.
    fn check(&self) -> Result<(), String> {
        for (kind, pm) in [("jpush", &self.jpush), ("tpns", &self.tpns)] {
            for (action, rule) in &pm.actions {
                let named = rule
                    .reaches
                    .iter()
                    .chain(rule.conditional.keys())
                    .chain(rule.notes.keys());
                for ch in named {
                    if pm.channel(ch).is_none() {
                        return Err(format!(
                            "src/matrix.yaml: {kind}.{action} names unknown channel `{ch}`"
                        ));
                    }
                }
                if let Some(w) = &rule.window {
                    parse_duration(w)
                        .map_err(|e| format!("src/matrix.yaml: {kind}.{action}.window: {e}"))?;
                }
            }
        }
        Ok(())
    }
}

impl ProviderMatrix {
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }

    pub fn channel_names(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().map(|c| c.name.as_str())
    }

    pub fn rule(&self, action: Action) -> Option<&ActionRule> {
        self.actions.get(&action)
    }

    fn channels_of(&self, platforms: &[Platform]) -> Vec<&str> {
        self.channels
            .iter()
            .filter(|c| platforms.contains(&c.platform))
            .map(|c| c.name.as_str())
            .collect()
    }
}

impl ActionRule {
    pub fn window(&self) -> Option<Duration> {
        self.window.as_deref().and_then(|w| parse_duration(w).ok())
    }
}

/// The verdict of the matrix for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    WillRun,
    Partial,
    Unsupported,
    Expired,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [
        Verdict::WillRun,
        Verdict::Partial,
        Verdict::Unsupported,
        Verdict::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::WillRun => "will_run",
            Verdict::Partial => "partial",
            Verdict::Unsupported => "unsupported",
            Verdict::Expired => "expired",
        }
    }
}

/// Whether a TPNS task is scheduled, as the ledger says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduled {
    No,
    Yes,
    At(Timestamp),
}

/// What the planner knows about one target.
#[derive(Debug, Clone, Default)]
pub struct TargetFacts<'a> {
    pub in_ledger: bool,
    pub platforms: Option<&'a [Platform]>,
    pub sent_at: Option<Timestamp>,
    pub receivers_by_channel: Option<&'a BTreeMap<String, u64>>,
    /// The collapse id the override would carry to iOS (from the step or the ledger).
    pub apns_collapse_id: Option<&'a str>,
    pub has_audience: bool,
    pub audience_type: Option<&'a str>,
    pub scheduled: Option<Scheduled>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub verdict: Verdict,
    /// Why, when the verdict is not `will_run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Channels this target's receivers are on that the action reaches.
    pub reached: Vec<String>,
    /// Channels it cannot reach, each with why.
    pub not_reached: Vec<(String, String)>,
    /// Caveats that do not change the verdict.
    pub notes: Vec<String>,
    /// (receivers reached, receivers in total) when the ledger has `receivers_by_channel`.
    pub receivers: Option<(u64, u64)>,
    /// The request cannot be built (missing ledger facts): even `force` cannot send it.
    pub impossible: bool,
}

pub const APNS_COLLAPSE_ID_MAX_BYTES: usize = crate::playbook::APNS_COLLAPSE_ID_MAX_BYTES;

impl ProviderMatrix {
    /// The matrix's verdict for one target, as of `now`. Pure.
    pub fn assess(
        &self,
        kind: ProviderKind,
        action: Action,
        facts: &TargetFacts<'_>,
        now: Timestamp,
    ) -> Assessment {
        let mut a = Assessment {
            verdict: Verdict::WillRun,
            reason: None,
            reached: Vec::new(),
            not_reached: Vec::new(),
            notes: Vec::new(),
            receivers: None,
            impossible: false,
        };
        let Some(rule) = self.rule(action) else {
            a.verdict = Verdict::Unsupported;
            a.reason = Some(format!("{} has no {action} action", kind.display_name()));
            a.impossible = true;
            return a;
        };

        // Facts the request itself is built from.
        if !rule.needs.is_empty() {
            if !facts.in_ledger {
                a.verdict = Verdict::Unsupported;
                a.reason = Some(format!(
                    "not in the ledger: {action} needs the original's {} from its ledger record",
                    rule.needs
                        .iter()
                        .map(|n| n.field())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                a.impossible = true;
                return a;
            }
            let missing: Vec<&str> = rule
                .needs
                .iter()
                .filter(|n| match n {
                    Need::SentAt => facts.sent_at.is_none(),
                    Need::Platforms => facts.platforms.is_none_or(|p| p.is_empty()),
                    Need::Audience => !facts.has_audience,
                    Need::AudienceType => facts.audience_type.is_none(),
                })
                .map(|n| n.field())
                .collect();
            if !missing.is_empty() {
                a.verdict = Verdict::Unsupported;
                a.reason = Some(format!(
                    "the ledger record lacks {} needed to build the {action}",
                    missing.join(", ")
                ));
                a.impossible = true;
                return a;
            }
        }

        if let Some(types) = &rule.audience_types {
            match facts.audience_type {
                Some(t) if !types.iter().any(|x| x == t) => {
                    a.verdict = Verdict::Unsupported;
                    a.reason = Some(format!(
                        "TPNS can {} only tasks sent to {}; this task's audience_type is `{t}`",
                        action_verb(action),
                        types.join(", ")
                    ));
                    return a;
                }
                Some(_) => {}
                None => a.notes.push(format!(
                    "audience type unknown (not in the ledger): TPNS accepts {} only for {} tasks",
                    action,
                    types.join(", ")
                )),
            }
        }

        if rule.scheduled {
            match facts.scheduled {
                Some(Scheduled::No) => {
                    a.verdict = Verdict::Unsupported;
                    a.reason = Some("not a scheduled task: there is nothing to cancel (use stop for a dispatched task)".into());
                    return a;
                }
                Some(Scheduled::At(t)) if t <= now => {
                    a.verdict = Verdict::Expired;
                    a.reason = Some(format!(
                        "already dispatched at {t}: only tasks not yet dispatched can be cancelled"
                    ));
                    return a;
                }
                Some(_) => {}
                None => a.notes.push(
                    "not in the ledger: cannot check that the task is still scheduled".into(),
                ),
            }
        }

        if let (Some(window), Some(sent)) = (rule.window(), facts.sent_at) {
            let age = now.duration_since(sent);
            let age = age.unsigned_abs();
            if now >= sent && age >= window {
                a.verdict = Verdict::Expired;
                a.reason = Some(format!(
                    "sent {} ago, outside the {} window: {}",
                    format_duration(age),
                    format_duration(window),
                    rule.window_note
                        .as_deref()
                        .unwrap_or("the provider no longer accepts this action")
                ));
                return a;
            }
        }

        // Channels: the receivers the ledger counted, else every channel of the platforms.
        let on_platforms = |c: &Channel| {
            facts
                .platforms
                .is_none_or(|p| p.is_empty() || p.contains(&c.platform))
        };
        let counted: Vec<String> = match facts.receivers_by_channel {
            // In the matrix's channel order, so every plan lists channels the same way; only
            // channels of the message's platforms (a count elsewhere is an export mistake).
            Some(r) => self
                .channels
                .iter()
                .filter(|c| on_platforms(c) && r.get(&c.name).is_some_and(|n| *n > 0))
                .map(|c| c.name.clone())
                .collect(),
            None => Vec::new(),
        };
        if counted.is_empty()
            && facts
                .receivers_by_channel
                .is_some_and(|r| r.values().any(|n| *n > 0))
        {
            a.notes.push("receivers_by_channel counts no channel of the message's platforms: its channels were taken from the platforms".into());
        }
        let candidates: Option<Vec<String>> = match facts.platforms {
            _ if !counted.is_empty() => Some(counted),
            Some(p) if !p.is_empty() => {
                Some(self.channels_of(p).into_iter().map(String::from).collect())
            }
            _ => None,
        };
        let Some(candidates) = candidates else {
            a.notes.push(if facts.in_ledger {
                "platforms unknown: channels not checked".to_string()
            } else {
                "not in the ledger: channels and time window not checked".to_string()
            });
            return a;
        };
        for ch in &candidates {
            let reached = if rule.reaches.iter().any(|r| r == ch) {
                Ok(())
            } else {
                match rule.conditional.get(ch) {
                    Some(Condition::OriginalApnsCollapseId) => match facts.apns_collapse_id {
                        Some(id) if id.len() <= APNS_COLLAPSE_ID_MAX_BYTES => Ok(()),
                        Some(id) => Err(format!(
                            "apns_collapse_id is {} bytes; APNs allows at most {APNS_COLLAPSE_ID_MAX_BYTES}",
                            id.len()
                        )),
                        None => Err("the original push carried no apns_collapse_id, so iOS cannot replace it".to_string()),
                    },
                    None => Err(rule.notes.get(ch).cloned().unwrap_or_else(|| format!("{action} does not reach {ch}"))),
                }
            };
            match reached {
                Ok(()) => a.reached.push(ch.clone()),
                Err(why) => a.not_reached.push((ch.clone(), why)),
            }
        }
        if let Some(r) = facts.receivers_by_channel {
            let total: u64 = candidates.iter().filter_map(|c| r.get(c)).sum();
            let reached: u64 = a.reached.iter().filter_map(|c| r.get(c)).sum();
            a.receivers = Some((reached, total));
        }
        if a.not_reached.is_empty() {
            a.verdict = Verdict::WillRun;
        } else if a.reached.is_empty() {
            a.verdict = Verdict::Unsupported;
            a.reason = Some(format!(
                "{action} reaches none of this message's channels ({})",
                a.not_reached
                    .iter()
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            a.verdict = Verdict::Partial;
            a.reason = Some(format!(
                "not reached: {}",
                a.not_reached
                    .iter()
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        a
    }
}

fn action_verb(action: Action) -> &'static str {
    match action {
        Action::Recall => "recall",
        Action::Stop => "stop",
        Action::Override => "override",
        Action::CancelScheduled => "cancel",
    }
}

/// `pushfix matrix` as text: one block per provider and action.
pub fn render_text(m: &Matrix, only: Option<ProviderKind>) -> String {
    let mut out = String::new();
    for kind in [ProviderKind::Jpush, ProviderKind::Tpns] {
        if only.is_some_and(|o| o != kind) {
            continue;
        }
        let pm = m.provider(kind);
        let _ = writeln!(out, "{}", kind.display_name());
        for (action, rule) in &pm.actions {
            let _ = writeln!(out, "  {action}  {}", rule.api);
            let _ = writeln!(out, "    {}", rule.summary);
            for platform in Platform::ALL.iter().map(|(_, p)| *p) {
                let chans: Vec<&Channel> = pm
                    .channels
                    .iter()
                    .filter(|c| c.platform == platform)
                    .collect();
                if chans.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "    {platform}:");
                for c in chans {
                    let mark = if rule.reaches.contains(&c.name) {
                        "yes"
                    } else if rule.conditional.contains_key(&c.name) {
                        "if"
                    } else {
                        "no"
                    };
                    let note = rule
                        .notes
                        .get(&c.name)
                        .map(|n| format!("  {n}"))
                        .unwrap_or_default();
                    let _ = writeln!(out, "      {mark:<4}{:<14}{note}", c.name);
                }
            }
            if let Some(w) = &rule.window {
                let _ = writeln!(out, "    window: {w} after the original send");
            }
            if let Some(t) = &rule.audience_types {
                let _ = writeln!(out, "    audience types: {}", t.join(", "));
            }
            if rule.scheduled {
                let _ = writeln!(out, "    only tasks not yet dispatched");
            }
            if let Some(o) = &rule.offline {
                let _ = writeln!(out, "    warning: {o}");
            }
            let _ = writeln!(out, "    source: {}", rule.source);
        }
        out.push('\n');
    }
    out.pop();
    out
}

/// `pushfix matrix --format json`: versioned.
pub fn render_json(m: &Matrix, only: Option<ProviderKind>) -> serde_json::Value {
    let mut providers = serde_json::Map::new();
    for kind in [ProviderKind::Jpush, ProviderKind::Tpns] {
        if only.is_none_or(|o| o == kind) {
            providers.insert(
                kind.as_str().into(),
                serde_json::to_value(m.provider(kind)).unwrap_or_default(),
            );
        }
    }
    serde_json::json!({ "schema": "pushfix.matrix/v1", "providers": providers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform::*;

    fn m() -> Matrix {
        Matrix::builtin().unwrap()
    }

    fn now() -> Timestamp {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    fn facts<'a>(
        platforms: &'a [Platform],
        receivers: Option<&'a BTreeMap<String, u64>>,
    ) -> TargetFacts<'a> {
        TargetFacts {
            in_ledger: true,
            platforms: Some(platforms),
            sent_at: Some("2026-11-21T10:00:00Z".parse().unwrap()),
            receivers_by_channel: receivers,
            has_audience: true,
            audience_type: Some("tag"),
            scheduled: Some(Scheduled::No),
            ..Default::default()
        }
    }

    fn on(channels: &[&str]) -> BTreeMap<String, u64> {
        channels.iter().map(|c| (c.to_string(), 100)).collect()
    }

    /// Every channel of every provider and action: reached exactly when the DESIGN §4 table says.
    #[test]
    fn every_cell_of_the_matrix() {
        let m = m();
        let table: &[(ProviderKind, Action, &[&str], &[&str])] = &[
            (
                ProviderKind::Jpush,
                Action::Recall,
                &["jpush", "xiaomi", "vivo"],
                &[
                    "oppo",
                    "huawei",
                    "huawei_legacy",
                    "honor",
                    "meizu",
                    "fcm",
                    "apns",
                    "hmos",
                    "quickapp",
                ],
            ),
            (
                ProviderKind::Jpush,
                Action::Override,
                &[
                    "jpush", "xiaomi", "meizu", "oppo", "fcm", "huawei", "honor", "hmos",
                ],
                &[
                    "vivo",
                    "huawei_legacy",
                    "quickapp",
                    /* without a collapse id: */ "apns",
                ],
            ),
            (
                ProviderKind::Tpns,
                Action::Stop,
                &[
                    "tpns",
                    "xiaomi",
                    "huawei",
                    "huawei_legacy",
                    "honor",
                    "oppo",
                    "vivo",
                    "meizu",
                    "fcm",
                ],
                &["apns"],
            ),
            (
                ProviderKind::Tpns,
                Action::Recall,
                &["tpns", "apns"],
                &[
                    "xiaomi",
                    "huawei",
                    "huawei_legacy",
                    "honor",
                    "oppo",
                    "vivo",
                    "meizu",
                    "fcm",
                ],
            ),
            (
                ProviderKind::Tpns,
                Action::Override,
                &["tpns", "xiaomi", "meizu", "huawei", "apns"],
                &["oppo", "vivo", "huawei_legacy", "honor", "fcm"],
            ),
            (
                ProviderKind::Tpns,
                Action::CancelScheduled,
                &[
                    "tpns",
                    "xiaomi",
                    "huawei",
                    "huawei_legacy",
                    "honor",
                    "oppo",
                    "vivo",
                    "meizu",
                    "fcm",
                    "apns",
                ],
                &[],
            ),
        ];
        for (kind, action, yes, no) in table {
            let pm = m.provider(*kind);
            for ch in pm.channel_names() {
                let r = on(&[ch]);
                let mut f = facts(&[Android, Ios, Hmos, Quickapp], Some(&r));
                if *action == Action::CancelScheduled {
                    f.scheduled = Some(Scheduled::At("2026-11-22T00:00:00Z".parse().unwrap()));
                }
                let a = pm.assess(*kind, *action, &f, now());
                let expect = if yes.contains(&ch) {
                    Verdict::WillRun
                } else {
                    assert!(
                        no.contains(&ch),
                        "{kind} {action}: channel {ch} in neither list"
                    );
                    Verdict::Unsupported
                };
                assert_eq!(a.verdict, expect, "{kind} {action} on {ch}: {a:?}");
            }
        }
    }

    #[test]
    fn jpush_recall_on_android_and_ios_is_partial() {
        let m = m();
        let a = m.jpush.assess(
            ProviderKind::Jpush,
            Action::Recall,
            &facts(&[Android, Ios], None),
            now(),
        );
        assert_eq!(a.verdict, Verdict::Partial);
        let names: Vec<&str> = a.not_reached.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "huawei",
                "huawei_legacy",
                "honor",
                "oppo",
                "meizu",
                "fcm",
                "apns"
            ]
        );
    }

    #[test]
    fn jpush_override_window_edge() {
        let m = m();
        let mut f = facts(&[Android], None);
        let sent: Timestamp = "2026-11-20T12:00:01Z".parse().unwrap(); // 23:59:59 before now
        f.sent_at = Some(sent);
        let a = m
            .jpush
            .assess(ProviderKind::Jpush, Action::Override, &f, now());
        assert_eq!(a.verdict, Verdict::Partial, "{a:?}");
        f.sent_at = Some("2026-11-20T12:00:00Z".parse().unwrap()); // exactly 24h
        let a = m
            .jpush
            .assess(ProviderKind::Jpush, Action::Override, &f, now());
        assert_eq!(a.verdict, Verdict::Expired);
        assert!(a.reason.unwrap().contains("1003"));
        f.sent_at = Some("2026-11-20T11:59:59Z".parse().unwrap());
        assert_eq!(
            m.jpush
                .assess(ProviderKind::Jpush, Action::Override, &f, now())
                .verdict,
            Verdict::Expired
        );
    }

    #[test]
    fn ios_override_needs_a_short_enough_collapse_id() {
        let m = m();
        let r = on(&["apns"]);
        let mut f = facts(&[Ios], Some(&r));
        assert_eq!(
            m.jpush
                .assess(ProviderKind::Jpush, Action::Override, &f, now())
                .verdict,
            Verdict::Unsupported
        );
        let ok = "a".repeat(64);
        f.apns_collapse_id = Some(&ok);
        assert_eq!(
            m.jpush
                .assess(ProviderKind::Jpush, Action::Override, &f, now())
                .verdict,
            Verdict::WillRun
        );
        let long = "a".repeat(65);
        f.apns_collapse_id = Some(&long);
        let a = m
            .jpush
            .assess(ProviderKind::Jpush, Action::Override, &f, now());
        assert_eq!(a.verdict, Verdict::Unsupported);
        assert!(a.not_reached[0].1.contains("65 bytes"));
    }

    #[test]
    fn tpns_audience_types() {
        let m = m();
        for (t, action, expect) in [
            ("all", Action::Stop, Verdict::WillRun),
            ("tag", Action::Override, Verdict::Partial),
            ("account_list", Action::Stop, Verdict::WillRun),
            ("token", Action::Stop, Verdict::Unsupported),
            ("token_list", Action::Override, Verdict::Unsupported),
            ("account", Action::Recall, Verdict::Unsupported),
            ("package_account_push", Action::Stop, Verdict::Unsupported),
        ] {
            let mut f = facts(&[Android], None);
            f.audience_type = Some(t);
            let a = m.tpns.assess(ProviderKind::Tpns, action, &f, now());
            assert_eq!(a.verdict, expect, "{t} {action}: {a:?}");
        }
    }

    #[test]
    fn tpns_stop_on_ios() {
        let m = m();
        assert_eq!(
            m.tpns
                .assess(
                    ProviderKind::Tpns,
                    Action::Stop,
                    &facts(&[Ios], None),
                    now()
                )
                .verdict,
            Verdict::Unsupported
        );
        let a = m.tpns.assess(
            ProviderKind::Tpns,
            Action::Stop,
            &facts(&[Android, Ios], None),
            now(),
        );
        assert_eq!(a.verdict, Verdict::Partial);
        assert_eq!(a.not_reached[0].0, "apns");
    }

    #[test]
    fn receivers_are_estimated() {
        let m = m();
        let r: BTreeMap<String, u64> = [
            ("jpush", 5200),
            ("xiaomi", 3100),
            ("huawei", 4100),
            ("oppo", 2000),
            ("vivo", 1900),
            ("apns", 8000),
        ]
        .iter()
        .map(|(c, n)| (c.to_string(), *n))
        .collect();
        let a = m.jpush.assess(
            ProviderKind::Jpush,
            Action::Recall,
            &facts(&[Android, Ios], Some(&r)),
            now(),
        );
        assert_eq!(a.receivers, Some((5200 + 3100 + 1900, 24300)));
    }

    #[test]
    fn receivers_on_other_platforms_do_not_count() {
        let m = m();
        let r = on(&["jpush"]);
        let a = m.jpush.assess(
            ProviderKind::Jpush,
            Action::Override,
            &facts(&[Ios], Some(&r)),
            now(),
        );
        // An iOS message counted on JPush's Android connection: the iOS channel decides.
        assert_eq!(a.verdict, Verdict::Unsupported, "{a:?}");
        assert!(
            a.notes[0].contains("counts no channel of the message's platforms"),
            "{a:?}"
        );
    }

    #[test]
    fn cancel_scheduled_states() {
        let m = m();
        let mut f = facts(&[Android], None);
        f.audience_type = Some("all");
        f.scheduled = Some(Scheduled::At("2026-11-21T11:00:00Z".parse().unwrap()));
        assert_eq!(
            m.tpns
                .assess(ProviderKind::Tpns, Action::CancelScheduled, &f, now())
                .verdict,
            Verdict::Expired
        );
        f.scheduled = Some(Scheduled::No);
        assert_eq!(
            m.tpns
                .assess(ProviderKind::Tpns, Action::CancelScheduled, &f, now())
                .verdict,
            Verdict::Unsupported
        );
        f.scheduled = Some(Scheduled::Yes);
        assert_eq!(
            m.tpns
                .assess(ProviderKind::Tpns, Action::CancelScheduled, &f, now())
                .verdict,
            Verdict::WillRun
        );
    }

    #[test]
    fn missing_ledger_record() {
        let m = m();
        let f = TargetFacts::default();
        let a = m
            .jpush
            .assess(ProviderKind::Jpush, Action::Override, &f, now());
        assert_eq!(a.verdict, Verdict::Unsupported);
        assert!(a.impossible);
        let a = m
            .jpush
            .assess(ProviderKind::Jpush, Action::Recall, &f, now());
        assert_eq!(a.verdict, Verdict::WillRun);
        assert!(a.notes[0].contains("not in the ledger"));
    }

    #[test]
    fn text_and_json_render() {
        let m = m();
        let t = render_text(&m, Some(ProviderKind::Tpns));
        assert!(t.contains("stop  POST /v3/push/stop_push_msg"));
        assert!(!t.contains("DELETE /v3/push"));
        let j = render_json(&m, None);
        assert_eq!(j["schema"], "pushfix.matrix/v1");
        assert_eq!(
            j["providers"]["jpush"]["actions"]["override"]["window"],
            "24h"
        );
    }
}
