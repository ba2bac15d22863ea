//! Property tests (proptest): whatever the input — arbitrary YAML-ish text, mutations of a
//! valid playbook, of its templates, of ledger lines (JSON Lines and CSV), of ids files and of
//! journal lines — reading it never panics, never aborts and never hangs, and every error is
//! located. Each case runs the whole `validate` path (`plan::prepare`: decode, ids files, the
//! ledger scan, every template rendered) on a thread with the main thread's stack (8 MiB),
//! under a deadline.
//!
//! The case count is modest so that `cargo test` stays fast; `PROPTEST_CASES=3000 cargo test
//! --lib properties` runs a longer fuzz.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::Config;

const BASE_PLAYBOOK: &str = r#"version: 1
name: prop-test
provider:
  kind: jpush
  credentials:
    app_key: { env: JPUSH_APP_KEY }
    master_secret: { env: JPUSH_MASTER_SECRET }
  apns_production: true
ledger: sends.jsonl
vars: { help_url: "https://example.com/help", n: 3 }
limits:
  rate: 10/s
  max_failures: 2%
steps:
  - name: stop-offline
    action: recall
    select:
      ids: ["67554224848096790", 67554224848096791]
      ids_file: ids.txt
  - name: correct
    action: override
    select: { where: { tags_any: [bf-promo], sent_within: 48h } }
    message:
      title: "{{ message.title }}"
      body: "Sorry: {{ vars.help_url }} {% for t in message.tags %}{{ t | upper }}{% endfor %}"
      extras: { url: "{{ vars.help_url }}", n: 1 }
"#;

const BASE_LEDGER: &str = r#"{"msg_id":"67554224848096790","sent_at":"2026-11-20T22:02:11+08:00","platforms":["android","ios"],"tags":["bf-promo"],"title":"48h sale","body":"Up to 70% off","extras":{"url":"app://sale"},"audience":{"tag":["bf-promo"]},"apns_collapse_id":"bf-1","receivers_by_channel":{"jpush":5200,"xiaomi":3100}}
{"msg_id":"67554224848096791","sent_at":"2026-11-20T23:15:40+08:00","platforms":["android"],"tags":["bf-promo"],"title":"48h sale","body":"Up to 70% off","audience":"all"}
"#;

const BASE_CSV: &str = "msg_id,sent_at,platforms,tags,title,body,audience\n67554224848096790,2026-11-20T22:02:11+08:00,android|ios,bf-promo,48h sale,Up to 70% off,\"{\"\"tag\"\":[\"\"bf-promo\"\"]}\"\n";

const BASE_IDS: &str = "# ids\n67554224848096790\n\n67554224848096792 # trailing\n";

const BASE_JOURNAL: &str = r#"{"event":"run_started","at":"2026-11-21T04:00:00Z","run_id":"20261121T040000Z-prop-test","playbook_path":"pb.yaml","playbook_name":"prop-test","playbook_sha256":"ab","operator":"a@b","content_sha256":"cd","provider":"jpush","base_url":"https://api.jpush.cn","app":"k","sandbox":false}
{"event":"step_started","at":"2026-11-21T04:00:01Z","step":"s","action":"recall","targets":1}
{"event":"intent","at":"2026-11-21T04:00:01Z","step":"s","target":"1","attempt":1,"request":"DELETE /v3/push/1","family":"jpush_push"}
{"event":"answer","at":"2026-11-21T04:00:02Z","step":"s","target":"1","attempt":1,"status":200,"class":"ok","latency_ms":3,"collapse_id":"x"}
{"event":"final","at":"2026-11-21T04:00:02Z","step":"s","target":"1","outcome":"done"}
{"event":"run_finished","at":"2026-11-21T04:00:03Z","exit_code":0}
"#;

/// Pieces of YAML and of templates that tend to break readers.
const TOKENS: &[&str] = &[
    "\n",
    "  ",
    "    ",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "#",
    "&a ",
    "*a",
    "!!str ",
    "!!binary ",
    "? ",
    "| ",
    "> ",
    "---\n",
    "...\n",
    "~",
    "null",
    "true",
    "0x1F",
    "1e999",
    "-0",
    "18446744073709551616",
    "67554224848096790",
    "version: 1\n",
    "name: x\n",
    "steps:\n",
    "action: override\n",
    "message:\n",
    "body: ",
    "select:\n",
    "ids: [1]\n",
    "where: { tags_any: [bf-promo] }\n",
    "\t",
    "\r\n",
    "\u{0}",
    "\u{feff}",
    "ü",
    "漢字",
    "🎉",
    "{{ ",
    " }}",
    "{% ",
    " %}",
    "{# ",
    " #}",
    "{{ message.title }}",
    "{{ vars.nope }}",
    "{% for i in range(end=100000000) %}",
    "{% for i in range(end=3000) %}",
    "{% endfor %}",
    "{% macro m() %}{{ self::m() }}{% endmacro %}{{ self::m() }}",
    "{% if true %}",
    "{% endif %}",
    "{{ 9223372036854775807 + 1 }}",
    "{{ 1 / 0 }}",
    "{{ 5 % 0 }}",
    "{% set s = s ~ s %}",
    "{{ s | replace(from=\"\", to=s) }}",
    "{% raw %}",
    "{% endraw %}",
    "{% include \"t0\" %}",
    "{{ get_env(name=\"HOME\") }}",
    "((((((((",
    "))))))))",
    "{{ [1,2,3] | join(sep=\",\") }}",
    "{{ \"x\" | indent(prefix=\"          \") }}",
    "{{ range(end=5, step_by=0) }}",
    "{{ loop.index }}",
    "{% break %}",
    "{{ super() }}",
];

