//! Files written whole or not at all: a temp file beside the target, fsynced, then renamed over
//! it, so a reader (or a crash) never sees half a file.

use std::io::Write as _;
use std::path::Path;

use crate::error::Error;

/// Write JSON atomically (temp file + rename), so a reader never sees half a file.
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), Error> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| Error::Other(e.to_string()))?;
    text.push(b'\n');
    write_atomic(path, &text)
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let fail = |e: std::io::Error| {
        Error::Other(format!(
            "cannot write `{}`: {}",
            path.display(),
            crate::io_reason(&e)
        ))
    };
    {
        let mut f = std::fs::File::create(&tmp).map_err(fail)?;
        f.write_all(bytes).map_err(fail)?;
        f.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}
