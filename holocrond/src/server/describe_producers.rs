//! DescribeProducers: the idempotent producers each partition knows (id,
//! epoch, last sequence, last timestamp), for holocronctl and the TUI.

use std::sync::Arc;

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{
    DescribeProducersRequest, DescribeProducersResponse, ProducerId, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;

use super::errors::ErrorCode;
use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 0);

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: DescribeProducersRequest,
    _version: i16,
) -> ResponseKind {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let partitions = t
                .partition_indexes
                .into_iter()
                .map(|index| {
                    let mut r = PartitionResponse::default().with_partition_index(index);
                    match broker.partitions.get(&name, index) {
                        None => {
                            broker.metrics.observe_error(
                                "DescribeProducers",
                                ErrorCode::UnknownTopicOrPartition,
                            );
                            r.error_code = ErrorCode::UnknownTopicOrPartition.code();
                            r.error_message = Some(StrBytes::from_string(format!(
                                "{name}-{index} does not exist"
                            )));
                        }
                        Some(p) => {
                            r.active_producers = p
                                .producers()
                                .producers()
                                .map(|(id, e)| {
                                    let last = e.batches.back();
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(id))
                                        .with_producer_epoch(i32::from(e.epoch))
                                        .with_last_sequence(last.map_or(-1, |b| b.last_seq))
                                        .with_last_timestamp(last.map_or(-1, |b| b.timestamp))
                                        .with_coordinator_epoch(-1)
                                        .with_current_txn_start_offset(-1)
                                })
                                .collect();
                        }
                    }
                    r
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ResponseKind::DescribeProducers(DescribeProducersResponse::default().with_topics(topics))
}
