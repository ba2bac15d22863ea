//! The fault suite: the real binary against `pushfix sandbox` in a separate process, killed
//! with SIGKILL at seeded random points of a multi-step run and resumed each time, under 5xx,
//! timeouts and connection resets; interrupted with SIGINT; held back by a 429 storm; with a
//! failure budget over resumes. After each: no target lost (every one has its outcome), no
//! original overridden twice, every `done` visible in the sandbox, and the sandbox received no
//! request the journal does not announce.
//!
//! Seeds: `PUSHFIX_FAULT_SEED=N` replays one sequence (the failing seed is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    Output, Running, SandboxProc, examples, latest_run_dir, pushfix, read_journal, read_report,
};

const AS_OF: &str = "2026-11-20T12:30:00+08:00";

/// A small xorshift: the kill points of a seed, reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn seeds(default: &[u64]) -> Vec<u64> {
    match std::env::var("PUSHFIX_FAULT_SEED") {
        Ok(s) => vec![s.parse().expect("PUSHFIX_FAULT_SEED is a number")],
        Err(_) => default.to_vec(),
    }
}

/// The quickstart (three steps: recall, override, recall; ~820 requests), fast and with short
/// timeouts so injected timeouts cost little.
fn quickstart(name: &str, max_failures: &str, attempts: u32) -> crate::support::TempDir {
    let dir = examples(name, false);
    let p = dir.join("playbooks/quickstart.yaml");
    let pb = std::fs::read_to_string(&p)
        .unwrap()
        .replace("rate: 50/s ", "rate: 400/s\n  timeout: 300ms\n ")
        .replace("attempts: 4", &format!("attempts: {attempts}"))
        .replace(
            "backoff: { initial: 200ms, max: 5s }",
            "backoff: { initial: 10ms, max: 100ms }",
        )
        .replace("max_failures: 2%", &format!("max_failures: {max_failures}"));
    std::fs::write(&p, pb).unwrap();
    dir
}

fn sandbox(dir: &Path, rate: &str, faults: &str, seed: u64) -> SandboxProc {
    SandboxProc::start(
        dir,
        &[
            "--ledger",
            "ledgers/quickstart.jsonl",
            "--as-of",
            AS_OF,
            "--rate",
            rate,
            "--faults",
            faults,
            "--seed",
            &seed.to_string(),
        ],
    )
}

fn start_run(dir: &Path, url: &str) -> Running {
    pushfix(dir)
        .args([
            "run",
            "playbooks/quickstart.yaml",
            "--endpoint",
            url,
            "--as-of",
            AS_OF,
            "--yes",
        ])
        .spawn()
}

fn start_resume(dir: &Path, run_dir: &Path, url: &str) -> Running {
    pushfix(dir)
        .arg("resume")
        .arg(run_dir)
        .args(["--yes", "--endpoint", url])
        .spawn()
}

/// Wait until the sandbox has received `n` requests (or the child ended); true if reached.
fn wait_for_requests(sandbox: &SandboxProc, child: &mut Running, n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if sandbox.requests() >= n {
            return true;
        }
        if child.has_exited() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the run did not reach {n} requests in 60 s");
}

fn code(out: &Output) -> i32 {
    out.code().unwrap_or(-1)
}

/// What must hold after every interruption was resumed to the end.
fn assert_nothing_lost_nothing_twice(dir: &Path, sandbox: &SandboxProc, context: &str) {
    let run_dir = latest_run_dir(dir);
    let report = read_report(&run_dir);
    let journal = read_journal(&run_dir);
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("plan.json")).unwrap()).unwrap();

    // Every planned target has its outcome, and none is left not attempted.
    let mut last: BTreeMap<(String, String), Value> = BTreeMap::new();
    for f in journal.iter().filter(|e| e["event"] == "final") {
        last.insert(
            (
                f["step"].as_str().unwrap().into(),
                f["target"].as_str().unwrap().into(),
            ),
            f.clone(),
        );
    }
    for s in plan["steps"].as_array().unwrap() {
        for t in s["targets"].as_array().unwrap() {
            let key = (
                s["name"].as_str().unwrap().to_string(),
                t["id"].as_str().unwrap().to_string(),
            );
            let f = last
                .get(&key)
                .unwrap_or_else(|| panic!("{context}: {key:?} lost (no outcome)"));
            assert_ne!(f["outcome"], "not_attempted", "{context}: {f}");
        }
    }
    for step in report["steps"].as_array().unwrap() {
        assert_eq!(step["outcomes"]["not_attempted"], 0, "{context}: {step}");
    }

    // The sandbox received nothing the journal did not announce first.
    let intents = journal.iter().filter(|e| e["event"] == "intent").count();
    let received = sandbox.requests();
    assert!(
        received <= intents,
        "{context}: the sandbox received {received} requests, the journal announced {intents}"
    );

    // No original overridden twice: one visible correction at most.
    let messages = sandbox.get("/_sandbox/messages");
    let by_id: BTreeMap<&str, &Value> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m))
        .collect();
    for m in by_id.values() {
        let n = m["overridden_by"].as_array().map_or(0, Vec::len);
        assert!(n <= 1, "{context}: overridden {n} times: {m}");
    }
    // Every `done` is true in the sandbox.
    let actions: BTreeMap<&str, &str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["action"].as_str().unwrap()))
        .collect();
    for ((step, target), f) in &last {
        if f["outcome"] != "done" {
            continue;
        }
        let m = by_id
            .get(target.as_str())
            .unwrap_or_else(|| panic!("{context}: {target} unknown to the sandbox"));
        match actions[step.as_str()] {
            "recall" => assert!(m["recalled_at"].is_string(), "{context}: {m}"),
            "override" => {
                let new_id = f["new_id"].as_str().unwrap_or_default();
                let by: BTreeSet<&str> = m["overridden_by"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                assert!(
                    by.contains(new_id),
                    "{context}: {m} not overridden by {new_id}"
                );
            }
            other => panic!("{other}"),
        }
    }
}

