//! The human-readable plan: what `pushfix plan` prints and `run` shows before asking.

use std::fmt::Write as _;
use std::time::Duration;

use super::Plan;
use super::exposure::approx;
use crate::domain::format_duration;
use crate::domain::{Disposition, Verdict};
use crate::target::RenderedMessage;

/// How many example targets to list per verdict that needs attention.
const EXAMPLES: usize = 3;

pub fn render_text(plan: &Plan) -> String {
    let mut o = String::new();
    let p = &plan.provider;
    let _ = writeln!(o, "Plan: {} ({})", plan.playbook.name, plan.playbook.path);
    if let Some(d) = &plan.playbook.description {
        let _ = writeln!(o, "  {}", d.trim());
    }
    let _ = writeln!(
        o,
        "  provider   {} at {} ({})",
        p.provider().display_name(),
        p.base_url,
        p.base_url_source
    );
    let _ = writeln!(o, "  as of      {}", plan.as_of);
    if let Some(l) = &plan.ledger {
        let _ = writeln!(
            o,
            "  ledger     {} ({} records)",
            l.path,
            thousands(l.records)
        );
    }
    let rates: Vec<String> = plan
        .limits
        .rates
        .iter()
        .map(|(f, r)| format!("{} {} ({})", f.as_str(), r.rate, r.source))
        .collect();
    let _ = writeln!(o, "  pacing     {}", rates.join(", "));
    let mut guards = format!("concurrency {}", plan.limits.concurrency);
    if let Some(m) = plan.limits.max_targets {
        let _ = write!(guards, ", max_targets {}", thousands(m));
    }
    if let Some(f) = &plan.limits.max_failures {
        let _ = write!(guards, ", max_failures {f}");
    }
    let _ = write!(guards, ", {} attempts per request", plan.retry.attempts);
    let _ = writeln!(o, "  limits     {guards}");
    let _ = writeln!(
        o,
        "  inputs     sha256 {}",
        &plan.content_sha256[..16.min(plan.content_sha256.len())]
    );

    for (i, s) in plan.steps.iter().enumerate() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "Step {} {}: {}   {}   unsupported: {}",
            i + 1,
            s.name,
            s.action,
            s.api,
            s.unsupported.as_str()
        );
        let verdicts: Vec<String> = Verdict::ALL
            .iter()
            .filter(|v| s.counts.get(**v) > 0)
            .map(|v| format!("{} {}", thousands(s.counts.get(*v)), v.as_str()))
            .collect();
        let _ = writeln!(
            o,
            "  targets    {}{}",
            thousands(s.targets.len() as u64),
            if verdicts.is_empty() {
                String::new()
            } else {
                format!(": {}", verdicts.join(", "))
            }
        );
        let _ = writeln!(
            o,
            "  outcome    {} to send, {} to skip, {} to fail",
            thousands(s.dispositions.send),
            thousands(s.dispositions.skip),
            thousands(s.dispositions.fail)
        );
        if !s.channels_not_reached.is_empty() {
            let mut chans: Vec<(&String, &u64)> = s.channels_not_reached.iter().collect();
            chans.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = chans
                .iter()
                .map(|(c, n)| format!("{c} ({})", thousands(**n)))
                .collect();
            let _ = writeln!(o, "  not reached {}", list.join(", "));
        }
        if let Some(r) = &s.receivers {
            let pct = if r.total > 0 {
                r.reached as f64 * 100.0 / r.total as f64
            } else {
                0.0
            };
            let mut line = format!(
                "~{} of {} reached ({pct:.0}%)",
                thousands(r.reached),
                thousands(r.total)
            );
            if r.unknown_targets > 0 {
                let _ = write!(
                    line,
                    "; {} targets without receiver counts",
                    thousands(r.unknown_targets)
                );
            }
            let _ = writeln!(o, "  receivers  {line}");
        }
        if s.estimated_requests > 0 {
            let _ = writeln!(
                o,
                "  requests   ~{}, about {}",
                thousands(s.estimated_requests),
                format_duration(Duration::from_secs_f64(s.estimated_seconds))
            );
        }
        messages(&mut o, s);
        for v in [Verdict::Partial, Verdict::Unsupported, Verdict::Expired] {
            let examples: Vec<_> = s
                .targets
                .iter()
                .filter(|t| t.verdict == v)
                .take(EXAMPLES)
                .collect();
            for t in &examples {
                let action = match t.disposition {
                    Disposition::Send => "send",
                    Disposition::Skip => "skip",
                    Disposition::Fail => "fail",
                };
                let _ = writeln!(
                    o,
                    "  {:<12}{} [{action}]: {}",
                    v.as_str(),
                    t.id,
                    t.reason.as_deref().unwrap_or("")
                );
            }
            let more = s.counts.get(v).saturating_sub(examples.len() as u64);
            if more > 0 {
                let _ = writeln!(o, "  {:<12}… and {} more", "", thousands(more));
            }
        }
        for w in &s.warnings {
            let _ = writeln!(o, "  warning: {w}");
        }
    }
    exposure(&mut o, plan);
    let _ = writeln!(o);
    let t = &plan.totals;
    let _ = writeln!(
        o,
        "Total: {} targets in {} step{}: {} to send, {} to skip, {} to fail",
        thousands(t.targets),
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" },
        thousands(t.send),
        thousands(t.skip),
        thousands(t.fail)
    );
    for w in &plan.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

