//! A node whose data directory was wiped (or that joins a cluster formed
//! without it) must not vote before it holds what it may have promised
//! before (see docs/replication.md, "A wiped node rejoins").
//!
//! Raft's safety rests on a voter never forgetting its vote or the entries
//! it acknowledged. A node that comes back empty has forgotten both: it
//! could vote twice in one term, or for a candidate that lacks committed
//! entries it once helped commit. So:
//!
//! - At start, a node with no metadata asks its peers whether a cluster
//!   exists ([`decide`]). If one does, the node is *rejoining*: its
//!   metadata group gets a durable marker file ([`mark`]) before it opens.
//! - A partition replica opened empty although the metadata records a
//!   leader for the partition lost its data too: it gets the marker and is
//!   left for the leader to fill (it does not initialize its group).
//! - While the marker exists the group grants no votes and does not stand
//!   for election ([`guard`]).
//! - The marker goes once the leader of the current term has committed an
//!   entry of its own term and this replica has applied up to the leader's
//!   commit: that leader's commit covers every entry committed before
//!   (leader completeness), so the replica holds everything it may have
//!   acknowledged before it lost its data.
//!
//! The leaders' side: `allow_log_reversion` lets a leader restart
//! replication from the beginning when a follower's log went back, instead
//! of asserting (see [`super::raft_config`]).

use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::storage::RaftStateMachine;
use openraft::Raft;

use super::group_id::GroupId;
use super::node::{Transport, PROBE};
use super::partition_sm::SnapshotData;
use super::router::PeerTransport;
use super::service::Groups;
use super::types::{HoloRaft, NodeId};

/// The marker file of a group that does not vote yet.
pub const MARKER: &str = "rejoining";

/// What a node answers to a probe: whether it belongs to a formed cluster,
/// is forming one, or does not know yet (still opening its metadata).
#[derive(Debug, Clone, Default)]
pub struct Membership(Arc<AtomicU8>);

// 0: not known yet.
const FORMING: u8 = 1;
const MEMBER: u8 = 2;

impl Membership {
    /// Records that this node has no cluster yet.
    pub fn set_forming(&self) {
        self.0.store(FORMING, Ordering::Release);
    }

    /// Whether this node said it belongs to a formed cluster.
    pub fn is_member(&self) -> bool {
        self.0.load(Ordering::Acquire) == MEMBER
    }

    /// Records that this node belongs to a formed cluster (its metadata
    /// has a cluster id).
    pub fn set_member(&self) {
        self.0.store(MEMBER, Ordering::Release);
    }

    /// The probe answer: `1` a member, `0` forming, an error while unknown.
    pub fn answer(&self) -> Result<Bytes, &'static str> {
        match self.0.load(Ordering::Acquire) {
            MEMBER => Ok(Bytes::from_static(b"1")),
            FORMING => Ok(Bytes::from_static(b"0")),
            _ => Err("this node is still opening its metadata"),
        }
    }
}

/// Decides whether a node without metadata is joining a formed cluster
/// (`true`) or forming a new one with its peers (`false`): it asks every
/// peer until one says it belongs to a formed cluster, or until a majority
/// of all nodes (itself included) say they are forming one. Peers that are
/// down or still opening their metadata do not count, so a wiped node
/// whose peers are all down waits for them.
pub async fn decide(me: NodeId, nodes: &[NodeId], transport: &Transport) -> bool {
    let majority = nodes.len() / 2 + 1;
    let mut waited = 0u32;
    loop {
        let mut forming = 1; // this node
        for &peer in nodes.iter().filter(|&&n| n != me) {
            let answer = transport
                .call(
                    peer,
                    GroupId::Metadata.encode(),
                    PROBE,
                    Bytes::new(),
                    Duration::from_secs(2),
                )
                .await;
            match answer.as_deref() {
                Ok(b"1") => {
                    tracing::info!(
                        peer,
                        "this node has no data and the cluster exists: rejoining \
                         (no votes until each group has caught up)"
                    );
                    return true;
                }
                Ok(_) => forming += 1,
                // Down, or still opening its metadata.
                Err(_) => {}
            }
        }
        if forming >= majority {
            return false;
        }
        if waited.is_multiple_of(20) {
            tracing::info!(
                reachable = forming,
                needed = majority,
                "this node has no data: waiting for a majority of nodes to tell \
                 whether the cluster is new"
            );
        }
        waited += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Writes the marker of a group whose data was lost, in `dir` (created).
pub fn mark(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::File::create(dir.join(MARKER))?.sync_all()?;
    std::fs::File::open(dir)?.sync_all()?;
    if let Some(parent) = dir.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Keeps a group whose data was lost (`fresh`: marked now; or its marker
/// is in `dir` from an earlier start) from voting and from standing for
/// election until it has caught up.
pub fn guard<SM>(
    dir: &Path,
    id: GroupId,
    raft: Raft<HoloRaft, SM>,
    groups: &Groups,
    fresh: bool,
) -> std::io::Result<()>
where
    SM: RaftStateMachine<HoloRaft, SnapshotData = SnapshotData>,
{
    let marker = dir.join(MARKER);
    if fresh {
        mark(dir)?;
    } else if !marker.exists() {
        return Ok(());
    }
    groups.gate(id);
    raft.runtime_config().elect(false);
    let groups = groups.clone();
    tokio::spawn(async move {
        let caught_up = raft
            .wait(None)
            .metrics(
                |m| {
                    let Some(commit) = m.cluster_committed.as_ref() else {
                        return false;
                    };
                    m.current_leader.is_some()
                        && commit.committed_leader_id().term == m.current_term
                        && m.last_applied
                            .as_ref()
                            .is_some_and(|a| a.index >= commit.index)
                },
                "caught up with the leader's commit in its own term",
            )
            .await;
        if caught_up.is_ok() {
            raft.runtime_config().elect(true);
            if let Err(e) = remove_marker(&marker) {
                tracing::warn!(group = %id, error = %e, "cannot remove the rejoin marker");
            }
            groups.ungate(&id);
            tracing::info!(group = %id, "caught up after rejoining: votes again");
        }
    });
    Ok(())
}

fn remove_marker(marker: &Path) -> std::io::Result<()> {
    std::fs::remove_file(marker)?;
    if let Some(dir) = marker.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
