//! Where a partition lives and who leads it, the Kafka way:
//!
//! - `partition transfer-leader`: AlterPartitionReassignments puts the
//!   target first in the replica list (it becomes the preferred replica),
//!   ElectLeaders asks for a preferred-leader election, and the partition's
//!   Raft leader hands over once the target is caught up.
//! - `partition move`: AlterPartitionReassignments with other nodes; the
//!   leader adds them as learners, catches them up and changes the voters.
//!   Done when DescribeQuorum shows exactly the new voters.

use std::time::{Duration, Instant};

use holocron_proto::client::PartitionInfo;
use holocron_proto::errors::{from_code, ErrorCode};
use holocron_proto::kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use holocron_proto::kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use holocron_proto::kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, BrokerId, ElectLeadersRequest, TopicName,
};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};

use super::common;
use super::Ctx;
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, Document, Out};

/// `holocron.partition.transfer-leader/v1`: a leadership that moved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaderTransfer {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The leader before (null: none).
    pub from: Option<i32>,
    /// The leader now.
    pub to: i32,
    /// Its leader epoch.
    pub leader_epoch: i32,
    /// The replicas afterwards, the preferred first.
    pub replicas: Vec<i32>,
    /// How long it took, ms.
    pub elapsed_ms: u64,
}

impl Document for LeaderTransfer {
    fn schema(&self) -> &'static str {
        "holocron.partition.transfer-leader/v1"
    }
    fn human(&self, _out: &Out) -> String {
        output::kv(&[
            ("Partition", format!("{}-{}", self.topic, self.partition)),
            (
                "Leader",
                format!("{} -> {}", output::opt(self.from), self.to),
            ),
            ("Leader epoch", self.leader_epoch.to_string()),
            (
                "Replicas",
                self.replicas
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("Took", format!("{} ms", self.elapsed_ms)),
        ])
    }
}

