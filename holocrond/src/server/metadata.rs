//! Metadata: brokers, cluster id, controller, topics and partitions — with
//! topic auto-creation as Kafka does it (only when the broker allows it and
//! the client asks for it).

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, MetadataRequest, MetadataResponse, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::errors::{topic_error, ErrorCode};
use crate::broker::Broker;
use crate::cluster::{topic_name, Placement, TopicError, TopicMeta};
use crate::net::ConnContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 12);

/// "Authorized operations not requested" (Kafka's INT32_MIN sentinel).
pub const OPS_NOT_REQUESTED: i32 = i32::MIN;

/// The host and port clients should use to reach this broker.
pub fn advertised(broker: &Broker, ctx: &ConnContext) -> (String, i32) {
    let host = broker
        .config
        .advertised_host
        .clone()
        .unwrap_or_else(|| ctx.local.ip().to_string());
    (host, i32::from(ctx.local.port()))
}

pub(super) async fn handle(
    broker: Arc<Broker>,
    ctx: Arc<ConnContext>,
    req: MetadataRequest,
    version: i16,
) -> ResponseKind {
    let broker = &broker;
    let node = broker.config.node_id;
    let (host, port) = advertised(broker, &ctx);
    let auto_create =
        broker.config.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    let wanted: Option<Vec<Option<String>>> = match req.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(t) => Some(
            t.into_iter()
                .map(|t| {
                    t.name.map(|n| n.0.to_string()).or_else(|| {
                        broker
                            .metadata
                            .snapshot()
                            .topic_by_id(t.topic_id)
                            .map(|m| m.name.clone())
                    })
                })
                .collect(),
        ),
    };
    let with_ops = req.include_topic_authorized_operations;
    let topics = match wanted {
        None => broker
            .metadata
            .snapshot()
            .topics
            .values()
            .map(|t| describe_topic(broker, t, with_ops))
            .collect(),
        Some(names) => {
            let mut topics = Vec::with_capacity(names.len());
            for name in names {
                topics.push(match name {
                    None => MetadataResponseTopic::default()
                        .with_error_code(ErrorCode::UnknownTopicId.code())
                        .with_topic_authorized_operations(OPS_NOT_REQUESTED),
                    Some(name) => lookup_or_create(broker, &name, auto_create, with_ops).await,
                });
            }
            topics
        }
    };
    let brokers = live_brokers(broker, node, host, port)
        .into_iter()
        .map(|(id, host, port)| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(id))
                .with_host(StrBytes::from_string(host))
                .with_port(port)
        })
        .collect();
    let controller = broker.controller_id();
    ResponseKind::Metadata(
        MetadataResponse::default()
            .with_brokers(brokers)
            .with_cluster_id(Some(StrBytes::from_string(broker.metadata.cluster_id())))
            .with_controller_id(BrokerId(controller))
            .with_topics(topics)
            .with_cluster_authorized_operations(OPS_NOT_REQUESTED),
    )
}

async fn lookup_or_create(
    broker: &Arc<Broker>,
    name: &str,
    auto_create: bool,
    with_ops: bool,
) -> MetadataResponseTopic {
    if let Some(t) = broker.metadata.snapshot().topics.get(name) {
        return describe_topic(broker, t, with_ops);
    }
    let failed = |code: ErrorCode| {
        MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(name.to_owned()))))
            .with_error_code(code.code())
            .with_topic_authorized_operations(OPS_NOT_REQUESTED)
    };
    if topic_name::validate(name).is_err() {
        return failed(ErrorCode::InvalidTopicException);
    }
    if !auto_create || topic_name::is_internal(name) {
        return failed(ErrorCode::UnknownTopicOrPartition);
    }
    let created = broker
        .create_topic(
            name,
            broker.config.default_partitions,
            Placement::Factor(-1),
            Default::default(),
        )
        .await;
    match created {
        Ok(t) => describe_topic(broker, &t, with_ops),
        // Another request created it in between: describe what exists.
        Err(TopicError::AlreadyExists(_)) => match broker.metadata.snapshot().topics.get(name) {
            Some(t) => describe_topic(broker, t, with_ops),
            None => failed(ErrorCode::UnknownTopicOrPartition),
        },
        Err(e) => {
            tracing::warn!(topic = name, error = %e, "auto-creating topic failed");
            failed(topic_error(&e))
        }
    }
}

/// Every operation a topic has, for include_topic_authorized_operations
/// (no ACLs yet: everything is allowed). Bits: READ 3, WRITE 4, CREATE 5,
/// DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11.
const ALL_TOPIC_OPS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

fn describe_topic(broker: &Broker, t: &TopicMeta, with_ops: bool) -> MetadataResponseTopic {
    let partitions = (0..t.partitions)
        .map(|i| {
            let replicas: Vec<BrokerId> = t.replicas_of(i).iter().map(|r| BrokerId(*r)).collect();
            let local = broker.partitions.get(&t.name, i);
            let poisoned = local.as_ref().is_some_and(|p| p.is_poisoned());
            let leader = if poisoned {
                None
            } else {
                broker.partition_leader(t, i)
            };
            let p = MetadataResponsePartition::default()
                .with_partition_index(i)
                .with_replica_nodes(replicas.clone());
            // In sync and offline as this node sees its peers: a replica
            // on a node it cannot reach is reported offline.
            let (isr, offline): (Vec<BrokerId>, Vec<BrokerId>) =
                replicas.iter().partition(|r| broker.is_live(r.0));
            match leader {
                Some((leader, epoch)) => p
                    .with_leader_id(BrokerId(leader))
                    .with_leader_epoch(epoch)
                    .with_isr_nodes(isr)
                    .with_offline_replicas(offline),
                None => p
                    .with_error_code(if poisoned {
                        ErrorCode::KafkaStorageError.code()
                    } else {
                        ErrorCode::LeaderNotAvailable.code()
                    })
                    .with_leader_id(BrokerId(-1))
                    .with_leader_epoch(-1)
                    .with_offline_replicas(if poisoned {
                        vec![BrokerId(broker.config.node_id)]
                    } else {
                        vec![]
                    }),
            }
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(t.name.clone()))))
        .with_topic_id(t.id)
        .with_is_internal(topic_name::is_internal(&t.name))
        .with_partitions(partitions)
        .with_topic_authorized_operations(if with_ops {
            ALL_TOPIC_OPS
        } else {
            OPS_NOT_REQUESTED
        })
}

/// The brokers clients may use, by id: this one (as the client reached
/// it), and in a cluster every registered node this node is connected to
/// now. As in Kafka, a node that is down is not listed, so clients do not
/// wait on it (a partition may still name it as leader until the survivors
/// elect another).
pub(super) fn live_brokers(
    broker: &Broker,
    me: i32,
    host: String,
    port: i32,
) -> Vec<(i32, String, i32)> {
    let mut out = vec![(me, host, port)];
    if broker.rpc.is_some() {
        let state = broker.metadata.snapshot();
        out.extend(
            state
                .brokers
                .values()
                .filter(|b| b.id != me)
                .filter(|b| broker.is_live(b.id))
                .map(|b| (b.id, b.host.clone(), b.port)),
        );
        out.sort_by_key(|b| b.0);
    }
    out
}
