//! ElectLeaders (KIP-460): a preferred-leader election hands a partition's
//! leadership to its first replica. The request is committed to the
//! metadata; the partition's current leader then transfers leadership (Raft
//! TransferLeader) if the preferred replica is caught up. Raft cannot do an
//! unclean election: a partition without a quorum has no eligible leader.

use std::sync::Arc;

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{
    ElectLeadersRequest, ElectLeadersResponse, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::errors::{topic_error, ErrorCode};
use crate::broker::Broker;
use crate::cluster::{MetaReply, MetaRequest};

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

const PREFERRED: i8 = 0;

pub(super) async fn handle(
    broker: Arc<Broker>,
    req: ElectLeadersRequest,
    version: i16,
) -> ResponseKind {
    let state = broker.metadata.snapshot();
    // Null: every partition of every topic.
    let wanted: Vec<(TopicName, Vec<i32>)> = match req.topic_partitions {
        Some(tps) => tps.into_iter().map(|t| (t.topic, t.partitions)).collect(),
        None => state
            .topics
            .values()
            .map(|t| {
                (
                    TopicName(StrBytes::from_string(t.name.clone())),
                    (0..t.partitions).collect(),
                )
            })
            .collect(),
    };
    let election_type = if version >= 1 {
        req.election_type
    } else {
        PREFERRED
    };
    let mut results = Vec::with_capacity(wanted.len());
    for (topic, partitions) in wanted {
        let mut out = Vec::with_capacity(partitions.len());
        for partition in partitions {
            let (code, message) = elect(&broker, &topic.0, partition, election_type).await;
            out.push(
                PartitionResult::default()
                    .with_partition_id(partition)
                    .with_error_code(code.map_or(0, |c| c.code()))
                    .with_error_message(message.map(StrBytes::from_string)),
            );
        }
        results.push(
            ReplicaElectionResult::default()
                .with_topic(topic)
                .with_partition_result(out),
        );
    }
    ResponseKind::ElectLeaders(
        ElectLeadersResponse::default().with_replica_election_results(results),
    )
}

async fn elect(
    broker: &Broker,
    topic: &str,
    partition: i32,
    election_type: i8,
) -> (Option<ErrorCode>, Option<String>) {
    let state = broker.metadata.snapshot();
    let Some(t) = state
        .topics
        .get(topic)
        .filter(|t| partition >= 0 && partition < t.partitions)
    else {
        return (
            Some(ErrorCode::UnknownTopicOrPartition),
            Some(format!("no partition {topic}-{partition}")),
        );
    };
    if election_type != PREFERRED {
        let leader = t.leader_of(partition).map(|(l, _)| l);
        // Unclean: Raft elects only a replica with every committed entry.
        return match leader {
            Some(_) => (Some(ErrorCode::ElectionNotNeeded), None),
            None => (
                Some(ErrorCode::EligibleLeadersNotAvailable),
                Some("Raft cannot elect a replica that may lack committed records".into()),
            ),
        };
    }
    if broker.config.cluster.is_none() {
        return (Some(ErrorCode::ElectionNotNeeded), None);
    }
    let req = MetaRequest::ElectPreferred {
        topic_id: t.id,
        partition,
    };
    // Planned on the metadata leader, against the current replica order.
    match broker.metadata.execute(req).await {
        Ok(MetaReply::ElectionNotNeeded) => (Some(ErrorCode::ElectionNotNeeded), None),
        Ok(MetaReply::Election(preferred)) if !broker.is_live(preferred) => (
            Some(ErrorCode::PreferredLeaderNotAvailable),
            Some(format!("preferred replica {preferred} is not reachable")),
        ),
        Ok(_) => (None, None),
        Err(e) => (Some(topic_error(&e)), Some(e.to_string())),
    }
}
