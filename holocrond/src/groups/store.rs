//! `__consumer_offsets` as the coordinator uses it: which partition holds a
//! group, appending records (acknowledged once committed), and rebuilding
//! the in-memory state by scanning the partitions at start.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use holocron_proto::batch::BatchView;
use kafka_protocol::records::{Record, RecordBatchDecoder};

use super::codec::{self, GroupValue, RecordKey};
use super::offsets::Committed;
use super::GroupError;
use crate::log::LogError;
use crate::partition::{AppendError, Partition};

/// How long a write may take to commit before the request fails (Kafka's
/// offsets.commit.timeout.ms).
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Kafka's `String.hashCode` over UTF-16 code units.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The `__consumer_offsets` partition of a group (Kafka's `partitionFor`:
/// `Utils.abs(groupId.hashCode) % partitions`, where abs(MIN) is 0).
pub fn partition_for(group: &str, partitions: usize) -> usize {
    let h = java_string_hash(group);
    let abs = if h == i32::MIN { 0 } else { h.unsigned_abs() };
    (abs as usize) % partitions.max(1)
}

/// One record to write: key and value (None is a tombstone).
#[derive(Debug, Clone)]
pub struct Write {
    /// Encoded key.
    pub key: Bytes,
    /// Encoded value, None to delete.
    pub value: Option<Bytes>,
}

/// Records appended, and where.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The partition written.
    pub partition: Arc<Partition>,
    /// The log offset of each record, in order.
    pub offsets: Vec<u64>,
    /// One past the last record: committed once the high watermark reaches it.
    pub end: u64,
}

impl Appended {
    /// Waits until the records are committed, at most [`COMMIT_TIMEOUT`].
    pub async fn committed(&self) -> Result<(), GroupError> {
        match tokio::time::timeout(COMMIT_TIMEOUT, self.partition.wait_committed(self.end)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::error!(partition = %self.partition.id(), error = %e, "offsets write failed");
                Err(GroupError::StorageFailed)
            }
            Err(_) => Err(GroupError::StorageTimedOut),
        }
    }
}

/// Whether this node may coordinate the groups of one offsets partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// A standalone broker's partition: always.
    Standalone,
    /// This node leads the partition's Raft group in this term.
    Leader(u64),
    /// Another node leads it, or this node holds no replica of it.
    Elsewhere,
}

/// The partitions of `__consumer_offsets`.
#[derive(Debug)]
pub struct OffsetsLog {
    /// By partition index; None where this node holds no replica.
    partitions: parking_lot::RwLock<Vec<Option<Arc<Partition>>>>,
}

impl OffsetsLog {
    /// Over the topic's partitions, in index order (None: no local replica).
    pub fn new(partitions: Vec<Option<Arc<Partition>>>) -> OffsetsLog {
        OffsetsLog {
            partitions: parking_lot::RwLock::new(partitions),
        }
    }

    /// Lets go of the partitions so they can be closed cleanly at shutdown;
    /// later writes fail with COORDINATOR_NOT_AVAILABLE.
    pub fn close(&self) {
        self.partitions.write().clear();
    }

    /// Whether there are no partitions (a coordinator not yet opened).
    pub fn is_empty(&self) -> bool {
        self.partitions.read().is_empty()
    }

    /// How many partitions the topic has.
    pub fn len(&self) -> usize {
        self.partitions.read().len()
    }

    /// The partition index of a group.
    pub fn partition_of(&self, group: &str) -> usize {
        partition_for(group, self.partitions.read().len())
    }

    /// The local replica of partition `index`.
    pub fn partition(&self, index: usize) -> Option<Arc<Partition>> {
        self.partitions.read().get(index).cloned().flatten()
    }

    /// Whether this node may coordinate partition `index`'s groups now.
    pub fn ownership(&self, index: usize) -> Ownership {
        match self.partition(index) {
            None => Ownership::Elsewhere,
            Some(p) => match p.replica() {
                None => Ownership::Standalone,
                Some(r) => r
                    .ready_term()
                    .map_or(Ownership::Elsewhere, Ownership::Leader),
            },
        }
    }

    /// Appends records to the group's partition as one batch, so a request's
    /// writes are stored all or none (as Kafka writes them). `too_large` is
    /// the error when the batch exceeds the topic's size limit.
    pub fn append(
        &self,
        group: &str,
        writes: &[Write],
        too_large: GroupError,
    ) -> Result<Appended, GroupError> {
        let partition = self
            .partition(self.partition_of(group))
            .ok_or(GroupError::NotCoordinator)?;
        if writes.is_empty() {
            return Ok(Appended {
                partition,
                offsets: Vec::new(),
                end: 0,
            });
        }
        let now = crate::broker::now_ms();
        let batch = encode_batch(writes, now)?;
        let info = partition.append(&batch, 0, now).map_err(|e| match e {
            AppendError::Log(LogError::BatchTooLarge { .. }) => too_large,
            e => {
                tracing::error!(partition = %partition.id(), error = %e, "cannot append to the offsets topic");
                GroupError::StorageFailed
            }
        })?;
        Ok(Appended {
            partition,
            offsets: (info.base_offset..=info.last_offset).collect(),
            end: info.last_offset + 1,
        })
    }

