//! The broker's shared state and the topic operations that span layers:
//! metadata first (durably), then the partitions that follow from it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use crate::cluster::{topic_config, ConfigOp, MetadataStore, TopicError, TopicMeta};
use crate::config::Config;
use crate::groups::{GroupConfig, GroupCoordinator};
use crate::log::LogConfig;
use crate::metrics::Metrics;
use crate::partition::registry::PartitionRegistry;

/// Everything a request handler can reach.
#[derive(Debug)]
pub struct Broker {
    /// Validated configuration.
    pub config: Config,
    /// Cluster metadata.
    pub metadata: MetadataStore,
    /// This broker's partitions.
    pub partitions: PartitionRegistry,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Producer ids for InitProducerId.
    pub producer_ids: crate::producer::ProducerIdAllocator,
    /// Fires once when the broker starts shutting down.
    pub shutdown: CancellationToken,
    /// When the broker started.
    pub started: Instant,
    /// The consumer group coordinator.
    pub groups: Arc<GroupCoordinator>,
}

/// A broker that could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory is unusable.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The metadata could not be loaded.
    #[error(transparent)]
    Metadata(#[from] crate::cluster::metadata_log::MetadataLogError),
    /// A partition could not be opened.
    #[error("opening partition: {0}")]
    Partition(#[from] crate::log::LogError),
    /// The offsets topic could not be created.
    #[error("creating __consumer_offsets: {0}")]
    OffsetsTopic(TopicError),
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Broker {
    /// Opens the data directory: metadata, then every topic's partitions.
    pub fn open(config: Config, shutdown: CancellationToken) -> Result<Arc<Broker>, StartError> {
        let data_err = |source| StartError::DataDir {
            path: config.data_dir.clone(),
            source,
        };
        std::fs::create_dir_all(&config.data_dir).map_err(data_err)?;
        let metadata = MetadataStore::open(&config.data_dir.join("_holocron"))?;
        let partitions = PartitionRegistry::new(&config.data_dir);
        let topics: Vec<TopicMeta> = metadata.snapshot().topics.values().cloned().collect();
        partitions.remove_strays(&topics).map_err(data_err)?;
        let mut broker = Broker {
            metrics: Metrics::new(),
            producer_ids: Default::default(),
            config,
            metadata,
            partitions,
            shutdown,
            started: Instant::now(),
            groups: Arc::new(GroupCoordinator::open(GroupConfig::default(), Vec::new())?),
        };
        for topic in &topics {
            broker
                .partitions
                .open_topic(topic, &broker.topic_log_config(topic))?;
        }
        broker.groups = Arc::new(broker.open_groups()?);
        Ok(Arc::new(broker))
    }

    /// Creates `__consumer_offsets` if it is missing (compacted, with
    /// `--offsets-topic-partitions` partitions) and loads the groups stored in it.
    fn open_groups(&self) -> Result<GroupCoordinator, StartError> {
        let name = crate::groups::OFFSETS_TOPIC;
        let existing = self.metadata.snapshot().topics.get(name).cloned();
        let topic = match existing {
            Some(t) => t,
            None => {
                let configs = BTreeMap::from([
                    ("cleanup.policy".to_owned(), "compact".to_owned()),
                    ("segment.bytes".to_owned(), "104857600".to_owned()),
                ]);
                self.create_topic(name, self.config.groups.offsets_topic_partitions, configs)
                    .map_err(StartError::OffsetsTopic)?
            }
        };
        let partitions = (0..topic.partitions)
            .filter_map(|i| self.partitions.get(name, i))
            .collect();
        Ok(GroupCoordinator::open(
            self.config.groups.clone(),
            partitions,
        )?)
    }

    /// The log settings of a topic.
    pub fn topic_log_config(&self, topic: &TopicMeta) -> LogConfig {
        topic_config::log_config(&topic.configs, &self.config.log_defaults)
    }

    /// Creates a topic and its partitions.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
    ) -> Result<TopicMeta, TopicError> {
        let topic = self
            .metadata
            .create_topic(name, partitions, configs, now_ms())?;
        tracing::info!(topic = name, partitions, "created topic");
        self.open_partitions(&topic)?;
        Ok(topic)
    }

    fn open_partitions(&self, topic: &TopicMeta) -> Result<(), TopicError> {
        self.partitions
            .open_topic(topic, &self.topic_log_config(topic))
            .map_err(|e| {
                tracing::error!(topic = %topic.name, error = %e, "cannot open partitions");
                TopicError::Log(e)
            })
    }

    /// Deletes a topic and its data.
    pub fn delete_topic(&self, name: &str) -> Result<TopicMeta, TopicError> {
        let topic = self.metadata.delete_topic(name)?;
        tracing::info!(topic = name, "deleted topic");
        if let Err(e) = self.partitions.remove_topic(&topic) {
            // The metadata no longer names the topic; stray directories are
            // removed at the next start.
            tracing::warn!(topic = name, error = %e, "could not remove all partition directories");
        }
        Ok(topic)
    }

    /// Raises a topic's partition count.
    pub fn add_partitions(&self, name: &str, count: i32) -> Result<(), TopicError> {
        self.metadata.set_partition_count(name, count)?;
        let topic = self
            .metadata
            .snapshot()
            .topics
            .get(name)
            .cloned()
            .ok_or_else(|| TopicError::Unknown(name.to_owned()))?;
        tracing::info!(topic = name, partitions = count, "added partitions");
        self.open_partitions(&topic)
    }

    /// Changes a topic's config overrides and applies them to its partitions.
    pub fn alter_topic_configs(&self, name: &str, ops: &[ConfigOp]) -> Result<(), TopicError> {
        self.metadata.alter_configs(name, ops)?;
        if let Some(topic) = self.metadata.snapshot().topics.get(name) {
            let config = self.topic_log_config(topic);
            for p in self.partitions.of_topic(name) {
                p.set_config(config.clone());
            }
        }
        Ok(())
    }
}
