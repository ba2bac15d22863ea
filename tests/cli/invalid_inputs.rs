//! Every folder under tests/fixtures/invalid is one bad input: its `cmd` file holds the
//! arguments, `expected.txt` the exit code and the exact stderr. Each must exit 2, name a
//! `file:line:col`, and never panic. A `secret` file lists strings (literal credentials in the
//! inputs) that must appear nowhere in the output.

use std::path::Path;

use crate::support::{run, snapshot, text};

#[test]
fn invalid_inputs_are_located_and_exit_2() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 30,
        "expected at least 30 invalid fixtures, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let cmd = std::fs::read_to_string(case.join("cmd"))
            .unwrap_or_else(|_| panic!("{name}: missing cmd file"));
        let args: Vec<&str> = cmd.split_whitespace().collect();
        let out = run(case, &args);
        let stderr = text(&out.stderr);
        let code = out.status.code().unwrap_or(-1);
        if stderr.contains("panicked") {
            failures.push(format!("{name}: panicked:\n{stderr}"));
            continue;
        }
        if code != 2 {
            failures.push(format!("{name}: exit {code}, expected 2\n{stderr}"));
        }
        let located = stderr.lines().any(|l| {
            l.trim_start().strip_prefix("--> ").is_some_and(|loc| {
                loc.rsplitn(3, ':')
                    .take(2)
                    .all(|n| n.parse::<u32>().is_ok())
            })
        });
        if !located {
            failures.push(format!(
                "{name}: no `--> file:line:col` in stderr:\n{stderr}"
            ));
        }
        if let Ok(secrets) = std::fs::read_to_string(case.join("secret")) {
            let stdout = text(&out.stdout);
            for secret in secrets.lines().map(str::trim).filter(|s| !s.is_empty()) {
                if stderr.contains(secret) || stdout.contains(secret) {
                    failures.push(format!(
                        "{name}: the secret `{secret}` appears in the output:\n{stderr}"
                    ));
                }
            }
        }
        let actual = format!("exit: {code}\n--- stderr\n{stderr}");
        if let Err(e) = snapshot(&case.join("expected.txt"), &actual) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
