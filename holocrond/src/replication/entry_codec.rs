//! How a Raft entry is stored in the partition log, and read back.
//!
//! - `Normal(RecordBatch)`: the batch itself, appended like any produced
//!   batch (the log stamps the base offset and the term as
//!   `partitionLeaderEpoch`). Nothing else is written: the log *is* the
//!   Raft log.
//! - `Blank` and `Membership`: an internal control batch (no records, no
//!   Kafka offset) whose body is one tag byte, then for a membership its
//!   JSON. Fetch never returns internal batches.
//!
//! The Raft index of an entry is its ordinal in the log; its term is the
//! batch's `partitionLeaderEpoch`.

use std::io;

use bytes::Bytes;
use openraft::entry::RaftEntry;
use openraft::EntryPayload;

use super::types::{log_id, Entry, Membership, RecordBatch};
use crate::log::{classify, StoredEntry};

const TAG_BLANK: u8 = 1;
const TAG_MEMBERSHIP: u8 = 2;

/// What to append for one entry.
#[derive(Debug)]
pub enum Encoded<'a> {
    /// A record batch to append as it is.
    Batch(&'a [u8]),
    /// The body of an internal batch.
    Internal(Vec<u8>),
}

/// The bytes to append for `entry`.
pub fn encode(entry: &Entry) -> io::Result<Encoded<'_>> {
    Ok(match &entry.payload {
        EntryPayload::Normal(batch) => Encoded::Batch(&batch.0),
        EntryPayload::Blank => Encoded::Internal(vec![TAG_BLANK]),
        EntryPayload::Membership(m) => {
            let mut body = vec![TAG_MEMBERSHIP];
            serde_json::to_writer(&mut body, m).map_err(io::Error::other)?;
            Encoded::Internal(body)
        }
    })
}

/// The term as stored in `partitionLeaderEpoch`.
pub fn epoch_of(term: u64) -> io::Result<i32> {
    i32::try_from(term).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("term {term} does not fit a partition leader epoch"),
        )
    })
}

/// Rebuilds the entry stored at `index` from its bytes.
pub fn decode(index: u64, bytes: Bytes) -> io::Result<Entry> {
    let stored = classify(&bytes).map_err(|e| invalid(index, &e.to_string()))?;
    let (epoch, payload) = match stored {
        StoredEntry::Data { leader_epoch, .. } => (
            leader_epoch,
            EntryPayload::Normal(RecordBatch(bytes.clone())),
        ),
        StoredEntry::Internal {
            leader_epoch,
            payload,
            ..
        } => (leader_epoch, decode_internal(index, payload)?),
    };
    let term = u64::try_from(epoch).map_err(|_| invalid(index, "negative term"))?;
    Ok(Entry::new(log_id(term, index), payload))
}

/// The term of the entry in `bytes`.
pub fn term_of(index: u64, bytes: &[u8]) -> io::Result<u64> {
    let epoch = match classify(bytes).map_err(|e| invalid(index, &e.to_string()))? {
        StoredEntry::Data { leader_epoch, .. } | StoredEntry::Internal { leader_epoch, .. } => {
            leader_epoch
        }
    };
    u64::try_from(epoch).map_err(|_| invalid(index, "negative term"))
}

/// The payload of an internal entry from its body.
pub(crate) fn decode_internal(
    index: u64,
    body: &[u8],
) -> io::Result<EntryPayload<RecordBatch, u64, openraft::impls::BasicNode>> {
    match body.split_first() {
        Some((&TAG_BLANK, [])) => Ok(EntryPayload::Blank),
        Some((&TAG_MEMBERSHIP, json)) => {
            let m: Membership =
                serde_json::from_slice(json).map_err(|e| invalid(index, &e.to_string()))?;
            Ok(EntryPayload::Membership(m))
        }
        _ => Err(invalid(index, "unknown internal entry")),
    }
}

fn invalid(index: u64, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("raft entry {index}: {why}"),
    )
}
