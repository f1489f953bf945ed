//! Producer-state snapshots: `<offset>.snapshot` files beside the segments
//! (20-digit offset, as Kafka names them), holding the producer table as it
//! was with the log ending at `offset`. Written atomically (temp file,
//! fsync, rename); the newest that is not beyond the log end is used at
//! start, and the log is replayed from its offset.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::state::ProducerStateTable;

const SUFFIX: &str = ".snapshot";
/// How many snapshots are kept (older ones are deleted after a new one).
const KEEP: usize = 2;

/// A snapshot that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("producer snapshot {path}: {source}")]
pub struct SnapshotError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    pub source: io::Error,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct File {
    version: u32,
    offset: u64,
    table: ProducerStateTable,
}

fn path_of(dir: &Path, offset: u64) -> PathBuf {
    dir.join(format!("{offset:020}{SUFFIX}"))
}

fn list(dir: &Path) -> Vec<u64> {
    let mut offsets: Vec<u64> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(SUFFIX)?;
            (stem.len() == 20).then(|| stem.parse().ok()).flatten()
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

/// Writes a snapshot of `table` at `offset` and prunes old ones.
pub fn write(dir: &Path, offset: u64, table: &ProducerStateTable) -> Result<(), SnapshotError> {
    let path = path_of(dir, offset);
    let err = |source| SnapshotError {
        path: path.clone(),
        source,
    };
    let body = serde_json::to_vec(&File {
        version: 1,
        offset,
        table: table.clone(),
    })
    .map_err(|e| err(io::Error::other(e)))?;
    let tmp = path.with_extension("snapshot.tmp");
    fs::write(&tmp, &body).map_err(err)?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(err)?;
    fs::rename(&tmp, &path).map_err(err)?;
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(err)?;
    let all = list(dir);
    for old in all.iter().take(all.len().saturating_sub(KEEP)) {
        let _ = fs::remove_file(path_of(dir, *old));
    }
    Ok(())
}

/// The newest readable snapshot at or below `log_end`: (offset, table).
/// Snapshots beyond the log end (the log was truncated) are deleted;
/// unreadable ones are skipped (the log replay covers for them).
pub fn load(dir: &Path, log_end: u64) -> Option<(u64, ProducerStateTable)> {
    for offset in list(dir).into_iter().rev() {
        let path = path_of(dir, offset);
        if offset > log_end {
            let _ = fs::remove_file(&path);
            continue;
        }
        let parsed = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<File>(&b).ok())
            .filter(|f| f.version == 1 && f.offset == offset);
        match parsed {
            Some(f) => return Some((offset, f.table)),
            None => tracing::warn!(path = %path.display(), "ignoring unreadable producer snapshot"),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::state::ProducerBatch;

    #[test]
    fn newest_snapshot_within_the_log_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut t = ProducerStateTable::default();
        let b = ProducerBatch {
            producer_id: 1,
            epoch: 0,
            first_seq: 0,
            record_count: 1,
        };
        t.record(&b, 0, 0, 0, 0);
        write(dir.path(), 1, &t).expect("write");
        write(dir.path(), 5, &ProducerStateTable::default()).expect("write");
        write(dir.path(), 9, &ProducerStateTable::default()).expect("write");
        assert_eq!(list(dir.path()), vec![5, 9], "only two are kept");
        let (offset, _) = load(dir.path(), 7).expect("one at or below 7");
        assert_eq!(offset, 5);
        assert_eq!(
            list(dir.path()),
            vec![5],
            "the one beyond the log end is gone"
        );
        std::fs::write(path_of(dir.path(), 5), b"garbage").expect("damage");
        assert!(load(dir.path(), 7).is_none());
    }
}
