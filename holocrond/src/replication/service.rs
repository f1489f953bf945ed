//! The receiving side of node-to-node Raft messages: find the group a
//! message is for and hand it to that group's Raft.
//!
//! Every answer is JSON `Result<response, String>`; a message for a group
//! this node does not (yet) host is answered with an error, which the
//! sender's Raft treats as a network failure and retries.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use openraft::storage::RaftStateMachine;
use openraft::Raft;
use parking_lot::RwLock;
use serde::Serialize;

use super::group_id::GroupId;
use super::meta_sm::MetaStateMachine;
use super::partition_sm::{PartitionStateMachine, Snapshot, SnapshotData};
use super::types::HoloRaft;
use super::wire::{self, kind};

/// The metadata group's Raft.
pub type MetaRaft = Raft<HoloRaft, MetaStateMachine>;
/// A data partition's Raft.
pub type PartitionRaft = Raft<HoloRaft, PartitionStateMachine>;

/// A hosted group's Raft.
#[derive(Clone)]
pub enum GroupRaft {
    /// The metadata group.
    Meta(MetaRaft),
    /// A data partition.
    Partition(PartitionRaft),
}

impl std::fmt::Debug for GroupRaft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupRaft::Meta(_) => f.write_str("GroupRaft::Meta"),
            GroupRaft::Partition(_) => f.write_str("GroupRaft::Partition"),
        }
    }
}

/// The groups this node hosts, by id.
#[derive(Debug, Default, Clone)]
pub struct Groups {
    map: Arc<RwLock<HashMap<GroupId, GroupRaft>>>,
    /// Groups that grant no votes yet (a rejoining node's, see `rejoin`).
    gated: Arc<RwLock<HashSet<GroupId>>>,
}

impl Groups {
    /// Starts routing messages for `id` to `raft`.
    pub fn insert(&self, id: GroupId, raft: GroupRaft) {
        self.map.write().insert(id, raft);
    }

    /// Stops routing messages for `id`.
    pub fn remove(&self, id: &GroupId) -> Option<GroupRaft> {
        self.ungate(id);
        self.map.write().remove(id)
    }

    /// Stops `id` granting votes.
    pub fn gate(&self, id: GroupId) {
        self.gated.write().insert(id);
    }

    /// Lets `id` grant votes again.
    pub fn ungate(&self, id: &GroupId) {
        self.gated.write().remove(id);
    }

    /// Whether `id` grants votes.
    pub fn votes(&self, id: &GroupId) -> bool {
        !self.gated.read().contains(id)
    }

    /// The Raft of `id`.
    pub fn get(&self, id: &GroupId) -> Option<GroupRaft> {
        self.map.read().get(id).cloned()
    }

    /// Handles one message; the answer is JSON `Result<_, String>`.
    pub async fn handle(&self, group: &[u8], kind: u8, payload: Bytes) -> Bytes {
        let answer = match GroupId::decode(group) {
            None => Err("malformed group id".to_owned()),
            Some(id) if matches!(kind, kind::VOTE | kind::PRE_VOTE) && !self.votes(&id) => Err(
                format!("group {id} is rejoining and grants no votes until it has caught up"),
            ),
            Some(id) => match self.get(&id) {
                None => Err(format!("group {id} is not hosted here")),
                Some(GroupRaft::Meta(raft)) => dispatch(&raft, kind, payload).await,
                Some(GroupRaft::Partition(raft)) => dispatch(&raft, kind, payload).await,
            },
        };
        match answer {
            Ok(bytes) => bytes,
            Err(e) => encode(Err::<(), String>(e)),
        }
    }
}

fn encode<T: Serialize>(r: Result<T, String>) -> Bytes {
    wire::encode_json(&r)
        .unwrap_or_else(|e| Bytes::from(format!(r#"{{"Err":"cannot encode the answer: {e}"}}"#)))
}

fn answer<T: Serialize, E: std::fmt::Display>(r: Result<T, E>) -> Result<Bytes, String> {
    Ok(encode(r.map_err(|e| e.to_string())))
}

async fn dispatch<SM>(raft: &Raft<HoloRaft, SM>, kind: u8, payload: Bytes) -> Result<Bytes, String>
where
    SM: RaftStateMachine<HoloRaft, SnapshotData = SnapshotData>,
{
    let bad = |e: io::Error| format!("malformed message: {e}");
    match kind {
        kind::APPEND => {
            let req = wire::decode_append(&payload).map_err(bad)?;
            answer(raft.append_entries(req).await)
        }
        kind::VOTE => {
            let req = wire::decode_json(&payload).map_err(bad)?;
            answer(raft.vote(req).await)
        }
        kind::PRE_VOTE => {
            let req = wire::decode_json(&payload).map_err(bad)?;
            answer(raft.pre_vote(req).await)
        }
        kind::SNAPSHOT => {
            let (vote, meta, body) = wire::decode_snapshot(&payload).map_err(bad)?;
            let snapshot = Snapshot {
                meta,
                snapshot: body,
            };
            answer(raft.install_full_snapshot(vote, snapshot).await)
        }
        kind::TRANSFER_LEADER => {
            let req = wire::decode_json(&payload).map_err(bad)?;
            answer(raft.handle_transfer_leader(req).await)
        }
        other => Err(format!("unknown message kind {other}")),
    }
}
