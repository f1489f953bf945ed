//! Retention: deleting whole sealed segments by age, by size, or because
//! the log start (DeleteRecords) has passed them — Kafka's three rules.
//!
//! Only sealed segments are deleted, never the active one, and always a
//! prefix: each rule walks from the oldest segment and stops at the first
//! one it keeps. The checkpoint (new log start, remaining segments) is
//! written before any file is removed, so a crash in between leaves files
//! that `open` recognises as below the log start and finishes deleting.

use super::error::LogError;
use super::segment::{SegmentInfo, NO_TIMESTAMP};
use super::Log;

/// What `Log::apply_retention` (or `Log::purge_through_ordinal`) removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// The deleted segments, oldest first.
    pub deleted: Vec<SegmentInfo>,
    /// Their total size.
    pub bytes_deleted: u64,
    /// The log start offset afterwards.
    pub log_start_offset: u64,
}

impl Log {
    /// Applies `retention.ms` and `retention.bytes` to the sealed segments
    /// and drops those wholly below the log start.
    ///
    /// Internal entries count towards a segment's size but have no
    /// timestamp: a segment's age is that of its newest data batch.
    ///
    /// - time: a segment goes when `now_ms - max timestamp > retention.ms`
    ///   (its last-modified time if it has no timestamps);
    /// - size: the oldest segments go while the log without them is still at
    ///   least `retention.bytes`.
    ///
    /// The log start moves to the first remaining segment if it was below.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<RetentionOutcome, LogError> {
        self.check_writable()?;
        let n = self.retention_count(now_ms);
        self.delete_oldest(n)
    }

    /// The last ordinal of the sealed segments retention would delete now,
    /// if any: a replicated log deletes them through a Raft snapshot there
    /// and a purge (DESIGN.md §4), not directly.
    pub fn retention_boundary(&self, now_ms: i64) -> Option<u64> {
        let n = self.retention_count(now_ms);
        n.checked_sub(1)
            .and_then(|last| self.sealed.get(last))
            .map(|s| s.next_ordinal().saturating_sub(1))
    }

    /// How many of the oldest sealed segments the three rules delete.
    fn retention_count(&self, now_ms: i64) -> usize {
        let mut n = self.count_below_start();
        if let Some(retention_ms) = self.config.retention_ms() {
            let expired = self
                .sealed
                .iter()
                .take_while(|s| {
                    let ts = match s.max_timestamp() {
                        NO_TIMESTAMP => s.last_modified_ms(),
                        ts => ts,
                    };
                    now_ms.saturating_sub(ts) > retention_ms
                })
                .count();
            n = n.max(expired);
        }
        if let Some(retention_bytes) = self.config.retention_bytes() {
            let mut size =
                self.size_bytes() - self.sealed[..n].iter().map(|s| s.size()).sum::<u64>();
            while let Some(s) = self.sealed.get(n) {
                if size.saturating_sub(s.size()) < retention_bytes {
                    break;
                }
                size -= s.size();
                n += 1;
            }
        }
        n
    }

    /// Deletes the sealed segments whose every entry is below the log
    /// start.
    pub(crate) fn delete_segments_below_start(&mut self) -> Result<RetentionOutcome, LogError> {
        let n = self.count_below_start();
        self.delete_oldest(n)
    }

    /// Sealed segments all of whose entries are before the first readable
    /// one. Counted by ordinal, not offset: a segment whose data ends at
    /// the log start may end with internal entries that are still
    /// readable (their base offset is the log start).
    fn count_below_start(&self) -> usize {
        self.sealed
            .iter()
            .take_while(|s| s.next_ordinal() <= self.first_ordinal)
            .count()
    }

    /// Deletes the `n` oldest sealed segments: checkpoint first, then files.
    /// Every entry of the first remaining segment stays readable (its
    /// leading internal entries too).
    pub(super) fn delete_oldest(&mut self, n: usize) -> Result<RetentionOutcome, LogError> {
        if n == 0 {
            return Ok(RetentionOutcome {
                log_start_offset: self.log_start_offset,
                ..RetentionOutcome::default()
            });
        }
        let removed: Vec<_> = self.sealed.drain(..n).collect();
        let first = self.segment_at(0);
        let (base, ordinal) = (first.base_offset(), first.base_ordinal());
        self.log_start_offset = self.log_start_offset.max(base);
        self.first_ordinal = self.first_ordinal.max(ordinal);
        self.write_checkpoint(false)?;
        let mut outcome = RetentionOutcome {
            log_start_offset: self.log_start_offset,
            ..RetentionOutcome::default()
        };
        for seg in removed {
            let info = seg.info();
            outcome.bytes_deleted += info.size_bytes;
            tracing::info!(file = %info.path.display(), size = info.size_bytes, "deleting segment");
            seg.delete()?;
            outcome.deleted.push(info);
        }
        Ok(outcome)
    }
}
