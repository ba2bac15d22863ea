//! The report as text: the summary table a run ends with (fitted to the terminal), and
//! report.md, which carries what report.html shows.

use std::fmt::Write as _;

use super::{Details, Exposure, MAX_LISTED, Report, ReportStep, TargetList};
use crate::event::Outcome;
use crate::exit;
use crate::plan::exposure::approx;
use crate::provider;

/// The outcome columns, with the short names a narrow table uses.
const OUTCOME_COLUMNS: [(Outcome, &str); 7] = [
    (Outcome::Done, "done"),
    (Outcome::Gone, "gone"),
    (Outcome::NotCorrected, "not_corr"),
    (Outcome::Skipped, "skip"),
    (Outcome::Failed, "fail"),
    (Outcome::GaveUp, "gave_up"),
    (Outcome::NotAttempted, "not_att"),
];

/// The summary table, as wide as it needs (report.md, logs).
pub fn table(r: &Report) -> String {
    table_for_width(r, usize::MAX)
}

/// The summary table within `width` columns: every column when it fits; else the outcome
/// columns that are not all zero, with short names; else one line per step.
pub fn table_for_width(r: &Report, width: usize) -> String {
    let full = grid(r, false);
    if full.lines().all(|l| l.chars().count() <= width) {
        return full;
    }
    let compact = grid(r, true);
    if compact.lines().all(|l| l.chars().count() <= width) {
        return compact;
    }
    let mut o = String::new();
    for s in r.steps.iter() {
        let _ = writeln!(o, "{} ({}): {} targets", s.name, s.action, s.targets);
        let _ = writeln!(o, "  {}", outcome_words(&s.outcomes));
        let _ = writeln!(
            o,
            "  {} requests, {} retries, {} throttled, {:.1} req/s",
            s.requests, s.retries, s.throttled, s.achieved_rate_per_s
        );
    }
    let _ = writeln!(
        o,
        "total: {} targets: {}",
        r.totals.targets,
        outcome_words(&r.totals.outcomes)
    );
    o
}

/// "10 done, 2 not_corrected" (the non-zero outcomes; "nothing" when none).
pub fn outcome_words(c: &super::Outcomes) -> String {
    let parts: Vec<String> = Outcome::ALL
        .iter()
        .filter(|o| c.get(**o) > 0)
        .map(|o| format!("{} {}", c.get(*o), o.as_str()))
        .collect();
    if parts.is_empty() {
        "no targets".into()
    } else {
        parts.join(", ")
    }
}

fn grid(r: &Report, compact: bool) -> String {
    let outcomes: Vec<(Outcome, &str)> = OUTCOME_COLUMNS
        .iter()
        .filter(|(o, _)| !compact || r.totals.outcomes.get(*o) > 0)
        .map(|(o, short)| (*o, if compact { *short } else { o.as_str() }))
        .collect();
    let mut head: Vec<String> = vec!["step".into(), "action".into(), "targets".into()];
    head.extend(outcomes.iter().map(|(_, n)| n.to_string()));
    head.extend(["requests", "retries", "throttled", "rate/s"].map(String::from));
    let row =
        |name: &str, action: &str, targets: u64, c: &super::Outcomes, s: Option<&ReportStep>| {
            let mut v = vec![name.to_string(), action.to_string(), targets.to_string()];
            v.extend(outcomes.iter().map(|(o, _)| c.get(*o).to_string()));
            match s {
                Some(s) => v.extend([
                    s.requests.to_string(),
                    s.retries.to_string(),
                    s.throttled.to_string(),
                    format!("{:.1}", s.achieved_rate_per_s),
                ]),
                None => {
                    let sum =
                        |f: fn(&ReportStep) -> u64| r.steps.iter().map(f).sum::<u64>().to_string();
                    v.extend([
                        sum(|s| s.requests),
                        sum(|s| s.retries),
                        sum(|s| s.throttled),
                        String::new(),
                    ]);
                }
            }
            v
        };
    let mut rows = vec![head];
    for s in &r.steps {
        rows.push(row(&s.name, &s.action, s.targets, &s.outcomes, Some(s)));
    }
    rows.push(row("total", "", r.totals.targets, &r.totals.outcomes, None));
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut o = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < 2 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        let _ = writeln!(o, "{}", cells.join("  ").trim_end());
    }
    o
}

