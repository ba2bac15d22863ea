//! Every file a plan depends on, read once and hashed, so a saved plan can prove which inputs
//! it was made from.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diag::{Diagnostic, SourceFile, Span};

#[derive(Debug, Default, Clone)]
pub struct InputSet {
    /// path -> sha256 (hex), in a stable order.
    hashes: BTreeMap<PathBuf, String>,
    /// Values that change the plan without being files (`--var` overrides).
    extra: Vec<(String, String)>,
}

impl InputSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Read a UTF-8 text file and remember its hash. Errors are located diagnostics.
    pub fn read_text(&mut self, path: &Path) -> Result<SourceFile, Diagnostic> {
        let bytes = std::fs::read(path).map_err(|e| {
            Diagnostic::error(format!(
                "cannot read `{}`: {}",
                path.display(),
                crate::io_reason(&e)
            ))
            .in_file(path)
        })?;
        self.record(path, &sha256_hex(&bytes));
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile::new(path, text)),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let file = SourceFile::new(path, text);
                let span = file.span_at(valid, 1);
                Err(
                    Diagnostic::error(format!("`{}` is not valid UTF-8", path.display()))
                        .at(&file, span),
                )
            }
        }
    }

    pub fn record(&mut self, path: &Path, sha256: &str) {
        self.hashes.insert(path.to_path_buf(), sha256.to_string());
    }

    pub fn record_extra(&mut self, key: &str, value: &str) {
        self.extra.push((key.to_string(), value.to_string()));
    }

    pub fn files(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.hashes.iter().map(|(p, h)| (p.as_path(), h.as_str()))
    }

    /// One hash over every input's path and content hash (and the extra values).
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        for (path, sha) in &self.hashes {
            h.update(path.to_string_lossy().as_bytes());
            h.update([0]);
            h.update(sha.as_bytes());
            h.update([0]);
        }
        for (k, v) in &self.extra {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Lexically normalize a path (`playbooks/../ledgers/x` -> `ledgers/x`) without touching the
/// file system, so messages show the path the user would type.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// Point at the first character of a file (for whole-file problems).
pub fn file_start() -> Span {
    Span::point(1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            normalize(Path::new("playbooks/../ledgers/x.jsonl")),
            PathBuf::from("ledgers/x.jsonl")
        );
        assert_eq!(normalize(Path::new("./a/./b")), PathBuf::from("a/b"));
        assert_eq!(normalize(Path::new("../a")), PathBuf::from("../a"));
        assert_eq!(normalize(Path::new("/x/../y")), PathBuf::from("/y"));
    }

    #[test]
    fn content_hash_changes_with_any_input() {
        let mut a = InputSet::new();
        a.record(Path::new("p.yaml"), "aa");
        let h1 = a.content_hash();
        a.record(Path::new("l.jsonl"), "bb");
        let h2 = a.content_hash();
        a.record_extra("var", "x=1");
        assert_ne!(h1, h2);
        assert_ne!(h2, a.content_hash());
    }
}
