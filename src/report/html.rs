//! report.html: the incident report as one self-contained page (inline CSS and SVG, no
//! script, no network): the exit status and why, who ran what against what, totals, outcomes
//! per step, requests over time against the pace, failures by provider code, the residual
//! exposure, and the targets that need attention.

use std::fmt::Write as _;

use super::markdown::{LISTS, exposure_notes, outcome_words, status_line};
use super::{Details, MAX_LISTED, Report, TargetList};
use crate::event::Outcome;
use crate::exit;
use crate::plan::exposure::approx;
use crate::plan::thousands;
use crate::provider;

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}\
main{max-width:1100px;margin:0 auto;padding:1.5em}\
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.6em 0 .5em;border-bottom:1px solid #d8dde3;padding-bottom:.2em}\
.banner{padding:1em 1.5em;color:#fff}.banner.ok{background:#1f7a3d}.banner.bad{background:#b3261e}\
.banner .status{font-size:1.3em;font-weight:600}.banner .why{margin-top:.3em}\
.badge{display:inline-block;background:#ffd24d;color:#3a2c00;border-radius:3px;padding:.1em .5em;margin-left:.6em;font-size:.8em;font-weight:700}\
table{border-collapse:collapse;background:#fff;margin:.4em 0}td,th{border:1px solid #d8dde3;padding:3px 8px;text-align:right;vertical-align:top}\
th{background:#eef1f4}td.l,th.l{text-align:left}table.facts td:first-child{font-weight:600;text-align:left}table.facts td{text-align:left}\
.totals{display:flex;flex-wrap:wrap;gap:.6em}.totals div{background:#fff;border:1px solid #d8dde3;padding:.5em .9em;min-width:6em}\
.totals b{display:block;font-size:1.4em}.legend span{margin-right:1em;white-space:nowrap}.legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}\
code{background:#eef1f4;padding:0 .2em}.scroll{overflow-x:auto;max-width:100%}table{font-size:.92em}.note{color:#5a6572;font-size:.9em}svg{background:#fff;border:1px solid #d8dde3}";

/// Each outcome's colour, in charts and legends.
fn colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Done => "#2e9d55",
        Outcome::Gone => "#7a8794",
        Outcome::NotCorrected => "#d9822b",
        Outcome::Skipped => "#b9c2cc",
        Outcome::Failed => "#c4342b",
        Outcome::GaveUp => "#8e1c16",
        Outcome::NotAttempted => "#4a6fa5",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn to_html(r: &Report, d: &Details) -> String {
    let mut o = String::new();
    let ok = r.exit_code == Some(exit::OK);
    let provider_name =
        provider::find(&r.provider).map_or(r.provider.as_str(), |p| p.display_name());
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>pushfix {} — {}</title><style>{STYLE}</style></head><body>",
        esc(&r.run_id),
        esc(&status_line(r))
    );
    // Banner: the exit status first, and why the run stopped.
    let _ = write!(
        o,
        "<header id=\"banner\" class=\"banner {}\"><div class=\"status\">{}{}</div>",
        if ok { "ok" } else { "bad" },
        esc(&status_line(r)),
        if r.sandbox {
            "<span class=\"badge\">SANDBOX: no real provider was called</span>"
        } else {
            ""
        }
    );
    if let Some(s) = &r.stopped {
        let _ = write!(o, "<div class=\"why\">stopped: {}</div>", esc(s));
    }
    if let Some(e) = &r.exposure
        && e.receivers_after > 0
    {
        let _ = write!(
            o,
            "<div class=\"why\">{} of {} receivers may still see the original</div>",
            approx(e.receivers_after),
            approx(e.receivers_before)
        );
    }
    let _ = write!(o, "</header><main>");
    let _ = write!(
        o,
        "<h1>pushfix run {}</h1><table class=\"facts\">",
        esc(&r.run_id)
    );
    let mut fact = |k: &str, v: String| {
        let _ = write!(o, "<tr><td>{k}</td><td>{v}</td></tr>");
    };
    fact(
        "provider",
        format!("{} (app <code>{}</code>)", esc(provider_name), esc(&d.app)),
    );
    fact(
        "endpoint",
        format!(
            "{}{}",
            esc(&d.base_url),
            if r.sandbox { " (sandbox)" } else { "" }
        ),
    );
    fact(
        "playbook",
        format!(
            "<code>{}</code> ({})",
            esc(&r.playbook.path),
            esc(&r.playbook.name)
        ),
    );
    fact(
        "playbook sha256",
        format!("<code>{}</code>", esc(&r.playbook.sha256)),
    );
    if let Some(c) = &r.playbook.git_commit {
        fact("git commit", format!("<code>{}</code>", esc(c)));
    }
    fact("operator", esc(&r.operator));
    fact("started", r.started_at.to_string());
    fact(
        "finished",
        r.finished_at
            .map_or("<b>not recorded: the run did not finish</b>".into(), |f| {
                f.to_string()
            }),
    );
    if let Some(a) = d.as_of {
        fact("planned as of", a.to_string());
    }
    for (at, who) in &d.resumed {
        fact("resumed", format!("{at} by {}", esc(who)));
    }
    let _ = write!(o, "</table>");

    // Totals.
    let t = &r.totals;
    let _ = write!(
        o,
        "<h2>Totals</h2><section id=\"totals\" class=\"totals\"><div><b>{}</b>targets</div>",
        t.targets
    );
    for out in Outcome::ALL {
        let _ = write!(
            o,
            "<div data-outcome=\"{0}\" style=\"border-left:4px solid {1}\"><b>{2}</b>{0}</div>",
            out.as_str(),
            colour(out),
            t.outcomes.get(out)
        );
    }
    let _ = write!(
        o,
        "<div><b>{}</b>requests</div><div><b>{}</b>throttled</div></section>",
        r.steps.iter().map(|s| s.requests).sum::<u64>(),
        r.steps.iter().map(|s| s.throttled).sum::<u64>()
    );

    steps(&mut o, r);
    if let Some(e) = &r.exposure {
        let _ = write!(
            o,
            "<h2>Residual exposure</h2><p>Receivers whose devices may still show the original: <b>{}</b> before → <b>{}</b> after.</p>\
             <table id=\"exposure\"><tr><th class=\"l\">channel</th><th>receivers before</th><th>after</th><th>messages before</th><th>after</th><th class=\"l\"></th></tr>",
            approx(e.receivers_before),
            approx(e.receivers_after)
        );
        for (ch, c) in &e.by_channel {
            let _ = write!(
                o,
                "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                esc(ch),
                thousands(c.before),
                thousands(c.after),
                thousands(c.messages_before),
                thousands(c.messages_after),
                if e.unreached.contains(ch) {
                    "reached by no step"
                } else {
                    ""
                }
            );
        }
        let _ = write!(
            o,
            "<tr><th class=\"l\">total</th><th>{}</th><th>{}</th><th></th><th></th><th></th></tr></table><ul class=\"note\">",
            thousands(e.receivers_before),
            thousands(e.receivers_after)
        );
        for n in exposure_notes(e) {
            let _ = write!(o, "<li>{}</li>", esc(&n));
        }
        let _ = write!(o, "</ul>");
    }
    verification(&mut o, r, d);
    timeline(&mut o, d);
    if !d.codes.is_empty() {
        let _ = write!(
            o,
            "<h2>Failures by provider code</h2><table id=\"codes\"><tr><th>code</th><th>targets</th><th class=\"l\">message</th><th class=\"l\">examples</th></tr>"
        );
        for g in &d.codes {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
                g.code.map_or("—".to_string(), |c| c.to_string()),
                g.count,
                esc(&g.message),
                esc(&g.examples.join(", "))
            );
        }
        let _ = write!(o, "</table>");
    }
    if !d.unresolved.is_empty() {
        let _ = write!(
            o,
            "<h2>In flight when the run ended ({})</h2><p>A request left for these targets and no outcome was recorded: <code>pushfix resume</code> re-checks them.</p><ul>",
            d.unresolved.len()
        );
        for (s, t) in d.unresolved.iter().take(MAX_LISTED) {
            let _ = write!(o, "<li>{}: <code>{}</code></li>", esc(s), esc(t));
        }
        let _ = write!(o, "</ul>");
    }
    for (outcome, title) in LISTS {
        if let Some(l) = d.list(outcome) {
            list(&mut o, outcome, title, l);
        }
    }
    let _ = writeln!(
        o,
        "<p class=\"note\">Every request and answer: <a href=\"journal.jsonl\">journal.jsonl</a> · the plan: <a href=\"plan.json\">plan.json</a></p></main></body></html>"
    );
    o
}

/// The verification section: counts per step, the corrections that did not take effect with
/// the provider's evidence, the unknown ones by reason, and what is left unchecked.
fn verification(o: &mut String, r: &Report, d: &Details) {
    let Some(v) = &r.verification else { return };
    let c = v.counts;
    let _ = write!(
        o,
        "<h2>Verification</h2><section id=\"verification\" class=\"totals\">\
         <div><b>{}</b>checked</div><div style=\"border-left:4px solid #2e7d32\"><b>{}</b>verified</div>\
         <div style=\"border-left:4px solid #c62828\"><b>{}</b>not effective</div><div style=\"border-left:4px solid #9e9e9e\"><b>{}</b>unknown</div>\
         <div><b>{}</b>unchecked</div><div><b>{}</b>requests</div></section>\
         <table id=\"verification-steps\"><tr><th class=\"l\">step</th><th class=\"l\">action</th><th>checked</th><th>verified</th><th>not_effective</th><th>unknown</th><th>unchecked</th></tr>",
        c.checked, c.verified, c.not_effective, c.unknown, c.unchecked, v.requests
    );
    for s in &r.steps {
        if let Some(sv) = &s.verification {
            let _ = write!(
                o,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.name),
                esc(&s.action),
                sv.checked,
                sv.verified,
                sv.not_effective,
                sv.unknown,
                sv.unchecked
            );
        }
    }
    let _ = write!(
        o,
        "</table><p class=\"note\">verified: the provider's records show the effect; not_effective: they show it did not take effect; unknown: they cannot tell.</p>"
    );
    let vd = &d.verification;
    if !vd.not_effective.is_empty() {
        let _ = write!(
            o,
            "<h2 id=\"not_effective\">Not effective ({})</h2><table><tr><th class=\"l\">step</th><th class=\"l\">target</th><th class=\"l\">reason</th><th class=\"l\">evidence</th></tr>",
            c.not_effective
        );
        for i in &vd.not_effective {
            let _ = write!(
                o,
                "<tr><td class=\"l\">{}</td><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td><td class=\"l\"><code>{}</code></td></tr>",
                esc(&i.step),
                esc(&i.target),
                esc(&i.reason),
                esc(&i.evidence)
            );
        }
        let _ = write!(o, "</table>");
    }
    if !vd.unknown_reasons.is_empty() {
        let _ = write!(o, "<h2 id=\"unknown\">Unknown ({})</h2><ul>", c.unknown);
        for (reason, n) in &vd.unknown_reasons {
            let _ = write!(o, "<li>×{n}: {}</li>", esc(reason));
        }
        let _ = write!(o, "</ul>");
    }
    if c.unchecked > 0 {
        let _ = write!(
            o,
            "<h2 id=\"unchecked\">Unchecked ({})</h2><p>No verdict yet: <code>pushfix verify</code> on this run directory checks them, within the report API's quota.</p><ul>",
            c.unchecked
        );
        for (s, t) in &vd.unchecked {
            let _ = write!(o, "<li>{}: <code>{}</code></li>", esc(s), esc(t));
        }
        let _ = write!(o, "</ul>");
    }
}

/// The steps table, and a stacked bar of each step's outcomes.
fn steps(o: &mut String, r: &Report) {
    let _ = write!(
        o,
        "<h2>Steps</h2><div class=\"scroll\"><table id=\"steps\"><tr><th class=\"l\">step</th><th class=\"l\">action</th><th>targets</th>"
    );
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
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td>",
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
    let _ = write!(
        o,
        "</table></div><p class=\"note\">rate/s: requests ÷ the step's dispatch time (its first request to its last request or answer).</p>"
    );
    // Stacked bars: one row per step, each outcome's share of its targets.
    let (w, row, label) = (760.0, 26.0, 170.0);
    let h = row * r.steps.len().max(1) as f64 + 10.0;
    let _ = write!(
        o,
        "<svg id=\"outcomes-chart\" role=\"img\" aria-label=\"outcomes per step\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">"
    );
    for (i, s) in r.steps.iter().enumerate() {
        let y = 5.0 + i as f64 * row;
        let _ = write!(
            o,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            y + 16.0,
            esc(&s.name)
        );
        let total = s.targets.max(1) as f64;
        let mut x = label;
        for out in Outcome::ALL {
            let n = s.outcomes.get(out);
            if n == 0 {
                continue;
            }
            let bw = (w - label - 10.0) * n as f64 / total;
            let _ = write!(
                o,
                "<rect class=\"{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {n} {}</title></rect>",
                out.as_str(),
                row - 6.0,
                colour(out),
                esc(&s.name),
                out.as_str()
            );
            x += bw;
        }
    }
    let _ = write!(o, "</svg><div class=\"legend note\">");
    for out in Outcome::ALL {
        let _ = write!(
            o,
            "<span><i style=\"background:{}\"></i>{}</span>",
            colour(out),
            out.as_str()
        );
    }
    let _ = write!(
        o,
        "</div><p class=\"note\">{}</p>",
        esc(&outcome_words(&r.totals.outcomes))
    );
}

/// Requests per bucket over the run, the pace as a line, throttled answers marked.
fn timeline(o: &mut String, d: &Details) {
    if d.timeline.is_empty() {
        return;
    }
    let (w, h, pad) = (760.0, 180.0, 30.0);
    let pace: f64 = d
        .rate_limits
        .iter()
        .map(|(_, r)| r * d.bucket_seconds)
        .fold(0.0, f64::max);
    let peak = d.timeline.iter().map(|b| b.requests).max().unwrap_or(0) as f64;
    let top = peak.max(pace).max(1.0) * 1.1;
    let n = d.timeline.len() as f64;
    let bw = (w - 2.0 * pad) / n;
    let y = |v: f64| h - pad - (h - 2.0 * pad) * v / top;
    let _ = write!(
        o,
        "<h2>Requests over time</h2><svg id=\"timeline\" role=\"img\" aria-label=\"requests over time\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
         <line x1=\"{pad}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#98a2ad\"/>",
        h - pad,
        w - pad
    );
    for (i, b) in d.timeline.iter().enumerate() {
        let x = pad + i as f64 * bw;
        if b.requests > 0 {
            let top_y = y(b.requests as f64);
            let _ = write!(
                o,
                "<rect class=\"requests\" x=\"{x:.2}\" y=\"{top_y:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"#4a6fa5\"><title>+{:.0}s: {} requests</title></rect>",
                (bw * 0.9).max(0.5),
                (h - pad - top_y).max(0.0),
                b.at,
                b.requests
            );
        }
        if b.throttled > 0 {
            let _ = write!(
                o,
                "<path class=\"throttled\" d=\"M{:.1} {:.1} l4 -8 l4 8 z\" fill=\"#c4342b\"><title>+{:.0}s: {} throttled</title></path>",
                x + bw / 2.0 - 4.0,
                pad - 4.0,
                b.at,
                b.throttled
            );
        }
    }
    if pace > 0.0 {
        let py = y(pace);
        let _ = write!(
            o,
            "<line id=\"rate-limit\" x1=\"{pad}\" y1=\"{py:.1}\" x2=\"{0}\" y2=\"{py:.1}\" stroke=\"#d9822b\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{pad}\" y=\"{1:.1}\" font-size=\"11\" fill=\"#a35f12\">pace {2:.1} per {3:.0} s</text>",
            w - pad,
            py - 4.0,
            pace,
            d.bucket_seconds
        );
    }
    let _ = write!(
        o,
        "<text x=\"{pad}\" y=\"{:.1}\" font-size=\"11\">0 s</text><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">+{:.0} s</text></svg>\
         <p class=\"note\">requests per {:.0} s bucket; the dashed line is the pace the plan set; ▲ marks throttled answers</p>",
        h - 10.0,
        w - pad,
        h - 10.0,
        d.timeline.last().map_or(0.0, |b| b.at + d.bucket_seconds),
        d.bucket_seconds
    );
}

fn list(o: &mut String, outcome: Outcome, title: &str, l: &TargetList) {
    let _ = write!(
        o,
        "<h2 id=\"{}\">{} ({})</h2><table><tr><th class=\"l\">step</th><th class=\"l\">target</th><th>code</th><th class=\"l\">reason</th></tr>",
        outcome.as_str(),
        esc(title),
        l.total
    );
    for i in &l.items {
        let _ = write!(
            o,
            "<tr><td class=\"l\">{}</td><td class=\"l\"><code>{}</code></td><td>{}</td><td class=\"l\">{}</td></tr>",
            esc(&i.step),
            esc(&i.target),
            i.code.map(|c| c.to_string()).unwrap_or_default(),
            esc(&i.reason)
        );
    }
    let _ = write!(o, "</table>");
    if l.total > MAX_LISTED as u64 {
        let _ = write!(
            o,
            "<p class=\"note\">… and {} more in journal.jsonl</p>",
            l.total - MAX_LISTED as u64
        );
    }
}