fn token_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(TOKENS).prop_map(str::to_string),
            1 => "[ -~]{0,12}",
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..48,
    )
    .prop_map(|parts| parts.concat())
}

/// One change to a text: delete, duplicate or swap lines, insert text at a character, or cut.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Insert(usize, String),
    Truncate(usize),
    ReplaceBody(String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<usize>().prop_map(Mutation::DeleteLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        4 => (any::<usize>(), token_text()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        3 => token_text().prop_map(Mutation::ReplaceBody),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut text = text.to_string();
    for m in mutations {
        let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
        let n = lines.len().max(1);
        match m {
            Mutation::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) if !lines.is_empty() => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Mutation::Insert(at, t) => {
                let at = char_boundary(&text, at % (text.len() + 1));
                text.insert_str(at, t);
                continue;
            }
            Mutation::Truncate(at) => {
                text.truncate(char_boundary(&text, at % (text.len() + 1)));
                continue;
            }
            Mutation::ReplaceBody(t) => {
                for l in &mut lines {
                    if l.trim_start().starts_with("body:") {
                        *l = format!("      body: {}\n", serde_json::to_string(t).unwrap());
                    }
                }
            }
            _ => {}
        }
        text = lines.concat();
    }
    text
}

fn char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A fresh directory for one case.
fn case_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "pushfix-prop-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `f` as `main` would (an 8 MiB stack), within `limit`; a panic or a hang fails.
fn contained<R: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(r);
        })
        .map_err(|e| e.to_string())?;
    match rx.recv_timeout(limit) {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(p)) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
        Err(_) => Err(format!("no answer within {limit:?}: a hang")),
    }
}

/// What `validate` does with a playbook, its ledger and ids file: the error messages that
/// are not located (none is allowed), or the panic.
fn validate(files: Vec<(&'static str, Vec<u8>)>) -> Result<(), String> {
    let dir = case_dir();
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let pb = dir.join("pb.yaml");
    let now: jiff::Timestamp = "2026-11-21T04:00:00Z".parse().unwrap();
    let result =
        contained(
            Duration::from_secs(30),
            move || match crate::plan::prepare(&pb, &[], now, now) {
                Ok(_) => Vec::new(),
                Err(crate::plan::PrepareError::Input(d)) => d
                    .items
                    .iter()
                    .filter(|d| d.is_error() && (d.file.is_none() || d.span.is_none()))
                    .map(|d| d.message.clone())
                    .collect(),
                Err(crate::plan::PrepareError::Matrix(m)) => vec![format!("matrix: {m}")],
            },
        );
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(unlocated) if unlocated.is_empty() => Ok(()),
        Ok(unlocated) => Err(format!("errors without a location: {unlocated:?}")),
        Err(e) => Err(e),
    }
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(48);
    Config {
        cases,
        // A failure is printed shrunk; no regression files in the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

fn standard_files(pb: String) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("pb.yaml", pb.into_bytes()),
        ("sends.jsonl", BASE_LEDGER.as_bytes().to_vec()),
        ("ids.txt", BASE_IDS.as_bytes().to_vec()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_as_a_playbook(text in token_text()) {
        let r = validate(standard_files(text));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn arbitrary_bytes_as_a_playbook(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut files = standard_files(String::new());
        files[0].1 = bytes;
        let r = validate(files);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn mutated_playbooks(ms in prop::collection::vec(mutation(), 1..5)) {
        let r = validate(standard_files(apply(BASE_PLAYBOOK, &ms)));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn mutated_ledgers(ms in prop::collection::vec(mutation(), 1..5), csv in any::<bool>()) {
        let (name, base) = if csv { ("sends.csv", BASE_CSV) } else { ("sends.jsonl", BASE_LEDGER) };
        let pb = BASE_PLAYBOOK.replace("ledger: sends.jsonl", &format!("ledger: {name}"));
        let mut files = standard_files(pb);
        files[1] = (name, apply(base, &ms).into_bytes());
        let r = validate(files);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn mutated_ids_files(ms in prop::collection::vec(mutation(), 1..5), raw in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut files = standard_files(BASE_PLAYBOOK.to_string());
        let mut ids = apply(BASE_IDS, &ms).into_bytes();
        ids.extend(raw);
        files[2].1 = ids;
        let r = validate(files);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn mutated_journals(ms in prop::collection::vec(mutation(), 1..5)) {
        let dir = case_dir();
        let path = dir.join("journal.jsonl");
        std::fs::write(&path, apply(BASE_JOURNAL, &ms)).unwrap();
        let p = path.clone();
        let r = contained(Duration::from_secs(10), move || crate::journal::read(&p).map(|_| ()));
        let _ = std::fs::remove_dir_all(&dir);
        match r {
            Ok(Ok(())) => {}
            // A bad line is named by its number (`file:line`), never a panic.
            Ok(Err(e)) => prop_assert!(e.line.is_some() && e.path == path, "{e}"),
            Err(e) => prop_assert!(false, "{}", e),
        }
    }
}

#[test]
fn the_base_inputs_are_valid() {
    let dir = case_dir();
    for (name, bytes) in standard_files(BASE_PLAYBOOK.into()) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let now: jiff::Timestamp = "2026-11-21T04:00:00Z".parse().unwrap();
    let p = crate::plan::prepare(&dir.join("pb.yaml"), &[], now, now);
    assert!(p.is_ok(), "{:?}", p.err());
    let dir = case_dir();
    let p = dir.join("journal.jsonl");
    std::fs::write(&p, BASE_JOURNAL).unwrap();
    assert_eq!(crate::journal::read(&p).unwrap().len(), 6);
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}
