//! Files written whole or not at all: a temp file beside the target, fsynced, then renamed over
//! it, so a reader (or a crash) never sees half a file.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A file pushfix had to write and could not.
#[derive(Debug)]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot write `{}`: {}",
            self.path.display(),
            crate::io_reason(&self.source)
        )
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl WriteError {
    pub fn new(path: &Path, source: std::io::Error) -> WriteError {
        WriteError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Write JSON (pretty, with a final newline) atomically.
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), WriteError> {
    let mut text = serde_json::to_vec_pretty(value)
        .map_err(|e| WriteError::new(path, std::io::Error::other(e)))?;
    text.push(b'\n');
    write_atomic(path, &text)
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let fail = |e: std::io::Error| WriteError::new(path, e);
    {
        let mut f = std::fs::File::create(&tmp).map_err(fail)?;
        f.write_all(bytes).map_err(fail)?;
        f.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}
