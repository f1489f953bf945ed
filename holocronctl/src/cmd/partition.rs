//! `partition describe`: per-replica state. Replica log end offsets and lag
//! come from DescribeQuorum answered per data partition (DESIGN §5); against
//! a broker that does not serve it they are null ("unknown").

use holocron_proto::client::OffsetSpec;
use serde::{Deserialize, Serialize};

use super::common;
use super::Ctx;
use crate::cli::PartitionCmd;
use crate::exit::CtlResult;
use crate::output::{self, Document, Out};

/// `holocron.partition.describe/v1`: partitions of one topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionDescribe {
    /// Topic.
    pub topic: String,
    /// Whether the broker served DescribeQuorum (false: replica log end
    /// offsets, lag and fetch times are null = unknown).
    pub quorum_available: bool,
    /// Partitions, by index.
    pub partitions: Vec<PartitionReplicas>,
}

/// One partition with its replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionReplicas {
    /// Index.
    pub partition: i32,
    /// Leader node id (null: no leader).
    pub leader: Option<i32>,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// First offset in the log (null if unknown).
    pub log_start_offset: Option<i64>,
    /// High watermark (null if unknown).
    pub high_watermark: Option<i64>,
    /// Every replica.
    pub replicas: Vec<ReplicaState>,
}

/// One replica of a partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaState {
    /// Node id.
    pub node_id: i32,
    /// It is the leader.
    pub leader: bool,
    /// It is in the in-sync set.
    pub in_sync: bool,
    /// It is offline.
    pub offline: bool,
    /// It is a Raft voter (null: unknown).
    pub voter: Option<bool>,
    /// Its log end offset (null: unknown).
    pub log_end_offset: Option<i64>,
    /// Records it is behind the leader's log end offset (null: unknown).
    pub lag: Option<i64>,
    /// Its last fetch, ms since the epoch (null: unknown).
    pub last_fetch_ms: Option<i64>,
    /// The last time it was caught up, ms since the epoch (null: unknown).
    pub last_caught_up_ms: Option<i64>,
}

impl Document for PartitionDescribe {
    fn schema(&self) -> &'static str {
        "holocron.partition.describe/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&[
            "partition",
            "epoch",
            "log-start",
            "high-watermark",
            "replica",
            "role",
            "in-sync",
            "log-end",
            "lag",
            "last-fetch",
            "last-caught-up",
        ]);
        for p in &self.partitions {
            for (i, r) in p.replicas.iter().enumerate() {
                let first = i == 0;
                let role = if r.leader {
                    "leader"
                } else if r.offline {
                    "offline"
                } else {
                    "follower"
                };
                t.add_row(vec![
                    if first {
                        p.partition.to_string()
                    } else {
                        String::new()
                    },
                    if first {
                        p.leader_epoch.to_string()
                    } else {
                        String::new()
                    },
                    if first {
                        output::opt(p.log_start_offset)
                    } else {
                        String::new()
                    },
                    if first {
                        output::opt(p.high_watermark)
                    } else {
                        String::new()
                    },
                    r.node_id.to_string(),
                    role.into(),
                    if r.in_sync { "yes" } else { "no" }.into(),
                    output::opt(r.log_end_offset),
                    output::opt(r.lag),
                    r.last_fetch_ms.map_or("-".into(), output::time_ms),
                    r.last_caught_up_ms.map_or("-".into(), output::time_ms),
                ]);
            }
        }
        let mut s = output::render(&t);
        if !self.quorum_available {
            s.push_str("(log-end, lag and fetch times need DescribeQuorum, which this broker does not serve)\n");
        }
        s
    }
}

/// Runs a partition command.
pub async fn run(ctx: &Ctx, cmd: PartitionCmd) -> CtlResult {
    match cmd {
        PartitionCmd::Describe { topic, partitions } => describe(ctx, topic, partitions).await,
        PartitionCmd::TransferLeader {
            topic,
            partition,
            to,
            wait,
        } => {
            let moved = super::placement::transfer(ctx, &topic, partition, to, wait).await?;
            ctx.out.emit(&moved)
        }
        PartitionCmd::Move {
            topic,
            partition,
            replicas,
            wait,
        } => {
            let moved =
                super::placement::move_partition(ctx, &topic, partition, replicas, wait).await?;
            ctx.out.emit(&moved)
        }
    }
}

async fn describe(ctx: &Ctx, topic: String, partitions: Vec<i32>) -> CtlResult {
    let client = ctx.client().await?;
    let (view, info) = common::topic_info(client, &topic).await?;
    let picked = common::pick_partitions(&info, &partitions)?;
    let keys: Vec<(String, i32)> = picked.iter().map(|p| (topic.clone(), *p)).collect();
    let starts = client
        .list_offsets(&view, &keys, OffsetSpec::Earliest)
        .await?;
    let ends = client
        .list_offsets(&view, &keys, OffsetSpec::Latest)
        .await?;
    let quorum = common::quorum(client, &info, &picked).await?;
    let mut out = Vec::new();
    for p in info
        .partitions
        .iter()
        .filter(|p| picked.contains(&p.partition))
    {
        let key = (topic.clone(), p.partition);
        let q = quorum.get(&p.partition);
        let leader_leo = q.and_then(|q| {
            q.replicas
                .iter()
                .find(|r| r.node_id == q.leader_id)
                .map(|r| r.log_end_offset)
                .filter(|o| *o >= 0)
        });
        let mut ids = p.replicas.clone();
        if let Some(q) = q {
            for r in &q.replicas {
                if !ids.contains(&r.node_id) {
                    ids.push(r.node_id);
                }
            }
        }
        let replicas = ids
            .iter()
            .map(|id| {
                let qr = q.and_then(|q| q.replicas.iter().find(|r| r.node_id == *id));
                let leo = qr.map(|r| r.log_end_offset).filter(|o| *o >= 0);
                ReplicaState {
                    node_id: *id,
                    leader: p.leader == *id,
                    in_sync: p.isr.contains(id),
                    offline: p.offline.contains(id),
                    voter: q.map(|_| qr.is_some_and(|r| r.voter)),
                    log_end_offset: leo,
                    lag: leader_leo.zip(leo).map(|(l, r)| (l - r).max(0)),
                    last_fetch_ms: qr.map(|r| r.last_fetch_timestamp).filter(|t| *t >= 0),
                    last_caught_up_ms: qr.map(|r| r.last_caught_up_timestamp).filter(|t| *t >= 0),
                }
            })
            .collect();
        out.push(PartitionReplicas {
            partition: p.partition,
            leader: (p.leader >= 0).then_some(p.leader),
            leader_epoch: q.map_or(p.leader_epoch, |q| q.leader_epoch),
            log_start_offset: starts.get(&key).and_then(|r| r.ok()).map(|o| o.offset),
            high_watermark: ends.get(&key).and_then(|r| r.ok()).map(|o| o.offset),
            replicas,
        });
    }
    ctx.out.emit(&PartitionDescribe {
        topic,
        quorum_available: !quorum.is_empty(),
        partitions: out,
    })
}
