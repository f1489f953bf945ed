//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), earliest
//! local (-4, the same as earliest: all data is local), or the first offset
//! at or after a timestamp.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, ResponseKind};

use super::errors::{log_error, ErrorCode};
use crate::broker::Broker;
use crate::partition::Partition;

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 8);

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;

pub(super) fn handle(broker: &Arc<Broker>, req: ListOffsetsRequest, version: i16) -> ResponseKind {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut resp = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(-1);
                    let result = match broker.partitions.get(&name, p.partition_index) {
                        None => Err(ErrorCode::UnknownTopicOrPartition),
                        Some(part) => match part.check_read(p.current_leader_epoch) {
                            Err(e) => Err(super::errors::epoch_error(e)),
                            Ok(()) => lookup(&part, p.timestamp)
                                .map(|r| r.map(|(o, t)| (o, t, part.leader_epoch()))),
                        },
                    };
                    match result {
                        Ok(Some((offset, timestamp, epoch))) => {
                            resp.offset = offset as i64;
                            resp.timestamp = timestamp;
                            if version >= 4 {
                                resp.leader_epoch = epoch;
                            }
                        }
                        Ok(None) => {}
                        Err(code) => {
                            broker.metrics.observe_error("ListOffsets", code);
                            resp.error_code = code.code();
                        }
                    }
                    resp
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ResponseKind::ListOffsets(ListOffsetsResponse::default().with_topics(topics))
}

/// The (offset, timestamp) answer for one partition; None when no record
/// matches (answered as offset -1, timestamp -1, as Kafka does).
fn lookup(p: &Partition, timestamp: i64) -> Result<Option<(u64, i64)>, ErrorCode> {
    match timestamp {
        LATEST => Ok(Some((p.high_watermark(), -1))),
        EARLIEST | EARLIEST_LOCAL => Ok(Some((p.log_start_offset(), -1))),
        MAX_TIMESTAMP => p.max_timestamp().map_err(|e| log_error(&e)),
        ts if ts >= 0 => p.offset_for_timestamp(ts).map_err(|e| log_error(&e)),
        _ => Err(ErrorCode::InvalidRequest),
    }
}
