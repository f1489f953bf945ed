//! What a Raft log store needs from the partition log beyond appending:
//! reading runs of entries by ordinal, purging by ordinal, and resetting
//! the log to a snapshot point.
//!
//! Ordinals are Raft indexes (`DESIGN.md` §4). Replication and apply read
//! entries back in runs, so `read_entries` reads a run with one positional
//! read and hands out slices of that buffer. Only openraft purges, and
//! only up to its snapshot; whole segments go, so some purged entries may
//! stay readable until their segment is wholly purged. A follower that is
//! sent a snapshot past its log (or one its log conflicts with) drops its
//! log and starts an empty one at the snapshot's point: `reset`.

use bytes::Bytes;

use super::checkpoint::{sync_dir, Checkpoint};
use super::error::LogError;
use super::segment::Segment;
use super::Log;
use super::RetentionOutcome;

impl Log {
    /// Consecutive whole entries (data or internal, as stored) starting at
    /// `from_ordinal`: at most `max_entries` of them and `max_bytes` in
    /// total, but always one if `from_ordinal` exists, and never past the
    /// end of its segment (call again from where it stopped). They are
    /// slices of one buffer read with one positional read.
    ///
    /// `from_ordinal == next_ordinal` gives no entries; below
    /// `first_ordinal` or past `next_ordinal` is
    /// [`LogError::OrdinalOutOfRange`].
    pub fn read_entries(
        &self,
        from_ordinal: u64,
        max_entries: usize,
        max_bytes: usize,
    ) -> Result<Vec<Bytes>, LogError> {
        let next = self.next_ordinal();
        if from_ordinal < self.first_ordinal || from_ordinal > next {
            return Err(LogError::OrdinalOutOfRange {
                requested: from_ordinal,
                first: self.first_ordinal,
                next,
            });
        }
        if from_ordinal == next {
            return Ok(Vec::new());
        }
        let seg = self.segment_for_ordinal(from_ordinal);
        seg.read_entries(
            (from_ordinal - seg.base_ordinal()) as usize,
            max_entries,
            max_bytes,
        )
    }

    /// Deletes the whole sealed segments all of whose entries have
    /// ordinals `<= ordinal` (never the active segment), oldest first. The
    /// first ordinal and the log start move to the first remaining
    /// segment if they were below it. Durable on return (checkpoint first,
    /// then the files, as for retention).
    pub fn purge_through_ordinal(&mut self, ordinal: u64) -> Result<RetentionOutcome, LogError> {
        self.check_writable()?;
        let n = self
            .sealed
            .iter()
            .take_while(|s| s.next_ordinal() <= ordinal.saturating_add(1))
            .count();
        self.delete_oldest(n)
    }

    /// Drops every segment and restarts as an empty log whose next entry
    /// gets `first_ordinal` and whose log start and end offsets are
    /// `log_start_offset`: a follower installing a (metadata-only) Raft
    /// snapshot its log cannot continue from. Durable on return.
    ///
    /// Crash safety: the old files go first, newest first (a crash leaves
    /// a prefix of the old log); then a checkpoint listing no segment is
    /// the commit point (`open` creates the empty segment from it); then
    /// the new segment is created. Any failure poisons the log.
    pub fn reset(
        &mut self,
        first_ordinal: u64,
        log_start_offset: u64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        self.check_writable()?;
        let result = self.reset_inner(first_ordinal, log_start_offset, now_ms);
        if let Err(e) = &result {
            tracing::error!(error = %e, "resetting the log failed; poisoning it");
            self.durability.poison();
        }
        result
    }

    fn reset_inner(
        &mut self,
        first_ordinal: u64,
        log_start_offset: u64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        self.active.remove_files()?;
        for seg in self.sealed.iter().rev() {
            seg.remove_files()?;
        }
        sync_dir(&self.dir)?;
        Checkpoint {
            clean: false,
            log_start_offset,
            first_ordinal,
            segments: Vec::new(),
        }
        .write(&self.dir)?;
        let fresh = Segment::create(
            &self.dir,
            log_start_offset,
            first_ordinal,
            &self.config,
            now_ms,
        )?;
        sync_dir(&self.dir)?;
        self.sealed.clear();
        self.active = fresh;
        self.log_start_offset = log_start_offset;
        self.first_ordinal = first_ordinal;
        self.unflushed_records = 0;
        self.durability.reset(self.end_mark());
        tracing::info!(
            dir = %self.dir.display(),
            first_ordinal,
            log_start = log_start_offset,
            "reset log"
        );
        self.write_checkpoint(false)
    }
}
