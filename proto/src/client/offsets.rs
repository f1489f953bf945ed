//! ListOffsets across a cluster: one request per partition leader, answers
//! keyed by `(topic, partition)`. The CLI, the TUI and tests all need log
//! start / high watermark / offset-for-time lookups.

use std::collections::BTreeMap;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::cluster::{Client, ClusterView};
use super::error::ClientError;
use crate::errors::{from_code, ErrorCode};

/// Which offset to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (read-uncommitted isolation).
    Latest,
    /// The first offset whose timestamp is at or after this many ms since
    /// the epoch; offset -1 in the answer when there is none.
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// One partition's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffset {
    /// The offset (-1: no record matches a timestamp lookup).
    pub offset: i64,
    /// The timestamp of that record (-1 for earliest/latest).
    pub timestamp: i64,
    /// The leader epoch of that offset (-1 if unknown).
    pub leader_epoch: i32,
}

/// Answers by `(topic, partition)`: an offset or the partition's error.
pub type OffsetAnswers = BTreeMap<(String, i32), Result<PartitionOffset, ErrorCode>>;

impl Client {
    /// Looks up `spec` for each partition, asking each partition's leader as
    /// `view` names it. Partitions missing from `view` or without a leader get
    /// an error answer; a broker that cannot be reached fails the call.
    pub async fn list_offsets(
        &self,
        view: &ClusterView,
        partitions: &[(String, i32)],
        spec: OffsetSpec,
    ) -> Result<OffsetAnswers, ClientError> {
        let mut answers = OffsetAnswers::new();
        let mut by_leader: BTreeMap<i32, BTreeMap<&str, Vec<i32>>> = BTreeMap::new();
        for (topic, partition) in partitions {
            let info = view
                .topics
                .iter()
                .find(|t| &t.name == topic)
                .and_then(|t| t.partitions.iter().find(|p| p.partition == *partition));
            match info {
                None => {
                    answers.insert(
                        (topic.clone(), *partition),
                        Err(ErrorCode::UnknownTopicOrPartition),
                    );
                }
                Some(p) if p.leader < 0 => {
                    answers.insert(
                        (topic.clone(), *partition),
                        Err(ErrorCode::LeaderNotAvailable),
                    );
                }
                Some(p) => by_leader
                    .entry(p.leader)
                    .or_default()
                    .entry(topic)
                    .or_default()
                    .push(*partition),
            }
        }
        for (leader, topics) in by_leader {
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(
                    topics
                        .iter()
                        .map(|(name, ps)| {
                            ListOffsetsTopic::default()
                                .with_name(TopicName(StrBytes::from_string((*name).to_owned())))
                                .with_partitions(
                                    ps.iter()
                                        .map(|p| {
                                            ListOffsetsPartition::default()
                                                .with_partition_index(*p)
                                                .with_current_leader_epoch(-1)
                                                .with_timestamp(spec.wire())
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let resp = self.send_to(leader, req).await?;
            for t in resp.topics {
                for p in t.partitions {
                    let answer = match from_code(p.error_code) {
                        Some(code) => Err(code),
                        None => Ok(PartitionOffset {
                            offset: p.offset,
                            timestamp: p.timestamp,
                            leader_epoch: p.leader_epoch,
                        }),
                    };
                    answers.insert((t.name.0.to_string(), p.partition_index), answer);
                }
            }
        }
        for (topic, partition) in partitions {
            answers
                .entry((topic.clone(), *partition))
                .or_insert(Err(ErrorCode::UnknownTopicOrPartition));
        }
        Ok(answers)
    }
}
