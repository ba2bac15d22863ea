//! One run per (provider app, playbook name) on a machine: an OS file lock in the audit
//! directory. The kernel releases it when the process dies, so a crash never leaves a stale
//! lock to clean by hand; the file names the holder for the error message.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

pub enum LockError {
    /// Another process holds it; the text says who.
    Held(String),
    Io(String),
}

impl RunLock {
    /// `app` identifies the provider app (hashed into the file name: no key in paths).
    pub fn acquire(
        audit_dir: &Path,
        provider: &str,
        app: &str,
        playbook: &str,
        holder: &str,
    ) -> Result<RunLock, LockError> {
        let dir = audit_dir.join(".locks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| LockError::Io(format!("cannot create `{}`: {e}", dir.display())))?;
        let app_hash = &crate::input_set::sha256_hex(app.as_bytes())[..12];
        let path = dir.join(format!("{provider}-{app_hash}-{playbook}.lock"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LockError::Io(format!("cannot open `{}`: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut who = String::new();
                let _ = file.read_to_string(&mut who);
                return Err(LockError::Held(format!(
                    "another run of `{playbook}` for this {provider} app is in progress ({}); lock file {}",
                    if who.trim().is_empty() {
                        "holder unknown".to_string()
                    } else {
                        who.trim().to_string()
                    },
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(LockError::Io(format!(
                    "cannot lock `{}`: {e}",
                    path.display()
                )));
            }
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = file.write_all(holder.as_bytes());
        let _ = file.sync_data();
        Ok(RunLock { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_told_who() {
        let dir = std::env::temp_dir().join(format!("pushfix-lock-{}", std::process::id()));
        let a = RunLock::acquire(&dir, "jpush", "appkey", "bf", "run 1 by ops@host (pid 1)")
            .ok()
            .unwrap();
        match RunLock::acquire(&dir, "jpush", "appkey", "bf", "run 2") {
            Err(LockError::Held(m)) => assert!(m.contains("run 1 by ops@host"), "{m}"),
            _ => panic!("expected the lock to be held"),
        }
        // Another app or playbook is independent.
        assert!(RunLock::acquire(&dir, "jpush", "other", "bf", "x").is_ok());
        drop(a);
        assert!(RunLock::acquire(&dir, "jpush", "appkey", "bf", "run 3").is_ok());
    }
}
