//! What a metadata request becomes: checked against the current metadata,
//! the commands to commit and the answer to give. Pure functions, so the
//! metadata leader (which runs them) and tests agree on every rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::state::{BrokerInfo, MetadataCommand, MetadataState, TopicMeta};
use super::topic_config::{self, ConfigValueError};
use super::topic_name;
use super::{ConfigOp, TopicError, MAX_PARTITIONS};

/// Where a new topic's (or new partitions') replicas go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// This many replicas per partition, spread over the nodes (-1: the
    /// broker's default).
    Factor(i16),
    /// Exactly these replicas per partition (CreateTopics assignments).
    Explicit(Vec<Vec<i32>>),
}

/// A change to the metadata as a broker asks for it; the metadata leader
/// plans it into commands. Travels between nodes when a follower forwards it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MetaRequest {
    /// Fix the cluster id (ignored once set).
    InitCluster {
        /// The id.
        cluster_id: String,
    },
    /// A new topic.
    CreateTopic {
        /// Name.
        name: String,
        /// Partition count.
        partitions: i32,
        /// Replica placement.
        placement: Placement,
        /// Config overrides.
        configs: BTreeMap<String, String>,
        /// Creation time.
        now_ms: i64,
    },
    /// Delete a topic.
    DeleteTopic {
        /// Name.
        name: String,
    },
    /// Raise a topic's partition count.
    AddPartitions {
        /// Name.
        name: String,
        /// The new total.
        count: i32,
        /// Replica placement of the new partitions.
        placement: Placement,
    },
    /// Change config overrides.
    AlterConfigs {
        /// Name.
        name: String,
        /// The changes, in order.
        ops: Vec<ConfigOp>,
    },
    /// Reserve a block of producer ids.
    ReserveProducerIds {
        /// How many.
        count: i64,
    },
    /// Announce a broker's client address.
    RegisterBroker {
        /// The broker.
        broker: BrokerInfo,
    },
    /// A partition leader reports itself.
    ReportLeader {
        /// Topic id.
        topic_id: Uuid,
        /// Partition.
        partition: i32,
        /// Leader node.
        leader: i32,
        /// Its term.
        epoch: i32,
    },
    /// Ask a partition's leader to hand over to its preferred replica.
    ElectPreferred {
        /// Topic id.
        topic_id: Uuid,
        /// Partition.
        partition: i32,
    },
    /// A partition leader reports the voters of its group.
    ReportVoters {
        /// Topic id.
        topic_id: Uuid,
        /// Partition.
        partition: i32,
        /// The voters.
        voters: Vec<i32>,
    },
    /// Reassign a partition: reorder its replicas (the first is the
    /// preferred leader) or move it to other nodes (the leader changes the
    /// group's voters to match).
    SetReplicas {
        /// Topic id.
        topic_id: Uuid,
        /// Partition.
        partition: i32,
        /// New replicas.
        replicas: Vec<i32>,
    },
}

/// The answer to a [`MetaRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaReply {
    /// The topic created or deleted.
    Topic(TopicMeta),
    /// The partition count before the change.
    Count(i32),
    /// The first id of a reserved block.
    ProducerIds(i64),
    /// A topic's new overrides.
    Configs(BTreeMap<String, String>),
    /// A preferred-leader election was asked of the partition's leader;
    /// the preferred replica is this node.
    Election(i32),
    /// The preferred replica leads already.
    ElectionNotNeeded,
    /// Nothing to say.
    Done,
}

/// The nodes replicas may be placed on and the default replication factor.
#[derive(Debug, Clone)]
pub struct Nodes {
    /// Node ids, ascending.
    pub ids: Vec<i32>,
    /// Replication factor when a request gives -1.
    pub default_replication_factor: i16,
}

