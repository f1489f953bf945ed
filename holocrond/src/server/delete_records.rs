//! DeleteRecords: move a partition's log start offset forward (-1 means up
//! to the high watermark); whole segments below it are deleted.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse, ResponseKind};

use super::errors::{log_error, ErrorCode};
use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: DeleteRecordsRequest,
    _version: i16,
) -> ResponseKind {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut r = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(-1);
                    let outcome = match broker.partitions.get(&name, p.partition_index) {
                        None => Err(ErrorCode::UnknownTopicOrPartition),
                        Some(part) => {
                            let target = match p.offset {
                                -1 => Ok(part.high_watermark()),
                                o if o >= 0 => Ok(o as u64),
                                _ => Err(ErrorCode::OffsetOutOfRange),
                            };
                            target.and_then(|t| {
                                part.delete_records_before(t).map_err(|e| log_error(&e))
                            })
                        }
                    };
                    match outcome {
                        Ok(low) => r.low_watermark = low as i64,
                        Err(code) => {
                            broker.metrics.observe_error("DeleteRecords", code);
                            r.error_code = code.code();
                        }
                    }
                    r
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ResponseKind::DeleteRecords(DeleteRecordsResponse::default().with_topics(topics))
}
