//! The plan as Markdown (`pushfix plan --format md`): what a reviewer reads in a pull request
//! (a CI job summary, a PR comment) before a playbook is merged. The same facts as the text
//! plan, laid out for GitHub-flavoured Markdown: one table of steps (verdicts, dispositions,
//! receivers, requests), the warnings, the residual exposure, and per step its first targets
//! with their reasons. Bounded whatever the plan's size: a CI summary has a size limit
//! (GitHub: 1 MiB per step), and the full plan is `--format json`.

use std::fmt::Write as _;
use std::time::Duration;

use super::exposure::approx;
use super::summary::{notes, renderings, shown, thousands};
use super::{Plan, PlanStep};
use crate::domain::{Disposition, format_duration};

/// Targets listed per step.
const FIRST_TARGETS: usize = 5;

pub fn render_markdown(plan: &Plan) -> String {
    let mut o = String::new();
    let p = &plan.provider;
    let _ = writeln!(
        o,
        "### pushfix plan: {} ({})",
        code(&plan.playbook.name),
        code(&plan.playbook.path)
    );
    let _ = writeln!(o);
    if let Some(d) = &plan.playbook.description {
        let _ = writeln!(o, "> {}", text(d.trim()));
        let _ = writeln!(o);
    }
    let mut facts = vec![
        format!(
            "**{}** at {} ({})",
            text(p.provider().display_name()),
            code(&p.base_url),
            text(&p.base_url_source)
        ),
        format!("as of {}", code(&plan.as_of.to_string())),
    ];
    if let Some(l) = &plan.ledger {
        facts.push(format!(
            "ledger {} ({} records)",
            code(&l.path),
            thousands(l.records)
        ));
    }
    facts.push(format!(
        "inputs sha256 {}",
        code(&plan.content_sha256[..16.min(plan.content_sha256.len())])
    ));
    let _ = writeln!(o, "{}", facts.join(" · "));
    let _ = writeln!(o);

    let t = &plan.totals;
    let mut headline = format!(
        "**{} target{} in {} step{}: {} to send, {} to skip, {} to fail**",
        thousands(t.targets),
        if t.targets == 1 { "" } else { "s" },
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" },
        thousands(t.send),
        thousands(t.skip),
        thousands(t.fail)
    );
    let e = &plan.exposure;
    if e.receivers_before > 0 {
        let _ = write!(
            headline,
            " · exposure {} → {} receivers",
            approx(e.receivers_before),
            approx(e.receivers_after)
        );
    }
    let _ = writeln!(o, "{headline}");
    let _ = writeln!(o);

    steps_table(&mut o, plan);
    warnings(&mut o, plan);
    exposure(&mut o, plan);
    for (i, s) in plan.steps.iter().enumerate() {
        step_details(&mut o, i + 1, s);
    }
    let _ = writeln!(
        o,
        "<sub>pushfix {} · {} · the whole plan, every target and request: <code>pushfix plan --format json</code></sub>",
        text(&plan.pushfix_version),
        text(&plan.schema)
    );
    o
}

fn steps_table(o: &mut String, plan: &Plan) {
    let _ = writeln!(
        o,
        "| # | step | action | targets | will_run | partial | unsupported | expired | send | skip | fail | receivers reached | requests |"
    );
    let _ = writeln!(o, "|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|");
    for (i, s) in plan.steps.iter().enumerate() {
        let receivers = match &s.receivers {
            Some(r) if r.total > 0 => format!(
                "~{} of {} ({:.0}%)",
                thousands(r.reached),
                thousands(r.total),
                r.reached as f64 * 100.0 / r.total as f64
            ),
            _ => "–".into(),
        };
        let requests = if s.estimated_requests > 0 {
            format!(
                "~{}, about {}",
                thousands(s.estimated_requests),
                format_duration(Duration::from_secs_f64(s.estimated_seconds))
            )
        } else {
            "–".into()
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            code(&s.name),
            code(s.action.as_str()),
            thousands(s.targets.len() as u64),
            thousands(s.counts.will_run),
            thousands(s.counts.partial),
            thousands(s.counts.unsupported),
            thousands(s.counts.expired),
            thousands(s.dispositions.send),
            thousands(s.dispositions.skip),
            thousands(s.dispositions.fail),
            receivers,
            requests
        );
    }
    let _ = writeln!(o);
}