/// Plans `req` against `state`: the commands to commit (none when nothing
/// changes) and the answer.
pub fn plan(
    state: &MetadataState,
    req: &MetaRequest,
    nodes: &Nodes,
) -> Result<(Vec<MetadataCommand>, MetaReply), TopicError> {
    Ok(match req {
        MetaRequest::InitCluster { cluster_id } => {
            if state.cluster_id.is_some() {
                (Vec::new(), MetaReply::Done)
            } else {
                (
                    vec![MetadataCommand::InitCluster {
                        cluster_id: cluster_id.clone(),
                    }],
                    MetaReply::Done,
                )
            }
        }
        MetaRequest::CreateTopic {
            name,
            partitions,
            placement,
            configs,
            now_ms,
        } => {
            check_new_topic(state, name, *partitions, configs)?;
            let replicas = place(name, 0, *partitions, placement, nodes)?;
            let topic = TopicMeta {
                name: name.clone(),
                id: Uuid::new_v4(),
                partitions: *partitions,
                configs: configs.clone(),
                created_ms: *now_ms,
                replicas,
                leaders: Vec::new(),
                elections: Vec::new(),
                voters: Vec::new(),
            };
            (
                vec![MetadataCommand::CreateTopic {
                    topic: topic.clone(),
                }],
                MetaReply::Topic(topic),
            )
        }
        MetaRequest::DeleteTopic { name } => {
            let topic = state
                .topics
                .get(name)
                .cloned()
                .ok_or_else(|| TopicError::Unknown(name.clone()))?;
            (
                vec![MetadataCommand::DeleteTopic { name: name.clone() }],
                MetaReply::Topic(topic),
            )
        }
        MetaRequest::AddPartitions {
            name,
            count,
            placement,
        } => {
            let old = check_partition_count(state, name, *count)?;
            let replicas = place(name, old, *count - old, placement, nodes)?;
            (
                vec![MetadataCommand::SetPartitionCount {
                    name: name.clone(),
                    count: *count,
                    replicas,
                }],
                MetaReply::Count(old),
            )
        }
        MetaRequest::AlterConfigs { name, ops } => {
            let configs = apply_config_ops(state, name, ops)?;
            (
                vec![MetadataCommand::SetTopicConfigs {
                    name: name.clone(),
                    configs: configs.clone(),
                }],
                MetaReply::Configs(configs),
            )
        }
        MetaRequest::ReserveProducerIds { count } => {
            let start = state.next_producer_id;
            (
                vec![MetadataCommand::ReserveProducerIds {
                    start,
                    count: *count,
                }],
                MetaReply::ProducerIds(start),
            )
        }
        MetaRequest::RegisterBroker { broker } => {
            if state.brokers.get(&broker.id) == Some(broker) {
                (Vec::new(), MetaReply::Done)
            } else {
                (
                    vec![MetadataCommand::RegisterBroker {
                        broker: broker.clone(),
                    }],
                    MetaReply::Done,
                )
            }
        }
        MetaRequest::ReportLeader {
            topic_id,
            partition,
            leader,
            epoch,
        } => {
            let current = state
                .topic_by_id(*topic_id)
                .ok_or_else(|| TopicError::Unknown(topic_id.to_string()))?
                .leader_of(*partition);
            if current.is_some_and(|(l, e)| e > *epoch || (e == *epoch && l == *leader)) {
                (Vec::new(), MetaReply::Done)
            } else {
                (
                    vec![MetadataCommand::SetLeader {
                        topic_id: *topic_id,
                        partition: *partition,
                        leader: *leader,
                        epoch: *epoch,
                    }],
                    MetaReply::Done,
                )
            }
        }
        MetaRequest::ReportVoters {
            topic_id,
            partition,
            voters,
        } => {
            let topic = existing_partition(state, *topic_id, *partition)?;
            if topic.voters_of(*partition) == voters.as_slice() {
                (Vec::new(), MetaReply::Done)
            } else {
                (
                    vec![MetadataCommand::SetVoters {
                        topic_id: *topic_id,
                        partition: *partition,
                        voters: voters.clone(),
                    }],
                    MetaReply::Done,
                )
            }
        }
        MetaRequest::ElectPreferred {
            topic_id,
            partition,
        } => {
            let topic = existing_partition(state, *topic_id, *partition)?;
            let preferred = topic.replicas_of(*partition).first().copied().unwrap_or(-1);
            if topic.leader_of(*partition).map(|(l, _)| l) == Some(preferred) {
                (Vec::new(), MetaReply::ElectionNotNeeded)
            } else {
                (
                    vec![MetadataCommand::RequestElection {
                        topic_id: *topic_id,
                        partition: *partition,
                    }],
                    MetaReply::Election(preferred),
                )
            }
        }
        MetaRequest::SetReplicas {
            topic_id,
            partition,
            replicas,
        } => {
            let topic = existing_partition(state, *topic_id, *partition)?;
            check_replica_list(replicas, nodes)?;
            let mut commands = Vec::new();
            // The old replicas keep their copies until the leader reports
            // voters without them.
            if topic.voters_of(*partition).is_empty() {
                commands.push(MetadataCommand::SetVoters {
                    topic_id: *topic_id,
                    partition: *partition,
                    voters: topic.replicas_of(*partition).to_vec(),
                });
            }
            commands.push(MetadataCommand::SetReplicas {
                topic_id: *topic_id,
                partition: *partition,
                replicas: replicas.clone(),
            });
            (commands, MetaReply::Done)
        }
    })
}