/// Distinct renderings shown per step.
const RENDERINGS: usize = 3;

/// Longest text shown of a rendered title or body.
const SHOWN: usize = 160;

pub(super) fn shown(s: &str) -> String {
    let flat = s.replace('\n', "⏎");
    if flat.chars().count() > SHOWN {
        format!("{}…", flat.chars().take(SHOWN).collect::<String>())
    } else {
        flat
    }
}

/// What an override step will send: the rendering of its first target, and of one target per
/// distinct rendering after it, with how many targets get each.
fn messages(o: &mut String, s: &super::PlanStep) {
    let (seen, distinct) = renderings(s);
    for (m, first, n) in &seen {
        let _ = writeln!(
            o,
            "  message    {}{}body “{}”",
            if distinct > 1 || *n > 1 {
                format!(
                    "{} target{} (e.g. {first}): ",
                    thousands(*n),
                    if *n == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            },
            m.title
                .as_deref()
                .map(|t| format!("title “{}” · ", shown(t)))
                .unwrap_or_default(),
            shown(&m.body)
        );
    }
    if distinct > seen.len() as u64 {
        let _ = writeln!(
            o,
            "  message    … and {} more distinct renderings (plan --format json shows each)",
            thousands(distinct - seen.len() as u64)
        );
    }
}

/// The distinct renderings a step sends (the first `RENDERINGS`, each with the first target
/// that gets it and how many do), and how many distinct ones there are in all.
pub(super) fn renderings(s: &super::PlanStep) -> (Vec<(&RenderedMessage, &str, u64)>, u64) {
    let mut seen: Vec<(&RenderedMessage, &str, u64)> = Vec::new();
    let mut distinct = 0u64;
    for t in s
        .targets
        .iter()
        .filter(|t| t.disposition == Disposition::Send)
    {
        let Some(m) = &t.message else { continue };
        match seen
            .iter_mut()
            .find(|(r, _, _)| r.title == m.title && r.body == m.body)
        {
            Some(e) => e.2 += 1,
            None => {
                distinct += 1;
                if seen.len() < RENDERINGS {
                    seen.push((m, &t.id, 1));
                }
            }
        }
    }
    (seen, distinct)
}

/// Who may still see the original after every step, per channel, if every request the plan
/// sends succeeds.
fn exposure(o: &mut String, plan: &Plan) {
    let e = &plan.exposure;
    if e.by_channel.is_empty() {
        return;
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Exposure: receivers who may still see the original, {} before → {} after every step (if every request succeeds)",
        approx(e.receivers_before),
        approx(e.receivers_after)
    );
    for (ch, c) in &e.by_channel {
        let _ = writeln!(
            o,
            "  {:<14} {:>10} → {:<10} {:>7} → {:<7} messages{}",
            ch,
            thousands(c.before),
            thousands(c.after),
            thousands(c.messages_before),
            thousands(c.messages_after),
            if e.unreached.contains(ch) {
                "   reached by no step"
            } else {
                ""
            }
        );
    }
    for n in notes(e) {
        let _ = writeln!(o, "  note: {n}");
    }
}

/// The notes an exposure table carries.
pub fn notes(e: &super::Exposure) -> Vec<String> {
    let mut n = Vec::new();
    if e.has_stop {
        n.push("`stop` ends offline delivery but removes nothing already shown: it corrects no channel".to_string());
    }
    if e.uncounted_messages > 0 {
        n.push(format!(
            "{} message{} without receivers_by_channel count 1 per channel",
            thousands(e.uncounted_messages),
            if e.uncounted_messages == 1 { "" } else { "s" }
        ));
    }
    if e.unknown_targets > 0 {
        n.push(format!(
            "{} target{} not in the ledger (or without platforms): channels unknown, not counted",
            thousands(e.unknown_targets),
            if e.unknown_targets == 1 { "" } else { "s" }
        ));
    }
    n
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
