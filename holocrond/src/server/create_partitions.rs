//! CreatePartitions: raise a topic's partition count (never lower it).

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::errors::{topic_error, ErrorCode};
use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 3);

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: CreatePartitionsRequest,
    _version: i16,
) -> ResponseKind {
    let node = broker.config.node_id;
    let results = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let outcome = (|| {
                let current = broker
                    .metadata
                    .check_partition_count(&name, t.count)
                    .map_err(|e| (topic_error(&e), e.to_string()))?;
                if let Some(assignments) = &t.assignments {
                    if assignments.len() as i32 != t.count - current {
                        return Err((
                            ErrorCode::InvalidReplicaAssignment,
                            format!(
                                "{} assignments given for {} new partitions",
                                assignments.len(),
                                t.count - current
                            ),
                        ));
                    }
                    if assignments
                        .iter()
                        .any(|a| a.broker_ids.len() != 1 || a.broker_ids[0].0 != node)
                    {
                        return Err((
                            ErrorCode::InvalidReplicaAssignment,
                            format!(
                                "this single-node cluster can only place replicas on broker {node}"
                            ),
                        ));
                    }
                }
                if req.validate_only {
                    return Ok(());
                }
                broker
                    .add_partitions(&name, t.count)
                    .map_err(|e| (topic_error(&e), e.to_string()))
            })();
            let mut result = CreatePartitionsTopicResult::default().with_name(t.name);
            if let Err((code, message)) = outcome {
                broker.metrics.observe_error("CreatePartitions", code);
                result.error_code = code.code();
                result.error_message = Some(StrBytes::from_string(message));
            }
            result
        })
        .collect();
    ResponseKind::CreatePartitions(CreatePartitionsResponse::default().with_results(results))
}
