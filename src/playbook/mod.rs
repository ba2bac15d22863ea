//! Playbooks: the YAML format (DESIGN §2), decoding with located errors, and its JSON Schema.

mod decode;
mod model;
pub mod schema;

pub use decode::{VarOverrides, load, valid_name};
pub use model::*;

/// The key lists each mapping accepts, for the schema consistency test.
pub mod keys {
    pub use super::decode::{
        BACKOFF_KEYS, ENV_REF_KEYS, LIMITS_KEYS, RETRY_KEYS, SELECT_KEYS, STEP_KEYS, TOP_KEYS,
        WHERE_KEYS, keys_at,
    };
}

use std::path::{Path, PathBuf};

/// The playbook files under `path`: the file itself, or every `.yaml`/`.yml` file below a
/// folder (hidden folders skipped), sorted for stable output.
pub fn discover(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let p = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