    /// Reads every standalone partition from its start and rebuilds the
    /// groups' stored state. Replicated partitions are read when this node
    /// gains their leadership ([`OffsetsLog::load_one`]).
    pub fn load(&self) -> Result<HashMap<String, Loaded>, LogError> {
        let mut groups: HashMap<String, Loaded> = HashMap::new();
        for p in self.partitions.read().iter().flatten() {
            if p.replica().is_none() {
                load_partition(p, &mut groups)?;
            }
        }
        groups.retain(|_, g| g.value.is_some() || !g.offsets.is_empty());
        Ok(groups)
    }

    /// Reads partition `index` from its start (up to its high watermark).
    pub fn load_one(&self, index: usize) -> Result<HashMap<String, Loaded>, LogError> {
        let mut groups: HashMap<String, Loaded> = HashMap::new();
        if let Some(p) = self.partition(index) {
            load_partition(&p, &mut groups)?;
        }
        groups.retain(|_, g| g.value.is_some() || !g.offsets.is_empty());
        Ok(groups)
    }
}

/// What the log says about one group.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Latest metadata, if not deleted.
    pub value: Option<GroupValue>,
    /// Offsets not deleted.
    pub offsets: BTreeMap<(String, i32), Committed>,
}

fn encode_batch(writes: &[Write], now: i64) -> Result<Vec<u8>, GroupError> {
    let records: Vec<_> = writes
        .iter()
        .map(|w| (Some(w.key.clone()), w.value.clone()))
        .collect();
    holocron_proto::batch::encode_plain_batch(&records, now)
        .map(|b| b.to_vec())
        .map_err(|e| {
            tracing::error!(error = %e, "cannot encode offsets records");
            GroupError::StorageFailed
        })
}

fn load_partition(p: &Partition, groups: &mut HashMap<String, Loaded>) -> Result<(), LogError> {
    let end = p.high_watermark();
    let mut offset = p.log_start_offset();
    let mut skipped = 0usize;
    while offset < end {
        let read = p.read(offset, 1 << 20)?;
        if read.records.is_empty() {
            break;
        }
        let mut next = offset;
        let mut pos = 0;
        while let Some(view) = BatchView::new(&read.records[pos..]) {
            let Some(len) = view.total_len().filter(|l| pos + l <= read.records.len()) else {
                break;
            };
            let start = pos;
            pos += len;
            next = u64::try_from(view.last_offset()).map_or(end, |o| o + 1);
            if view.is_control() {
                continue;
            }
            let mut bytes = read.records.slice(start..start + len);
            match RecordBatchDecoder::decode(&mut bytes) {
                Ok(set) => {
                    for r in set.records {
                        if !apply(groups, &r, u64::try_from(r.offset).unwrap_or(0)) {
                            skipped += 1;
                        }
                    }
                }
                Err(e) => {
                    skipped += 1;
                    tracing::warn!(partition = %p.id(), offset = view.base_offset(), error = %e, "skipping an undecodable batch");
                }
            }
        }
        if next <= offset {
            break;
        }
        offset = next;
    }
    if skipped > 0 {
        tracing::warn!(partition = %p.id(), skipped, "skipped records that are not group or offset records");
    }
    Ok(())
}

/// Applies one record; false if it is not one of ours.
fn apply(groups: &mut HashMap<String, Loaded>, r: &Record, at: u64) -> bool {
    let Some(key) = r.key.as_ref().and_then(|k| codec::decode_key(k).ok()) else {
        return false;
    };
    match key {
        RecordKey::Offset {
            group,
            topic,
            partition,
        } => {
            let g = groups.entry(group).or_default();
            match &r.value {
                None => {
                    g.offsets.remove(&(topic, partition));
                }
                Some(v) => match codec::decode_offset(v) {
                    Ok(v) => {
                        g.offsets
                            .insert((topic, partition), Committed::from_value(v, at));
                    }
                    Err(_) => return false,
                },
            }
        }
        RecordKey::Group { group } => {
            let g = groups.entry(group).or_default();
            match &r.value {
                None => g.value = None,
                Some(v) => match codec::decode_group(v) {
                    Ok(v) => g.value = Some(v),
                    Err(_) => return false,
                },
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_records_make_one_batch() {
        let writes: Vec<Write> = (0..5)
            .map(|i| Write {
                key: Bytes::from(vec![i]),
                value: (i % 2 == 0).then(|| Bytes::from_static(b"v")),
            })
            .collect();
        let batch = encode_batch(&writes, 1).expect("encodes");
        let view = BatchView::new(&batch).expect("a batch");
        assert_eq!(view.total_len(), Some(batch.len()));
        assert_eq!(view.record_count(), 5);
        assert_eq!(view.base_sequence(), -1);
    }

    #[test]
    fn partition_for_matches_kafka() {
        // Java: "my-group".hashCode() == -1906497762; "".hashCode() == 0.
        assert_eq!(java_string_hash("my-group"), -1_906_497_762);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(partition_for("my-group", 50), 12);
        // A negative hash is made positive first.
        let h = java_string_hash("polygenelubricants");
        assert_eq!(h, i32::MIN);
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        assert!(partition_for("abcdefghijk", 7) < 7);
    }
}
