//! A large JSON Lines ledger read in two halves, one per core, merged as if read in one pass.
//!
//! Each half is scanned by the same code as a whole ledger; the merge keeps the first record of
//! each id over the whole file (a repeat across the halves is resolved as one within them),
//! numbers the second half's lines after the first's, and concatenates the steps' matches in
//! ledger order. The file's SHA-256 is taken on a third thread reading it whole. Anything out
//! of the ordinary — an error anywhere, a warning in the second half (its line numbers would
//! need renumbering) — gives up, and the caller reads the ledger the ordinary way, whose
//! diagnostics are the ones to show.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{MAX_TAGS, Scan, ScanCtx, StepQuery};
use crate::diag::Diagnostics;
use crate::domain::MsgId;
use crate::matrix::ProviderMatrix;
use crate::provider::Provider;

/// Ledgers from this size on are read in halves (a smaller one takes well under a second).
pub(super) const MIN_BYTES: u64 = 64 << 20;

pub(super) fn scan(
    len: u64,
    path: &Path,
    provider: &'static dyn Provider,
    matrix: &ProviderMatrix,
    steps: &[StepQuery<'_>],
) -> Option<(Scan, Diagnostics)> {
    let mid = split_point(path, len)?;
    let (mut first, second, hash) = std::thread::scope(|s| {
        // Each reader opens the file anew: clones of one handle share its position.
        let hash = s.spawn(|| sha256_of(File::open(path).ok()?));
        let second = s.spawn(|| {
            let mut f = File::open(path).ok()?;
            f.seek(SeekFrom::Start(mid)).ok()?;
            let mut ctx = ScanCtx::new(path, provider, matrix, steps, Diagnostics::new());
            ctx.from_start = false;
            ctx.read_jsonl(&mut f);
            Some(ctx.into_half())
        });
        let mut f = File::open(path).ok()?.take(mid);
        let mut ctx = ScanCtx::new(path, provider, matrix, steps, Diagnostics::new());
        ctx.read_jsonl(&mut f);
        let first = ctx.into_half();
        Some((first, second.join().ok()??, hash.join().ok()??))
    })?;
    if first.diags.has_errors() || !second.diags.items.is_empty() {
        return None;
    }
    let diags = std::mem::take(&mut first.diags);
    let mut scan = merge(first, second);
    scan.sha256 = hex::encode(hash.finalize());
    Some((scan, diags))
}

/// Just after the first newline from the middle of the file.
fn split_point(path: &Path, len: u64) -> Option<u64> {
    let mut f = File::open(path).ok()?;
    f.seek(SeekFrom::Start(len / 2)).ok()?;
    let mut skipped = Vec::new();
    // A line longer than 1 MiB: not worth splitting around.
    BufReader::new(f.take(1 << 20))
        .read_until(b'\n', &mut skipped)
        .ok()?;
    (skipped.last() == Some(&b'\n')).then(|| len / 2 + skipped.len() as u64)
}

fn sha256_of(mut file: File) -> Option<Sha256> {
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Some(hasher),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// What a half's scan leaves for the merge.
pub(super) struct Half {
    scan: Scan,
    diags: Diagnostics,
    nums: Vec<u64>,
    texts: rustc_hash::FxHashSet<String>,
    kept_at: rustc_hash::FxHashMap<u64, usize>,
    lines: u64,
}

impl ScanCtx<'_> {
    fn into_half(self) -> Half {
        Half {
            scan: self.scan,
            diags: self.diags,
            nums: self.seen.nums,
            texts: self.seen.texts,
            kept_at: self.seen.kept_at,
            lines: self.lines,
        }
    }
}

fn merge(first: Half, second: Half) -> Scan {
    let Half {
        mut scan,
        nums,
        texts,
        kept_at,
        lines,
        ..
    } = first;
    let b = second.scan;
    // Records the second half kept that an earlier record (in the first half) already names:
    // the first one is used. Numeric ids the first half saw but did not keep are dropped by
    // `resolve_repeats` below, which sees the whole file's order.
    let earlier = |id: &MsgId| match id {
        MsgId::Num(n) => kept_at.contains_key(n),
        MsgId::Text(t) => texts.contains(t.as_str()),
    };
    let dropped: rustc_hash::FxHashSet<MsgId> =
        b.records.keys().filter(|id| earlier(id)).cloned().collect();
    // Text repeats across the halves (within each, they were counted as they came).
    let text_repeats = second
        .texts
        .iter()
        .filter(|t| texts.contains(t.as_str()))
        .count() as u64;
    for (id, mut r) in b.records {
        if !dropped.contains(&id) {
            r.line += lines;
            scan.records.insert(id, r);
        }
    }
    for (m, more) in scan.matches.iter_mut().zip(b.matches) {
        m.extend(more.into_iter().filter(|id| !dropped.contains(id)));
    }
    scan.records_read += b.records_read;
    scan.duplicates += b.duplicates + text_repeats;
    let (sa, sb) = (&mut scan.stats, b.stats);
    sa.oldest = sa.oldest.min(sb.oldest).or(sa.oldest).or(sb.oldest);
    sa.newest = sa.newest.max(sb.newest);
    sa.schedules += sb.schedules;
    for (tag, n) in sb.tags {
        let room = sa.tags.len() < MAX_TAGS;
        match sa.tags.get_mut(&tag) {
            Some(m) => *m += n,
            None if room => {
                sa.tags.insert(tag, n);
            }
            None => {}
        }
    }
    // The whole file's ids in order, and the records kept, for the repeats' resolution.
    let offset = nums.len();
    let mut all = nums;
    all.extend(second.nums);
    let mut kept = kept_at;
    for (n, at) in second.kept_at {
        if !dropped.contains(&MsgId::Num(n)) {
            kept.insert(n, at + offset);
        }
    }
    let mut texts = texts;
    texts.extend(second.texts);
    let mut ctx_seen = super::SeenIds {
        nums: all,
        texts,
        kept_at: kept,
    };
    super::resolve_repeats(&mut scan, &mut ctx_seen);
    scan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProviderKind;
    use crate::ledger::Filter;
    use crate::matrix::Matrix;

    fn filter_tag(tag: &str) -> Filter {
        Filter {
            tags_any: vec![tag.into()],
            ..Filter::default()
        }
    }

    /// Halves merged give what one pass gives: the same records (first of each id, line
    /// numbers of the whole file), matches in ledger order, counts, statistics and hash.
    #[test]
    fn halves_merged_are_one_pass() {
        let m = Matrix::builtin().unwrap();
        let dir = std::env::temp_dir().join(format!("pushfix-split-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (provider, quote) in [("jpush", false), ("tpns", true)] {
            let id_field = crate::provider::find(provider).unwrap().id_field();
            let mut x = 12345u64;
            let mut text = String::new();
            for i in 0..4000u64 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // Ids repeat within and across the halves; tags and times vary.
                let id = 1000 + (x >> 33) % 3000;
                let tag = ["a", "b", "c"][((x >> 20) % 3) as usize];
                let hour = (x >> 40) % 24;
                let id = if quote {
                    format!("\"{id}\"")
                } else {
                    id.to_string()
                };
                text.push_str(&format!(
                    "{{\"{id_field}\":{id},\"sent_at\":\"2026-11-20T{hour:02}:00:00+08:00\",\"tags\":[\"{tag}\"],\"platforms\":[\"android\"]}}\n"
                ));
                if i % 500 == 7 {
                    text.push('\n');
                }
            }
            let path = dir.join(format!("{provider}.jsonl"));
            std::fs::write(&path, &text).unwrap();
            let p = crate::provider::find(provider).unwrap();
            let fa = filter_tag("a");
            let fb = filter_tag("b");
            let ids: std::collections::HashSet<MsgId> =
                [p.parse_id("1500").unwrap(), p.parse_id("2999").unwrap()]
                    .into_iter()
                    .collect();
            let steps = [
                StepQuery {
                    filter: Some(&fa),
                    ..Default::default()
                },
                StepQuery {
                    filter: Some(&fb),
                    ids,
                    ..Default::default()
                },
            ];
            let pm = m.provider(ProviderKind::new(provider));
            let one = super::super::scan(&path, p, pm, &steps).unwrap();
            let len = std::fs::metadata(&path).unwrap().len();
            let (two, diags) = scan(len, &path, p, pm, &steps).unwrap_or_else(|| {
                panic!("{provider}: gave up; one pass: {:?}", one.warnings.items)
            });
            assert!(diags.items.is_empty());
            assert_eq!(two.matches, one.matches, "{provider}");
            assert_eq!(two.records_read, one.records_read);
            assert_eq!(two.duplicates, one.duplicates);
            assert_eq!(two.sha256, one.sha256);
            let lines = |s: &Scan| {
                let mut v: Vec<(String, u64)> = s
                    .records
                    .values()
                    .map(|r| (r.id.to_string(), r.line))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(lines(&two), lines(&one), "{provider}");
            assert_eq!(
                two.stats.tags,
                one.stats.tags,
                "read {} dups {} lines {}",
                one.records_read,
                one.duplicates,
                text.lines().count()
            );
            assert_eq!(two.stats.oldest, one.stats.oldest);
            assert_eq!(two.stats.newest, one.stats.newest);
            assert!(one.duplicates > 0 && !one.matches[0].is_empty());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
