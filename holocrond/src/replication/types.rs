//! The openraft type configuration shared by every Raft group of a node:
//! the metadata group and one group per partition (DESIGN.md §4).
//!
//! One configuration serves both kinds of group so they share one log
//! store, one network and one router. An application entry is always a
//! Kafka RecordBatch v2 ([`RecordBatch`]): for a data partition the batch a
//! producer sent, for the metadata group a one-record batch whose value is
//! a serialized metadata command. That is what lets the partition log be
//! the Raft log with no second copy of the records.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A node id (`--node-id`), the same number Kafka clients see as broker id.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The type configuration of every Holocron Raft group.
    pub HoloRaft:
        D = RecordBatch,
        R = Applied,
        NodeId = NodeId,
        Node = openraft::impls::BasicNode,
        Term = u64,
        LeaderId = openraft::impls::leader_id_std::LeaderId<u64, NodeId>,
        Vote = openraft::impls::Vote<Self::LeaderId>,
);

/// A Raft log id (term, index).
pub type LogId = openraft::LogId<openraft::vote::leader_id_std::CommittedLeaderId<u64>>;
/// A log entry.
pub type Entry = openraft::type_config::alias::EntryOf<HoloRaft>;
/// The vote.
pub type Vote = openraft::type_config::alias::VoteOf<HoloRaft>;
/// A membership configuration.
pub type Membership = openraft::Membership<NodeId, openraft::impls::BasicNode>;
/// A membership with the id of the log entry that holds it.
pub type StoredMembership = openraft::type_config::alias::StoredMembershipOf<HoloRaft>;
/// Snapshot metadata.
pub type SnapshotMeta = openraft::type_config::alias::SnapshotMetaOf<HoloRaft>;

/// The application payload of a Raft entry: one whole RecordBatch v2, as
/// stored in the log (after the append it carries the stamped base offset
/// and the term as `partitionLeaderEpoch`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBatch(pub Bytes);

impl fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordBatch({} bytes)", self.0.len())
    }
}

impl fmt::Display for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What applying one committed entry produced, handed back to the writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Kafka offset of the entry's first record (its stamped base offset).
    pub base_offset: u64,
    /// Kafka offset after the entry's last record (the high watermark once
    /// it is applied).
    pub next_offset: u64,
}

/// Builds a log id from a term and an index.
pub fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(
        openraft::vote::leader_id_std::CommittedLeaderId::new(term),
        index,
    )
}
