//! The cluster metadata state machine: topics, their ids, partition counts
//! and config overrides. It changes only by applying [`MetadataCommand`]s, the
//! same commands the metadata log stores (and, later, the metadata Raft group
//! replicates), so replaying the log rebuilds exactly the same state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One topic's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMeta {
    /// Name.
    pub name: String,
    /// Topic id (KIP-516).
    pub id: Uuid,
    /// Number of partitions.
    pub partitions: i32,
    /// Config overrides (name → value).
    pub configs: BTreeMap<String, String>,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// The replicas (node ids) of each partition, the preferred leader first.
    #[serde(default)]
    pub replicas: Vec<Vec<i32>>,
    /// The last leader each partition reported: (node id, leader epoch);
    /// (-1, -1) while none has.
    #[serde(default)]
    pub leaders: Vec<(i32, i32)>,
    /// Preferred-leader elections asked for, per partition (a counter: the
    /// partition's leader hands over to the first replica when it grows).
    #[serde(default)]
    pub elections: Vec<u32>,
    /// The Raft voters of each partition as its leader last reported them
    /// (empty: never reported; the replicas then). They differ from the
    /// replicas while a partition moves.
    #[serde(default)]
    pub voters: Vec<Vec<i32>>,
}

impl TopicMeta {
    /// The replicas of a partition (empty if out of range).
    pub fn replicas_of(&self, partition: i32) -> &[i32] {
        usize::try_from(partition)
            .ok()
            .and_then(|p| self.replicas.get(p))
            .map_or(&[], Vec::as_slice)
    }

    /// The last reported voters of a partition (empty if never reported).
    pub fn voters_of(&self, partition: i32) -> &[i32] {
        usize::try_from(partition)
            .ok()
            .and_then(|p| self.voters.get(p))
            .map_or(&[], Vec::as_slice)
    }

    /// A partition being moved: the replicas its leader has still to add
    /// and to remove (reported voters that differ from the replicas).
    pub fn moving(&self, partition: i32) -> Option<(Vec<i32>, Vec<i32>)> {
        let voters = self.voters_of(partition);
        if voters.is_empty() {
            return None;
        }
        let replicas = self.replicas_of(partition);
        let missing = |from: &[i32], to: &[i32]| -> Vec<i32> {
            from.iter().copied().filter(|n| !to.contains(n)).collect()
        };
        let (adding, removing) = (missing(replicas, voters), missing(voters, replicas));
        (!adding.is_empty() || !removing.is_empty()).then_some((adding, removing))
    }

    /// How many preferred-leader elections were asked for a partition.
    pub fn elections_of(&self, partition: i32) -> u32 {
        usize::try_from(partition)
            .ok()
            .and_then(|p| self.elections.get(p))
            .copied()
            .unwrap_or(0)
    }

    /// The last reported leader and epoch of a partition.
    pub fn leader_of(&self, partition: i32) -> Option<(i32, i32)> {
        usize::try_from(partition)
            .ok()
            .and_then(|p| self.leaders.get(p))
            .copied()
            .filter(|(node, _)| *node >= 0)
    }
}

/// A broker as clients reach it (registered by the broker itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerInfo {
    /// Node id.
    pub id: i32,
    /// Host clients connect to.
    pub host: String,
    /// Kafka port.
    pub port: i32,
}

/// A change to the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MetadataCommand {
    /// Fixes the cluster id, once.
    InitCluster {
        /// The id.
        cluster_id: String,
    },
    /// A new topic.
    CreateTopic {
        /// The topic.
        topic: TopicMeta,
    },
    /// A topic removed.
    DeleteTopic {
        /// Name.
        name: String,
    },
    /// More partitions for a topic.
    SetPartitionCount {
        /// Name.
        name: String,
        /// New total.
        count: i32,
        /// The replicas of each new partition.
        #[serde(default)]
        replicas: Vec<Vec<i32>>,
    },
    /// A broker announced where clients reach it.
    RegisterBroker {
        /// The broker.
        broker: BrokerInfo,
    },
    /// A partition's Raft leader reported itself.
    SetLeader {
        /// Topic id.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
        /// The leader's node id.
        leader: i32,
        /// Its term (the leader epoch).
        epoch: i32,
    },
    /// A partition's replica set changed (`partition move`).
    SetReplicas {
        /// Topic id.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
        /// The new replicas.
        replicas: Vec<i32>,
    },
    /// A partition's Raft voters changed (reported by its leader).
    SetVoters {
        /// Topic id.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
        /// The voters.
        voters: Vec<i32>,
    },
    /// A preferred-leader election was asked for (ElectLeaders).
    RequestElection {
        /// Topic id.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
    },
    /// A block of producer ids reserved for one broker.
    ReserveProducerIds {
        /// First id of the block.
        start: i64,
        /// Number of ids.
        count: i64,
    },
    /// Config overrides replaced.
    SetTopicConfigs {
        /// Name.
        name: String,
        /// The full new set of overrides.
        configs: BTreeMap<String, String>,
    },
}

/// The metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataState {
    /// Cluster id, set by the first command.
    pub cluster_id: Option<String>,
    /// Topics by name.
    pub topics: BTreeMap<String, TopicMeta>,
    /// First producer id not yet reserved.
    pub next_producer_id: i64,
    /// Brokers by node id.
    #[serde(default)]
    pub brokers: BTreeMap<i32, BrokerInfo>,
}

