//! The run directory (DESIGN §6): `<audit-dir>/<UTC yyyymmddThhmmssZ>-<playbook name>/` with
//! playbook.yaml, plan.json, journal.jsonl, report.json and report.md; and who ran what.

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::Timestamp;

use crate::atomic_file::WriteError;

/// `20261122T013000Z-bf-promo-broken-link`.
pub fn run_id(started: Timestamp, name: &str) -> String {
    format!("{}-{name}", started.strftime("%Y%m%dT%H%M%SZ"))
}

/// Create a fresh run directory; a second run in the same second gets a `-2` suffix.
pub fn create_run_dir(audit_dir: &Path, run_id: &str) -> Result<(PathBuf, String), WriteError> {
    std::fs::create_dir_all(audit_dir).map_err(|e| WriteError::new(audit_dir, e))?;
    for n in 1..1000 {
        let id = if n == 1 {
            run_id.to_string()
        } else {
            format!("{run_id}-{n}")
        };
        let dir = audit_dir.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok((dir, id)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(WriteError::new(&dir, e)),
        }
    }
    Err(WriteError::new(
        &audit_dir.join(run_id),
        std::io::Error::other("too many runs of that name in the same second"),
    ))
}

/// `user@host`, as well as the environment tells.
pub fn operator() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{}@{host}", user.unwrap_or_else(|| "unknown".into()))
}

/// The commit the playbook is at, with `-dirty` when the file differs from it; `None` outside git.
pub fn git_commit(playbook: &Path) -> Option<String> {
    let dir = playbook
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let name = playbook.file_name()?;
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["status", "--porcelain", "--"])
        .arg(name)
        .output()
        .ok()?;
    let dirty = !String::from_utf8_lossy(&status.stdout).trim().is_empty();
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}
