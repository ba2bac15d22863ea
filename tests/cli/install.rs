//! What an installation adds beside the binary: shell completions (`pushfix completions SHELL`)
//! that a shell really loads and that complete the current commands and values, and the man
//! pages (`pushfix man`) that man really renders.

use std::process::Command;

use crate::support::{TempDir, Test};

/// What bash's completion function offers for the words typed so far (the last one being
/// completed), with the script `pushfix completions bash` printed loaded.
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let dir = TempDir::new("completions-bash");
    dir.write("pushfix.bash", script);
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = format!(
        "set -e; source pushfix.bash; complete -p pushfix >/dev/null; \
         COMP_WORDS=({}); COMP_CWORD={}; _pushfix pushfix '{}' '{}'; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &line])
        .current_dir(dir.path())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash could not load the completions: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completions_load_and_complete_commands_and_values() {
    let script = Test::repo()
        .args(["completions", "bash"])
        .status(0)
        .stderr("")
        .run()
        .stdout;
    assert_eq!(bash_complete(&script, &["pushfix", "in"]), ["init"]);
    let mut ma = bash_complete(&script, &["pushfix", "ma"]);
    ma.sort();
    assert_eq!(ma, ["man", "matrix"]);
    // Values come from the same registry the binary parses with.
    assert_eq!(
        bash_complete(&script, &["pushfix", "init", "--provider", ""]),
        ["jpush", "tpns", "timpush", "getui"]
    );
    let actions = bash_complete(&script, &["pushfix", "init", "--action", ""]);
    assert_eq!(actions, ["recall", "stop", "override", "cancel_scheduled"]);
    let formats = bash_complete(&script, &["pushfix", "plan", "x.yaml", "--format", ""]);
    assert_eq!(formats, ["text", "json", "md"]);
}

#[test]
fn completions_for_every_shell_name_the_new_commands() {
    for (shell, marker) in [
        ("zsh", "#compdef pushfix"),
        ("fish", "complete -c pushfix"),
        ("elvish", "edit:completion:arg-completer[pushfix]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Test::repo()
            .args(["completions", shell])
            .status(0)
            .stdout_contains(marker)
            .run();
        for command in ["init", "man", "verify"] {
            assert!(out.stdout.contains(command), "{shell}: no {command}");
        }
    }
    Test::repo()
        .args(["completions", "tcsh"])
        .status(2)
        .stderr_contains("possible values")
        .run();
}

#[test]
fn man_prints_a_page_that_man_renders() {
    let out = Test::repo().arg("man").status(0).stderr("").run();
    assert!(out.stdout.contains(".TH pushfix 1"), "{}", out.stdout);
    for sub in ["pushfix\\-init(1)", "pushfix\\-run(1)", "pushfix\\-man(1)"] {
        assert!(out.stdout.contains(sub), "no {sub} in the page");
    }
    // groff checks the roff as man would render it (-ww: every warning; -z: no output).
    let dir = TempDir::new("man-page");
    dir.write("pushfix.1", &out.stdout);
    if let Ok(groff) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z", "pushfix.1"])
        .current_dir(dir.path())
        .output()
    {
        assert!(groff.status.success());
        assert_eq!(String::from_utf8_lossy(&groff.stderr), "", "groff warnings");
    }
}

#[test]
fn man_out_dir_writes_a_page_per_command() {
    let dir = TempDir::new("man-out-dir");
    let out = Test::in_dir(dir.path())
        .args(["man", "--out-dir", "share/man/man1"])
        .status(0)
        .stdout_contains("man pages to share/man/man1")
        .run();
    let mut pages: Vec<String> = std::fs::read_dir(dir.join("share/man/man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    // One per command `pushfix --help` lists (help itself has none).
    let help = Test::repo().arg("--help").status(0).run().stdout;
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        // A command's line is indented by two; its wrapped description by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help" && c.chars().all(|ch| ch.is_ascii_lowercase()))
        .collect();
    assert!(
        commands.contains(&"init") && commands.contains(&"run"),
        "{help}"
    );
    let mut expected: Vec<String> = commands.iter().map(|c| format!("pushfix-{c}.1")).collect();
    expected.push("pushfix.1".into());
    expected.sort();
    assert_eq!(pages, expected, "{}", out.stdout);
    let init = std::fs::read_to_string(dir.join("share/man/man1/pushfix-init.1")).unwrap();
    assert!(
        init.contains(&format!(
            ".TH pushfix-init 1  \"pushfix-init {}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "the page names the version: {init}"
    );
    assert!(init.contains("\\-\\-provider"), "{init}");
}
