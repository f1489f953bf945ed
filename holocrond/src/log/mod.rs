//! The segmented partition log: Kafka RecordBatch v2 batches stored
//! verbatim in segment files, with sparse offset and time indexes, crash
//! recovery, retention, group-commit durability, and an ordinal map that
//! lets the log double as the partition's Raft log (`DESIGN.md` §3, §4).
//!
//! Layout of the module, one job per file:
//! - `batch`: header view, validation, stamping (the append hot path);
//! - `internal`: Raft's own entries (blank, membership) stored as internal
//!   control batches that take an ordinal but no offset, and
//!   [`classify`] for telling stored entries apart;
//! - `raft_ops`: what the Raft log store needs beyond appends: reading
//!   runs of entries, purging by ordinal, resetting to a snapshot point;
//! - `segment`: one `.log` file with its indexes and ordinal map;
//! - `index_file` (the only `unsafe`, mmap), `offset_index`, `time_index`;
//! - `scan`: walking a segment's batches; `recovery`: `Log::open`;
//! - `checkpoint`: the file that makes open cheap and keeps the log start
//!   and ordinal base; `retention`, `truncate`: removing data;
//! - `durability`: fsync outside the log's lock, shared by concurrent
//!   callers (group commit).
//!
//! The log is synchronous and single-writer: `&mut self` appends, `&self`
//! reads with positional reads, so the broker can hold it in an `RwLock`
//! and serve many fetches while one producer appends. Nothing here
//! blocks on an fsync except `flush`, `close` and structural changes
//! (roll, truncation, retention, purge, reset), which are rare.
//!
//! See `docs/log.md` for the on-disk format and the recovery algorithm.

#![deny(clippy::unwrap_used)]

mod batch;
mod checkpoint;
mod config;
mod durability;
mod error;
mod index_file;
mod internal;
mod offset_index;
mod raft_ops;
mod recovery;
mod retention;
mod scan;
mod segment;
mod time_index;
mod truncate;

#[cfg(test)]
mod tests_damage;
#[cfg(test)]
mod tests_expected;
#[cfg(test)]
mod tests_group_commit;
#[cfg(test)]
mod tests_internal;
#[cfg(test)]
mod tests_log;
#[cfg(test)]
mod tests_prop;
#[cfg(test)]
mod tests_raft_ops;

use std::iter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

pub use batch::INTERNAL_PRODUCER_ID;
pub use config::{
    FlushPolicy, LogConfig, DEFAULT_INDEX_INTERVAL_BYTES, DEFAULT_MAX_BATCH_BYTES,
    DEFAULT_SEGMENT_BYTES,
};
pub use durability::Durability;

/// A batch [`Log::check_append`] accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedBatch {
    /// Records in it.
    pub record_count: u32,
    /// Its largest timestamp.
    pub max_timestamp: i64,
}
pub use error::{InvalidBatchReason, LogError};
pub use internal::{classify, StoredEntry};
pub use retention::RetentionOutcome;
pub use segment::SegmentInfo;

use batch::BatchHeader;
use checkpoint::{sync_dir, Checkpoint};
use durability::Mark;
use segment::Segment;

/// What `Log::append` (or `Log::append_internal`) stored.
///
/// For an internal entry (`record_count == 0`) no offset is used:
/// `base_offset` and `last_offset` are both the log end offset, which the
/// entry does not hold (it is the offset stamped into it and the one the
/// next record gets); `max_timestamp` is -1 (no record timestamp). Wait for
/// its durability with [`Durability::sync_to_ordinal`], not `sync_to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first record (stamped into the batch).
    pub base_offset: u64,
    /// Offset of the last record (`base_offset` for an internal entry).
    pub last_offset: u64,
    /// The batch's `maxTimestamp` (-1 for an internal entry).
    pub max_timestamp: i64,
    /// The batch's ordinal (its Raft entry position).
    pub ordinal: u64,
    /// Bytes stored.
    pub bytes: usize,
    /// Records in the batch (0 for an internal entry).
    pub record_count: u32,
}

impl AppendInfo {
    /// The log end offset after this append: `last_offset + 1` for data,
    /// `base_offset` (unchanged) for an internal entry.
    pub fn next_offset(&self) -> u64 {
        self.base_offset + u64::from(self.record_count)
    }
}

/// What `Log::read` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// Whole stored batches, back to back (empty at the log end).
    pub bytes: Bytes,
    /// The log start offset at the time of the read.
    pub log_start_offset: u64,
    /// The log end offset at the time of the read.
    pub log_end_offset: u64,
    /// The offset after the last batch returned (the requested offset when
    /// nothing was returned): where a sequential reader continues.
    pub next_offset: u64,
}

