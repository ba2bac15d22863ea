//! Reading a ledger while its SHA-256 is taken on another core: the hash (a tenth of planning
//! a large ledger) and the reads from the file happen on a thread of their own, a few chunks
//! ahead of the parser, which reads the same bytes from memory.

use std::fs::File;
use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

/// Bytes read (and hashed) at a time, and how many such chunks may wait for the parser: 4 MiB
/// in flight at most, whatever the ledger's size.
const CHUNK: usize = 1 << 20;
const AHEAD: usize = 4;

pub(super) struct HashingReader {
    chunks: Option<Receiver<std::io::Result<Vec<u8>>>>,
    current: Vec<u8>,
    pos: usize,
    hasher: Option<JoinHandle<Sha256>>,
}

impl HashingReader {
    /// Start reading `file`; back when no thread can be started (the caller reads inline).
    fn spawn(file: File) -> Result<HashingReader, File> {
        let (tx, rx): (SyncSender<std::io::Result<Vec<u8>>>, _) = sync_channel(AHEAD);
        let Ok(clone) = file.try_clone() else {
            return Err(file);
        };
        let spawned = std::thread::Builder::new()
            .name("pushfix-ledger-read".into())
            .spawn(move || {
                let mut hasher = Sha256::new();
                let mut file = clone;
                loop {
                    let mut chunk = vec![0u8; CHUNK];
                    let mut filled = 0;
                    // Fill the chunk (a read may return less), so the parser gets few, big ones.
                    let result = loop {
                        match file.read(&mut chunk[filled..]) {
                            Ok(0) => break Ok(()),
                            Ok(n) => {
                                filled += n;
                                if filled == CHUNK {
                                    break Ok(());
                                }
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => break Err(e),
                        }
                    };
                    chunk.truncate(filled);
                    hasher.update(&chunk);
                    let end = filled == 0;
                    let sent = match result {
                        Err(e) => tx.send(Err(e)).map(|_| false),
                        Ok(()) if end => Ok(false),
                        Ok(()) => tx.send(Ok(chunk)).map(|_| true),
                    };
                    // The parser stopped reading, the file ended, or a read failed.
                    if !matches!(sent, Ok(true)) {
                        return hasher;
                    }
                }
            });
        match spawned {
            Ok(handle) => Ok(HashingReader {
                chunks: Some(rx),
                current: Vec::new(),
                pos: 0,
                hasher: Some(handle),
            }),
            // Nothing was read through the clone: the original is where it was.
            Err(_) => Err(file),
        }
    }

    /// The SHA-256 of everything read. Call it after reading to the end.
    fn finish(mut self) -> Sha256 {
        self.chunks = None;
        self.hasher
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.current.len() {
            let Some(rx) = &self.chunks else {
                return Ok(0);
            };
            match rx.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The reader ended: the file is read.
                Err(_) => {
                    self.chunks = None;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A ledger file being read and hashed: ahead on a thread, or inline when no thread could be
/// started.
pub(super) enum LedgerReader {
    Ahead(HashingReader),
    Inline { file: File, hasher: Sha256 },
}

impl LedgerReader {
    pub(super) fn open(file: File) -> LedgerReader {
        match HashingReader::spawn(file) {
            Ok(r) => LedgerReader::Ahead(r),
            Err(file) => LedgerReader::Inline {
                file,
                hasher: Sha256::new(),
            },
        }
    }

    /// The SHA-256 of everything read (read to the end first).
    pub(super) fn finish(self) -> Sha256 {
        match self {
            LedgerReader::Ahead(r) => r.finish(),
            LedgerReader::Inline { hasher, .. } => hasher,
        }
    }
}

impl Read for LedgerReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            LedgerReader::Ahead(r) => r.read(buf),
            LedgerReader::Inline { file, hasher } => {
                let n = file.read(buf)?;
                hasher.update(&buf[..n]);
                Ok(n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_byte_in_order_and_hashes_them() {
        let dir = std::env::temp_dir().join(format!("pushfix-hashing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for len in [0usize, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 12345] {
            let path = dir.join(format!("f{len}"));
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            std::fs::write(&path, &data).unwrap();
            let mut r = LedgerReader::open(File::open(&path).unwrap());
            assert!(matches!(r, LedgerReader::Ahead(_)));
            let mut read = Vec::new();
            // Small, uneven reads, as a line reader makes them.
            let mut buf = [0u8; 4093];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                read.extend_from_slice(&buf[..n]);
            }
            assert_eq!(read, data, "{len} bytes");
            assert_eq!(
                r.finish().finalize()[..],
                Sha256::digest(&data)[..],
                "{len} bytes"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
