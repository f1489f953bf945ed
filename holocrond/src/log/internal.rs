//! Internal entries: Raft's own log entries (the new leader's blank entry,
//! membership changes) stored in the partition log next to the data.
//!
//! The partition log is the Raft log (`DESIGN.md` §4), so every Raft entry
//! must be a stored batch with an ordinal, but only produced records may
//! take Kafka offsets. An internal entry is a v2 control batch (attributes
//! `0x20`, uncompressed) with `recordCount` 0, `lastOffsetDelta` -1 and
//! producer id [`INTERNAL_PRODUCER_ID`](super::INTERNAL_PRODUCER_ID), followed by the caller's payload
//! as opaque bytes, with a correct CRC-32C. Its `baseOffset` is the log end
//! at the time (the offset of the next record), its `partitionLeaderEpoch`
//! the Raft term, and its timestamps the append time, which only dates a
//! segment for `segment.ms` after a restart.
//!
//! It takes one ordinal and no offset. Everything offset-based passes it
//! by: `Log::read` cuts it out, the indexes never point at it, timestamp
//! lookups and retention by time ignore it. Clients cannot write one:
//! `Log::append` refuses control batches.

use super::batch::{self, BatchHeader, HEADER_LEN};
use super::error::{InvalidBatchReason, LogError};
use super::{AppendInfo, Log};

/// A stored entry (what `Log::read_entry` and `Log::read_entries` return),
/// told apart without copying: what the Raft log store needs to rebuild
/// log ids (term = `leader_epoch`, index = ordinal) and its own entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredEntry<'a> {
    /// A Kafka RecordBatch of produced records.
    Data {
        /// Offset of its first record.
        base_offset: u64,
        /// Offset of its last record.
        last_offset: u64,
        /// Records in it (at least 1).
        record_count: u32,
        /// The `partitionLeaderEpoch` it was stamped with (the Raft term).
        leader_epoch: i32,
    },
    /// An internal entry written by `Log::append_internal`.
    Internal {
        /// The log end offset when it was appended (it holds no offset).
        base_offset: u64,
        /// The term it was written with.
        leader_epoch: i32,
        /// The payload as given to `append_internal`. With the entry in a
        /// `Bytes`, `bytes.slice_ref(payload)` shares it without a copy.
        payload: &'a [u8],
    },
}

impl StoredEntry<'_> {
    /// The term the entry was written with.
    pub fn leader_epoch(&self) -> i32 {
        match self {
            Self::Data { leader_epoch, .. } | Self::Internal { leader_epoch, .. } => *leader_epoch,
        }
    }
}

/// Tells a stored entry's kind from its header (no record is decoded).
///
/// `bytes` must be exactly one stored batch. The CRC of an internal entry
/// is verified, since its payload is decoded by the caller and checked by
/// nobody else; a data batch's CRC is left to whoever consumes its records
/// (a follower's `append`, a Kafka client), as for `Log::read`.
pub fn classify(bytes: &[u8]) -> Result<StoredEntry<'_>, LogError> {
    let header = BatchHeader::parse(bytes).map_err(LogError::invalid)?;
    if header.total_len != bytes.len() {
        return Err(LogError::invalid(InvalidBatchReason::LengthMismatch));
    }
    let leader_epoch = batch::leader_epoch(bytes);
    if header.internal {
        batch::check_crc(bytes, header.crc)?;
        return Ok(StoredEntry::Internal {
            base_offset: header.base_offset,
            leader_epoch,
            payload: &bytes[HEADER_LEN..],
        });
    }
    Ok(StoredEntry::Data {
        base_offset: header.base_offset,
        last_offset: header.last_offset(),
        record_count: header.record_count,
        leader_epoch,
    })
}

impl Log {
    /// Appends an internal entry holding `payload` (opaque bytes, e.g. an
    /// encoded Raft membership) written in `term`. It takes the next
    /// ordinal and no offset: the log end offset does not move. The
    /// returned [`AppendInfo`] has `record_count` 0 and `base_offset` =
    /// `last_offset` = the log end offset. Like `append`, it never fsyncs;
    /// wait with [`super::Durability::sync_to_ordinal`].
    ///
    /// Errors: [`LogError::BatchTooLarge`] if the entry (61 header bytes
    /// plus the payload) exceeds `max.message.bytes`, which a follower with
    /// the same configuration would refuse too; I/O errors as for `append`.
    pub fn append_internal(
        &mut self,
        payload: &[u8],
        term: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        self.check_writable()?;
        let len = HEADER_LEN.saturating_add(payload.len());
        if len > self.config.max_batch_bytes as usize {
            return Err(LogError::BatchTooLarge {
                size: len,
                max: self.config.max_batch_bytes,
            });
        }
        if self.active.is_full_for(len, 0, &self.config)
            || self.active.is_due_by_age(&self.config, now_ms)
        {
            self.roll(now_ms)?;
        }
        let base_offset = self.log_end_offset();
        let ordinal = self.next_ordinal();
        let entry = batch::encode_internal(payload, base_offset, term, now_ms);
        let header = BatchHeader::parse(&entry).map_err(LogError::invalid)?;
        debug_assert!(header.internal && header.total_len == len);
        self.write_to_active(&[&entry], &header, now_ms)?;
        Ok(AppendInfo {
            base_offset,
            last_offset: base_offset,
            max_timestamp: -1,
            ordinal,
            bytes: len,
            record_count: 0,
        })
    }
}

