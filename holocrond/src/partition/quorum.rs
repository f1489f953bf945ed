//! A partition's quorum as its leader sees it, for DescribeQuorum answered
//! per data partition (DESIGN.md §5): leader, epoch, high watermark, and
//! per replica its log end offset, last fetch and last caught-up time.
//!
//! The follower figures come from openraft's leader metrics: the last log
//! entry known to match on each follower (mapped to the offset after it)
//! and the last time it acknowledged anything. "Caught up" means its log
//! reached the leader's log end; the last time that was seen is remembered.

use std::collections::HashMap;

use openraft::async_runtime::watch::WatchReceiver;
use openraft::RaftMetrics;
use parking_lot::Mutex;

use super::Partition;
use crate::replication::types::HoloRaft;

/// One replica's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaProgress {
    /// Node id.
    pub node: i32,
    /// A voter (false: a learner, which Kafka calls an observer).
    pub voter: bool,
    /// Its log end offset (-1: unknown).
    pub log_end_offset: i64,
    /// Its last acknowledgement, ms since the epoch (-1: never).
    pub last_fetch_ms: i64,
    /// The last time it was seen caught up, ms since the epoch (-1: never).
    pub last_caught_up_ms: i64,
}

/// A partition's quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumView {
    /// Leader node id.
    pub leader: i32,
    /// Leader epoch (the Raft term).
    pub epoch: i32,
    /// High watermark.
    pub high_watermark: i64,
    /// Every replica, the leader first.
    pub replicas: Vec<ReplicaProgress>,
}

/// When each follower was last seen caught up (kept by the leader).
#[derive(Debug, Default)]
pub struct CaughtUp(Mutex<HashMap<u64, i64>>);

impl Partition {
    /// The quorum, if this node leads the partition (`me` is this node's
    /// id; a standalone partition is a quorum of one).
    pub fn quorum(&self, me: i32) -> Option<QuorumView> {
        let now_ms = crate::broker::now_ms();
        let high_watermark = i64::try_from(self.high_watermark()).unwrap_or(i64::MAX);
        let leo = self.log.read().log_end_offset();
        let me_progress = ReplicaProgress {
            node: me,
            voter: true,
            log_end_offset: i64::try_from(leo).unwrap_or(i64::MAX),
            last_fetch_ms: now_ms,
            last_caught_up_ms: now_ms,
        };
        let Some(r) = self.replica() else {
            return Some(QuorumView {
                leader: me,
                epoch: 0,
                high_watermark,
                replicas: vec![me_progress],
            });
        };
        let term = r.ready_term()?;
        let m = r.raft().metrics().borrow_watched().clone();
        let followers = {
            let log = self.log.read();
            progress(
                &m,
                leo,
                |index| log.end_offset_after(index).ok(),
                r.caught_up(),
            )
        };
        let mut replicas = vec![me_progress];
        replicas.extend(followers);
        Some(QuorumView {
            leader: me,
            epoch: i32::try_from(term).unwrap_or(i32::MAX),
            high_watermark,
            replicas,
        })
    }
}

/// The followers' and learners' progress from a leader's metrics: `leo` is
/// the leader's log end, `end_after` maps a Raft index to the log end just
/// after that entry.
pub fn progress(
    m: &RaftMetrics<HoloRaft>,
    leo: u64,
    end_after: impl Fn(u64) -> Option<u64>,
    caught_up: &CaughtUp,
) -> Vec<ReplicaProgress> {
    let now_ms = crate::broker::now_ms();
    let membership = m.membership_config.membership();
    let members: Vec<(u64, bool)> = membership
        .voter_ids()
        .map(|n| (n, true))
        .chain(membership.learner_ids().map(|n| (n, false)))
        .filter(|(n, _)| *n != m.id)
        .collect();
    let mut caught_up = caught_up.0.lock();
    members
        .into_iter()
        .map(|(node, voter)| {
            let matched = m
                .replication
                .as_ref()
                .and_then(|r| r.get(&node).copied().flatten());
            let end = matched.map_or(Some(0), |id| end_after(id.index));
            let last_fetch_ms = m
                .heartbeat
                .as_ref()
                .and_then(|h| h.get(&node).and_then(|a| a.as_ref()))
                .map_or(-1, |ack| {
                    let ago = openraft::Instant::elapsed(&**ack).as_millis();
                    now_ms - i64::try_from(ago).unwrap_or(now_ms)
                });
            if end == Some(leo) && last_fetch_ms >= 0 {
                caught_up.insert(node, last_fetch_ms);
            }
            ReplicaProgress {
                node: i32::try_from(node).unwrap_or(-1),
                voter,
                log_end_offset: end.map_or(-1, |e| i64::try_from(e).unwrap_or(i64::MAX)),
                last_fetch_ms,
                last_caught_up_ms: caught_up.get(&node).copied().unwrap_or(-1),
            }
        })
        .collect()
}
