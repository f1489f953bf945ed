//! OffsetCommit: partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION;
//! the rest are appended to `__consumer_offsets` now (in request order) and
//! answered once committed.

use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse, ResponseKind};

use super::errors::{group_error, ErrorCode};
use super::Reply;
use crate::broker::Broker;
use crate::groups::commit::{CommitEntry, CommitRequest};

/// Versions served (v2–v4 carry retention_time_ms, v6+ leader epochs, v7+ static membership).
pub const VERSIONS: (i16, i16) = (2, 9);

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: OffsetCommitRequest,
    version: i16,
) -> BoxFuture<'static, Reply> {
    // (topic index, partition index, refused with)
    let mut slots: Vec<(usize, usize, Option<ErrorCode>)> = Vec::new();
    let mut entries = Vec::new();
    let mut topics = Vec::with_capacity(req.topics.len());
    for (ti, t) in req.topics.iter().enumerate() {
        let name = t.name.0.to_string();
        let mut parts = Vec::with_capacity(t.partitions.len());
        for (pi, p) in t.partitions.iter().enumerate() {
            parts.push(
                OffsetCommitResponsePartition::default().with_partition_index(p.partition_index),
            );
            if broker.partitions.get(&name, p.partition_index).is_none() {
                slots.push((ti, pi, Some(ErrorCode::UnknownTopicOrPartition)));
                continue;
            }
            slots.push((ti, pi, None));
            entries.push(CommitEntry {
                topic: name.clone(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if version >= 6 {
                    p.committed_leader_epoch
                } else {
                    -1
                },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            });
        }
        topics.push(
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(parts),
        );
    }
    let commit = CommitRequest {
        group_id: req.group_id.0.to_string(),
        generation: req.generation_id_or_member_epoch,
        member_id: req.member_id.to_string(),
        instance_id: req.group_instance_id.map(|s| s.to_string()),
        retention_ms: (version <= 4 && req.retention_time_ms != -1)
            .then_some(req.retention_time_ms),
        entries,
    };
    let pending = broker.groups.commit(commit);
    let broker = broker.clone();
    async move {
        let mut outcomes = pending.await.into_iter();
        for (ti, pi, refused) in slots {
            let code = match refused {
                Some(code) => Some(code),
                None => outcomes.next().flatten().map(group_error),
            };
            if let Some(code) = code {
                broker.metrics.observe_error("OffsetCommit", code);
                topics[ti].partitions[pi].error_code = code.code();
            }
        }
        Reply::response(ResponseKind::OffsetCommit(
            OffsetCommitResponse::default().with_topics(topics),
        ))
    }
    .boxed()
}