fn warnings(o: &mut String, plan: &Plan) {
    let step_warnings = plan
        .steps
        .iter()
        .flat_map(|s| s.warnings.iter().map(move |w| (Some(&s.name), w)));
    let all: Vec<(Option<&String>, &String)> = step_warnings
        .chain(plan.warnings.iter().map(|w| (None, w)))
        .collect();
    if all.is_empty() {
        return;
    }
    let _ = writeln!(o, "#### Warnings");
    let _ = writeln!(o);
    for (step, w) in all {
        match step {
            Some(s) => {
                let _ = writeln!(o, "- ⚠️ step {}: {}", code(s), text(w));
            }
            None => {
                let _ = writeln!(o, "- ⚠️ {}", text(w));
            }
        }
    }
    let _ = writeln!(o);
}

fn exposure(o: &mut String, plan: &Plan) {
    let e = &plan.exposure;
    if e.by_channel.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "#### Residual exposure: {} → {} receivers (if every request succeeds)",
        approx(e.receivers_before),
        approx(e.receivers_after)
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| channel | receivers before | after | messages before | after | |"
    );
    let _ = writeln!(o, "|---|--:|--:|--:|--:|---|");
    for (ch, c) in &e.by_channel {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            code(ch),
            thousands(c.before),
            thousands(c.after),
            thousands(c.messages_before),
            thousands(c.messages_after),
            if e.unreached.contains(ch) {
                "**reached by no step**"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(o);
    for n in notes(e) {
        let _ = writeln!(o, "- {}", text(&n));
    }
    if e.has_stop || e.uncounted_messages > 0 || e.unknown_targets > 0 {
        let _ = writeln!(o);
    }
}

/// A step's API, what it does not reach, what it sends, and its first targets: folded, so
/// the summary stays one screen until a reviewer opens a step.
fn step_details(o: &mut String, n: usize, s: &PlanStep) {
    let _ = writeln!(o, "<details>");
    let _ = writeln!(
        o,
        "<summary>Step {n} <code>{}</code>: {} — {} targets, {} to send</summary>",
        html(&s.name),
        html(s.action.as_str()),
        thousands(s.targets.len() as u64),
        thousands(s.dispositions.send)
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "- API: {} · unsupported: {}",
        code(&s.api),
        code(s.unsupported.as_str())
    );
    if !s.channels_not_reached.is_empty() {
        let mut chans: Vec<(&String, &u64)> = s.channels_not_reached.iter().collect();
        chans.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let list: Vec<String> = chans
            .iter()
            .map(|(c, n)| format!("{} ({})", code(c), thousands(**n)))
            .collect();
        let _ = writeln!(o, "- not reached: {}", list.join(", "));
    }
    let (seen, distinct) = renderings(s);
    for (m, first, count) in &seen {
        let title = m
            .title
            .as_deref()
            .map(|t| format!("title “{}” · ", text(&shown(t))))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "- message to {} target{} (e.g. {}): {title}body “{}”",
            thousands(*count),
            if *count == 1 { "" } else { "s" },
            code(first),
            text(&shown(&m.body))
        );
    }
    if distinct > seen.len() as u64 {
        let _ = writeln!(
            o,
            "- … and {} more distinct renderings",
            thousands(distinct - seen.len() as u64)
        );
    }
    if !s.targets.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "| target | verdict | disposition | reason |");
        let _ = writeln!(o, "|---|---|---|---|");
        for t in s.targets.iter().take(FIRST_TARGETS) {
            let disposition = match t.disposition {
                Disposition::Send => "send",
                Disposition::Skip => "skip",
                Disposition::Fail => "fail",
            };
            let verdict = t.verdict.as_str();
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                code(&t.id),
                verdict,
                disposition,
                text(t.reason.as_deref().unwrap_or(""))
            );
        }
        let more = s.targets.len().saturating_sub(FIRST_TARGETS);
        if more > 0 {
            let _ = writeln!(o, "| … and {} more | | | |", thousands(more as u64));
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "</details>");
    let _ = writeln!(o);
}

/// Text from the playbook or the ledger in Markdown prose or a table cell: one line, and no
/// character that would start markup (a pipe would end the cell, `<` a tag, `*` emphasis).
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A name, id or path as inline code. Backticks cannot be escaped inside a code span, and a
/// pipe still ends a table cell: both are replaced.
fn code(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '`' => '\'',
            '|' => '¦',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect();
    format!("`{clean}`")
}

/// Text inside an HTML element (`<summary>`).
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::{code, text};

    #[test]
    fn text_cannot_start_markup_or_end_a_cell() {
        assert_eq!(
            text("a|b <script> *x* [l](u)\nnext"),
            "a\\|b &lt;script&gt; \\*x\\* \\[l\\](u) next"
        );
    }

    #[test]
    fn code_spans_hold_no_backtick_or_pipe() {
        assert_eq!(code("a`b|c"), "`a'b¦c`");
    }
}
