//! The partitions this broker holds, by topic and index, and their
//! directories `<data>/<topic>-<index>/`.
//!
//! Each partition directory carries a `partition.metadata` file naming its
//! topic id, so the data of a deleted topic can never be adopted by a new
//! topic of the same name. Deleting renames the directory to
//! `<topic>-<index>.<id>-delete` first (one atomic step), then removes it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use uuid::Uuid;

use super::{Partition, TopicPartition};
use crate::cluster::TopicMeta;
use crate::log::{LogConfig, LogError};

const PARTITION_METADATA: &str = "partition.metadata";
const DELETE_SUFFIX: &str = "-delete";

/// The partitions of this broker.
#[derive(Debug)]
pub struct PartitionRegistry {
    data_dir: PathBuf,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    flusher: Arc<super::flusher::FlushQueue>,
    /// Replicas are opened one at a time (opening awaits their Raft).
    opening: tokio::sync::Mutex<()>,
}

/// Parses `<topic>-<index>` directory names.
pub fn parse_dir_name(name: &str) -> Option<TopicPartition> {
    let (topic, index) = name.rsplit_once('-')?;
    if topic.is_empty() || index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(TopicPartition {
        topic: topic.to_owned(),
        partition: index.parse().ok()?,
    })
}

impl PartitionRegistry {
    /// A registry over `data_dir`, with its group-commit flush threads.
    pub fn new(data_dir: &Path) -> PartitionRegistry {
        PartitionRegistry {
            data_dir: data_dir.to_owned(),
            partitions: RwLock::new(HashMap::new()),
            flusher: super::flusher::FlushQueue::start(super::flusher::FLUSH_THREADS),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    /// The directory of a partition.
    pub fn dir_of(&self, tp: &TopicPartition) -> PathBuf {
        self.data_dir.join(tp.to_string())
    }

    /// Removes directories that belong to no current topic: leftovers of a
    /// delete interrupted by a crash, or of partitions of deleted topics.
    pub fn remove_strays(&self, topics: &[TopicMeta]) -> std::io::Result<()> {
        for entry in std::fs::read_dir(&self.data_dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let stray = if name.ends_with(DELETE_SUFFIX) {
                true
            } else if let Some(tp) = parse_dir_name(&name) {
                let known = topics
                    .iter()
                    .find(|t| t.name == tp.topic)
                    .filter(|t| tp.partition < t.partitions);
                match known {
                    None => true,
                    Some(t) => read_topic_id(&entry.path()).is_some_and(|id| id != t.id),
                }
            } else {
                false
            };
            if stray {
                tracing::info!(dir = %entry.path().display(), "removing directory of a deleted topic");
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        Ok(())
    }

    /// Opens (or creates) every partition of a topic that is not open yet,
    /// starting the flusher of each new one.
    pub fn open_topic(&self, topic: &TopicMeta, config: &LogConfig) -> Result<(), LogError> {
        for index in 0..topic.partitions {
            let tp = TopicPartition {
                topic: topic.name.clone(),
                partition: index,
            };
            // Checked and inserted under one write lock, so two concurrent
            // opens can never put two logs on one directory.
            let mut map = self.partitions.write();
            if map.contains_key(&tp) {
                continue;
            }
            let dir = self.dir_of(&tp);
            std::fs::create_dir_all(&dir)
                .map_err(|e| io_error("create partition directory", &dir, e))?;
            write_topic_id(&dir, topic.id)?;
            let partition = Partition::open(
                &dir,
                tp.clone(),
                topic.id,
                config.clone(),
                self.flusher.clone(),
            )?;
            map.insert(tp, partition);
        }
        Ok(())
    }

    /// Opens (or creates) this node's replicas of a topic's partitions that
    /// are not open yet, starting their Raft groups.
    pub async fn open_replicas(
        &self,
        topic: &TopicMeta,
        config: &LogConfig,
        node: &crate::replication::node::RaftNode,
        reports: &tokio::sync::mpsc::UnboundedSender<super::replica::LeaderReport>,
    ) -> Result<(), LogError> {
        let _one_at_a_time = self.opening.lock().await;
        let me = i32::try_from(node.id()).unwrap_or(-1);
        for index in 0..topic.partitions {
            let replicas = topic.replicas_of(index);
            if !replicas.contains(&me) {
                continue;
            }
            let tp = TopicPartition {
                topic: topic.name.clone(),
                partition: index,
            };
            if self.partitions.read().contains_key(&tp) {
                continue;
            }
            let dir = self.dir_of(&tp);
            std::fs::create_dir_all(&dir)
                .map_err(|e| io_error("create partition directory", &dir, e))?;
            write_topic_id(&dir, topic.id)?;
            let spec = super::replica::ReplicaSpec {
                node,
                replicas,
                reports: reports.clone(),
                formed: topic.leader_of(index).is_some(),
            };
            let partition = Partition::open_replica(
                &dir,
                tp.clone(),
                topic.id,
                config.clone(),
                self.flusher.clone(),
                spec,
            )
            .await?;
            self.partitions.write().insert(tp, partition);
        }
        Ok(())
    }

    /// Drops one partition and deletes its directory.
    pub fn remove_partition(&self, tp: &TopicPartition, topic_id: Uuid) -> std::io::Result<()> {
        if self.partitions.write().remove(tp).is_none() {
            return Ok(());
        }
        let dir = self.dir_of(tp);
        let doomed = self
            .data_dir
            .join(format!("{tp}.{}{DELETE_SUFFIX}", topic_id.simple()));
        std::fs::rename(&dir, &doomed)?;
        std::fs::remove_dir_all(&doomed)
    }

    /// Drops and deletes every partition of a topic.
    pub fn remove_topic(&self, topic: &TopicMeta) -> std::io::Result<()> {
        let removed: Vec<TopicPartition> = {
            let mut map = self.partitions.write();
            let keys: Vec<TopicPartition> = map
                .keys()
                .filter(|tp| tp.topic == topic.name)
                .cloned()
                .collect();
            for k in &keys {
                map.remove(k);
            }
            keys
        };
        for tp in removed {
            let dir = self.dir_of(&tp);
            let doomed = self
                .data_dir
                .join(format!("{tp}.{}{DELETE_SUFFIX}", topic.id.simple()));
            std::fs::rename(&dir, &doomed)?;
            std::fs::remove_dir_all(&doomed)?;
        }
        Ok(())
    }

    /// Closes every partition cleanly (flush + clean-shutdown checkpoint), so
    /// the next start skips recovery scans. Called once request handling has
    /// stopped and the flushers have been told to stop.
    pub fn close_all(&self) {
        let all: Vec<Arc<Partition>> = self.partitions.write().drain().map(|(_, p)| p).collect();
        for p in all {
            let id = p.id().clone();
            if let Err(e) = Partition::close(p) {
                tracing::error!(partition = %id, error = %e, "unclean close; recovery will run at next start");
            }
        }
    }

    /// A partition, if this broker has it.
    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        self.partitions
            .read()
            .get(&TopicPartition {
                topic: topic.to_owned(),
                partition,
            })
            .cloned()
    }

    /// Every partition, ordered by name.
    pub fn all(&self) -> Vec<Arc<Partition>> {
        let mut all: Vec<Arc<Partition>> = self.partitions.read().values().cloned().collect();
        all.sort_by(|a, b| a.id().cmp(b.id()));
        all
    }

    /// The partitions of one topic, ordered by index.
    pub fn of_topic(&self, topic: &str) -> Vec<Arc<Partition>> {
        let mut v: Vec<Arc<Partition>> = self
            .partitions
            .read()
            .values()
            .filter(|p| p.id().topic == topic)
            .cloned()
            .collect();
        v.sort_by_key(|p| p.id().partition);
        v
    }
}

fn io_error(context: &'static str, path: &Path, source: std::io::Error) -> LogError {
    LogError::Io {
        context,
        path: path.to_owned(),
        source,
    }
}

fn read_topic_id(dir: &Path) -> Option<Uuid> {
    let text = std::fs::read_to_string(dir.join(PARTITION_METADATA)).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("topic_id: "))
        .and_then(|id| Uuid::parse_str(id.trim()).ok())
}

fn write_topic_id(dir: &Path, id: Uuid) -> Result<(), LogError> {
    if read_topic_id(dir) == Some(id) {
        return Ok(());
    }
    let path = dir.join(PARTITION_METADATA);
    let tmp = dir.join("partition.metadata.tmp");
    let write = || -> std::io::Result<()> {
        std::fs::write(&tmp, format!("version: 0\ntopic_id: {id}\n"))?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| io_error("write partition.metadata", &path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partition_directory_names() {
        assert_eq!(
            parse_dir_name("my-topic-12"),
            Some(TopicPartition {
                topic: "my-topic".into(),
                partition: 12
            })
        );
        assert_eq!(parse_dir_name("orders-3.abc-delete"), None);
        assert_eq!(parse_dir_name("_holocron"), None);
        assert_eq!(parse_dir_name("-1"), None);
    }
}
