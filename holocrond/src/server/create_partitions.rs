//! CreatePartitions: raise a topic's partition count (never lower it).

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::errors::{topic_error, ErrorCode};
use crate::broker::Broker;
use crate::cluster::Placement;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 3);

pub(super) async fn handle(
    broker: Arc<Broker>,
    req: CreatePartitionsRequest,
    _version: i16,
) -> ResponseKind {
    let broker = &broker;
    let mut results = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        {
            let name = t.name.0.to_string();
            let outcome = async {
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
                }
                let placement = match &t.assignments {
                    Some(a) => Placement::Explicit(
                        a.iter()
                            .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                            .collect(),
                    ),
                    None => Placement::Factor(-1),
                };
                if let Placement::Explicit(lists) = &placement {
                    crate::cluster::plan::place(
                        &name,
                        current,
                        t.count - current,
                        &placement,
                        &broker.metadata.nodes(),
                    )
                    .map_err(|e| (topic_error(&e), e.to_string()))?;
                    let _ = lists;
                }
                if req.validate_only {
                    return Ok(());
                }
                broker
                    .add_partitions_placed(&name, t.count, placement)
                    .await
                    .map_err(|e| (topic_error(&e), e.to_string()))
            }
            .await;
            let mut result = CreatePartitionsTopicResult::default().with_name(t.name);
            if let Err((code, message)) = outcome {
                broker.metrics.observe_error("CreatePartitions", code);
                result.error_code = code.code();
                result.error_message = Some(StrBytes::from_string(message));
            }
            results.push(result);
        }
    }
    ResponseKind::CreatePartitions(CreatePartitionsResponse::default().with_results(results))
}