/// The exit status in words, for banners.
pub fn status_line(r: &Report) -> String {
    match r.exit_code {
        Some(c) => format!("exit {c}: {}", exit::meaning(c)),
        None => "not finished: the run has no recorded end (`pushfix resume` finishes it)".into(),
    }
}

/// The exposure table as text: channel, receivers before → after, messages before → after.
pub fn exposure_table(e: &Exposure) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<14} {:>12} {:>12} {:>10} {:>10}",
        "channel", "before", "after", "msgs", "msgs after"
    );
    for (ch, c) in &e.by_channel {
        let mark = if e.unreached.contains(ch) {
            "  reached by no step"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "{:<14} {:>12} {:>12} {:>10} {:>10}{mark}",
            ch, c.before, c.after, c.messages_before, c.messages_after
        );
    }
    let _ = writeln!(
        o,
        "{:<14} {:>12} {:>12}",
        "total", e.receivers_before, e.receivers_after
    );
    o
}

/// The notes every exposure table carries.
pub fn exposure_notes(e: &Exposure) -> Vec<String> {
    let mut n = vec![
        "a channel counts as corrected only by a `done` recall, override or cancel that reaches it; channels reached only on a condition (`uncertain`) never count".to_string(),
    ];
    if e.has_stop {
        n.push("`stop` ends offline delivery but removes nothing already shown: it corrects no channel".into());
    }
    if e.uncounted_messages > 0 {
        n.push(format!(
            "{} message{} without receivers_by_channel in the ledger count 1 per channel",
            e.uncounted_messages,
            if e.uncounted_messages == 1 { "" } else { "s" }
        ));
    }
    if e.unknown_targets > 0 {
        n.push(format!(
            "{} target{} not in the ledger (or without platforms): their channels are unknown and not counted",
            e.unknown_targets,
            if e.unknown_targets == 1 { "" } else { "s" }
        ));
    }
    n
}

fn list_md(o: &mut String, title: &str, l: &TargetList) {
    let _ = writeln!(o, "\n## {title} ({})\n", l.total);
    let _ = writeln!(o, "| step | target | code | reason |\n|---|---|---|---|");
    for i in &l.items {
        let code = i.code.map(|c| c.to_string()).unwrap_or_default();
        let _ = writeln!(
            o,
            "| {} | `{}` | {code} | {} |",
            i.step,
            i.target,
            i.reason.replace('|', "\\|")
        );
    }
    if l.total > MAX_LISTED as u64 {
        let _ = writeln!(
            o,
            "\n… and {} more in journal.jsonl",
            l.total - MAX_LISTED as u64
        );
    }
}

/// One line of block characters for a series (report.md's chart).
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|v| {
            if *v == 0 {
                ' '
            } else {
                BARS[(v * 7).div_ceil(max).min(7) as usize]
            }
        })
        .collect()
}

