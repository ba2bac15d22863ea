//! The channel matrix (`matrix.yaml`): which vendor channels each corrective action reaches.
//! Loaded at start from the data file compiled into the binary, and used by the planner to
//! give every target a verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{Action, Facts, Platform, ProviderKind, Scheduled, Verdict};
use crate::domain::{format_duration, parse_duration};
use crate::provider::{self, Provider};
use crate::target::RenderedMessage;

/// The data file, checked into the source tree beside this module.
pub const MATRIX_YAML: &str = include_str!("matrix.yaml");

/// One section per provider, keyed by `provider.kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Matrix {
    pub providers: BTreeMap<String, ProviderMatrix>,
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
    /// Channel -> the provider's condition (`Provider::conditions`) under which it is reached.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditional: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_note: Option<String>,
    /// The platforms the window limits (empty: all). A JPush override's 1-day window is
    /// `override_msg_id`'s, on Android and HarmonyOS; the iOS collapse id has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub window_platforms: Vec<Platform>,
    /// Channels the action may reach, on a condition the plan cannot check (a JPush recall on
    /// iOS works only while the message is still queued): sent to, reported as uncertain, never
    /// counted as corrected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uncertain: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<String>,
    /// Ledger fields the request cannot be built without (`sent_at`, `platforms`, `audience`,
    /// or one of the provider's own fields).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scheduled: bool,
    /// Only for tasks already dispatched: a scheduled task still pending has nothing to act on
    /// yet (TIMPush revokes a pushed TaskId; a pending one is cancelled instead).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dispatched: bool,
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
    pub source: String,
}

/// Ledger fields every provider's records may carry, that `needs` can name.
const COMMON_NEEDS: &[&str] = &["sent_at", "platforms", "audience"];

impl Matrix {
    /// Parse the built-in data file. It is part of the binary, so a failure is a bug that the
    /// test suite catches; the error still says where.
    pub fn builtin() -> Result<Matrix, String> {
        let m: Matrix =
            serde_saphyr::from_str(MATRIX_YAML).map_err(|e| format!("src/matrix.yaml: {e}"))?;
        m.check()?;
        Ok(m)
    }

    /// The section of a provider (`check` made sure every provider has one).
    pub fn provider(&self, kind: ProviderKind) -> &ProviderMatrix {
        &self.providers[kind.as_str()]
    }

