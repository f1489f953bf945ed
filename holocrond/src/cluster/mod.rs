//! Cluster metadata: topics, topic ids, partition counts and config
//! overrides, held by [`MetadataStore`] and persisted through the metadata log.
//!
//! Every change is validated, logged durably, then applied, so what readers
//! see has always been persisted. Readers take cheap `Arc` snapshots.

pub mod metadata_log;
pub mod state;
pub mod topic_config;
pub mod topic_name;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use uuid::Uuid;

use metadata_log::{MetadataLog, MetadataLogError};
pub use state::{MetadataCommand, MetadataState, TopicMeta};
use topic_config::ConfigValueError;
use topic_name::TopicNameError;

/// Most partitions a topic may have.
pub const MAX_PARTITIONS: i32 = 100_000;

/// Why a topic operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The topic exists already.
    #[error("topic {0:?} already exists")]
    AlreadyExists(String),
    /// The topic does not exist.
    #[error("topic {0:?} does not exist")]
    Unknown(String),
    /// The name is not valid.
    #[error(transparent)]
    InvalidName(#[from] TopicNameError),
    /// The name collides with an existing one (`.` vs `_`).
    #[error("topic {name:?} collides with existing topic {existing:?}")]
    Collides {
        /// Requested name.
        name: String,
        /// Existing name.
        existing: String,
    },
    /// Bad partition count.
    #[error("{0}")]
    InvalidPartitions(String),
    /// Bad replication factor.
    #[error("{0}")]
    InvalidReplicationFactor(String),
    /// Bad config.
    #[error(transparent)]
    InvalidConfig(#[from] ConfigValueError),
    /// The metadata could not be persisted.
    #[error(transparent)]
    Storage(#[from] MetadataLogError),
    /// A partition's log could not be created or opened.
    #[error("partition storage: {0}")]
    Log(#[from] crate::log::LogError),
}

/// A config change of IncrementalAlterConfigs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    /// Set a value.
    Set(String, String),
    /// Remove an override (back to the default).
    Delete(String),
    /// Add to a list value.
    Append(String, String),
    /// Remove from a list value.
    Subtract(String, String),
}

/// The metadata, its log, and the lock that orders changes.
#[derive(Debug)]
pub struct MetadataStore {
    log: Mutex<MetadataLog>,
    state: RwLock<Arc<MetadataState>>,
}

impl MetadataStore {
    /// Opens the metadata under `dir` (created if missing), fixing a cluster id on first use.
    pub fn open(dir: &Path) -> Result<MetadataStore, MetadataLogError> {
        std::fs::create_dir_all(dir).map_err(|source| MetadataLogError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let (mut log, mut state) = MetadataLog::open(&dir.join("metadata.log"))?;
        if state.cluster_id.is_none() {
            let cmd = MetadataCommand::InitCluster {
                cluster_id: new_cluster_id(),
            };
            log.append(&cmd)?;
            state.apply(&cmd);
        }
        Ok(MetadataStore {
            log: Mutex::new(log),
            state: RwLock::new(Arc::new(state)),
        })
    }

    /// The current metadata.
    pub fn snapshot(&self) -> Arc<MetadataState> {
        self.state.read().clone()
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> String {
        self.snapshot().cluster_id.clone().unwrap_or_default()
    }

    /// Validates, logs and applies one command; `check` runs under the write
    /// lock against the current state and builds the command.
    fn change<T>(
        &self,
        check: impl FnOnce(&MetadataState) -> Result<(MetadataCommand, T), TopicError>,
    ) -> Result<T, TopicError> {
        let mut log = self.log.lock();
        let current = self.snapshot();
        let (cmd, out) = check(&current)?;
        log.append(&cmd)?;
        let mut next = (*current).clone();
        next.apply(&cmd);
        *self.state.write() = Arc::new(next);
        Ok(out)
    }

    /// Checks a new topic without creating it (CreateTopics validate_only).
    pub fn check_new_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), TopicError> {
        check_new_topic(&self.snapshot(), name, partitions, configs)
    }

    /// Creates a topic.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
        now_ms: i64,
    ) -> Result<TopicMeta, TopicError> {
        self.change(|state| {
            check_new_topic(state, name, partitions, &configs)?;
            let topic = TopicMeta {
                name: name.to_owned(),
                id: Uuid::new_v4(),
                partitions,
                configs,
                created_ms: now_ms,
            };
            Ok((
                MetadataCommand::CreateTopic {
                    topic: topic.clone(),
                },
                topic,
            ))
        })
    }

    /// Deletes a topic, returning what it was.
    pub fn delete_topic(&self, name: &str) -> Result<TopicMeta, TopicError> {
        self.change(|state| {
            let topic = state
                .topics
                .get(name)
                .cloned()
                .ok_or_else(|| TopicError::Unknown(name.to_owned()))?;
            Ok((
                MetadataCommand::DeleteTopic {
                    name: name.to_owned(),
                },
                topic,
            ))
        })
    }

    /// Checks a partition count increase; returns the current count.
    pub fn check_partition_count(&self, name: &str, count: i32) -> Result<i32, TopicError> {
        check_partition_count(&self.snapshot(), name, count)
    }

    /// Raises a topic's partition count; returns the old count.
    pub fn set_partition_count(&self, name: &str, count: i32) -> Result<i32, TopicError> {
        self.change(|state| {
            let old = check_partition_count(state, name, count)?;
            Ok((
                MetadataCommand::SetPartitionCount {
                    name: name.to_owned(),
                    count,
                },
                old,
            ))
        })
    }

    /// Reserves `count` producer ids; returns the first.
    pub fn reserve_producer_ids(&self, count: i64) -> Result<i64, TopicError> {
        self.change(|state| {
            let start = state.next_producer_id;
            Ok((MetadataCommand::ReserveProducerIds { start, count }, start))
        })
    }

    /// Computes a topic's new overrides from config ops, validating them.
    pub fn check_config_ops(
        &self,
        name: &str,
        ops: &[ConfigOp],
    ) -> Result<BTreeMap<String, String>, TopicError> {
        apply_config_ops(&self.snapshot(), name, ops)
    }

    /// Applies config ops to a topic; returns the new overrides.
    pub fn alter_configs(
        &self,
        name: &str,
        ops: &[ConfigOp],
    ) -> Result<BTreeMap<String, String>, TopicError> {
        self.change(|state| {
            let configs = apply_config_ops(state, name, ops)?;
            Ok((
                MetadataCommand::SetTopicConfigs {
                    name: name.to_owned(),
                    configs: configs.clone(),
                },
                configs,
            ))
        })
    }
}

fn new_cluster_id() -> String {
    // Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits = Uuid::new_v4().as_u128();
    (0..22)
        .map(|i| ALPHABET[((bits >> (i * 6)) & 63) as usize] as char)
        .collect()
}

fn check_new_topic(
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

fn check_partition_count(state: &MetadataState, name: &str, count: i32) -> Result<i32, TopicError> {
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

fn apply_config_ops(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_survive_reopen_and_rules_hold() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id;
        {
            let store = MetadataStore::open(dir.path()).expect("open");
            id = store.cluster_id();
            assert_eq!(id.len(), 22);
            store
                .create_topic("a.b", 3, BTreeMap::new(), 1)
                .expect("create");
            assert!(matches!(
                store.create_topic("a.b", 1, BTreeMap::new(), 1),
                Err(TopicError::AlreadyExists(_))
            ));
            assert!(matches!(
                store.create_topic("a_b", 1, BTreeMap::new(), 1),
                Err(TopicError::Collides { .. })
            ));
            assert!(matches!(
                store.create_topic("z", 0, BTreeMap::new(), 1),
                Err(TopicError::InvalidPartitions(_))
            ));
            assert_eq!(store.set_partition_count("a.b", 5).expect("grow"), 3);
            assert!(store.set_partition_count("a.b", 5).is_err());
            let cfg = store
                .alter_configs(
                    "a.b",
                    &[
                        ConfigOp::Set("retention.ms".into(), "10".into()),
                        ConfigOp::Append("cleanup.policy".into(), "compact".into()),
                    ],
                )
                .expect("alter");
            assert_eq!(
                cfg.get("cleanup.policy").map(String::as_str),
                Some("delete,compact")
            );
            store
                .create_topic("gone", 1, BTreeMap::new(), 1)
                .expect("create");
            store.delete_topic("gone").expect("delete");
        }
        let store = MetadataStore::open(dir.path()).expect("reopen");
        let s = store.snapshot();
        assert_eq!(store.cluster_id(), id);
        assert_eq!(s.topics.len(), 1);
        assert_eq!(s.topics["a.b"].partitions, 5);
        assert_eq!(
            s.topics["a.b"]
                .configs
                .get("retention.ms")
                .map(String::as_str),
            Some("10")
        );
    }
}
