//! Removing data from the tail (Raft truncation, replica divergence) and
//! moving the log start (DeleteRecords).
//!
//! Truncation is batch-granular: batches are stored verbatim and a batch
//! is one Raft entry, so a truncation point inside a batch is refused
//! (`LogError::TruncateMidBatch`) rather than rounded either way; the
//! caller always knows the batch boundaries it appended. It is durable when
//! it returns: newer segment files are deleted first, then the segment
//! holding the cut is shortened and fsynced, then the checkpoint written.
//!
//! Internal entries (no offsets) sit between data batches. A cut by
//! ordinal may fall on, before or after them; the log end afterwards is
//! the base offset of the first removed entry, which is the running record
//! count of the kept ones. A cut by offset removes the data batch starting
//! right after the kept offset and everything after it: internal entries
//! before that batch stay.

use super::checkpoint::sync_dir;
use super::error::LogError;
use super::scan;
use super::Log;

impl Log {
    /// Keeps exactly the batches whose offsets are all `<= offset` and
    /// removes the rest. `offset + 1` must be a batch boundary (the base
    /// offset of a stored batch), else `LogError::TruncateMidBatch`; at or
    /// past the log end it is a no-op. Internal entries before the first
    /// removed data batch are kept. Cutting below the log start empties
    /// the log and moves the log start back to the cut (Kafka's
    /// `truncateFullyAndStartAt`); cutting below the first stored batch is
    /// `LogError::OffsetOutOfRange`.
    pub fn truncate_after(&mut self, offset: u64) -> Result<(), LogError> {
        self.check_writable()?;
        let new_end = offset.saturating_add(1);
        if new_end >= self.log_end_offset() {
            return Ok(());
        }
        if new_end < self.segment_at(0).base_offset() {
            return Err(self.out_of_range(offset));
        }
        let i = self.segment_index_for_offset(new_end);
        let seg = self.segment_at(i);
        let (pos, h) = seg.find_batch(new_end)?;
        if h.base_offset != new_end {
            return Err(LogError::TruncateMidBatch {
                offset,
                batch_base: h.base_offset,
                batch_last: h.last_offset(),
            });
        }
        // The first batch of a segment needs no ordinal map.
        let kept = if pos == 0 {
            0
        } else {
            seg.batch_index_at(pos)? as u64
        };
        self.cut(i, pos, new_end, kept)
    }

    /// Keeps exactly the entries with ordinals `<= ordinal`.
    pub fn truncate_after_ordinal(&mut self, ordinal: u64) -> Result<(), LogError> {
        self.truncate_from_ordinal(ordinal.saturating_add(1))
    }

    /// Removes the entry `ordinal` and every later one (so ordinal 0 empties
    /// the log, which `truncate_after_ordinal` cannot express). The log end
    /// becomes that entry's base offset: the records of the kept entries.
    pub fn truncate_from_ordinal(&mut self, ordinal: u64) -> Result<(), LogError> {
        self.check_writable()?;
        if ordinal >= self.next_ordinal() {
            return Ok(());
        }
        if ordinal < self.segment_at(0).base_ordinal() {
            return Err(LogError::OrdinalOutOfRange {
                requested: ordinal,
                first: self.first_ordinal,
                next: self.next_ordinal(),
            });
        }
        let i = self.segment_index_for_ordinal(ordinal);
        let seg = self.segment_at(i);
        let kept = ordinal - seg.base_ordinal();
        let pos = u64::from(seg.positions()?[kept as usize]);
        let new_end = scan::read_header(&seg.file().file, seg.path(), pos)?.base_offset;
        self.cut(i, pos, new_end, kept)
    }

    /// DeleteRecords: makes `offset` the log start (`offset <= log end`).
    /// Segments wholly below it are deleted; reads below it get
    /// `OffsetOutOfRange`. The data up to the log end is flushed before the
    /// new start is checkpointed, so a crash can never leave the durable
    /// log start past the durable data. The first readable entry becomes
    /// the data batch holding `offset` (internal entries just before it go
    /// with the data before them), or none when `offset` is the log end.
    /// Returns the log start afterwards (unchanged if `offset` was not
    /// above it).
    pub fn delete_records_before(&mut self, offset: u64) -> Result<u64, LogError> {
        self.check_writable()?;
        if offset > self.log_end_offset() {
            return Err(self.out_of_range(offset));
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        self.flush()?;
        self.first_ordinal = self.ordinal_of_offset(offset)?;
        self.log_start_offset = offset;
        self.write_checkpoint(false)?;
        self.delete_segments_below_start()?;
        Ok(self.log_start_offset)
    }

    /// Removes everything from position `pos` of segment `i` on; the batch
    /// there starts at `new_end` and is the segment's `kept`-th. Any failure
    /// poisons the log: the files are then in an unknown state that only
    /// recovery can sort out.
    fn cut(&mut self, i: usize, pos: u64, new_end: u64, kept: u64) -> Result<(), LogError> {
        let result = self.cut_inner(i, pos, new_end, kept);
        if let Err(e) = &result {
            tracing::error!(error = %e, "truncation failed; poisoning the log");
            self.durability.poison();
        }
        result
    }

    fn cut_inner(&mut self, i: usize, pos: u64, new_end: u64, kept: u64) -> Result<(), LogError> {
        while self.sealed.len() > i {
            let Some(newest_sealed) = self.sealed.pop() else {
                break;
            };
            std::mem::replace(&mut self.active, newest_sealed).delete()?;
        }
        self.active.truncate_to(pos, new_end, kept, &self.config)?;
        sync_dir(&self.dir)?;
        self.durability.note_truncated(self.end_mark());
        if self.log_start_offset >= new_end {
            self.log_start_offset = new_end;
        }
        self.first_ordinal = self.first_ordinal.min(self.next_ordinal());
        tracing::info!(dir = %self.dir.display(), log_end = new_end, "truncated log");
        self.write_checkpoint(false)
    }
}