/// Moves the leadership of `topic`-`partition` to node `to`, waiting at
/// most `wait` for it to lead.
pub async fn transfer(
    ctx: &Ctx,
    topic: &str,
    partition: i32,
    to: i32,
    wait: Duration,
) -> CtlResult<LeaderTransfer> {
    let started = Instant::now();
    let client = ctx.client().await?;
    let p = current(ctx, topic, partition).await?;
    if !p.replicas.contains(&to) {
        return Err(CtlError::usage(format!(
            "node {to} holds no replica of {topic}-{partition} (replicas: {:?})",
            p.replicas
        )));
    }
    let from = (p.leader >= 0).then_some(p.leader);
    let mut replicas = vec![to];
    replicas.extend(p.replicas.iter().copied().filter(|r| *r != to));
    if from != Some(to) {
        if p.replicas.first() != Some(&to) {
            reassign(ctx, topic, partition, &replicas).await?;
        }
        elect(ctx, topic, partition).await?;
    }
    let deadline = Instant::now() + wait;
    loop {
        let (_, info) = common::topic_info(client, topic).await?;
        if let Some(p) = info
            .partitions
            .iter()
            .find(|p| p.partition == partition && p.leader == to)
        {
            return Ok(LeaderTransfer {
                topic: topic.to_owned(),
                partition,
                from,
                to,
                leader_epoch: p.leader_epoch,
                replicas: p.replicas.clone(),
                elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
        }
        if Instant::now() >= deadline {
            let now = info.partitions.iter().find(|p| p.partition == partition);
            return Err(CtlError::new(
                ErrorClass::Unhealthy,
                format!(
                    "node {to} does not lead {topic}-{partition} after {} (leader: {}); \
                     it may still be catching up — see `holocronctl partition describe {topic}`",
                    humantime::format_duration(wait),
                    now.map_or("unknown".to_owned(), |p| p.leader.to_string())
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `holocron.partition.move/v1`: a partition moved to other nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionMove {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The replicas before.
    pub from: Vec<i32>,
    /// The replicas (and Raft voters) now, the preferred leader first.
    pub to: Vec<i32>,
    /// The leader now.
    pub leader: i32,
    /// How long it took, ms.
    pub elapsed_ms: u64,
}

impl Document for PartitionMove {
    fn schema(&self) -> &'static str {
        "holocron.partition.move/v1"
    }
    fn human(&self, _out: &Out) -> String {
        let list = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
        output::kv(&[
            ("Partition", format!("{}-{}", self.topic, self.partition)),
            (
                "Replicas",
                format!("{} -> {}", list(&self.from), list(&self.to)),
            ),
            ("Leader", self.leader.to_string()),
            ("Took", format!("{} ms", self.elapsed_ms)),
        ])
    }
}

/// Moves `topic`-`partition` to `replicas` (the first preferred), waiting
/// at most `wait` for the group's voters to be exactly them.
pub async fn move_partition(
    ctx: &Ctx,
    topic: &str,
    partition: i32,
    replicas: Vec<i32>,
    wait: Duration,
) -> CtlResult<PartitionMove> {
    let started = Instant::now();
    let client = ctx.client().await?;
    let from = current(ctx, topic, partition).await?.replicas;
    reassign(ctx, topic, partition, &replicas).await?;
    let mut want = replicas.clone();
    want.sort_unstable();
    let deadline = Instant::now() + wait;
    loop {
        let (_, info) = common::topic_info(client, topic).await?;
        let quorum = common::quorum(client, &info, &[partition]).await?;
        let done = quorum.get(&partition).and_then(|q| {
            let mut voters: Vec<i32> = q
                .replicas
                .iter()
                .filter(|r| r.voter)
                .map(|r| r.node_id)
                .collect();
            voters.sort_unstable();
            (voters == want).then_some(q.leader_id)
        });
        if let Some(leader) = done {
            return Ok(PartitionMove {
                topic: topic.to_owned(),
                partition,
                from,
                to: replicas,
                leader,
                elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
        }
        if Instant::now() >= deadline {
            return Err(CtlError::new(
                ErrorClass::Unhealthy,
                format!(
                    "{topic}-{partition} is not on {replicas:?} after {}; the move goes on \
                     in the background — see `holocronctl partition describe {topic}`",
                    humantime::format_duration(wait)
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A partition as Metadata describes it now; NotFound if it does not exist.
async fn current(ctx: &Ctx, topic: &str, partition: i32) -> CtlResult<PartitionInfo> {
    let (_, info) = common::topic_info(ctx.client().await?, topic).await?;
    info.partitions
        .into_iter()
        .find(|p| p.partition == partition)
        .ok_or_else(|| {
            CtlError::new(
                ErrorClass::NotFound,
                format!("topic {topic:?} has no partition {partition}"),
            )
        })
}

async fn reassign(ctx: &Ctx, topic: &str, partition: i32, replicas: &[i32]) -> CtlResult<()> {
    let req = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![ReassignableTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(vec![ReassignablePartition::default()
                .with_partition_index(partition)
                .with_replicas(Some(
                    replicas.iter().map(|r| BrokerId(*r)).collect(),
                ))])]);
    let resp = ctx.client().await?.send_any(req).await?;
    if let Some(code) = from_code(resp.error_code) {
        return Err(CtlError::kafka(code, "reassign the replicas"));
    }
    let result = resp
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .find(|p| p.partition_index == partition);
    match result.and_then(|r| from_code(r.error_code).map(|c| (c, r))) {
        None => Ok(()),
        Some((code, r)) => Err(CtlError::kafka(
            code,
            format!(
                "reassign the replicas of {topic}-{partition}{}",
                r.error_message
                    .as_ref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
        )),
    }
}

async fn elect(ctx: &Ctx, topic: &str, partition: i32) -> CtlResult<()> {
    let req = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_timeout_ms(30_000)
        .with_topic_partitions(Some(vec![TopicPartitions::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(vec![partition])]));
    let resp = ctx.client().await?.send_any(req).await?;
    if let Some(code) = from_code(resp.error_code) {
        return Err(CtlError::kafka(code, "preferred-leader election"));
    }
    let result = resp
        .replica_election_results
        .iter()
        .flat_map(|t| &t.partition_result)
        .find(|p| p.partition_id == partition);
    match result.and_then(|r| from_code(r.error_code).map(|c| (c, r))) {
        None | Some((ErrorCode::ElectionNotNeeded, _)) => Ok(()),
        Some((code, r)) => Err(CtlError::kafka(
            code,
            format!(
                "preferred-leader election of {topic}-{partition}{}",
                r.error_message
                    .as_ref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
        )),
    }
}
