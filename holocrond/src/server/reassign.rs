//! AlterPartitionReassignments and ListPartitionReassignments (KIP-455).
//! A reassignment sets a partition's replicas in the metadata: a new order
//! (the first is the preferred leader, which ElectLeaders then moves
//! leadership to) or other nodes. The partition's leader then adds the new
//! replicas as learners, catches them up, changes the group's voters and
//! reports them; replicas moved away delete their copies after that. A
//! reassignment is in progress while the reported voters differ from the
//! replicas. Cancelling one is not supported (NO_REASSIGNMENT_IN_PROGRESS
//! when none runs, else INVALID_REPLICA_ASSIGNMENT).

use std::sync::Arc;

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, ResponseKind, TopicName,
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
        return if t.moving(partition).is_some() {
            (
                Some(ErrorCode::InvalidReplicaAssignment),
                Some(
                    "a reassignment in progress cannot be cancelled; reassign again instead".into(),
                ),
            )
        } else {
            (Some(ErrorCode::NoReassignmentInProgress), None)
        };
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
    broker: &Broker,
    req: ListPartitionReassignmentsRequest,
    _version: i16,
) -> ResponseKind {
    let state = broker.metadata.snapshot();
    let wanted: Vec<(String, Option<Vec<i32>>)> = match req.topics {
        Some(ts) => ts
            .into_iter()
            .map(|t| (t.name.0.to_string(), Some(t.partition_indexes)))
            .collect(),
        None => state.topics.keys().map(|n| (n.clone(), None)).collect(),
    };
    let mut topics = Vec::new();
    for (name, partitions) in wanted {
        let Some(t) = state.topics.get(&name) else {
            continue;
        };
        let ongoing: Vec<OngoingPartitionReassignment> = partitions
            .unwrap_or_else(|| (0..t.partitions).collect())
            .into_iter()
            .filter_map(|p| {
                let (adding, removing) = t.moving(p)?;
                let ids = |v: Vec<i32>| v.into_iter().map(BrokerId).collect();
                Some(
                    OngoingPartitionReassignment::default()
                        .with_partition_index(p)
                        .with_replicas(ids(t.replicas_of(p).to_vec()))
                        .with_adding_replicas(ids(adding))
                        .with_removing_replicas(ids(removing)),
                )
            })
            .collect();
        if !ongoing.is_empty() {
            topics.push(
                OngoingTopicReassignment::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(ongoing),
            );
        }
    }
    ResponseKind::ListPartitionReassignments(
        ListPartitionReassignmentsResponse::default().with_topics(topics),
    )
}