impl MetadataState {
    /// A topic by id and a partition index of it, if both exist.
    fn partition_mut(&mut self, topic_id: Uuid, partition: i32) -> Option<(&mut TopicMeta, usize)> {
        let t = self.topics.values_mut().find(|t| t.id == topic_id)?;
        let p = usize::try_from(partition)
            .ok()
            .filter(|_| partition < t.partitions)?;
        Some((t, p))
    }

    /// Applies a command. Commands are validated before they are logged, so
    /// applying never fails; a command that no longer fits (a replayed delete
    /// of a missing topic) changes nothing.
    pub fn apply(&mut self, cmd: &MetadataCommand) {
        match cmd {
            MetadataCommand::InitCluster { cluster_id } => {
                self.cluster_id.get_or_insert_with(|| cluster_id.clone());
            }
            MetadataCommand::CreateTopic { topic } => {
                // First wins: a create planned on stale state (a retried
                // request) must not replace a topic and orphan its data.
                self.topics
                    .entry(topic.name.clone())
                    .or_insert_with(|| topic.clone());
            }
            MetadataCommand::DeleteTopic { name } => {
                self.topics.remove(name);
            }
            MetadataCommand::SetPartitionCount {
                name,
                count,
                replicas,
            } => {
                if let Some(t) = self.topics.get_mut(name) {
                    if *count > t.partitions {
                        t.replicas.extend(replicas.iter().cloned());
                        t.partitions = *count;
                    }
                }
            }
            MetadataCommand::RegisterBroker { broker } => {
                self.brokers.insert(broker.id, broker.clone());
            }
            MetadataCommand::SetLeader {
                topic_id,
                partition,
                leader,
                epoch,
            } => {
                if let Some((t, p)) = self.partition_mut(*topic_id, *partition) {
                    let slot = slot(&mut t.leaders, p, (-1, -1));
                    if *epoch >= slot.1 {
                        *slot = (*leader, *epoch);
                    }
                }
            }
            MetadataCommand::SetReplicas {
                topic_id,
                partition,
                replicas,
            } => {
                if let Some(t) = self.topics.values_mut().find(|t| t.id == *topic_id) {
                    if let Some(r) = usize::try_from(*partition)
                        .ok()
                        .and_then(|p| t.replicas.get_mut(p))
                    {
                        r.clone_from(replicas);
                    }
                }
            }
            MetadataCommand::SetVoters {
                topic_id,
                partition,
                voters,
            } => {
                if let Some((t, p)) = self.partition_mut(*topic_id, *partition) {
                    slot(&mut t.voters, p, Vec::new()).clone_from(voters);
                }
            }
            MetadataCommand::RequestElection {
                topic_id,
                partition,
            } => {
                if let Some((t, p)) = self.partition_mut(*topic_id, *partition) {
                    let count = slot(&mut t.elections, p, 0);
                    *count = count.saturating_add(1);
                }
            }
            MetadataCommand::ReserveProducerIds { start, count } => {
                self.next_producer_id = self.next_producer_id.max(start.saturating_add(*count));
            }
            MetadataCommand::SetTopicConfigs { name, configs } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.configs = configs.clone();
                }
            }
        }
    }

    /// The topic with this id.
    pub fn topic_by_id(&self, id: Uuid) -> Option<&TopicMeta> {
        self.topics.values().find(|t| t.id == id)
    }
}

/// Element `p` of a per-partition list, growing it with `fill` as needed.
fn slot<T: Clone>(list: &mut Vec<T>, p: usize, fill: T) -> &mut T {
    if list.len() <= p {
        list.resize(p + 1, fill);
    }
    &mut list[p]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, partitions: i32) -> TopicMeta {
        TopicMeta {
            name: name.into(),
            id: Uuid::new_v4(),
            partitions,
            configs: BTreeMap::new(),
            created_ms: 0,
            replicas: vec![vec![0]; partitions as usize],
            leaders: Vec::new(),
            elections: Vec::new(),
            voters: Vec::new(),
        }
    }

    #[test]
    fn applies_commands_in_order() {
        let mut s = MetadataState::default();
        let t = topic("a", 2);
        s.apply(&MetadataCommand::CreateTopic { topic: t.clone() });
        s.apply(&MetadataCommand::SetPartitionCount {
            name: "a".into(),
            count: 4,
            replicas: vec![vec![1], vec![2]],
        });
        s.apply(&MetadataCommand::SetPartitionCount {
            name: "a".into(),
            count: 3,
            replicas: vec![vec![9]],
        });
        assert_eq!(s.topics["a"].partitions, 4);
        assert_eq!(s.topics["a"].replicas_of(3), &[2]);
        s.apply(&MetadataCommand::SetLeader {
            topic_id: t.id,
            partition: 1,
            leader: 2,
            epoch: 5,
        });
        s.apply(&MetadataCommand::SetLeader {
            topic_id: t.id,
            partition: 1,
            leader: 1,
            epoch: 4,
        });
        assert_eq!(s.topics["a"].leader_of(1), Some((2, 5)));
        assert_eq!(s.topics["a"].leader_of(0), None);
        assert_eq!(s.topic_by_id(t.id).map(|t| t.name.as_str()), Some("a"));
        s.apply(&MetadataCommand::DeleteTopic { name: "a".into() });
        assert!(s.topics.is_empty());
        s.apply(&MetadataCommand::InitCluster {
            cluster_id: "x".into(),
        });
        s.apply(&MetadataCommand::InitCluster {
            cluster_id: "y".into(),
        });
        assert_eq!(s.cluster_id.as_deref(), Some("x"));
    }
}