pub fn to_markdown(r: &Report, d: &Details) -> String {
    let mut o = String::new();
    let provider_name =
        provider::find(&r.provider).map_or(r.provider.as_str(), |p| p.display_name());
    let _ = writeln!(
        o,
        "# pushfix run {}{}",
        r.run_id,
        if r.sandbox { " (sandbox)" } else { "" }
    );
    let _ = writeln!(o);
    let bad = r.exit_code.is_none_or(|c| c != exit::OK);
    let _ = writeln!(
        o,
        "> **{}{}**{}",
        if bad { "⚠ " } else { "" },
        status_line(r),
        r.stopped
            .as_ref()
            .map(|s| format!(" — stopped: {s}"))
            .unwrap_or_default()
    );
    if r.sandbox {
        let _ = writeln!(o, ">\n> The built-in sandbox: no real provider was called.");
    }
    let _ = writeln!(o, "\n| | |\n|---|---|");
    let _ = writeln!(o, "| provider | {provider_name} (app `{}`) |", d.app);
    let _ = writeln!(
        o,
        "| endpoint | {}{} |",
        d.base_url,
        if r.sandbox { " (sandbox)" } else { "" }
    );
    let _ = writeln!(
        o,
        "| playbook | `{}` ({}) |",
        r.playbook.path, r.playbook.name
    );
    let _ = writeln!(o, "| playbook sha256 | `{}` |", r.playbook.sha256);
    if let Some(c) = &r.playbook.git_commit {
        let _ = writeln!(o, "| git commit | `{c}` |");
    }
    let _ = writeln!(o, "| operator | {} |", r.operator);
    let _ = writeln!(o, "| started | {} |", r.started_at);
    match (r.finished_at, r.exit_code) {
        (Some(f), Some(c)) => {
            let _ = writeln!(o, "| finished | {f} |");
            let _ = writeln!(o, "| exit code | {c} ({}) |", exit::meaning(c));
        }
        _ => {
            let _ = writeln!(o, "| finished | **not recorded: the run did not finish** |");
        }
    }
    if let Some(a) = d.as_of {
        let _ = writeln!(o, "| planned as of | {a} |");
    }
    if let Some(s) = &d.stopped {
        let _ = writeln!(o, "| stopped | {s} |");
    }
    for (at, who) in &d.resumed {
        let _ = writeln!(o, "| resumed | {at} by {who} |");
    }
    let t = &r.totals;
    let _ = writeln!(
        o,
        "\n## Totals\n\n{} targets: {}; {} requests, {} retries, {} throttled",
        t.targets,
        outcome_words(&t.outcomes),
        r.steps.iter().map(|s| s.requests).sum::<u64>(),
        r.steps.iter().map(|s| s.retries).sum::<u64>(),
        r.steps.iter().map(|s| s.throttled).sum::<u64>()
    );
    let _ = writeln!(o, "\n## Steps\n\n```\n{}```", table(r));
    let _ = writeln!(
        o,
        "\nrate/s: requests ÷ the step's dispatch time (its first request to its last request or answer)."
    );
    if let Some(e) = &r.exposure {
        let _ = writeln!(
            o,
            "\n## Residual exposure\n\nReceivers whose devices may still show the original: {} before → {} after.\n\n```\n{}```",
            approx(e.receivers_before),
            approx(e.receivers_after),
            exposure_table(e)
        );
        for n in exposure_notes(e) {
            let _ = writeln!(o, "- {n}");
        }
    }
    verification_md(&mut o, r, d);
    if !d.timeline.is_empty() {
        let requests: Vec<u64> = d.timeline.iter().map(|b| b.requests).collect();
        let peak = requests.iter().max().copied().unwrap_or(0);
        let throttled: Vec<String> = d
            .timeline
            .iter()
            .filter(|b| b.throttled > 0)
            .take(20)
            .map(|b| format!("+{:.0}s ×{}", b.at, b.throttled))
            .collect();
        let _ = writeln!(
            o,
            "\n## Requests over time\n\nper {:.0} s, peak {peak}{}:\n\n```\n{}\n```",
            d.bucket_seconds,
            d.rate_limits
                .iter()
                .map(|(f, r)| format!("; pace {f} {:.1}/bucket", r * d.bucket_seconds))
                .collect::<String>(),
            sparkline(&requests)
        );
        if !throttled.is_empty() {
            let _ = writeln!(o, "throttled at {}", throttled.join(", "));
        }
    }
    if !d.codes.is_empty() {
        let _ = writeln!(
            o,
            "\n## Failures by provider code\n\n| code | targets | message | examples |\n|---|---|---|---|"
        );
        for g in &d.codes {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                g.code.map_or("—".to_string(), |c| c.to_string()),
                g.count,
                g.message.replace('|', "\\|"),
                g.examples.join(", ")
            );
        }
    }
    if !d.unresolved.is_empty() {
        let _ = writeln!(
            o,
            "\n## In flight when the run ended ({})\n",
            d.unresolved.len()
        );
        let _ = writeln!(
            o,
            "A request left for these targets and no outcome was recorded: `pushfix resume` re-checks them.\n"
        );
        for (s, t) in d.unresolved.iter().take(MAX_LISTED) {
            let _ = writeln!(o, "- {s}: `{t}`");
        }
    }
    for (outcome, title) in LISTS {
        if let Some(l) = d.list(outcome) {
            list_md(&mut o, title, l);
        }
    }
    let _ = writeln!(
        o,
        "\nEvery request and answer: `journal.jsonl` in this run directory."
    );
    o
}

