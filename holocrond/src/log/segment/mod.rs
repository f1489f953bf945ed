//! One segment: a `.log` file of whole stored batches named by its base
//! offset, its `.index` and `.timeindex`, and the in-memory facts about it.
//!
//! A segment is *active* (the last one: appended to, indexes preallocated)
//! or *sealed* (fsynced, indexes trimmed and fsynced; never written again
//! unless a truncation cuts back into it). Every read is a positional read
//! (`read_at`) from `&self`, so readers never need the writer's lock.
//!
//! The ordinal map (batch start positions, one `u32` per batch) is loaded
//! lazily: appends extend it only once it exists, and the first
//! `read_entry` or truncation that needs it walks the segment's headers.
//! Opening a log therefore reads no segment that recovery does not have
//! to scan, and a segment that Raft never reads back costs nothing.
//!
//! Internal entries (no offsets) count as batches here — they have a
//! position and an ordinal — but never get an index entry and never move
//! the max timestamp. A segment holding internal entries only spans no
//! offsets, so it is never rolled: its successor would have the same base
//! offset, hence the same file name.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

mod open;
mod read;

use open::{offset_capacity, time_capacity};

use super::batch::BatchHeader;
use super::checkpoint::SegmentSummary;
use super::config::LogConfig;
use super::error::{io_err, LogError};
use super::offset_index::OffsetIndex;
use super::time_index::TimeIndex;

/// Kafka's "no timestamp".
pub(crate) const NO_TIMESTAMP: i64 = -1;

/// A segment's `.log` file with its path, shared with [`super::Durability`]
/// so it can be fsynced without the log's lock.
#[derive(Debug)]
pub(crate) struct SegmentFile {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
}

/// What `Log::segments` reports about one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Offset of its first batch (and its file name).
    pub base_offset: u64,
    /// The offset after its last batch.
    pub next_offset: u64,
    /// Ordinal of its first batch.
    pub base_ordinal: u64,
    /// Bytes in the `.log` file.
    pub size_bytes: u64,
    /// Stored batches.
    pub batch_count: u64,
    /// The `.log` file.
    pub path: PathBuf,
    /// Sealed (not the active segment).
    pub sealed: bool,
    /// When it received its first batch (after a restart: the first
    /// batch's max timestamp); `segment.ms` is measured from here.
    pub created_ms: Option<i64>,
    /// Time of the last append (after a restart: the file's mtime).
    pub last_modified_ms: i64,
    /// Largest batch max timestamp in it, -1 if none.
    pub max_timestamp: i64,
}

/// File path of a segment file: `<dir>/<base offset, 20 digits>.<ext>`.
pub(crate) fn segment_path(dir: &Path, base_offset: u64, ext: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{ext}"))
}

/// Removes files, ignoring ones already gone.
fn remove_files(paths: &[PathBuf]) -> Result<(), LogError> {
    for path in paths {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LogError::io("delete segment file", path, e)),
        }
    }
    Ok(())
}

/// One segment and its indexes.
#[derive(Debug)]
pub(crate) struct Segment {
    base_offset: u64,
    base_ordinal: u64,
    next_offset: u64,
    size: u64,
    batch_count: u64,
    log: Arc<SegmentFile>,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    max_timestamp: i64,
    offset_of_max_timestamp: u64,
    created_ms: Option<i64>,
    last_modified_ms: i64,
    bytes_since_index: u64,
    positions: OnceLock<Vec<u32>>,
    sealed: bool,
}

impl Segment {
    pub(crate) fn base_offset(&self) -> u64 {
        self.base_offset
    }
    pub(crate) fn base_ordinal(&self) -> u64 {
        self.base_ordinal
    }
    pub(crate) fn next_offset(&self) -> u64 {
        self.next_offset
    }
    pub(crate) fn next_ordinal(&self) -> u64 {
        self.base_ordinal + self.batch_count
    }
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
    pub(crate) fn batch_count(&self) -> u64 {
        self.batch_count
    }
    /// Whether it holds at least one data batch (a non-empty offset range).
    pub(crate) fn holds_data(&self) -> bool {
        self.next_offset > self.base_offset
    }
    pub(crate) fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    pub(crate) fn last_modified_ms(&self) -> i64 {
        self.last_modified_ms
    }
    pub(crate) fn file(&self) -> &Arc<SegmentFile> {
        &self.log
    }
    pub(crate) fn path(&self) -> &Path {
        &self.log.path
    }

