//! Running the real binary with a clean, fixed environment.

use std::path::Path;
use std::process::{Command, Output};

/// The instant plans are made "as of" in tests (`PUSHFIX_NOW`), so windows are stable.
pub const NOW: &str = "2026-11-21T04:00:00Z";

/// A `pushfix` command in `dir` with no provider credentials and a pinned clock.
pub fn pushfix(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pushfix"));
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("JPUSH_") || k.starts_with("TPNS_") || k.starts_with("PUSHFIX_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("PUSHFIX_NOW", NOW);
    cmd
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    pushfix(dir).args(args).output().expect("run pushfix")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Compare `actual` to the snapshot file, or rewrite it when PUSHFIX_BLESS is set.
pub fn snapshot(path: &Path, actual: &str) -> Result<(), String> {
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        return Ok(());
    }
    if std::env::var_os("PUSHFIX_BLESS").is_some() {
        std::fs::write(path, actual).map_err(|e| e.to_string())?;
        return Ok(());
    }
    Err(format!(
        "snapshot {} differs (PUSHFIX_BLESS=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    ))
}