/// The verification section: counts per step, what did not take effect (with the provider's
/// evidence), why others could not be told, and what is left unchecked.
fn verification_md(o: &mut String, r: &Report, d: &Details) {
    let Some(v) = &r.verification else { return };
    let c = v.counts;
    let _ = writeln!(
        o,
        "\n## Verification\n\n{} of {} corrections checked ({} pass{}, {} request{}): {} verified, {} not effective, {} unknown; {} unchecked.\n",
        c.checked,
        c.checked + c.unchecked,
        v.passes,
        if v.passes == 1 { "" } else { "es" },
        v.requests,
        if v.requests == 1 { "" } else { "s" },
        c.verified,
        c.not_effective,
        c.unknown,
        c.unchecked
    );
    let _ = writeln!(
        o,
        "| step | action | checked | verified | not_effective | unknown | unchecked |\n|---|---|---|---|---|---|---|"
    );
    for s in &r.steps {
        if let Some(sv) = &s.verification {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                s.name,
                s.action,
                sv.checked,
                sv.verified,
                sv.not_effective,
                sv.unknown,
                sv.unchecked
            );
        }
    }
    let _ = writeln!(
        o,
        "\nverified: the provider's records show the effect; not_effective: they show it did not take effect; unknown: they cannot tell (docs/verification.md)."
    );
    let vd = &d.verification;
    if c.not_effective > 0 {
        let _ = writeln!(
            o,
            "\n### Not effective ({})\n\n| step | target | reason | evidence |\n|---|---|---|---|",
            c.not_effective
        );
        for i in &vd.not_effective {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | `{}` |",
                i.step,
                i.target,
                i.reason.replace('|', "\\|"),
                i.evidence.replace('|', "\\|").replace('`', "'")
            );
        }
        more(o, c.not_effective, vd.not_effective.len());
    }
    if c.unknown > 0 {
        let _ = writeln!(o, "\n### Unknown ({})\n", c.unknown);
        for (reason, n) in &vd.unknown_reasons {
            let _ = writeln!(o, "- ×{n}: {reason}");
        }
        let _ = writeln!(o, "\n| step | target | reason |\n|---|---|---|");
        for i in &vd.unknown {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} |",
                i.step,
                i.target,
                i.reason.replace('|', "\\|")
            );
        }
        more(o, c.unknown, vd.unknown.len());
    }
    if c.unchecked > 0 {
        let _ = writeln!(
            o,
            "\n### Unchecked ({})\n\nNo verdict yet: `pushfix verify <this run directory>` checks them (each pass checks what the report API's quota allows, most receivers first; what has a verdict is not asked again).\n",
            c.unchecked
        );
        for (s, t) in &vd.unchecked {
            let _ = writeln!(o, "- {s}: `{t}`");
        }
        more(o, c.unchecked, vd.unchecked.len());
    }
    if let Some((at, stopped)) = &vd.last_pass {
        let _ = writeln!(
            o,
            "\nLast pass ended {at}{}.",
            stopped
                .as_ref()
                .map(|s| format!(" early: {s}"))
                .unwrap_or_default()
        );
    }
}

fn more(o: &mut String, total: u64, listed: usize) {
    if total > listed as u64 {
        let _ = writeln!(o, "\n… and {} more in journal.jsonl", total - listed as u64);
    }
}

/// The target lists of the reports, in order.
pub const LISTS: [(Outcome, &str); 6] = [
    (
        Outcome::NotCorrected,
        "Not corrected: the provider refused to send the override",
    ),
    (Outcome::Failed, "Failed"),
    (Outcome::GaveUp, "Gave up"),
    (Outcome::NotAttempted, "Not attempted"),
    (Outcome::Gone, "Gone"),
    (Outcome::Skipped, "Skipped"),
];
