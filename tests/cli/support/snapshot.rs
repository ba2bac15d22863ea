//! The one snapshot check, for the invalid-input fixtures and `tests/snapshots/*.txt` alike:
//! a mismatch shows a unified line diff, and `PUSHFIX_BLESS=1` rewrites the file and prints
//! the same diff, so an update is reviewed before it is committed.

use std::io::Write as _;
use std::path::Path;

/// True when `PUSHFIX_BLESS` is set to anything but empty or `0`.
pub fn blessing() -> bool {
    std::env::var_os("PUSHFIX_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A unified line diff of `expected` against `actual`, `-` for expected and `+` for actual.
pub fn diff(expected: &str, actual: &str, expected_name: &str, actual_name: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header(expected_name, actual_name)
        .to_string()
}

/// Compare `actual` with the snapshot at `path` (a missing file reads as empty). On a
/// mismatch: with `PUSHFIX_BLESS=1` rewrite the file and print the diff, otherwise return the
/// diff as the error.
pub fn check(path: &Path, actual: &str) -> Result<(), String> {
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        return Ok(());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shown = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let changes = diff(&expected, actual, &shown, "actual");
    if blessing() {
        std::fs::write(path, actual).map_err(|e| format!("blessing {shown}: {e}"))?;
        // Straight to the process's stderr: libtest captures `eprintln!` of passing tests,
        // and a blessed snapshot is a pass whose diff must still be seen.
        let _ = writeln!(std::io::stderr(), "blessed {shown}:\n{changes}");
        return Ok(());
    }
    Err(format!(
        "snapshot {shown} differs (PUSHFIX_BLESS=1 rewrites it):\n{changes}"
    ))
}
