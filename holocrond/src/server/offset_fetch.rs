//! OffsetFetch: one group (v1–v7) or several (v8+); named partitions, or
//! every committed one when the topics are null. Partitions without a
//! commit answer offset -1.

use std::sync::Arc;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::errors::group_error;
use crate::broker::Broker;
use crate::groups::commit::Fetched;
use crate::groups::offsets::Committed;

/// Versions served (v2+ all partitions and a group error, v5+ leader epochs, v8+ several groups).
pub const VERSIONS: (i16, i16) = (1, 9);

/// (offset, leader epoch, metadata) of a partition, or Kafka's "none".
fn fields(c: Option<&Committed>) -> (i64, i32, StrBytes) {
    match c {
        Some(c) => (
            c.offset,
            c.leader_epoch,
            StrBytes::from_string(c.metadata.clone()),
        ),
        None => (-1, -1, StrBytes::default()),
    }
}

pub(super) fn handle(broker: &Arc<Broker>, req: OffsetFetchRequest, version: i16) -> ResponseKind {
    let mut resp = OffsetFetchResponse::default();
    if version >= 8 {
        resp.groups = req
            .groups
            .into_iter()
            .map(|g| {
                let topics = g.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes))
                        .collect()
                });
                let mut out = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
                match broker.groups.fetch(&g.group_id.0, topics) {
                    Ok(fetched) => out.topics = group_topics(fetched),
                    Err(e) => {
                        let code = group_error(e);
                        broker.metrics.observe_error("OffsetFetch", code);
                        out.error_code = code.code();
                    }
                }
                out
            })
            .collect();
        return ResponseKind::OffsetFetch(resp);
    }
    let topics = req.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect()
    });
    match broker.groups.fetch(&req.group_id.0, topics) {
        Ok(fetched) => {
            resp.topics = fetched
                .into_iter()
                .map(|(topic, parts)| {
                    OffsetFetchResponseTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic)))
                        .with_partitions(
                            parts
                                .into_iter()
                                .map(|(p, c)| {
                                    let (offset, epoch, metadata) = fields(c.as_ref());
                                    OffsetFetchResponsePartition::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(offset)
                                        .with_committed_leader_epoch(epoch)
                                        .with_metadata(Some(metadata))
                                })
                                .collect(),
                        )
                })
                .collect();
        }
        Err(e) => {
            let code = group_error(e);
            broker.metrics.observe_error("OffsetFetch", code);
            if version >= 2 {
                resp.error_code = code.code();
            }
        }
    }
    ResponseKind::OffsetFetch(resp)
}

fn group_topics(fetched: Vec<Fetched>) -> Vec<OffsetFetchResponseTopics> {
    fetched
        .into_iter()
        .map(|(topic, parts)| {
            OffsetFetchResponseTopics::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(
                    parts
                        .into_iter()
                        .map(|(p, c)| {
                            let (offset, epoch, metadata) = fields(c.as_ref());
                            OffsetFetchResponsePartitions::default()
                                .with_partition_index(p)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(epoch)
                                .with_metadata(Some(metadata))
                        })
                        .collect(),
                )
        })
        .collect()
}