    /// Whether a batch of `len` bytes ending `last_offset_delta` after the
    /// log end must go to a new segment: this one holds data and the batch
    /// would take it past `segment.bytes`, overflow the 32-bit relative
    /// offsets, or find an index full. A segment without data is never
    /// full: the next one would have the same base offset (and file name).
    pub(crate) fn is_full_for(
        &self,
        len: usize,
        last_offset_delta: u32,
        config: &LogConfig,
    ) -> bool {
        self.holds_data()
            && (self.size + len as u64 > config.effective_segment_bytes()
                || self.next_offset - self.base_offset + u64::from(last_offset_delta)
                    > u64::from(u32::MAX)
                || self.offset_index.is_full()
                || self.time_index.is_full())
    }

    /// Whether the first batch is older than `segment.ms` (and the segment
    /// holds data, as for [`Segment::is_full_for`]).
    pub(crate) fn is_due_by_age(&self, config: &LogConfig, now_ms: i64) -> bool {
        match (config.segment_ms, self.created_ms) {
            (Some(ms), Some(created)) if self.holds_data() => {
                now_ms.saturating_sub(created) >= i64::try_from(ms).unwrap_or(i64::MAX)
            }
            _ => false,
        }
    }

    /// Writes a validated, stamped batch (given in consecutive parts) at the
    /// end with one positional write per part. On a failed write the file is cut back to its previous size
    /// and `(error, true)` returned; `(error, false)` means even that failed
    /// and the file's state is unknown.
    pub(crate) fn append(
        &mut self,
        parts: &[&[u8]],
        header: &BatchHeader,
        config: &LogConfig,
        now_ms: i64,
    ) -> Result<(), (LogError, bool)> {
        let pos = self.size;
        let mut at = pos;
        let written = parts.iter().try_for_each(|part| {
            self.log.file.write_all_at(part, at)?;
            at += part.len() as u64;
            Ok::<(), std::io::Error>(())
        });
        if let Err(e) = written {
            let err = LogError::io("append to segment", &self.log.path, e);
            let rolled_back = self.log.file.set_len(pos).is_ok();
            return Err((err, rolled_back));
        }
        self.track(pos, header, u64::from(config.index_interval_bytes), now_ms);
        Ok(())
    }

    /// Accounts for a batch now present at `pos`: counters, timestamps,
    /// sparse index entries (Kafka's rule: an entry for the batch appended
    /// once more than `index.interval.bytes` went by since the last one),
    /// ordinal map.
    fn track(&mut self, pos: u64, h: &BatchHeader, interval: u64, now_ms: i64) {
        if !h.internal {
            let last = h.last_offset();
            if h.max_timestamp > self.max_timestamp {
                self.max_timestamp = h.max_timestamp;
                self.offset_of_max_timestamp = last;
            }
            // An internal entry is never indexed (an index entry names a
            // last offset, which it has not); the next data batch gets the
            // entry that was due.
            if self.bytes_since_index > interval {
                self.offset_index.append(last, pos as u32);
                self.time_index
                    .maybe_append(self.max_timestamp, self.offset_of_max_timestamp);
                self.bytes_since_index = 0;
            }
        }
        self.bytes_since_index += h.total_len as u64;
        if let Some(p) = self.positions.get_mut() {
            p.push(pos as u32);
        }
        self.size = pos + h.total_len as u64;
        self.next_offset = h.next_offset();
        self.batch_count += 1;
        self.created_ms.get_or_insert(now_ms);
        self.last_modified_ms = now_ms;
    }

    /// Seals the segment: data fsynced, a final time-index entry for the
    /// max timestamp, indexes trimmed and fsynced.
    pub(crate) fn seal(&mut self) -> Result<(), LogError> {
        self.finish()?;
        self.sealed = true;
        Ok(())
    }

    /// What sealing and a clean close share.
    pub(crate) fn finish(&mut self) -> Result<(), LogError> {
        self.log
            .file
            .sync_data()
            .map_err(io_err("fsync segment", &self.log.path))?;
        if self.holds_data() {
            let n = self.time_index.len();
            self.time_index.file().reserve(n + 1)?;
            self.time_index
                .maybe_append(self.max_timestamp, self.offset_of_max_timestamp);
        }
        self.offset_index.file().trim_and_sync()?;
        self.time_index.file().trim_and_sync()
    }

