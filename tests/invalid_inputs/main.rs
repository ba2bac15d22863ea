//! Every folder under tests/fixtures/invalid is one bad input and one test case, named after
//! the folder, run in parallel (`cargo test --test invalid_inputs 94-multiple-problems-at-once`
//! runs one alone). Its `cmd` file holds the arguments, `expected.txt` the exit code and the
//! exact stderr. Each must exit 2, name a `file:line:col`, and never panic. A `secret` file
//! lists strings (literal credentials in the inputs) that must appear nowhere in the output.
//! `PUSHFIX_BLESS=1` rewrites `expected.txt` and prints the diff.

// The invalid-input cases use only part of the shared support.
#[allow(dead_code, unused_imports)]
#[path = "../cli/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};

use support::{Test, repo_root, snapshot};

/// Fewer means fixtures went missing (a bad move or a filter in the wrong place).
const AT_LEAST: usize = 200;

fn main() {
    let args = Arguments::from_args();
    let root = repo_root().join("tests/fixtures/invalid");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= AT_LEAST,
        "expected at least {AT_LEAST} invalid fixtures in {}, found {}",
        root.display(),
        cases.len()
    );
    let trials = cases
        .into_iter()
        .map(|case| {
            let name = case.file_name().unwrap().to_string_lossy().into_owned();
            Trial::test(name, move || check(&case))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// One fixture: every problem found is reported, not only the first.
fn check(case: &Path) -> Result<(), Failed> {
    let cmd = std::fs::read_to_string(case.join("cmd")).map_err(|e| format!("cmd file: {e}"))?;
    let out = Test::in_dir(case).args(cmd.split_whitespace()).run();
    let stderr = &out.stderr;
    let code = out.code().unwrap_or(-1);
    if stderr.contains("panicked") {
        return Err(format!("panicked:\n{stderr}").into());
    }
    let mut failures = Vec::new();
    if code != 2 {
        failures.push(format!("exit {code}, expected 2\n{stderr}"));
    }
    let located = stderr.lines().any(|l| {
        l.trim_start().strip_prefix("--> ").is_some_and(|loc| {
            loc.rsplitn(3, ':')
                .take(2)
                .all(|n| n.parse::<u32>().is_ok())
        })
    });
    if !located {
        failures.push(format!("no `--> file:line:col` in stderr:\n{stderr}"));
    }
    if let Ok(secrets) = std::fs::read_to_string(case.join("secret")) {
        for secret in secrets.lines().map(str::trim).filter(|s| !s.is_empty()) {
            if stderr.contains(secret) || out.stdout.contains(secret) {
                failures.push(format!(
                    "the secret `{secret}` appears in the output:\n{stderr}"
                ));
            }
        }
    }
    let actual = format!("exit: {code}\n--- stderr\n{stderr}");
    if let Err(e) = snapshot::check(&case.join("expected.txt"), &actual) {
        failures.push(e);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n\n").into())
    }
}
