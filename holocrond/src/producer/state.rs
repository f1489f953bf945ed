//! Per-partition producer state and the sequence rules of Kafka's
//! idempotent producer (as in Kafka's `ProducerAppendInfo`):
//! - an epoch older than the known one is fenced (INVALID_PRODUCER_EPOCH);
//! - a batch whose sequence range equals one of the last five of the same
//!   epoch is a duplicate: it is not stored again and gets the original
//!   offsets back;
//! - a newer epoch must start at sequence 0;
//! - the same epoch must continue at last sequence + 1 (wrapping at i32::MAX);
//! - a producer with no state here (new, or expired) may start anywhere.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How many batches per producer are remembered for duplicate detection
/// (Kafka's max.in.flight.requests.per.connection limit for idempotence).
pub const CACHED_BATCHES: usize = 5;

/// One appended batch of a producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMeta {
    /// First sequence number.
    pub first_seq: i32,
    /// Last sequence number.
    pub last_seq: i32,
    /// First offset.
    pub first_offset: u64,
    /// Last offset.
    pub last_offset: u64,
    /// Max timestamp of the batch.
    pub timestamp: i64,
}

/// What a partition knows of one producer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerEntry {
    /// Current epoch.
    pub epoch: i16,
    /// The last batches of this epoch, oldest first.
    pub batches: VecDeque<BatchMeta>,
    /// When the producer last wrote (ms since the epoch, wall clock).
    pub last_write_ms: i64,
}

impl ProducerEntry {
    /// The last sequence written, if any.
    pub fn last_seq(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_seq)
    }
}

/// A batch refused by the sequence rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    /// The epoch is older than the producer's current one.
    #[error("producer {producer_id} epoch {epoch} is older than the current epoch {current}")]
    Fenced {
        /// Producer id.
        producer_id: i64,
        /// Epoch in the batch.
        epoch: i16,
        /// Known epoch.
        current: i16,
    },
    /// The sequence does not follow the last one.
    #[error("producer {producer_id} sent sequence {got}, expected {expected}")]
    OutOfOrder {
        /// Producer id.
        producer_id: i64,
        /// Expected first sequence.
        expected: i32,
        /// Received first sequence.
        got: i32,
    },
}

/// The verdict on an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Not an idempotent batch, or a new one in order: append it.
    Append,
    /// Already stored at these offsets: answer with them, store nothing.
    Duplicate {
        /// First offset of the original.
        first_offset: u64,
        /// Last offset of the original.
        last_offset: u64,
    },
}

/// Identity and sequence range of an idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    /// Producer id (>= 0).
    pub producer_id: i64,
    /// Epoch.
    pub epoch: i16,
    /// First sequence.
    pub first_seq: i32,
    /// Number of records.
    pub record_count: i32,
}

impl ProducerBatch {
    /// The last sequence of the batch (sequences wrap from i32::MAX to 0).
    pub fn last_seq(&self) -> i32 {
        wrap_add(self.first_seq, self.record_count.saturating_sub(1))
    }
}

fn wrap_add(seq: i32, n: i32) -> i32 {
    ((i64::from(seq) + i64::from(n)) % (i64::from(i32::MAX) + 1)) as i32
}

/// Producer state of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerStateTable {
    producers: BTreeMap<i64, ProducerEntry>,
}

