//! DescribeQuorum (KIP-595/KIP-836), answered per data partition by its
//! leader (DESIGN.md §5): leader, epoch, high watermark and each replica's
//! log end offset, last fetch and last caught-up time. `__cluster_metadata`
//! partition 0 is the metadata group, answered by every node (per-voter
//! progress only on its leader).

use std::sync::Arc;

use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{
    BrokerId, DescribeQuorumRequest, DescribeQuorumResponse, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;

use super::errors::ErrorCode;
use super::metadata::{advertised, live_brokers};
use crate::broker::Broker;
use crate::net::ConnContext;
use crate::partition::quorum::{QuorumView, ReplicaProgress};

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

/// The metadata group's topic name in DescribeQuorum (as in KRaft).
pub const METADATA_TOPIC: &str = "__cluster_metadata";

pub(super) fn handle(
    broker: &Arc<Broker>,
    ctx: &ConnContext,
    req: DescribeQuorumRequest,
    version: i16,
) -> ResponseKind {
    let me = broker.config.node_id;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic_name.0.to_string();
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| partition(broker, me, &name, p.partition_index, version))
                .collect();
            TopicData::default()
                .with_topic_name(t.topic_name)
                .with_partitions(partitions)
        })
        .collect();
    let (host, port) = advertised(broker, ctx);
    let nodes = if version >= 2 {
        live_brokers(broker, me, host, port)
            .into_iter()
            .map(|(id, host, port)| {
                Node::default()
                    .with_node_id(BrokerId(id))
                    .with_listeners(vec![Listener::default()
                        .with_name(StrBytes::from_static_str("PLAINTEXT"))
                        .with_host(StrBytes::from_string(host))
                        .with_port(u16::try_from(port).unwrap_or(0))])
            })
            .collect()
    } else {
        Vec::new()
    };
    ResponseKind::DescribeQuorum(
        DescribeQuorumResponse::default()
            .with_topics(topics)
            .with_nodes(nodes),
    )
}

fn partition(broker: &Broker, me: i32, topic: &str, index: i32, version: i16) -> PartitionData {
    let out = PartitionData::default().with_partition_index(index);
    let fail = |code: ErrorCode, message: &str| {
        let out = out
            .clone()
            .with_error_code(code.code())
            .with_leader_id(BrokerId(-1))
            .with_leader_epoch(-1)
            .with_high_watermark(-1);
        if version >= 2 {
            out.with_error_message(Some(StrBytes::from_string(message.to_owned())))
        } else {
            out
        }
    };
    let view = if topic == METADATA_TOPIC {
        if index != 0 {
            return fail(
                ErrorCode::UnknownTopicOrPartition,
                "the metadata quorum has one partition, 0",
            );
        }
        broker.metadata.quorum()
    } else {
        let Some(p) = broker.partitions.get(topic, index) else {
            return fail(
                ErrorCode::UnknownTopicOrPartition,
                "this broker holds no replica of the partition",
            );
        };
        match p.quorum(me) {
            Some(v) => v,
            None => {
                return fail(
                    ErrorCode::NotLeaderOrFollower,
                    "this broker does not lead the partition",
                )
            }
        }
    };
    describe(out, &view)
}

fn describe(out: PartitionData, view: &QuorumView) -> PartitionData {
    let state = |r: &ReplicaProgress| {
        ReplicaState::default()
            .with_replica_id(BrokerId(r.node))
            .with_log_end_offset(r.log_end_offset)
            .with_last_fetch_timestamp(r.last_fetch_ms)
            .with_last_caught_up_timestamp(r.last_caught_up_ms)
    };
    out.with_leader_id(BrokerId(view.leader))
        .with_leader_epoch(view.epoch)
        .with_high_watermark(view.high_watermark)
        .with_current_voters(
            view.replicas
                .iter()
                .filter(|r| r.voter)
                .map(state)
                .collect(),
        )
        .with_observers(
            view.replicas
                .iter()
                .filter(|r| !r.voter)
                .map(state)
                .collect(),
        )
}
