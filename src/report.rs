//! The audit report (DESIGN §6), built from the journal alone, so `pushfix report RUN_DIR`
//! can always rebuild it — after a crash too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::event::{Event, Outcome};

pub const REPORT_SCHEMA: &str = "pushfix.report/v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema: String,
    pub run_id: String,
    pub playbook: ReportPlaybook,
    pub operator: String,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Present (true) only for runs against the built-in sandbox.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
    pub steps: Vec<ReportStep>,
    pub totals: Totals,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReportPlaybook {
    pub path: String,
    pub name: String,
    pub sha256: String,
    pub git_commit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReportStep {
    pub name: String,
    pub action: String,
    pub targets: u64,
    pub outcomes: Outcomes,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub achieved_rate_per_s: f64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outcomes {
    pub done: u64,
    pub gone: u64,
    pub skipped: u64,
    pub failed: u64,
    pub gave_up: u64,
    pub not_attempted: u64,
}

impl Outcomes {
    fn add(&mut self, o: Outcome) {
        *self.slot(o) += 1;
    }

    fn slot(&mut self, o: Outcome) -> &mut u64 {
        match o {
            Outcome::Done => &mut self.done,
            Outcome::Gone => &mut self.gone,
            Outcome::Skipped => &mut self.skipped,
            Outcome::Failed => &mut self.failed,
            Outcome::GaveUp => &mut self.gave_up,
            Outcome::NotAttempted => &mut self.not_attempted,
        }
    }

    pub fn get(&self, o: Outcome) -> u64 {
        let mut c = *self;
        *c.slot(o)
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Totals {
    pub targets: u64,
    #[serde(flatten)]
    pub outcomes: Outcomes,
}

/// Details kept beside the report for the Markdown and HTML renderings.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// (step, target, outcome, code, reason) of every failed or gave-up target.
    pub failures: Vec<(String, String, Outcome, Option<i64>, String)>,
    /// step -> reason -> count of skipped targets.
    pub skipped: BTreeMap<String, BTreeMap<String, u64>>,
    /// Targets with an intent but no final record (the run was killed mid-request).
    pub unresolved: Vec<(String, String)>,
    pub stopped: Option<String>,
    pub base_url: String,
    pub provider: String,
    pub as_of: Option<Timestamp>,
    /// When `pushfix resume` picked the run up, and who.
    pub resumed: Vec<(Timestamp, String)>,
}

/// Rebuild the report from journal events.
pub fn build(events: &[Event]) -> Result<(Report, Details), String> {
    let Some(Event::RunStarted {
        at,
        run_id,
        playbook_path,
        playbook_name,
        playbook_sha256,
        git_commit,
        operator,
        sandbox,
        base_url,
        provider,
        as_of,
        ..
    }) = events.first()
    else {
        return Err("the journal does not start with a run_started record".into());
    };
    let mut report = Report {
        schema: REPORT_SCHEMA.into(),
        run_id: run_id.clone(),
        playbook: ReportPlaybook {
            path: playbook_path.clone(),
            name: playbook_name.clone(),
            sha256: playbook_sha256.clone(),
            git_commit: git_commit.clone(),
        },
        operator: operator.clone(),
        started_at: *at,
        finished_at: None,
        exit_code: None,
        sandbox: *sandbox,
        steps: Vec::new(),
        totals: Totals::default(),
    };
    let mut details = Details {
        base_url: base_url.clone(),
        provider: provider.clone(),
        as_of: *as_of,
        ..Details::default()
    };
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut windows: Vec<(Option<Timestamp>, Option<Timestamp>)> = Vec::new();
    // First and last dispatch of each step: the achieved rate is measured between them.
    let mut dispatch: Vec<(Option<Timestamp>, Option<Timestamp>)> = Vec::new();
    let mut open: BTreeMap<(String, String), ()> = BTreeMap::new();
    // The last word on each target counts (a resumed run may have re-sent it).
    let mut finals: BTreeMap<(String, String), (Outcome, String, Option<i64>)> = BTreeMap::new();
    for e in events {
        match e {
            Event::StepStarted {
                at,
                step,
                action,
                targets,
            } => {
                // A resumed run starts its steps again: still one row per step.
                if index.contains_key(step) {
                    continue;
                }
                index.insert(step.clone(), report.steps.len());
                report.steps.push(ReportStep {
                    name: step.clone(),
                    action: action.clone(),
                    targets: *targets,
                    outcomes: Outcomes::default(),
                    requests: 0,
                    retries: 0,
                    throttled: 0,
                    achieved_rate_per_s: 0.0,
                });
                windows.push((Some(*at), None));
                dispatch.push((None, None));
            }
            Event::Resumed { at, operator, .. } => details.resumed.push((*at, operator.clone())),
            Event::Intent {
                at,
                step,
                target,
                attempt,
                ..
            } => {
                if let Some(&i) = index.get(step) {
                    report.steps[i].requests += 1;
                    dispatch[i].0.get_or_insert(*at);
                    dispatch[i].1 = Some(*at);
                    if *attempt > 1 {
                        report.steps[i].retries += 1;
                    }
                }
                if !target.is_empty() {
                    open.insert((step.clone(), target.clone()), ());
                }
            }
            Event::Answer { step, class, .. } => {
                if class == "throttled"
                    && let Some(&i) = index.get(step)
                {
                    report.steps[i].throttled += 1;
                }
            }
            Event::Final {
                step,
                target,
                outcome,
                reason,
                code,
                ..
            } => {
                open.remove(&(step.clone(), target.clone()));
                finals.insert(
                    (step.clone(), target.clone()),
                    (*outcome, reason.clone().unwrap_or_default(), *code),
                );
            }
            Event::StepFinished { at, step } => {
                if let Some(&i) = index.get(step) {
                    windows[i].1 = Some(*at);
                }
            }
            Event::RunFinished {
                at,
                exit_code,
                stopped,
            } => {
                report.finished_at = Some(*at);
                report.exit_code = Some(*exit_code);
                details.stopped = stopped.clone();
            }
            Event::RunStarted { .. } => {}
        }
    }
    details.unresolved = open.into_keys().collect();
    for ((step, target), (outcome, why, code)) in finals {
        if let Some(&i) = index.get(&step) {
            report.steps[i].outcomes.add(outcome);
        }
        match outcome {
            Outcome::Failed | Outcome::GaveUp => {
                details.failures.push((step, target, outcome, code, why))
            }
            Outcome::Skipped => {
                let key = why.split(": ").next().unwrap_or("").to_string();
                *details
                    .skipped
                    .entry(step)
                    .or_default()
                    .entry(key)
                    .or_default() += 1;
            }
            _ => {}
        }
    }
    for ((s, (start, end)), (first, last)) in report.steps.iter_mut().zip(windows).zip(dispatch) {
        // N requests span N-1 intervals between the first and the last dispatch (as vegeta
        // reports rate); a single request has no rate beyond the step's duration.
        let rate = match (first, last) {
            (Some(a), Some(b)) if s.requests > 1 && b > a => {
                (s.requests - 1) as f64 / b.duration_since(a).as_secs_f64()
            }
            _ => match (start, end) {
                (Some(a), Some(b)) if b > a && s.requests > 0 => {
                    s.requests as f64 / b.duration_since(a).as_secs_f64()
                }
                _ => 0.0,
            },
        };
        s.achieved_rate_per_s = (rate * 10.0).round() / 10.0;
    }
    let mut t = Totals::default();
    for s in &report.steps {
        t.targets += s.targets;
        for o in Outcome::ALL {
            *t.outcomes.slot(o) += s.outcomes.get(o);
        }
    }
    report.totals = t;
    Ok((report, details))
}

pub fn to_json(r: &Report) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or(serde_json::Value::Null)
}

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
const MAX_LISTED: usize = 200;

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

pub fn to_html(r: &Report, d: &Details) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>pushfix {}</title><style>\
         body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         </style></head><body><h1>pushfix run {}{}</h1>",
        esc(&r.run_id),
        esc(&r.run_id),
        if r.sandbox { " (sandbox)" } else { "" }
    );
    let _ = write!(
        o,
        "<p>playbook <code>{}</code> ({}) · operator {} · started {} · exit {}</p>",
        esc(&r.playbook.path),
        esc(&r.playbook.name),
        esc(&r.operator),
        r.started_at,
        r.exit_code.map_or("not recorded".to_string(), |c| format!(
            "{c} ({})",
            exit_meaning(c)
        ))
    );
    let _ = write!(o, "<table><tr><th>step</th><th>action</th><th>targets</th>");
    for out in Outcome::ALL {
        let _ = write!(o, "<th>{}</th>", out.as_str());
    }
    let _ = write!(
        o,
        "<th>requests</th><th>retries</th><th>throttled</th><th>rate/s</th></tr>"
    );
    for s in &r.steps {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            esc(&s.name),
            esc(&s.action),
            s.targets
        );
        for out in Outcome::ALL {
            let _ = write!(o, "<td>{}</td>", s.outcomes.get(out));
        }
        let _ = write!(
            o,
            "<td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            s.requests, s.retries, s.throttled, s.achieved_rate_per_s
        );
    }
    let _ = write!(o, "</table>");
    if !d.failures.is_empty() {
        let _ = write!(
            o,
            "<h2>Failed and gave up</h2><table><tr><th>step</th><th>target</th><th>outcome</th><th>code</th><th>reason</th></tr>"
        );
        for (s, t, out, code, why) in d.failures.iter().take(MAX_LISTED) {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(s),
                esc(t),
                out.as_str(),
                code.map(|c| c.to_string()).unwrap_or_default(),
                esc(why)
            );
        }
        let _ = write!(o, "</table>");
    }
    let _ = writeln!(o, "</body></html>");
    o
}