impl ProducerStateTable {
    /// Decides what to do with a batch before it is appended.
    pub fn check(&self, b: &ProducerBatch) -> Result<Check, SequenceError> {
        let Some(entry) = self.producers.get(&b.producer_id) else {
            return Ok(Check::Append);
        };
        if b.epoch < entry.epoch {
            return Err(SequenceError::Fenced {
                producer_id: b.producer_id,
                epoch: b.epoch,
                current: entry.epoch,
            });
        }
        if b.epoch > entry.epoch {
            return if b.first_seq == 0 {
                Ok(Check::Append)
            } else {
                Err(SequenceError::OutOfOrder {
                    producer_id: b.producer_id,
                    expected: 0,
                    got: b.first_seq,
                })
            };
        }
        let last = b.last_seq();
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|m| m.first_seq == b.first_seq && m.last_seq == last)
        {
            return Ok(Check::Duplicate {
                first_offset: dup.first_offset,
                last_offset: dup.last_offset,
            });
        }
        match entry.last_seq() {
            Some(prev) if wrap_add(prev, 1) != b.first_seq => Err(SequenceError::OutOfOrder {
                producer_id: b.producer_id,
                expected: wrap_add(prev, 1),
                got: b.first_seq,
            }),
            _ => Ok(Check::Append),
        }
    }

    /// Records an appended batch (also used to replay the log at start).
    pub fn record(
        &mut self,
        b: &ProducerBatch,
        first_offset: u64,
        last_offset: u64,
        timestamp: i64,
        now_ms: i64,
    ) {
        let entry = self
            .producers
            .entry(b.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: b.epoch,
                batches: VecDeque::new(),
                last_write_ms: now_ms,
            });
        if b.epoch != entry.epoch {
            entry.epoch = b.epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: b.first_seq,
            last_seq: b.last_seq(),
            first_offset,
            last_offset,
            timestamp,
        });
        while entry.batches.len() > CACHED_BATCHES {
            entry.batches.pop_front();
        }
        entry.last_write_ms = entry.last_write_ms.max(now_ms);
    }

    /// Forgets producers idle for longer than `expiration_ms`.
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers
            .retain(|_, e| now_ms.saturating_sub(e.last_write_ms) <= expiration_ms);
        before - self.producers.len()
    }

    /// Drops state for batches at or after `offset` (after a truncation).
    pub fn truncate_from(&mut self, offset: u64) {
        for e in self.producers.values_mut() {
            e.batches.retain(|b| b.last_offset < offset);
        }
        self.producers.retain(|_, e| !e.batches.is_empty());
    }

    /// Every producer, by id.
    pub fn producers(&self) -> impl Iterator<Item = (i64, &ProducerEntry)> {
        self.producers.iter().map(|(id, e)| (*id, e))
    }

    /// How many producers are known.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Whether no producer is known.
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, epoch: i16, first_seq: i32, count: i32) -> ProducerBatch {
        ProducerBatch {
            producer_id: pid,
            epoch,
            first_seq,
            record_count: count,
        }
    }

    #[test]
    fn in_order_batches_append_and_retries_are_duplicates() {
        let mut t = ProducerStateTable::default();
        let b0 = batch(7, 0, 0, 3);
        assert_eq!(t.check(&b0), Ok(Check::Append));
        t.record(&b0, 10, 12, 0, 0);
        let b1 = batch(7, 0, 3, 2);
        assert_eq!(t.check(&b1), Ok(Check::Append));
        t.record(&b1, 13, 14, 0, 0);
        assert_eq!(
            t.check(&b0),
            Ok(Check::Duplicate {
                first_offset: 10,
                last_offset: 12
            })
        );
        assert_eq!(
            t.check(&batch(7, 0, 6, 1)),
            Err(SequenceError::OutOfOrder {
                producer_id: 7,
                expected: 5,
                got: 6
            })
        );
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut t = ProducerStateTable::default();
        for i in 0..7 {
            t.record(&batch(1, 0, i, 1), i as u64, i as u64, 0, 0);
        }
        assert!(matches!(
            t.check(&batch(1, 0, 1, 1)),
            Err(SequenceError::OutOfOrder { .. })
        ));
        assert!(matches!(
            t.check(&batch(1, 0, 2, 1)),
            Ok(Check::Duplicate { .. })
        ));
    }

    #[test]
    fn epochs_fence_and_reset_sequences() {
        let mut t = ProducerStateTable::default();
        t.record(&batch(1, 3, 0, 1), 0, 0, 0, 0);
        assert!(matches!(
            t.check(&batch(1, 2, 1, 1)),
            Err(SequenceError::Fenced { current: 3, .. })
        ));
        assert!(matches!(
            t.check(&batch(1, 4, 5, 1)),
            Err(SequenceError::OutOfOrder { expected: 0, .. })
        ));
        assert_eq!(t.check(&batch(1, 4, 0, 1)), Ok(Check::Append));
        t.record(&batch(1, 4, 0, 1), 1, 1, 0, 0);
        assert!(matches!(
            t.check(&batch(1, 3, 1, 1)),
            Err(SequenceError::Fenced { .. })
        ));
    }

    #[test]
    fn unknown_producers_start_anywhere_and_sequences_wrap() {
        let mut t = ProducerStateTable::default();
        let b = batch(9, 0, i32::MAX - 1, 3);
        assert_eq!(b.last_seq(), 0);
        assert_eq!(t.check(&b), Ok(Check::Append));
        t.record(&b, 0, 2, 0, 0);
        assert_eq!(t.check(&batch(9, 0, 1, 1)), Ok(Check::Append));
    }

    #[test]
    fn expiry_and_truncation_forget_state() {
        let mut t = ProducerStateTable::default();
        t.record(&batch(1, 0, 0, 1), 0, 0, 0, 1_000);
        t.record(&batch(2, 0, 0, 1), 1, 1, 0, 5_000);
        assert_eq!(t.expire(6_000, 2_000), 1);
        assert_eq!(t.len(), 1);
        t.truncate_from(1);
        assert!(t.is_empty());
    }
}
