//! report.html in a real browser: a sandbox run's report rendered by headless Chromium
//! (`--dump-dom` and a screenshot). CI installs Debian's chromium and sets
//! PUSHFIX_REQUIRE_BROWSER=1, so a missing browser fails there instead of skipping.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{TempDir, Test, copy_dir, latest_run_dir, read_report, repo_root};

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && !p.is_empty()).then(|| PathBuf::from(p))
        })
}

/// Headless Chromium with the flags that keep it off this machine's closed network.
fn browser(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,2400",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn the_html_report_renders_in_a_real_browser() {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var_os("PUSHFIX_REQUIRE_BROWSER").is_none(),
            "PUSHFIX_REQUIRE_BROWSER is set but no chromium is installed"
        );
        eprintln!("skipped: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let dir = TempDir::new("browser");
    let root = repo_root();
    for sub in ["playbooks", "ledgers", "templates"] {
        copy_dir(&root.join(sub), &dir.join(sub));
    }
    Test::in_dir(&dir)
        .args([
            "run",
            "playbooks/jpush-recall-then-override.yaml",
            "--sandbox",
            "--yes",
            "--as-of",
            "2026-11-20T19:00:00+08:00",
        ])
        .status(0)
        .run();
    let run_dir = latest_run_dir(&dir);
    let report = read_report(&run_dir);
    let page = run_dir.join("report.html");
    let url = format!("file://{}", page.display());
    let profile = dir.join("chromium-profile");
    let dom = browser(&bin, &profile)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<svg id=\"outcomes-chart\""), "{dom}");
    assert!(dom.contains("<svg id=\"timeline\""));
    assert!(dom.contains("id=\"rate-limit\""), "the pace line is drawn");
    assert!(dom.contains("<table id=\"exposure\""));
    assert!(dom.contains("SANDBOX"));
    // The totals the page shows are the report's.
    let done = report["totals"]["done"].as_u64().unwrap();
    assert!(
        dom.contains(&format!(
            "data-outcome=\"done\" style=\"border-left:4px solid #2e9d55\"><b>{done}</b>"
        )),
        "{dom}"
    );
    assert!(dom.contains(&format!("<b>{}</b>targets", report["totals"]["targets"])));
    let shot = run_dir.join("report.png");
    let status = browser(&bin, &profile)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(status.status.success(), "{status:?}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    assert!(
        png.len() > 20_000,
        "a page with content, {} bytes",
        png.len()
    );
}
