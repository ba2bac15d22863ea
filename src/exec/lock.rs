//! One run per (provider, provider app, playbook name) on a machine, whatever the audit
//! directory or the working directory: an OS file lock in a per-user state directory
//! (`$PUSHFIX_STATE_DIR`, else `$XDG_STATE_HOME/pushfix`, else `~/.local/state/pushfix`), under
//! `locks/<provider>-<hash of the app id>-<playbook>.lock`. The kernel releases it when the
//! process dies, so a crash never leaves a stale lock to clean by hand; the file names the
//! holder for the error message. Runs on other machines are not seen (docs/deploying.md).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The variable that overrides the state directory.
pub const STATE_DIR_VAR: &str = "PUSHFIX_STATE_DIR";

pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; the text says who (the holder's own words, quoted).
    Held(String),
    /// The state directory is not configured or cannot be used (exit 2).
    Io(String),
}

/// What a lock is for: the same key on the same machine is one run at a time.
#[derive(Debug, Clone, Copy)]
pub struct LockKey<'a> {
    pub provider: &'a str,
    /// The provider app (JPush app_key, TPNS access_id); only its hash reaches the file name.
    pub app: &'a str,
    /// The playbook's `name` (`[a-z0-9][a-z0-9-]*`, so safe in a file name).
    pub playbook: &'a str,
}

impl LockKey<'_> {
    /// The lock file's name: no key or id in paths, only a hash of the app id.
    pub fn file_name(&self) -> String {
        let app_hash = &crate::input_set::sha256_hex(self.app.as_bytes())[..16];
        // The name is validated by the decoder; keep the path safe whatever a caller passes.
        let playbook: String = self
            .playbook
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}-{app_hash}-{playbook}.lock", self.provider)
    }
}

/// The per-user state directory, from the environment (see [`state_dir_from`]).
pub fn state_dir() -> Result<PathBuf, LockError> {
    state_dir_from(|k| std::env::var_os(k))
}

/// `$PUSHFIX_STATE_DIR` (must be absolute: a relative one would differ per working directory),
/// else `$XDG_STATE_HOME/pushfix` (ignored unless absolute, as the XDG spec says), else
/// `$HOME/.local/state/pushfix`.
pub fn state_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, LockError> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = set(STATE_DIR_VAR) {
        if p.is_absolute() {
            return Ok(p);
        }
        return Err(LockError::Io(format!(
            "{STATE_DIR_VAR} must be an absolute path (it is `{}`): the run lock must be the same \
             whatever the working directory",
            p.display()
        )));
    }
    if let Some(p) = set("XDG_STATE_HOME").filter(|p| p.is_absolute()) {
        return Ok(p.join("pushfix"));
    }
    match set("HOME").filter(|p| p.is_absolute()) {
        Some(home) => Ok(home.join(".local/state/pushfix")),
        None => Err(LockError::Io(format!(
            "no state directory for the run lock: set {STATE_DIR_VAR} (or HOME, or XDG_STATE_HOME) \
             to an absolute path"
        ))),
    }
}

impl RunLock {
    /// Take the lock for `key` in the per-user state directory ([`state_dir`]).
    pub fn acquire(key: LockKey<'_>, holder: &str) -> Result<RunLock, LockError> {
        RunLock::acquire_in(&state_dir()?, key, holder)
    }

    /// Take the lock for `key` under `state_dir/locks/`, writing `holder` into the file.
    pub fn acquire_in(
        state_dir: &Path,
        key: LockKey<'_>,
        holder: &str,
    ) -> Result<RunLock, LockError> {
        let dir = state_dir.join("locks");
        create_private_dir(&dir)
            .map_err(|e| LockError::Io(format!("cannot create `{}`: {e}", dir.display())))?;
        let path = dir.join(key.file_name());
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
                let who = who.trim();
                return Err(LockError::Held(format!(
                    "another run of `{}` for this {} app is in progress ({}); lock file {}",
                    key.playbook,
                    key.provider,
                    if who.is_empty() {
                        "holder unknown: it has only just started"
                    } else {
                        who
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

/// `dir` and its parents, the last one readable by its owner only (it names who runs what).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(app: &'a str, playbook: &'a str) -> LockKey<'a> {
        LockKey {
            provider: "jpush",
            app,
            playbook,
        }
    }

    #[test]
    fn second_holder_is_refused_and_told_who() {
        let dir = std::env::temp_dir().join(format!("pushfix-lock-{}", std::process::id()));
        let a = RunLock::acquire_in(&dir, key("appkey", "bf"), "run 1 by ops@host (pid 1)")
            .ok()
            .unwrap();
        match RunLock::acquire_in(&dir, key("appkey", "bf"), "run 2") {
            Err(LockError::Held(m)) => assert!(m.contains("run 1 by ops@host"), "{m}"),
            _ => panic!("expected the lock to be held"),
        }
        // Another app or playbook is independent.
        assert!(RunLock::acquire_in(&dir, key("other", "bf"), "x").is_ok());
        assert!(RunLock::acquire_in(&dir, key("appkey", "bf-2"), "x").is_ok());
        drop(a);
        assert!(RunLock::acquire_in(&dir, key("appkey", "bf"), "run 3").is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_file_name_holds_no_app_id() {
        let n = key("7d431e42dfa6a6d693ac2d04", "bf-promo").file_name();
        assert!(
            n.starts_with("jpush-") && n.ends_with("-bf-promo.lock"),
            "{n}"
        );
        assert!(!n.contains("7d431e42dfa6a6d693ac2d04"), "{n}");
        assert!(!key("a", "../x").file_name().contains('/'));
    }

    #[test]
    fn state_dir_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        const ALL: &[(&str, &str)] = &[
            ("PUSHFIX_STATE_DIR", "/s"),
            ("XDG_STATE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(state_dir_from(env(ALL)).unwrap(), PathBuf::from("/s"));
        assert_eq!(
            state_dir_from(env(&[("XDG_STATE_HOME", "/x"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/x/pushfix")
        );
        // A relative XDG_STATE_HOME is ignored (XDG spec); an empty variable is unset.
        assert_eq!(
            state_dir_from(env(&[
                ("PUSHFIX_STATE_DIR", ""),
                ("XDG_STATE_HOME", "rel"),
                ("HOME", "/h")
            ]))
            .unwrap(),
            PathBuf::from("/h/.local/state/pushfix")
        );
        assert!(matches!(
            state_dir_from(env(&[("PUSHFIX_STATE_DIR", "rel/dir")])),
            Err(LockError::Io(m)) if m.contains("absolute")
        ));
        assert!(matches!(state_dir_from(env(&[])), Err(LockError::Io(_))));
    }
}
