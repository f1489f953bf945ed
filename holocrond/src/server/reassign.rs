//! AlterPartitionReassignments and ListPartitionReassignments (KIP-455).
//! A partition's replicas may be reordered (the first is the preferred
//! leader, which ElectLeaders then moves leadership to); moving replicas to
//! other nodes is not supported yet and is refused with
//! INVALID_REPLICA_ASSIGNMENT. Nothing is ever in progress to list.

use std::sync::Arc;

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;

use super::errors::{topic_error, ErrorCode};
use crate::broker::Broker;
use crate::cluster::MetaRequest;

/// AlterPartitionReassignments versions served.
pub const ALTER_VERSIONS: (i16, i16) = (0, 0);
/// ListPartitionReassignments versions served.
pub const LIST_VERSIONS: (i16, i16) = (0, 0);

pub(super) async fn alter(
    broker: Arc<Broker>,
    req: AlterPartitionReassignmentsRequest,
    _version: i16,
) -> ResponseKind {
    let mut responses = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in t.partitions {
            let (code, message) = reorder(&broker, &t.name.0, p.partition_index, p.replicas).await;
            partitions.push(
                ReassignablePartitionResponse::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(code.map_or(0, |c| c.code()))
                    .with_error_message(message.map(StrBytes::from_string)),
            );
        }
        responses.push(
            ReassignableTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions),
        );
    }
    ResponseKind::AlterPartitionReassignments(
        AlterPartitionReassignmentsResponse::default().with_responses(responses),
    )
}

async fn reorder(
    broker: &Broker,
    topic: &str,
    partition: i32,
    replicas: Option<Vec<kafka_protocol::messages::BrokerId>>,
) -> (Option<ErrorCode>, Option<String>) {
    let Some(t) = broker
        .metadata
        .snapshot()
        .topics
        .get(topic)
        .filter(|t| partition >= 0 && partition < t.partitions)
        .cloned()
    else {
        return (
            Some(ErrorCode::UnknownTopicOrPartition),
            Some(format!("no partition {topic}-{partition}")),
        );
    };
    let Some(replicas) = replicas else {
        // Cancel: there is never a reassignment in progress.
        return (Some(ErrorCode::NoReassignmentInProgress), None);
    };
    if broker.config.cluster.is_none() {
        return (
            Some(ErrorCode::InvalidReplicaAssignment),
            Some("a standalone broker has one replica per partition".into()),
        );
    }
    let req = MetaRequest::SetReplicas {
        topic_id: t.id,
        partition,
        replicas: replicas.into_iter().map(|b| b.0).collect(),
    };
    match broker.metadata.execute(req).await {
        Ok(_) => (None, None),
        Err(e) => (Some(topic_error(&e)), Some(e.to_string())),
    }
}

pub(super) fn list(
    _broker: &Broker,
    _req: ListPartitionReassignmentsRequest,
    _version: i16,
) -> ResponseKind {
    ResponseKind::ListPartitionReassignments(ListPartitionReassignmentsResponse::default())
}
