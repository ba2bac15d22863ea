//! The report as text: the summary table a run ends with, and report.md.

use std::fmt::Write as _;

use super::{Details, Report};
use crate::exit::meaning as exit_meaning;

/// The summary table printed at the end of a run (and the core of report.md).
pub fn table(r: &Report) -> String {
    let mut o = String::new();
    let w = r
        .steps
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(5);
    let _ = writeln!(
        o,
        "{:<w$}  {:<16}  {:>7}  {:>6}  {:>5}  {:>7}  {:>6}  {:>7}  {:>13}  {:>8}  {:>7}  {:>9}  {:>6}",
        "step",
        "action",
        "targets",
        "done",
        "gone",
        "skipped",
        "failed",
        "gave_up",
        "not_attempted",
        "requests",
        "retries",
        "throttled",
        "rate/s"
    );
    for s in &r.steps {
        let c = &s.outcomes;
        let _ = writeln!(
            o,
            "{:<w$}  {:<16}  {:>7}  {:>6}  {:>5}  {:>7}  {:>6}  {:>7}  {:>13}  {:>8}  {:>7}  {:>9}  {:>6.1}",
            s.name,
            s.action,
            s.targets,
            c.done,
            c.gone,
            c.skipped,
            c.failed,
            c.gave_up,
            c.not_attempted,
            s.requests,
            s.retries,
            s.throttled,
            s.achieved_rate_per_s
        );
    }
    let (t, c) = (&r.totals, &r.totals.outcomes);
    let requests: u64 = r.steps.iter().map(|s| s.requests).sum();
    let retries: u64 = r.steps.iter().map(|s| s.retries).sum();
    let throttled: u64 = r.steps.iter().map(|s| s.throttled).sum();
    let _ = writeln!(
        o,
        "{:<w$}  {:<16}  {:>7}  {:>6}  {:>5}  {:>7}  {:>6}  {:>7}  {:>13}  {:>8}  {:>7}  {:>9}",
        "total",
        "",
        t.targets,
        c.done,
        c.gone,
        c.skipped,
        c.failed,
        c.gave_up,
        c.not_attempted,
        requests,
        retries,
        throttled
    );
    o
}

/// Failures listed in report.md and report.html.
pub(super) const MAX_LISTED: usize = 200;

pub fn to_markdown(r: &Report, d: &Details) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# pushfix run {}{}",
        r.run_id,
        if r.sandbox { " (sandbox)" } else { "" }
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(
        o,
        "| playbook | `{}` ({}) |",
        r.playbook.path, r.playbook.name
    );
    let _ = writeln!(o, "| playbook sha256 | `{}` |", r.playbook.sha256);
    if let Some(c) = &r.playbook.git_commit {
        let _ = writeln!(o, "| git commit | `{c}` |");
    }
    let _ = writeln!(o, "| provider | {} at {} |", d.provider, d.base_url);
    let _ = writeln!(o, "| operator | {} |", r.operator);
    let _ = writeln!(o, "| started | {} |", r.started_at);
    match (r.finished_at, r.exit_code) {
        (Some(f), Some(c)) => {
            let _ = writeln!(o, "| finished | {f} |");
            let _ = writeln!(o, "| exit code | {c} ({}) |", exit_meaning(c));
        }
        _ => {
            let _ = writeln!(o, "| finished | **not recorded: the run did not finish** |");
        }
    }
    if let Some(a) = d.as_of {
        let _ = writeln!(o, "| planned as of | {a} |");
    }
    if r.sandbox {
        let _ = writeln!(
            o,
            "| target | **the built-in sandbox: no real provider was called** |"
        );
    }
    if let Some(s) = &d.stopped {
        let _ = writeln!(o, "| stopped | {s} |");
    }
    for (at, who) in &d.resumed {
        let _ = writeln!(o, "| resumed | {at} by {who} |");
    }
    let _ = writeln!(o, "\n## Steps\n\n```\n{}```", table(r));
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
    if !d.failures.is_empty() {
        let _ = writeln!(o, "\n## Failed and gave up ({})\n", d.failures.len());
        let _ = writeln!(
            o,
            "| step | target | outcome | code | reason |\n|---|---|---|---|---|"
        );
        for (s, t, out, code, why) in d.failures.iter().take(MAX_LISTED) {
            let code = code.map(|c| c.to_string()).unwrap_or_default();
            let _ = writeln!(
                o,
                "| {s} | `{t}` | {} | {code} | {} |",
                out.as_str(),
                why.replace('|', "\\|")
            );
        }
        if d.failures.len() > MAX_LISTED {
            let _ = writeln!(
                o,
                "\n… and {} more in journal.jsonl",
                d.failures.len() - MAX_LISTED
            );
        }
    }
    if !d.skipped.is_empty() {
        let _ = writeln!(o, "\n## Skipped\n");
        for (s, reasons) in &d.skipped {
            for (why, n) in reasons {
                let _ = writeln!(o, "- {s}: {n} {why}");
            }
        }
    }
    o
}
