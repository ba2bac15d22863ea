//! `ids_file`: one message id per line; `#` starts a comment; blank lines are ignored.

use std::path::Path;

use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::domain::{Action, MsgId};
use crate::input_set::InputSet;
use crate::provider::Provider;

/// Read every id, reporting every bad line (not just the first).
pub fn read(
    path: &Path,
    provider: &dyn Provider,
    inputs: &mut InputSet,
) -> Result<Vec<MsgId>, Diagnostics> {
    read_with(path, &|t| provider.parse_id(t), inputs)
}

/// The ids of a step of `action` (JPush's `cancel_scheduled` lists schedule ids).
pub fn read_for(
    path: &Path,
    provider: &dyn Provider,
    action: Action,
    inputs: &mut InputSet,
) -> Result<Vec<MsgId>, Diagnostics> {
    read_with(path, &|t| provider.parse_step_id(action, t), inputs)
}

fn read_with(
    path: &Path,
    parse: &dyn Fn(&str) -> Result<MsgId, String>,
    inputs: &mut InputSet,
) -> Result<Vec<MsgId>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let file = match inputs.read_text(path) {
        Ok(f) => f,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    let mut ids = Vec::new();
    for (i, line) in file.text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or("");
        let token = content.trim();
        if token.is_empty() {
            continue;
        }
        let col = content.chars().take_while(|c| c.is_whitespace()).count() as u32 + 1;
        let line_no = i as u32 + 1;
        let token = token.trim_matches('"');
        if token.split_whitespace().count() > 1 || token.contains(',') {
            let span = Span {
                line: line_no,
                col,
                width: content.trim().chars().count() as u32,
            };
            diags.push(
                Diagnostic::error("one id per line, found several")
                    .at(&file, span)
                    .help("put each id on its own line; `#` starts a comment"),
            );
            continue;
        }
        match parse(token) {
            Ok(id) => ids.push(id),
            Err(e) => {
                let span = Span {
                    line: line_no,
                    col,
                    width: token.chars().count() as u32,
                };
                diags.push(Diagnostic::error(e).at(&file, span));
            }
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str, kind: &str) -> Result<Vec<MsgId>, Diagnostics> {
        let dir = std::env::temp_dir().join(format!("pushfix-ids-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(format!("{}.txt", text.len()));
        std::fs::write(&p, text).unwrap();
        read(
            &p,
            crate::provider::find(kind).unwrap(),
            &mut InputSet::new(),
        )
    }

    #[test]
    fn comments_blank_lines_and_exact_u64() {
        let ids = read_str(
            "# incident 42\n67554224848096790\n\n  18446744073709551615  # max\n",
            "jpush",
        )
        .unwrap();
        assert_eq!(
            ids,
            vec![MsgId::Num(67554224848096790), MsgId::Num(u64::MAX)]
        );
    }

    #[test]
    fn bad_lines_are_all_located() {
        let e = read_str("123\nabc\n18446744073709551616\n1 2\n", "jpush").unwrap_err();
        let locs: Vec<String> = e
            .items
            .iter()
            .map(|d| {
                d.location()
                    .unwrap()
                    .rsplit_once(".txt")
                    .unwrap()
                    .1
                    .to_string()
            })
            .collect();
        assert_eq!(locs, vec![":2:1", ":3:1", ":4:1"]);
    }

    #[test]
    fn tpns_ids_are_strings() {
        assert_eq!(
            read_str("43214535\n", "tpns").unwrap(),
            vec![MsgId::Text("43214535".into())]
        );
    }
}