/// Replicas for partitions `first..first + count` of `topic`: explicit
/// lists are checked; a factor spreads replicas round-robin over the nodes
/// from a start that depends on the topic, so leaders (the first replica
/// is the preferred one) spread too.
pub fn place(
    topic: &str,
    first: i32,
    count: i32,
    placement: &Placement,
    nodes: &Nodes,
) -> Result<Vec<Vec<i32>>, TopicError> {
    match placement {
        Placement::Explicit(lists) => {
            if lists.len() != usize::try_from(count).unwrap_or(0) {
                return Err(TopicError::InvalidReplicaAssignment(format!(
                    "{} replica lists given for {count} partitions",
                    lists.len()
                )));
            }
            for l in lists {
                check_replica_list(l, nodes)?;
            }
            Ok(lists.clone())
        }
        Placement::Factor(rf) => {
            let rf = if *rf == -1 {
                nodes.default_replication_factor.min(nodes.ids.len() as i16)
            } else {
                *rf
            };
            if rf < 1 {
                return Err(TopicError::InvalidReplicationFactor(format!(
                    "replication factor must be at least 1, got {rf}"
                )));
            }
            let n = nodes.ids.len();
            if rf as usize > n {
                return Err(TopicError::InvalidReplicationFactor(format!(
                    "replication factor {rf} is larger than the {n} available broker{}",
                    if n == 1 { "" } else { "s" }
                )));
            }
            let start = topic.bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            Ok((first..first + count)
                .map(|p| {
                    (0..rf as usize)
                        .map(|k| nodes.ids[(start + p as usize + k) % n])
                        .collect()
                })
                .collect())
        }
    }
}

/// The topic of an existing partition, by topic id.
fn existing_partition(
    state: &MetadataState,
    topic_id: Uuid,
    partition: i32,
) -> Result<&TopicMeta, TopicError> {
    let topic = state
        .topic_by_id(topic_id)
        .ok_or_else(|| TopicError::Unknown(topic_id.to_string()))?;
    if partition < 0 || partition >= topic.partitions {
        return Err(TopicError::InvalidPartitions(format!(
            "topic {:?} has no partition {partition}",
            topic.name
        )));
    }
    Ok(topic)
}