    /// Internal consistency: one section per provider of the registry, every channel named in
    /// a rule exists, conditions and needed fields are the provider's, windows parse.
    fn check(&self) -> Result<(), String> {
        for p in provider::all() {
            if !self.providers.contains_key(p.kind().as_str()) {
                return Err(format!("src/matrix.yaml has no section for `{}`", p.kind()));
            }
        }
        for (kind, pm) in &self.providers {
            let Some(p) = provider::find(kind) else {
                return Err(format!("src/matrix.yaml: `{kind}` is not a provider"));
            };
            for (action, rule) in &pm.actions {
                for (ch, cond) in &rule.conditional {
                    if !p.conditions().iter().any(|c| c.name == cond) {
                        return Err(format!(
                            "src/matrix.yaml: {kind}.{action}.conditional.{ch}: `{cond}` is not a condition {} evaluates",
                            p.display_name()
                        ));
                    }
                }
                for need in &rule.needs {
                    let known = COMMON_NEEDS.contains(&need.as_str())
                        || p.ledger_fields().iter().any(|f| f.name == need);
                    if !known {
                        return Err(format!(
                            "src/matrix.yaml: {kind}.{action}.needs: `{need}` is not a ledger field"
                        ));
                    }
                }
                let named = rule
                    .reaches
                    .iter()
                    .chain(rule.conditional.keys())
                    .chain(rule.uncertain.keys())
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

/// Whether a channel is on one of the message's platforms (unknown platforms: any).
fn on_platforms(facts: &TargetFacts<'_>, c: &Channel) -> bool {
    facts
        .platforms
        .is_none_or(|p| p.is_empty() || p.contains(&c.platform))
}

impl ProviderMatrix {
    /// The channels a message was delivered on, with its receivers there: the channels the
    /// ledger counted receivers on (of the message's platforms, in the matrix's order), else
    /// every channel of its platforms with receivers unknown; `None` when its platforms are
    /// unknown too.
    pub fn target_channels(&self, facts: &TargetFacts<'_>) -> Option<Vec<(String, Option<u64>)>> {
        if let Some(r) = facts.receivers_by_channel {
            let counted: Vec<(String, Option<u64>)> = self
                .channels
                .iter()
                .filter(|c| on_platforms(facts, c))
                .filter_map(|c| {
                    r.get(&c.name)
                        .filter(|n| **n > 0)
                        .map(|n| (c.name.clone(), Some(*n)))
                })
                .collect();
            if !counted.is_empty() {
                return Some(counted);
            }
        }
        match facts.platforms {
            Some(p) if !p.is_empty() => Some(
                self.channels_of(p)
                    .into_iter()
                    .map(|c| (c.to_string(), None))
                    .collect(),
            ),
            _ => None,
        }
    }
}

impl ActionRule {
    pub fn window(&self) -> Option<Duration> {
        self.window.as_deref().and_then(|w| parse_duration(w).ok())
    }
}

/// What the planner knows about one target.
#[derive(Debug, Clone, Default)]
pub struct TargetFacts<'a> {
    pub in_ledger: bool,
    pub platforms: Option<&'a [Platform]>,
    pub sent_at: Option<Timestamp>,
    pub receivers_by_channel: Option<&'a crate::domain::ChannelMap<u64>>,
    pub has_audience: bool,
    /// The provider's facts from the ledger record.
    pub facts: Option<&'a Facts>,
    /// The rendered correction (its fields take precedence over the ledger's facts: a step may
    /// set the collapse id the override carries).
    pub message: Option<&'a RenderedMessage>,
}

impl TargetFacts<'_> {
    /// A text fact: the message's field of that name, else the ledger's.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.message
            .and_then(|m| m.field(name))
            .or_else(|| self.facts?.get(name)?.as_text())
    }

    /// A numeric fact from the ledger.
    pub fn uint(&self, name: &str) -> Option<u64> {
        self.facts?.get(name)?.as_uint()
    }

    pub fn scheduled(&self, name: &str) -> Option<Scheduled> {
        self.facts?.get(name)?.as_scheduled()
    }

    fn has(&self, field: &str) -> bool {
        match field {
            "sent_at" => self.sent_at.is_some(),
            "platforms" => self.platforms.is_some_and(|p| !p.is_empty()),
            "audience" => self.has_audience,
            other => self.facts.is_some_and(|f| f.contains_key(other)),
        }
    }
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
    /// Channels it may reach on a condition the plan cannot check, each with the condition.
    pub uncertain: Vec<(String, String)>,
    /// Caveats that do not change the verdict.
    pub notes: Vec<String>,
    /// (receivers reached, receivers in total) when the ledger has `receivers_by_channel`.
    pub receivers: Option<(u64, u64)>,
    /// The request cannot be built (missing ledger facts): even `force` cannot send it.
    pub impossible: bool,
}

/// The ledger fact the `audience_types` rule checks, and the one the `scheduled` rule reads.
const AUDIENCE_TYPE: &str = "audience_type";
const SCHEDULED: &str = "scheduled";

impl ProviderMatrix {
    /// The matrix's verdict for one target, as of `now`. Pure.
    pub fn assess(
        &self,
        provider: &dyn Provider,
        action: Action,
        facts: &TargetFacts<'_>,
        now: Timestamp,
    ) -> Assessment {
        let mut a = Assessment {
            verdict: Verdict::WillRun,
            reason: None,
            reached: Vec::new(),
            not_reached: Vec::new(),
            uncertain: Vec::new(),
            notes: Vec::new(),
            receivers: None,
            impossible: false,
        };
        let Some(rule) = self.rule(action) else {
            a.verdict = Verdict::Unsupported;
            a.reason = Some(format!(
                "{} has no {action} action",
                provider.display_name()
            ));
            a.impossible = true;
            return a;
        };

        // Facts the request itself is built from.
        if !rule.needs.is_empty() {
            if !facts.in_ledger {
                a.verdict = Verdict::Unsupported;
                a.reason = Some(format!(
                    "not in the ledger: {action} needs the original's {} from its ledger record",
                    rule.needs.join(", ")
                ));
                a.impossible = true;
                return a;
            }
            let missing: Vec<&str> = rule
                .needs
                .iter()
                .filter(|n| !facts.has(n))
                .map(String::as_str)
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
            match facts.text(AUDIENCE_TYPE) {
                Some(t) if !types.iter().any(|x| x == t) => {
                    a.verdict = Verdict::Unsupported;
                    a.reason = Some(format!(
                        "{} can {} only tasks sent to {}; this task's audience_type is `{t}`",
                        provider.display_name(),
                        action_verb(action),
                        types.join(", ")
                    ));
                    // The provider refuses the request itself: `force` cannot send it either.
                    a.impossible = true;
                    return a;
                }
                Some(_) => {}
                None => a.notes.push(format!(
                    "audience type unknown (not in the ledger): {} accepts {} only for {} tasks",
                    provider.display_name(),
                    action,
                    types.join(", ")
                )),
            }
        }

        if rule.scheduled {
            match facts.scheduled(SCHEDULED) {
                Some(Scheduled::No) => {
                    a.verdict = Verdict::Unsupported;
                    a.reason = Some("not a scheduled task: there is nothing to cancel (use stop for a dispatched task)".into());
                    a.impossible = true;
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

        if rule.dispatched
            && let Some(Scheduled::At(t)) = facts.scheduled(SCHEDULED)
            && t > now
        {
            a.verdict = Verdict::Unsupported;
            a.reason = Some(format!(
                "scheduled for {t} and not dispatched yet: there is nothing to {action} (use cancel_scheduled for a pending task)"
            ));
            a.impossible = true;
            return a;
        }

        // Past the action's window: expired, or — when the window limits some platforms
        // only — those platforms' channels are not reached.
        let mut expired = None;
        if let (Some(window), Some(sent)) = (rule.window(), facts.sent_at) {
            let age = now.duration_since(sent);
            let age = age.unsigned_abs();
            if now >= sent && age >= window {
                let why = format!(
                    "sent {} ago, outside the {} window: {}",
                    format_duration(age),
                    format_duration(window),
                    rule.window_note
                        .as_deref()
                        .unwrap_or("the provider no longer accepts this action")
                );
                if rule.window_platforms.is_empty() {
                    a.verdict = Verdict::Expired;
                    a.reason = Some(why);
                    return a;
                }
                expired = Some(why);
            }
        }

        let candidates = self.target_channels(facts);
        if candidates.is_some()
            && facts
                .receivers_by_channel
                .is_some_and(|r| r.values().any(|n| *n > 0))
            && facts.receivers_by_channel.is_some_and(|r| {
                !self
                    .channels
                    .iter()
                    .any(|c| on_platforms(facts, c) && r.get(&c.name).is_some_and(|n| *n > 0))
            })
        {
            a.notes.push("receivers_by_channel counts no channel of the message's platforms: its channels were taken from the platforms".into());
        }
        let candidates: Option<Vec<String>> =
            candidates.map(|c| c.into_iter().map(|(ch, _)| ch).collect());
        let Some(candidates) = candidates else {
            if let Some(why) = expired {
                // Which platforms the window spares is unknowable without them.
                a.verdict = Verdict::Expired;
                a.reason = Some(why);
                return a;
            }
            a.notes.push(if facts.in_ledger {
                "platforms unknown: channels not checked".to_string()
            } else {
                "not in the ledger: channels and time window not checked".to_string()
            });
            return a;
        };
        for ch in &candidates {
            let platform = self.channel(ch).map(|c| c.platform);
            if let Some(why) = &expired
                && platform.is_some_and(|p| rule.window_platforms.contains(&p))
            {
                a.not_reached.push((ch.clone(), why.clone()));
                continue;
            }
            if let Some(condition) = rule.uncertain.get(ch) {
                a.uncertain.push((ch.clone(), condition.clone()));
                continue;
            }
            let reached = if rule.reaches.iter().any(|r| r == ch) {
                Ok(())
            } else {
                let condition = rule
                    .conditional
                    .get(ch)
                    .and_then(|name| provider.conditions().iter().find(|c| c.name == name));
                match condition {
                    Some(c) => match facts.text(c.fact) {
                        Some(v) if v.len() <= c.max_bytes => Ok(()),
                        Some(v) => Err(format!(
                            "{} is {} bytes; {} allows at most {}",
                            c.fact,
                            v.len(),
                            c.limit_owner,
                            c.max_bytes
                        )),
                        // A numeric id (GeTui `notify_id`) has no byte limit.
                        None if facts.uint(c.fact).is_some() => Ok(()),
                        None => Err(c.missing.to_string()),
                    },
                    None => Err(rule
                        .notes
                        .get(ch)
                        .cloned()
                        .unwrap_or_else(|| format!("{action} does not reach {ch}"))),
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
        let names = |l: &[(String, String)]| {
            l.iter()
                .map(|(c, _)| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if a.not_reached.is_empty() && a.uncertain.is_empty() {
            a.verdict = Verdict::WillRun;
        } else if a.not_reached.is_empty() {
            a.verdict = Verdict::Partial;
            a.reason = Some(format!(
                "uncertain: {}",
                a.uncertain
                    .iter()
                    .map(|(c, why)| format!("{c} ({why})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else if a.reached.is_empty() && a.uncertain.is_empty() {
            if let Some(why) = expired {
                a.verdict = Verdict::Expired;
                a.reason = Some(why);
                return a;
            }
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
            a.reason = Some(if a.uncertain.is_empty() {
                format!("not reached: {}", names(&a.not_reached))
            } else {
                format!(
                    "not reached: {}; uncertain: {}",
                    names(&a.not_reached),
                    names(&a.uncertain)
                )
            });
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
    for p in provider::all() {
        let kind = p.kind();
        if only.is_some_and(|o| o != kind) {
            continue;
        }
        let pm = m.provider(kind);
        let _ = writeln!(out, "{}", p.display_name());
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
                    } else if rule.uncertain.contains_key(&c.name) {
                        "may"
                    } else {
                        "no"
                    };
                    let note = rule
                        .notes
                        .get(&c.name)
                        .or_else(|| rule.uncertain.get(&c.name))
                        .map(|n| format!("  {n}"))
                        .unwrap_or_default();
                    let _ = writeln!(out, "      {mark:<4}{:<14}{note}", c.name);
                }
            }
            if let Some(w) = &rule.window {
                let on = if rule.window_platforms.is_empty() {
                    String::new()
                } else {
                    let p: Vec<&str> = rule.window_platforms.iter().map(|p| p.as_str()).collect();
                    format!(" ({})", p.join(", "))
                };
                let _ = writeln!(out, "    window: {w} after the original send{on}");
            }
            if let Some(t) = &rule.audience_types {
                let _ = writeln!(out, "    audience types: {}", t.join(", "));
            }
            if rule.scheduled {
                let _ = writeln!(out, "    only tasks not yet dispatched");
            }
            if rule.dispatched {
                let _ = writeln!(out, "    only tasks already dispatched");
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
    for kind in provider::all().iter().map(|p| p.kind()) {
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
pub(crate) mod tests {
    use super::*;
    use crate::domain::Fact;
    use crate::domain::Platform::*;

    pub(crate) const JPUSH: ProviderKind = ProviderKind::new("jpush");
    pub(crate) const TPNS: ProviderKind = ProviderKind::new("tpns");

    /// Set one ledger fact (tests leak the small maps they build).
    pub(crate) fn set(f: &mut TargetFacts<'_>, name: &'static str, fact: Fact) {
        let mut facts = f.facts.cloned().unwrap_or_default();
        facts.insert(name, fact);
        f.facts = Some(Box::leak(Box::new(facts)));
    }

    pub(crate) fn m() -> Matrix {
        Matrix::builtin().unwrap()
    }

    pub(crate) fn now() -> Timestamp {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    pub(crate) fn facts<'a>(
        platforms: &'a [Platform],
        receivers: Option<&'a crate::domain::ChannelMap<u64>>,
    ) -> TargetFacts<'a> {
        TargetFacts {
            in_ledger: true,
            platforms: Some(platforms),
            sent_at: Some("2026-11-21T10:00:00Z".parse().unwrap()),
            receivers_by_channel: receivers,
            has_audience: true,
            facts: Some(Box::leak(Box::new(Facts::from([
                ("audience_type", Fact::Text("tag".into())),
                ("scheduled", Fact::Scheduled(Scheduled::No)),
            ])))),
            ..Default::default()
        }
    }

    pub(crate) fn on(channels: &[&str]) -> crate::domain::ChannelMap<u64> {
        channels.iter().map(|c| (c.to_string(), 100)).collect()
    }

    /// Every channel of every provider and action: reached exactly when the DESIGN §4 table says.
    #[test]
    fn every_cell_of_the_matrix() {
        let m = m();
        let table: &[(ProviderKind, Action, &[&str], &[&str])] = &[
            (
                JPUSH,
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
                JPUSH,
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
                TPNS,
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
                TPNS,
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
                TPNS,
                Action::Override,
                &["tpns", "xiaomi", "meizu", "huawei", "apns"],
                &["oppo", "vivo", "huawei_legacy", "honor", "fcm"],
            ),
            (
                TPNS,
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
                    set(
                        &mut f,
                        "scheduled",
                        Fact::Scheduled(Scheduled::At("2026-11-22T00:00:00Z".parse().unwrap())),
                    );
                }
                let a = pm.assess(provider::get(*kind), *action, &f, now());
                let uncertain = m
                    .provider(*kind)
                    .rule(*action)
                    .is_some_and(|r| r.uncertain.contains_key(ch));
                let expect = if yes.contains(&ch) {
                    Verdict::WillRun
                } else if uncertain {
                    // Sent to, reported as uncertain (a JPush recall on iOS).
                    Verdict::Partial
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

    /// What the provider refuses outright is impossible: `unsupported: force` cannot send it.
    #[test]
    fn refused_audience_types_and_unscheduled_cancels_are_impossible() {
        let m = m();
        let p = provider::find("tpns").unwrap();
        let mut f = facts(&[Android], None);
        set(&mut f, "audience_type", Fact::Text("token_list".into()));
        let a = m.provider(TPNS).assess(p, Action::Override, &f, now());
        assert_eq!(a.verdict, Verdict::Unsupported);
        assert!(a.impossible, "{:?}", a.reason);
        let f = facts(&[Android], None);
        let a = m
            .provider(TPNS)
            .assess(p, Action::CancelScheduled, &f, now());
        assert_eq!(a.verdict, Verdict::Unsupported);
        assert!(a.impossible, "{:?}", a.reason);
        // A channel the override does not reach is not impossible: force sends anyway.
        let r = on(&["oppo"]);
        let a = m
            .provider(TPNS)
            .assess(p, Action::Override, &facts(&[Android], Some(&r)), now());
        assert!(!a.impossible);
    }

    #[test]
    fn receivers_are_estimated() {
        let m = m();
        let r: crate::domain::ChannelMap<u64> = [
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
        let a = m.providers["jpush"].assess(
            provider::get(JPUSH),
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
        let a = m.providers["jpush"].assess(
            provider::get(JPUSH),
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
    fn text_and_json_render() {
        let m = m();
        let t = render_text(&m, Some(TPNS));
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