/// One partition's log. See the module documentation.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    /// Sealed segments, oldest first.
    sealed: Vec<Segment>,
    /// The segment appends go to; always the newest.
    active: Segment,
    log_start_offset: u64,
    /// Ordinal of the batch holding `log_start_offset` (or `next_ordinal`
    /// when the log is empty).
    first_ordinal: u64,
    durability: Arc<Durability>,
    unflushed_records: u64,
    last_flush_ms: Option<i64>,
}

impl Log {
    /// Opens the log in `dir`, creating the directory if missing, and runs
    /// recovery (see `docs/log.md`): a clean-shutdown checkpoint lets it
    /// skip scanning; otherwise the segments the checkpoint does not vouch
    /// for are verified batch by batch and a torn tail is cut.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Log, LogError> {
        recovery::open(dir, config)
    }

    /// Validates one v2 batch, stamps `baseOffset` (the log end offset) and
    /// `partitionLeaderEpoch` into it, and writes it with one positional
    /// write. Never fsyncs: callers that acknowledge durably wait on
    /// [`Log::durability`].
    pub fn append(
        &mut self,
        batch: &mut [u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let info = self.append_shared(batch, leader_epoch, now_ms)?;
        batch::stamp(batch, info.base_offset, leader_epoch);
        Ok(info)
    }

    /// Checks `batch` as [`Log::append_shared`] would, without writing:
    /// its record count and largest timestamp. A replicated partition's
    /// leader checks before it hands the batch to Raft, whose store must
    /// never refuse it.
    pub fn check_append(&self, batch: &[u8]) -> Result<CheckedBatch, LogError> {
        self.check_writable()?;
        let header = batch::validate(batch, self.config.max_batch_bytes)?;
        Ok(CheckedBatch {
            record_count: header.record_count,
            max_timestamp: header.max_timestamp,
        })
    }

    /// As [`Log::append`], for a batch the caller cannot or need not change
    /// (a slice of a request frame): the two stamped fields sit in its
    /// first 16 bytes, so a stamped copy of those is written, then the rest
    /// of the batch as it is — no copy of the records.
    pub fn append_shared(
        &mut self,
        batch: &[u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.append_with_limit(batch, leader_epoch, now_ms, self.config.max_batch_bytes)
    }

    /// As [`Log::append_shared`] for an entry a Raft leader already
    /// accepted: no size limit (this replica's `max.message.bytes` may lag
    /// the leader's, and a committed entry must never be refused).
    pub fn append_replicated(
        &mut self,
        batch: &[u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.append_with_limit(batch, leader_epoch, now_ms, u32::MAX)
    }

    fn append_with_limit(
        &mut self,
        batch: &[u8],
        leader_epoch: i32,
        now_ms: i64,
        max_batch_bytes: u32,
    ) -> Result<AppendInfo, LogError> {
        self.check_writable()?;
        let header = batch::validate(batch, max_batch_bytes)?;
        if self
            .active
            .is_full_for(batch.len(), header.last_offset_delta, &self.config)
            || self.active.is_due_by_age(&self.config, now_ms)
        {
            self.roll(now_ms)?;
        }
        let base_offset = self.active.next_offset();
        let ordinal = self.active.next_ordinal();
        let mut head = [0u8; batch::STAMPED_PREFIX];
        head.copy_from_slice(&batch[..batch::STAMPED_PREFIX]);
        batch::stamp(&mut head, base_offset, leader_epoch);
        let header = BatchHeader {
            base_offset,
            ..header
        };
        let parts = [&head[..], &batch[batch::STAMPED_PREFIX..]];
        self.write_to_active(&parts, &header, now_ms)?;
        self.unflushed_records += u64::from(header.record_count);
        Ok(AppendInfo {
            base_offset,
            last_offset: header.last_offset(),
            max_timestamp: header.max_timestamp,
            ordinal,
            bytes: batch.len(),
            record_count: header.record_count,
        })
    }

    /// Whole stored batches starting with the one that holds `offset`, up
    /// to `max_bytes` in total, except that the first batch is returned
    /// whole even if larger (KIP-74). Only one segment is read per call.
    /// Internal entries are never returned (Fetch must not see them).
    /// `offset == log end` gives an empty result; below the log start or
    /// past the end is [`LogError::OffsetOutOfRange`].
    pub fn read(&self, offset: u64, max_bytes: usize) -> Result<ReadResult, LogError> {
        let (log_start_offset, log_end_offset) = (self.log_start_offset, self.log_end_offset());
        let mut result = ReadResult {
            bytes: Bytes::new(),
            log_start_offset,
            log_end_offset,
            next_offset: offset,
        };
        if offset < log_start_offset || offset > log_end_offset {
            return Err(self.out_of_range(offset));
        }
        if offset == log_end_offset {
            return Ok(result);
        }
        let seg = self.segment_for_offset(offset);
        let (pos, first) = seg.find_batch(offset)?;
        let (bytes, next_offset) = seg.read_batches(pos, &first, max_bytes)?;
        result.bytes = bytes;
        result.next_offset = next_offset;
        Ok(result)
    }

    /// The first batch at or after the log start whose `maxTimestamp` is
    /// `>= ts`, found through the time indexes: `(offset, its maxTimestamp)`,
    /// where the offset is the batch's base offset (or the log start, if
    /// that is inside the batch). Batch-granular: records are not decoded.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(u64, i64)>, LogError> {
        for seg in self.all_segments() {
            if seg.next_offset() <= self.log_start_offset || seg.max_timestamp() < ts {
                continue;
            }
            if let Some(found) = seg.find_timestamp(ts, self.log_start_offset)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The first readable offset.
    pub fn log_start_offset(&self) -> u64 {
        self.log_start_offset
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> u64 {
        self.active.next_offset()
    }

    /// Bytes in all segment files.
    pub fn size_bytes(&self) -> u64 {
        self.all_segments().map(Segment::size).sum()
    }

    /// The segments, oldest first; the last is the active one.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.all_segments().map(Segment::info).collect()
    }

    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration in force.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Replaces the configuration; it applies from the next append, roll,
    /// flush or retention pass (index preallocation from the next segment).
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// Rolls the active segment if it is older than `segment.ms`. Never
    /// rolls an empty segment. Returns whether it rolled.
    pub fn roll_if_due(&mut self, now_ms: i64) -> Result<bool, LogError> {
        if !self.active.is_due_by_age(&self.config, now_ms) {
            return Ok(false);
        }
        self.check_writable()?;
        self.roll(now_ms)?;
        Ok(true)
    }

    /// For [`FlushPolicy::Interval`]: fsyncs if `ms` have passed since the
    /// last flush or `messages` records are unflushed. No-op otherwise.
    pub fn flush_if_due(&mut self, now_ms: i64) -> Result<(), LogError> {
        let FlushPolicy::Interval { ms, messages } = self.config.flush else {
            return Ok(());
        };
        let last = *self.last_flush_ms.get_or_insert(now_ms);
        let by_time = now_ms.saturating_sub(last) >= i64::try_from(ms).unwrap_or(i64::MAX);
        let by_count = messages.is_some_and(|m| self.unflushed_records >= m.max(1));
        if by_time || by_count {
            self.flush()?;
            self.last_flush_ms = Some(now_ms);
        }
        Ok(())
    }

    /// Fsyncs everything written so far.
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.durability.sync_all()?;
        self.unflushed_records = 0;
        Ok(())
    }

    /// The group-commit handle, usable without this log's lock.
    pub fn durability(&self) -> Arc<Durability> {
        Arc::clone(&self.durability)
    }

    /// Clean shutdown: fsync, trim the active segment's indexes and write a
    /// clean checkpoint so the next `open` scans nothing.
    pub fn close(mut self) -> Result<(), LogError> {
        self.durability.sync_all()?;
        if let Err(e) = self.active.finish() {
            self.durability.poison();
            return Err(e);
        }
        self.write_checkpoint(true)
    }

    /// Ordinal of the first readable entry (the batch holding the log
    /// start). Ordinal 0 is the first batch ever appended; ordinals are
    /// never reused except after truncation.
    pub fn first_ordinal(&self) -> u64 {
        self.first_ordinal
    }

    /// The ordinal the next appended batch (or internal entry) gets.
    pub fn next_ordinal(&self) -> u64 {
        self.active.next_ordinal()
    }

    /// The stored bytes of entry `ordinal`, data or internal (tell them
    /// apart with [`classify`]).
    pub fn read_entry(&self, ordinal: u64) -> Result<Bytes, LogError> {
        if ordinal < self.first_ordinal || ordinal >= self.next_ordinal() {
            return Err(LogError::OrdinalOutOfRange {
                requested: ordinal,
                first: self.first_ordinal,
                next: self.next_ordinal(),
            });
        }
        let seg = self.segment_for_ordinal(ordinal);
        seg.read_entry((ordinal - seg.base_ordinal()) as usize)
    }

    // ---- internals shared by the other files of the module ----

    fn all_segments(&self) -> impl Iterator<Item = &Segment> {
        self.sealed.iter().chain(iter::once(&self.active))
    }

    fn segment_count(&self) -> usize {
        self.sealed.len() + 1
    }

    fn segment_at(&self, i: usize) -> &Segment {
        self.sealed.get(i).unwrap_or(&self.active)
    }

    /// Index of the segment holding `offset` (the last one whose base is at
    /// or below it; the first one if none is).
    fn segment_index_for_offset(&self, offset: u64) -> usize {
        if offset >= self.active.base_offset() {
            return self.sealed.len();
        }
        self.sealed
            .partition_point(|s| s.base_offset() <= offset)
            .saturating_sub(1)
    }

    fn segment_for_offset(&self, offset: u64) -> &Segment {
        self.segment_at(self.segment_index_for_offset(offset))
    }

    fn segment_index_for_ordinal(&self, ordinal: u64) -> usize {
        if ordinal >= self.active.base_ordinal() {
            return self.sealed.len();
        }
        self.sealed
            .partition_point(|s| s.base_ordinal() <= ordinal)
            .saturating_sub(1)
    }

    fn segment_for_ordinal(&self, ordinal: u64) -> &Segment {
        self.segment_at(self.segment_index_for_ordinal(ordinal))
    }

    /// Ordinal of the data batch holding `offset`, or `next_ordinal` at the
    /// end: the first entry not wholly below a log start moved to `offset`.
    /// Internal entries just before that batch (whose base offset is
    /// `offset`) count as below it, like the data before them.
    fn ordinal_of_offset(&self, offset: u64) -> Result<u64, LogError> {
        let seg = self.segment_for_offset(offset);
        if offset >= seg.next_offset() {
            return Ok(seg.next_ordinal());
        }
        let (pos, _) = seg.find_batch(offset)?;
        let index = if pos == 0 {
            0
        } else {
            seg.batch_index_at(pos)? as u64
        };
        Ok(seg.base_ordinal() + index)
    }

    /// Writes a validated, stamped batch to the active segment and tells
    /// the durability tracker; a write that cannot be undone poisons the
    /// log.
    fn write_to_active(
        &mut self,
        parts: &[&[u8]],
        header: &BatchHeader,
        now_ms: i64,
    ) -> Result<(), LogError> {
        // Positions are 32-bit. A segment with data rolls long before; one
        // of internal entries only cannot roll.
        if self.active.size() > u64::from(u32::MAX) {
            return Err(LogError::SegmentFull {
                file: self.active.path().to_path_buf(),
            });
        }
        if let Err((e, rolled_back)) = self.active.append(parts, header, &self.config, now_ms) {
            if !rolled_back {
                tracing::error!(error = %e, "append failed and could not be rolled back; poisoning the log");
                self.durability.poison();
            }
            return Err(e);
        }
        self.durability
            .note_written(self.active.file(), self.end_mark());
        Ok(())
    }

    /// The log end as an (offset, ordinal) pair.
    fn end_mark(&self) -> Mark {
        Mark {
            offset: self.active.next_offset(),
            ordinal: self.active.next_ordinal(),
        }
    }

    fn out_of_range(&self, requested: u64) -> LogError {
        LogError::OffsetOutOfRange {
            requested,
            log_start: self.log_start_offset,
            log_end: self.log_end_offset(),
        }
    }

    fn check_writable(&self) -> Result<(), LogError> {
        if self.durability.is_poisoned() {
            Err(LogError::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Seals the active segment and starts a new one at the log end.
    fn roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        self.roll_at(self.log_end_offset(), now_ms)
    }

    /// Seals the active segment and starts a new one at `base`
    /// (`>= log end`; above it only when the log start jumped past the end).
    fn roll_at(&mut self, base: u64, now_ms: i64) -> Result<(), LogError> {
        if let Err(e) = self.active.seal() {
            tracing::error!(error = %e, "sealing a segment failed; poisoning the log");
            self.durability.poison();
            return Err(e);
        }
        self.durability
            .note_sealed(self.active.file(), self.end_mark());
        let next = Segment::create(
            &self.dir,
            base,
            self.active.next_ordinal(),
            &self.config,
            now_ms,
        )?;
        let old = std::mem::replace(&mut self.active, next);
        tracing::debug!(
            dir = %self.dir.display(),
            sealed = old.base_offset(),
            size = old.size(),
            new = base,
            "rolled segment"
        );
        self.sealed.push(old);
        sync_dir(&self.dir)?;
        self.write_checkpoint(false)
    }

    fn checkpoint(&self, clean: bool) -> Checkpoint {
        Checkpoint {
            clean,
            log_start_offset: self.log_start_offset,
            first_ordinal: self.first_ordinal,
            segments: self
                .sealed
                .iter()
                .map(|s| s.summary(true))
                .chain(iter::once(self.active.summary(clean)))
                .collect(),
        }
    }

    fn write_checkpoint(&self, clean: bool) -> Result<(), LogError> {
        self.checkpoint(clean).write(&self.dir)
    }
}
