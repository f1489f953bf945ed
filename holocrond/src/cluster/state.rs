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
}

impl MetadataState {
    /// Applies a command. Commands are validated before they are logged, so
    /// applying never fails; a command that no longer fits (a replayed delete
    /// of a missing topic) changes nothing.
    pub fn apply(&mut self, cmd: &MetadataCommand) {
        match cmd {
            MetadataCommand::InitCluster { cluster_id } => {
                self.cluster_id.get_or_insert_with(|| cluster_id.clone());
            }
            MetadataCommand::CreateTopic { topic } => {
                self.topics.insert(topic.name.clone(), topic.clone());
            }
            MetadataCommand::DeleteTopic { name } => {
                self.topics.remove(name);
            }
            MetadataCommand::SetPartitionCount { name, count } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.partitions = (*count).max(t.partitions);
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
        });
        s.apply(&MetadataCommand::SetPartitionCount {
            name: "a".into(),
            count: 3,
        });
        assert_eq!(s.topics["a"].partitions, 4);
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
