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

/// Write JSON (pretty, with a final newline) atomically, serialized straight to the file (a
/// large plan is never held as text).
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), WriteError> {
    write_with(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}

/// `value` as compact JSON (files only programs read back, where a 1,000,000-target plan's
/// indentation would be a third of the bytes to write and parse).
pub fn write_json_compact(path: &Path, value: &impl serde::Serialize) -> Result<(), WriteError> {
    write_with(path, |w| {
        serde_json::to_writer(&mut *w, value).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_with(path, |w| w.write_all(bytes))
}

/// Write through `fill` to a temp file beside `path`, fsync it, rename it over `path`.
fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let fail = |e: std::io::Error| WriteError::new(path, e);
    {
        let f = std::fs::File::create(&tmp).map_err(fail)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        fill(&mut w).map_err(fail)?;
        let f = w.into_inner().map_err(|e| fail(e.into_error()))?;
        f.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}