pub fn exit_meaning(code: i32) -> &'static str {
    match code {
        0 => "every target done, gone or skipped",
        1 => "some targets failed or gave up",
        2 => "invalid input",
        3 => "aborted",
        4 => "locked",
        5 => "refused by a guard",
        _ => "unknown",
    }
}

/// Rebuild report.json and report.md from the journal of `dir`.
pub fn write_reports(dir: &Path) -> Result<(Report, Details), String> {
    let events = crate::journal::read(&dir.join("journal.jsonl"))?;
    let (r, d) = build(&events)?;
    let json = to_json(&r);
    crate::atomic_file::write_json(&dir.join("report.json"), &json).map_err(|e| e.to_string())?;
    crate::atomic_file::write_atomic(&dir.join("report.md"), to_markdown(&r, &d).as_bytes())
        .map_err(|e| e.to_string())?;
    Ok((r, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn counts_requests_retries_throttles_and_rate() {
        let ev = vec![
            Event::RunStarted {
                at: t("2026-11-21T00:00:00Z"),
                run_id: "20261121T000000Z-x".into(),
                playbook_path: "p.yaml".into(),
                playbook_name: "x".into(),
                playbook_sha256: "ab".into(),
                git_commit: None,
                operator: "ops@host".into(),
                content_sha256: "cd".into(),
                provider: "jpush".into(),
                base_url: "https://api.jpush.cn".into(),
                app: "k".into(),
                sandbox: false,
                as_of: None,
            },
            Event::StepStarted {
                at: t("2026-11-21T00:00:00Z"),
                step: "s".into(),
                action: "recall".into(),
                targets: 3,
            },
            Event::Intent {
                at: t("2026-11-21T00:00:00Z"),
                step: "s".into(),
                target: "1".into(),
                attempt: 1,
                request: "DELETE /v3/push/1".into(),
                family: "jpush_push".into(),
                cid: None,
            },
            Event::Answer {
                at: t("2026-11-21T00:00:00Z"),
                step: "s".into(),
                target: "1".into(),
                attempt: 1,
                status: Some(429),
                class: "throttled".into(),
                code: Some(2002),
                message: None,
                latency_ms: 3,
                new_id: None,
                collapse_id: None,
            },
            Event::Intent {
                at: t("2026-11-21T00:00:01Z"),
                step: "s".into(),
                target: "1".into(),
                attempt: 2,
                request: "DELETE /v3/push/1".into(),
                family: "jpush_push".into(),
                cid: None,
            },
            Event::Final {
                at: t("2026-11-21T00:00:01Z"),
                step: "s".into(),
                target: "1".into(),
                outcome: Outcome::Done,
                reason: None,
                code: None,
                new_id: None,
            },
            Event::Final {
                at: t("2026-11-21T00:00:01Z"),
                step: "s".into(),
                target: "2".into(),
                outcome: Outcome::Skipped,
                reason: Some("unsupported: x".into()),
                code: None,
                new_id: None,
            },
            Event::Intent {
                at: t("2026-11-21T00:00:01Z"),
                step: "s".into(),
                target: "3".into(),
                attempt: 1,
                request: "DELETE /v3/push/3".into(),
                family: "jpush_push".into(),
                cid: None,
            },
            Event::StepFinished {
                at: t("2026-11-21T00:00:02Z"),
                step: "s".into(),
            },
        ];
        let (r, d) = build(&ev).unwrap();
        let s = &r.steps[0];
        assert_eq!((s.requests, s.retries, s.throttled), (3, 1, 1));
        assert_eq!(
            s.achieved_rate_per_s, 2.0,
            "3 dispatches over 1 s between the first and the last"
        );
        assert_eq!((r.totals.outcomes.done, r.totals.outcomes.skipped), (1, 1));
        assert_eq!(d.unresolved, vec![("s".to_string(), "3".to_string())]);
        assert!(r.exit_code.is_none());
        let md = to_markdown(&r, &d);
        assert!(md.contains("did not finish") && md.contains("`3`"), "{md}");
        let json = to_json(&r);
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "schema",
                "run_id",
                "playbook",
                "operator",
                "started_at",
                "steps",
                "totals"
            ]
        );
    }
}