    pub(crate) fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// Makes a sealed (or cleanly closed) segment appendable again.
    pub(crate) fn unseal(&mut self, config: &LogConfig) -> Result<(), LogError> {
        self.offset_index.file().reserve(offset_capacity(config))?;
        self.time_index.file().reserve(time_capacity(config))?;
        self.sealed = false;
        Ok(())
    }

    /// Cuts the segment at `pos`, where the batch starting `next_offset`
    /// (the `kept`-th of the segment, data or internal) begins. The file
    /// is fsynced; indexes and the max timestamp are brought back to the
    /// kept batches; a sealed segment becomes active again.
    pub(crate) fn truncate_to(
        &mut self,
        pos: u64,
        next_offset: u64,
        kept: u64,
        config: &LogConfig,
    ) -> Result<(), LogError> {
        self.log
            .file
            .set_len(pos)
            .map_err(io_err("truncate segment", &self.log.path))?;
        self.log
            .file
            .sync_all()
            .map_err(io_err("fsync segment", &self.log.path))?;
        if self.sealed {
            self.unseal(config)?;
        }
        self.offset_index.truncate_from(next_offset);
        self.time_index.truncate_from(next_offset);
        if let Some(p) = self.positions.get_mut() {
            p.truncate(kept as usize);
        }
        self.size = pos;
        self.next_offset = next_offset;
        self.batch_count = kept;
        self.bytes_since_index = 0;
        // The max timestamp of the kept prefix: the last surviving time-index
        // entry covers every batch up to the last surviving offset-index
        // entry; walk the few batches after it.
        let (mut max_ts, mut max_off) = self
            .time_index
            .last()
            .unwrap_or((NO_TIMESTAMP, self.base_offset));
        let from = match self.offset_index.len() {
            0 => 0,
            n => u64::from(self.offset_index.entry(n - 1).1),
        };
        self.walk(from, |_, h| {
            if !h.internal && h.max_timestamp > max_ts {
                max_ts = h.max_timestamp;
                max_off = h.last_offset();
            }
            false
        })?;
        self.max_timestamp = max_ts;
        self.offset_of_max_timestamp = max_off;
        if kept == 0 {
            self.created_ms = None;
        }
        Ok(())
    }

    /// Deletes the segment's files.
    pub(crate) fn delete(self) -> Result<(), LogError> {
        let paths = self.paths();
        let Self {
            log,
            offset_index,
            time_index,
            ..
        } = self;
        drop((offset_index, time_index, log));
        remove_files(&paths)
    }

    /// Deletes the segment's files while it stays open (its mappings and
    /// descriptors keep the unlinked files alive until it is dropped): for
    /// a reset, which must remove every file before it creates a segment
    /// that may have the same name.
    pub(crate) fn remove_files(&self) -> Result<(), LogError> {
        remove_files(&self.paths())
    }

    fn paths(&self) -> [PathBuf; 3] {
        [
            self.log.path.clone(),
            self.log.path.with_extension("index"),
            self.log.path.with_extension("timeindex"),
        ]
    }

    /// What the checkpoint records. `complete`: the sizes and counts may be
    /// trusted on the next open (sealed segments, or all at a clean close).
    pub(crate) fn summary(&self, complete: bool) -> SegmentSummary {
        SegmentSummary {
            base_offset: self.base_offset,
            base_ordinal: self.base_ordinal,
            complete,
            size: self.size,
            batch_count: self.batch_count,
            next_offset: self.next_offset,
            max_timestamp: self.max_timestamp,
            offset_of_max_timestamp: self.offset_of_max_timestamp,
            created_ms: self.created_ms,
        }
    }

    pub(crate) fn info(&self) -> SegmentInfo {
        SegmentInfo {
            base_offset: self.base_offset,
            next_offset: self.next_offset,
            base_ordinal: self.base_ordinal,
            size_bytes: self.size,
            batch_count: self.batch_count,
            path: self.log.path.clone(),
            sealed: self.sealed,
            created_ms: self.created_ms,
            last_modified_ms: self.last_modified_ms,
            max_timestamp: self.max_timestamp,
        }
    }

    pub(super) fn corrupt(&self, position: u64, reason: String) -> LogError {
        LogError::CorruptSegment {
            file: self.log.path.clone(),
            position,
            reason,
        }
    }
}
