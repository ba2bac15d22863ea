//! report.html: the report as a self-contained page.

use std::fmt::Write as _;

use super::markdown::MAX_LISTED;
use super::{Details, Report};
use crate::event::Outcome;
use crate::exit::meaning as exit_meaning;

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