impl Log {
    /// The log end offset just after entry `ordinal` (data or internal):
    /// what a replica whose log ends with that entry reports as its log end.
    pub fn end_offset_after(&self, ordinal: u64) -> Result<u64, LogError> {
        let bytes = self.read_entry(ordinal)?;
        Ok(match classify(&bytes)? {
            StoredEntry::Data { last_offset, .. } => last_offset + 1,
            StoredEntry::Internal { base_offset, .. } => base_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::log::batch::testing::make_batch;

    #[test]
    fn an_internal_entry_round_trips_through_classify() {
        let b = batch::encode_internal(b"membership", 42, 7, 1234);
        assert_eq!(b.len(), HEADER_LEN + 10);
        assert_eq!(
            classify(&b).unwrap(),
            StoredEntry::Internal {
                base_offset: 42,
                leader_epoch: 7,
                payload: b"membership",
            }
        );
        let h = BatchHeader::parse(&b).unwrap();
        assert!(h.internal);
        assert_eq!((h.record_count, h.next_offset()), (0, 42));
        assert_eq!(h.max_timestamp, 1234);
        let empty = batch::encode_internal(&[], 0, 1, 0);
        assert!(matches!(
            classify(&empty).unwrap(),
            StoredEntry::Internal { payload: [], .. }
        ));
    }

    #[test]
    fn a_data_batch_classifies_as_data() {
        let mut b = make_batch(3, 40, 5);
        batch::stamp(&mut b, 10, 4);
        assert_eq!(
            classify(&b).unwrap(),
            StoredEntry::Data {
                base_offset: 10,
                last_offset: 12,
                record_count: 3,
                leader_epoch: 4,
            }
        );
        assert_eq!(classify(&b).unwrap().leader_epoch(), 4);
    }

    #[test]
    fn classify_checks_length_and_an_internal_entrys_crc() {
        let b = batch::encode_internal(b"abc", 0, 1, 0);
        assert!(matches!(
            classify(&b[..b.len() - 1]),
            Err(LogError::InvalidBatch {
                reason: InvalidBatchReason::LengthMismatch
            })
        ));
        let mut flipped = b.clone();
        flipped[HEADER_LEN + 1] ^= 1;
        assert!(matches!(
            classify(&flipped),
            Err(LogError::CorruptBatch { .. })
        ));
    }

    /// Only the exact internal shape may have no records: each marker
    /// removed makes it an invalid batch, not a data batch.
    #[test]
    fn a_record_count_of_zero_needs_every_internal_marker() {
        let good = batch::encode_internal(b"x", 0, 1, 0);
        let reason = |b: &[u8]| BatchHeader::parse(b).err();
        let mut no_control = good.clone();
        no_control[22] = 0;
        assert_eq!(
            reason(&no_control),
            Some(InvalidBatchReason::BadRecordCount)
        );
        let mut codec = good.clone();
        codec[22] = 0x21;
        assert_eq!(reason(&codec), Some(InvalidBatchReason::BadRecordCount));
        let mut producer = good.clone();
        producer[43..51].copy_from_slice(&(-1i64).to_be_bytes());
        assert_eq!(reason(&producer), Some(InvalidBatchReason::BadRecordCount));
        let mut delta = good.clone();
        delta[23..27].copy_from_slice(&0i32.to_be_bytes());
        assert_eq!(reason(&delta), Some(InvalidBatchReason::BadRecordCount));
        // A control batch with records is a data batch (a transaction
        // marker); the client path refuses it separately.
        let mut counted = good;
        counted[57..61].copy_from_slice(&1i32.to_be_bytes());
        counted[23..27].copy_from_slice(&0i32.to_be_bytes());
        assert!(!BatchHeader::parse(&counted).unwrap().internal);
    }
}