/// kill -9 at random points of the run and of each resume, then resume to the end.
#[test]
fn kill_9_at_random_points_then_resume_loses_nothing_and_pushes_nothing_twice() {
    for seed in seeds(&[11, 29]) {
        let context = format!("seed {seed} (PUSHFIX_FAULT_SEED={seed} replays it)");
        let dir = quickstart(&format!("faults-kill-{seed}"), "50%", 6);
        let sandbox = sandbox(
            &dir,
            "600/s",
            "5xx=0.1,timeout=0.02,reset=0.01,latency=1ms-15ms",
            seed,
        );
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut child = start_run(&dir, &sandbox.url);
        let mut kills = 0;
        let mut run_dir = None;
        // Four kills, each at a random number of further requests.
        for _ in 0..4 {
            let at = sandbox.requests() + 20 + rng.below(160) as usize;
            if !wait_for_requests(&sandbox, &mut child, at) {
                break;
            }
            child.signal("KILL");
            child.wait();
            kills += 1;
            let rd = latest_run_dir(&dir);
            // A rerun beside the killed run is refused: only resume may go on with it.
            let again = pushfix(&dir)
                .args([
                    "run",
                    "playbooks/quickstart.yaml",
                    "--endpoint",
                    &sandbox.url,
                    "--as-of",
                    AS_OF,
                    "--yes",
                ])
                .run();
            assert_eq!(code(&again), 5, "{context}: {}", again.stderr);
            child = start_resume(&dir, &rd, &sandbox.url);
            run_dir = Some(rd);
        }
        let out = child.wait();
        assert!(
            matches!(code(&out), 0 | 1),
            "{context}: {}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(kills >= 2, "{context}: killed only {kills} times");
        assert_eq!(
            Some(latest_run_dir(&dir)),
            run_dir,
            "{context}: one run directory"
        );
        assert_nothing_lost_nothing_twice(&dir, &sandbox, &context);
        sandbox.stop();
    }
}

/// Ctrl-C drains what is in flight and exits 3; resume finishes the rest.
#[test]
fn sigint_then_resume_finishes_the_run() {
    let dir = quickstart("faults-sigint", "50%", 6);
    let sandbox = sandbox(&dir, "600/s", "5xx=0.05,latency=1ms-10ms", 5);
    let mut child = start_run(&dir, &sandbox.url);
    assert!(wait_for_requests(&sandbox, &mut child, 150));
    child.signal("INT");
    let out = child.wait();
    assert_eq!(code(&out), 3, "{}\n{}", out.stdout, out.stderr);
    let rd = latest_run_dir(&dir);
    let report = read_report(&rd);
    assert!(
        report["totals"]["not_attempted"].as_u64().unwrap() > 0,
        "{}",
        report["totals"]
    );
    let out = start_resume(&dir, &rd, &sandbox.url).wait();
    assert!(matches!(code(&out), 0 | 1), "{}", out.stderr);
    assert_nothing_lost_nothing_twice(&dir, &sandbox, "sigint");
    sandbox.stop();
}

/// A quota far below the playbook's pace: a storm of 429s, each pausing the family; the run
/// still ends every target, once.
#[test]
fn a_429_storm_pauses_and_still_finishes_once() {
    let dir = quickstart("faults-429", "2%", 4);
    let sandbox = sandbox(&dir, "150/s", "latency=1ms-5ms", 3);
    let out = start_run(&dir, &sandbox.url).wait();
    assert_eq!(code(&out), 0, "{}\n{}", out.stdout, out.stderr);
    let rd = latest_run_dir(&dir);
    let journal = read_journal(&rd);
    let throttled = journal
        .iter()
        .filter(|e| e["event"] == "answer" && e["class"] == "throttled")
        .count();
    assert!(throttled > 0, "the storm happened");
    assert_nothing_lost_nothing_twice(&dir, &sandbox, "429 storm");
    sandbox.stop();
}

/// Half the answers are 5xx and nothing is retried: the budget stops the run, and resuming it
/// again and again never records more failures than `max_failures`.
#[test]
fn max_failures_is_never_exceeded_across_kills_and_resumes() {
    let allowed = 5;
    let dir = quickstart("faults-budget", &allowed.to_string(), 1);
    let sandbox = sandbox(&dir, "600/s", "5xx=0.3,latency=1ms-10ms", 17);
    let mut rng = Rng(17);
    let failures = |rd: &Path| -> u64 {
        let journal = read_journal(rd);
        let mut last: BTreeMap<(String, String), String> = BTreeMap::new();
        for f in journal.iter().filter(|e| e["event"] == "final") {
            last.insert(
                (f["step"].to_string(), f["target"].to_string()),
                f["outcome"].as_str().unwrap().to_string(),
            );
        }
        last.values()
            .filter(|o| *o == "failed" || *o == "gave_up")
            .count() as u64
    };
    let mut child = start_run(&dir, &sandbox.url);
    for round in 0..4 {
        let at = sandbox.requests() + 3 + rng.below(10) as usize;
        if wait_for_requests(&sandbox, &mut child, at) {
            child.signal("KILL");
        }
        child.wait();
        let rd = latest_run_dir(&dir);
        let f = failures(&rd);
        assert!(
            f <= allowed,
            "round {round}: {f} failures recorded, the budget is {allowed}"
        );
        child = start_resume(&dir, &rd, &sandbox.url);
    }
    let out = child.wait();
    assert_eq!(code(&out), 3, "the budget stops the run: {}", out.stderr);
    let rd = latest_run_dir(&dir);
    assert_eq!(failures(&rd), allowed, "used up exactly");
    let report = read_report(&rd);
    assert_eq!(
        report["totals"]["failed"].as_u64().unwrap()
            + report["totals"]["gave_up"].as_u64().unwrap(),
        allowed
    );
    sandbox.stop();
}

/// TPNS `force_collapse` overrides under timeouts and resets: a lost answer is given up, never
/// retried in the run (a second push would show twice on OPPO/vivo); a new run is refused;
/// resume re-checks with get_push_record and finishes each without a second visible push.
#[test]
fn lost_tpns_force_overrides_are_rechecked_on_resume_never_pushed_twice() {
    let dir = examples("faults-tpns-force", true);
    let p = dir.join("playbooks/tpns-stop-then-override.yaml");
    let pb = std::fs::read_to_string(&p)
        .unwrap()
        .replace(
            "unsupported: skip        # `force`",
            "unsupported: force        # `force`",
        )
        .replace("max_failures: 10%", "max_failures: 100%\n  timeout: 300ms");
    std::fs::write(&p, pb).unwrap();
    let as_of = "2026-11-20T19:00:00+08:00";
    let sandbox = SandboxProc::start(
        &dir,
        &[
            "--ledger",
            "ledgers/tpns-tasks.jsonl",
            "--as-of",
            as_of,
            "--rate",
            "30/s",
            "--faults",
            "timeout=0.1",
            "--seed",
            "23",
        ],
    );
    let run = || {
        pushfix(&dir)
            .args([
                "run",
                "playbooks/tpns-stop-then-override.yaml",
                "--endpoint",
                &sandbox.url,
                "--as-of",
                as_of,
                "--yes",
            ])
            .run()
    };
    let out = run();
    assert!(
        matches!(code(&out), 0 | 1),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let rd = latest_run_dir(&dir);
    let lost = read_journal(&rd)
        .iter()
        .filter(|e| {
            e["event"] == "final"
                && e["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("not retried"))
        })
        .count();
    assert!(
        lost > 0,
        "some force overrides lost their answer: {}",
        out.stdout
    );
    // Until every lost answer is re-checked, a new run is refused; resume finishes them.
    let mut resumes = 0;
    loop {
        let again = run();
        if code(&again) != 5 {
            // Finished: the new run had nothing left but what the first corrected.
            assert!(matches!(code(&again), 0 | 1), "{}", again.stderr);
            break;
        }
        assert!(again.stderr.contains("pushfix resume"), "{}", again.stderr);
        resumes += 1;
        assert!(resumes <= 6, "still unfinished after {resumes} resumes");
        start_resume(&dir, &rd, &sandbox.url).wait();
    }
    assert!(resumes >= 1);
    // The first run's record: every override target ended, none left to re-check.
    let journal = read_journal(&rd);
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for f in journal
        .iter()
        .filter(|e| e["event"] == "final" && e["step"] == "correct")
    {
        last.insert(
            f["target"].as_str().unwrap().into(),
            f["reason"].as_str().unwrap_or_default().into(),
        );
    }
    assert!(
        last.values().all(|r| !r.contains("not retried")),
        "{last:?}"
    );
    // No original was overridden twice.
    for m in sandbox.get("/_sandbox/messages").as_array().unwrap() {
        let n = m["overridden_by"].as_array().map_or(0, Vec::len);
        assert!(n <= 1, "overridden {n} times: {m}");
    }
    sandbox.stop();
}