fn check_replica_list(replicas: &[i32], nodes: &Nodes) -> Result<(), TopicError> {
    if replicas.is_empty() {
        return Err(TopicError::InvalidReplicaAssignment(
            "a partition needs at least one replica".into(),
        ));
    }
    for (i, r) in replicas.iter().enumerate() {
        if !nodes.ids.contains(r) {
            return Err(TopicError::InvalidReplicaAssignment(format!(
                "node {r} is not in the cluster (nodes: {:?})",
                nodes.ids
            )));
        }
        if replicas[..i].contains(r) {
            return Err(TopicError::InvalidReplicaAssignment(format!(
                "node {r} is listed twice"
            )));
        }
    }
    Ok(())
}

pub(super) fn check_new_topic(
    state: &MetadataState,
    name: &str,
    partitions: i32,
    configs: &BTreeMap<String, String>,
) -> Result<(), TopicError> {
    topic_name::validate(name)?;
    if state.topics.contains_key(name) {
        return Err(TopicError::AlreadyExists(name.to_owned()));
    }
    let key = topic_name::collision_key(name);
    if let Some(existing) = state
        .topics
        .keys()
        .find(|t| topic_name::collision_key(t) == key)
    {
        return Err(TopicError::Collides {
            name: name.to_owned(),
            existing: existing.clone(),
        });
    }
    if !(1..=MAX_PARTITIONS).contains(&partitions) {
        return Err(TopicError::InvalidPartitions(format!(
            "number of partitions must be between 1 and {MAX_PARTITIONS}, got {partitions}"
        )));
    }
    for (k, v) in configs {
        topic_config::validate(k, v)?;
    }
    Ok(())
}

pub(super) fn check_partition_count(
    state: &MetadataState,
    name: &str,
    count: i32,
) -> Result<i32, TopicError> {
    let topic = state
        .topics
        .get(name)
        .ok_or_else(|| TopicError::Unknown(name.to_owned()))?;
    if count <= topic.partitions {
        return Err(TopicError::InvalidPartitions(format!(
            "topic {name:?} has {} partitions; the new count must be larger, got {count}",
            topic.partitions
        )));
    }
    if count > MAX_PARTITIONS {
        return Err(TopicError::InvalidPartitions(format!(
            "number of partitions cannot exceed {MAX_PARTITIONS}"
        )));
    }
    Ok(topic.partitions)
}

pub(super) fn apply_config_ops(
    state: &MetadataState,
    name: &str,
    ops: &[ConfigOp],
) -> Result<BTreeMap<String, String>, TopicError> {
    let topic = state
        .topics
        .get(name)
        .ok_or_else(|| TopicError::Unknown(name.to_owned()))?;
    let mut configs = topic.configs.clone();
    for op in ops {
        match op {
            ConfigOp::Set(k, v) => {
                topic_config::validate(k, v)?;
                configs.insert(k.clone(), v.clone());
            }
            ConfigOp::Delete(k) => {
                if topic_config::def(k).is_none() {
                    return Err(ConfigValueError::Unknown(k.clone()).into());
                }
                configs.remove(k);
            }
            ConfigOp::Append(k, v) | ConfigOp::Subtract(k, v) => {
                let def =
                    topic_config::def(k).ok_or_else(|| ConfigValueError::Unknown(k.clone()))?;
                if def.kind != topic_config::ConfigType::List {
                    return Err(ConfigValueError::BadValue {
                        name: k.clone(),
                        value: v.clone(),
                        reason: "APPEND and SUBTRACT apply to list configs only",
                    }
                    .into());
                }
                let current = configs
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| "delete".to_owned());
                let mut items: Vec<String> = current
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                let change: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
                if matches!(op, ConfigOp::Append(..)) {
                    for c in change {
                        if !items.contains(&c) {
                            items.push(c);
                        }
                    }
                } else {
                    items.retain(|i| !change.contains(i));
                }
                let joined = items.join(",");
                topic_config::validate(k, &joined)?;
                configs.insert(k.clone(), joined);
            }
        }
    }
    Ok(configs)
}
