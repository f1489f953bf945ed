//! Cluster metadata: topics, topic ids, partition counts, replicas and
//! leaders, config overrides, brokers and producer-id blocks, held by
//! [`MetadataStore`] and replicated by the metadata Raft group (DESIGN.md
//! §4) — a 1-voter group on a standalone broker, one code path.
//!
//! A change is planned on the metadata leader against the current state
//! ([`plan`]), committed through Raft, and applied on every node by the
//! group's state machine; a node that is not the leader forwards the
//! request to it. Readers take cheap `Arc` snapshots.

pub mod forward;
pub mod plan;
pub mod state;
pub mod topic_config;
pub mod topic_name;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use openraft::error::{ClientWriteError, LinearizableReadError, RaftError};
use openraft::impls::BasicNode;
use openraft::{Raft, ReadPolicy};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use crate::log::{FlushPolicy, Log, LogConfig};
use crate::partition::quorum::{progress, CaughtUp, QuorumView, ReplicaProgress};
use crate::replication::group_id::GroupId;
use crate::replication::log_store::RaftLogStore;
use crate::replication::meta_sm::{self, MetaStateMachine};
use crate::replication::node::RaftNode;
use crate::replication::service::{GroupRaft, MetaRaft};
use crate::replication::types::{HoloRaft, NodeId};
pub use plan::{MetaReply, MetaRequest, Nodes, Placement};
pub use state::{BrokerInfo, MetadataCommand, MetadataState, TopicMeta};
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
    /// Bad explicit replica assignment.
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    /// This node cannot change the metadata; the leader is the given node
    /// if known.
    #[error("this node is not the metadata leader{}", .0.map(|l| format!(" (node {l} is)")).unwrap_or_default())]
    NotController(Option<NodeId>),
    /// The change could not be committed (no quorum, timed out, stopping).
    #[error("metadata unavailable: {0}")]
    Unavailable(String),
    /// The metadata leader refused a forwarded request with a Kafka error.
    #[error("{message}")]
    Remote {
        /// Kafka error code.
        code: i16,
        /// The leader's message.
        message: String,
    },
    /// Bad config.
    #[error(transparent)]
    InvalidConfig(#[from] ConfigValueError),
    /// The metadata could not be stored.
    #[error("metadata storage: {0}")]
    Storage(String),
    /// A partition's log could not be created or opened.
    #[error("partition storage: {0}")]
    Log(#[from] crate::log::LogError),
}

/// A config change of IncrementalAlterConfigs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// How long a metadata change may take to commit.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the metadata could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum MetadataOpenError {
    /// The metadata log or state files.
    #[error("metadata storage {path}: {source}")]
    Io {
        /// The directory.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The metadata Raft group could not start.
    #[error("metadata group: {0}")]
    Raft(String),
}

/// The cluster metadata and its Raft group.
pub struct MetadataStore {
    raft: MetaRaft,
    sm: MetaStateMachine,
    node: RaftNode,
    nodes: RwLock<Nodes>,
    /// Orders changes made on this node while it leads.
    write_lock: tokio::sync::Mutex<()>,
    /// When voters were last seen caught up (DescribeQuorum).
    caught_up: CaughtUp,
}

impl std::fmt::Debug for MetadataStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataStore")
            .field("node", &self.node.id())
            .finish_non_exhaustive()
    }
}

impl MetadataStore {
    /// Opens the metadata group whose log lives in `dir` (created if
    /// missing). A group never started before is initialized with `voters`
    /// (every node of a new cluster does the same, with the same list).
    pub async fn open(
        dir: &Path,
        node: RaftNode,
        voters: BTreeMap<NodeId, BasicNode>,
        nodes: Nodes,
    ) -> Result<MetadataStore, MetadataOpenError> {
        let io = |source| MetadataOpenError::Io {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let config = LogConfig {
            flush: FlushPolicy::Always,
            ..LogConfig::default()
        };
        let log = Log::open(dir, config).map_err(|e| io(std::io::Error::other(e.to_string())))?;
        let log = Arc::new(RwLock::new(log));
        let store = RaftLogStore::open(log, true).map_err(io)?;
        let sm = MetaStateMachine::open(dir.to_owned()).map_err(io)?;
        let raft = Raft::new(
            node.id(),
            node.config(),
            node.network(GroupId::Metadata),
            store,
            sm.clone(),
        )
        .await
        .map_err(|e| MetadataOpenError::Raft(e.to_string()))?;
        node.groups()
            .insert(GroupId::Metadata, GroupRaft::Meta(raft.clone()));
        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| MetadataOpenError::Raft(e.to_string()))?;
        let alone = voters.len() == 1 && voters.contains_key(&node.id());
        // A rejoining node's broker wrote the marker before opening.
        crate::replication::rejoin::guard(
            dir,
            GroupId::Metadata,
            raft.clone(),
            node.groups(),
            false,
        )
        .map_err(io)?;
        if !initialized {
            if let Err(e) = raft.initialize(voters).await {
                tracing::warn!(error = %e, "metadata group: initialize");
            }
        }
        if alone {
            // A 1-voter group need not wait an election timeout.
            let _ = raft.trigger().elect(false).await;
        }
        Ok(MetadataStore {
            raft,
            sm,
            node,
            nodes: RwLock::new(nodes),
            write_lock: tokio::sync::Mutex::new(()),
            caught_up: CaughtUp::default(),
        })
    }

    /// Waits until the group has a leader and the cluster has an id (the
    /// first leader fixes one).
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), TopicError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let leader = self.raft.metrics().borrow_watched().current_leader;
            if leader.is_some() && self.snapshot().cluster_id.is_some() {
                return Ok(());
            }
            if leader == Some(self.node.id()) {
                let req = MetaRequest::InitCluster {
                    cluster_id: new_cluster_id(),
                };
                if let Err(e) = self.execute_local(&req).await {
                    tracing::debug!(error = %e, "fixing the cluster id");
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(TopicError::Unavailable(
                    "the metadata group has no leader".to_owned(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The metadata group's Raft.
    pub fn raft(&self) -> &MetaRaft {
        &self.raft
    }

    /// The current metadata.
    pub fn snapshot(&self) -> Arc<MetadataState> {
        self.sm.state()
    }

    /// Notified on every change.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataState>> {
        self.sm.subscribe()
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> String {
        self.snapshot().cluster_id.clone().unwrap_or_default()
    }

    /// The current metadata leader, if known.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow_watched().current_leader
    }

    /// The metadata quorum (DescribeQuorum of `__cluster_metadata`): the
    /// leader this node knows and its term; per-voter progress when this
    /// node leads. Offsets are Raft indexes plus one.
    pub fn quorum(&self) -> QuorumView {
        let m = self.raft.metrics().borrow_watched().clone();
        let leo = m.last_log_index.map_or(0, |i| i + 1);
        let mut replicas = Vec::new();
        if m.current_leader == Some(m.id) {
            replicas.push(ReplicaProgress {
                node: i32::try_from(m.id).unwrap_or(-1),
                voter: true,
                log_end_offset: i64::try_from(leo).unwrap_or(i64::MAX),
                last_fetch_ms: crate::broker::now_ms(),
                last_caught_up_ms: crate::broker::now_ms(),
            });
            replicas.extend(progress(&m, leo, |i| Some(i + 1), &self.caught_up));
        } else {
            replicas.extend(m.membership_config.membership().voter_ids().map(|n| {
                ReplicaProgress {
                    node: i32::try_from(n).unwrap_or(-1),
                    voter: true,
                    log_end_offset: -1,
                    last_fetch_ms: -1,
                    last_caught_up_ms: -1,
                }
            }));
        }
        QuorumView {
            leader: m
                .current_leader
                .and_then(|l| i32::try_from(l).ok())
                .unwrap_or(-1),
            epoch: i32::try_from(m.current_term).unwrap_or(i32::MAX),
            high_watermark: m
                .local_committed
                .map_or(0, |c| i64::try_from(c.index + 1).unwrap_or(i64::MAX)),
            replicas,
        }
    }

    /// The nodes replicas may be placed on.
    pub fn nodes(&self) -> Nodes {
        self.nodes.read().clone()
    }

    /// Stops the group.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "metadata group did not stop cleanly");
        }
    }

    /// Carries out a change: here if this node leads the group, else on
    /// the leader.
    pub async fn execute(&self, req: MetaRequest) -> Result<MetaReply, TopicError> {
        // About 30 s of retries while the group elects a leader or the
        // leader is still starting.
        const ATTEMPTS: u32 = 300;
        let mut attempts = 0;
        loop {
            let err = match self.execute_local(&req).await {
                Err(TopicError::NotController(Some(leader))) if leader != self.node.id() => {
                    match forward::call(&self.node, leader, &req).await {
                        Err(TopicError::NotController(_) | TopicError::Unavailable(_))
                            if attempts < ATTEMPTS =>
                        {
                            TopicError::NotController(None)
                        }
                        other => return other,
                    }
                }
                Err(TopicError::NotController(None)) if attempts < ATTEMPTS => {
                    TopicError::NotController(None)
                }
                other => return other,
            };
            attempts += 1;
            tracing::debug!(error = %err, "metadata change: waiting for a leader");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Carries out a change on this node, which must lead the group.
    pub async fn execute_local(&self, req: &MetaRequest) -> Result<MetaReply, TopicError> {
        let _order = self.write_lock.lock().await;
        // Every command committed before this node's term is applied first,
        // so the plan sees the whole current state.
        self.raft
            .ensure_linearizable(ReadPolicy::ReadIndex)
            .await
            .map_err(read_error)?;
        let state = self.snapshot();
        let nodes = self.nodes();
        let (commands, reply) = plan::plan(&state, req, &nodes)?;
        if commands.is_empty() {
            return Ok(reply);
        }
        let batch = meta_sm::encode_commands(&commands, crate::broker::now_ms())
            .map_err(|e| TopicError::Storage(e.to_string()))?;
        match tokio::time::timeout(COMMIT_TIMEOUT, self.raft.client_write(batch)).await {
            Ok(Ok(_)) => Ok(reply),
            Ok(Err(e)) => Err(write_error(e)),
            Err(_) => Err(TopicError::Unavailable(format!(
                "the change was not committed within {}s",
                COMMIT_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Checks a new topic without creating it (CreateTopics validate_only).
    pub fn check_new_topic(
        &self,
        name: &str,
        partitions: i32,
        placement: &Placement,
        configs: &BTreeMap<String, String>,
    ) -> Result<(), TopicError> {
        plan::check_new_topic(&self.snapshot(), name, partitions, configs)?;
        plan::place(name, 0, partitions, placement, &self.nodes()).map(|_| ())
    }

    /// Creates a topic.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        placement: Placement,
        configs: BTreeMap<String, String>,
        now_ms: i64,
    ) -> Result<TopicMeta, TopicError> {
        let req = MetaRequest::CreateTopic {
            name: name.to_owned(),
            partitions,
            placement,
            configs,
            now_ms,
        };
        match self.execute(req).await? {
            MetaReply::Topic(t) => Ok(t),
            other => Err(unexpected(&other)),
        }
    }

    /// Deletes a topic, returning what it was.
    pub async fn delete_topic(&self, name: &str) -> Result<TopicMeta, TopicError> {
        let req = MetaRequest::DeleteTopic {
            name: name.to_owned(),
        };
        match self.execute(req).await? {
            MetaReply::Topic(t) => Ok(t),
            other => Err(unexpected(&other)),
        }
    }

    /// Checks a partition count increase; returns the current count.
    pub fn check_partition_count(&self, name: &str, count: i32) -> Result<i32, TopicError> {
        let old = plan::check_partition_count(&self.snapshot(), name, count)?;
        plan::place(
            name,
            old,
            count - old,
            &Placement::Factor(-1),
            &self.nodes(),
        )?;
        Ok(old)
    }

    /// Raises a topic's partition count; returns the old count.
    pub async fn set_partition_count(
        &self,
        name: &str,
        count: i32,
        placement: Placement,
    ) -> Result<i32, TopicError> {
        let req = MetaRequest::AddPartitions {
            name: name.to_owned(),
            count,
            placement,
        };
        match self.execute(req).await? {
            MetaReply::Count(c) => Ok(c),
            other => Err(unexpected(&other)),
        }
    }

    /// Reserves `count` producer ids; returns the first.
    pub async fn reserve_producer_ids(&self, count: i64) -> Result<i64, TopicError> {
        match self
            .execute(MetaRequest::ReserveProducerIds { count })
            .await?
        {
            MetaReply::ProducerIds(start) => Ok(start),
            other => Err(unexpected(&other)),
        }
    }

    /// Computes a topic's new overrides from config ops, validating them.
    pub fn check_config_ops(
        &self,
        name: &str,
        ops: &[ConfigOp],
    ) -> Result<BTreeMap<String, String>, TopicError> {
        plan::apply_config_ops(&self.snapshot(), name, ops)
    }

    /// Applies config ops to a topic; returns the new overrides.
    pub async fn alter_configs(
        &self,
        name: &str,
        ops: &[ConfigOp],
    ) -> Result<BTreeMap<String, String>, TopicError> {
        let req = MetaRequest::AlterConfigs {
            name: name.to_owned(),
            ops: ops.to_vec(),
        };
        match self.execute(req).await? {
            MetaReply::Configs(c) => Ok(c),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(reply: &MetaReply) -> TopicError {
    TopicError::Storage(format!(
        "unexpected answer from the metadata leader: {reply:?}"
    ))
}

fn read_error(e: RaftError<HoloRaft, LinearizableReadError<HoloRaft>>) -> TopicError {
    match e {
        RaftError::APIError(LinearizableReadError::ForwardToLeader(f)) => {
            TopicError::NotController(f.leader_id)
        }
        other => TopicError::Unavailable(other.to_string()),
    }
}

fn write_error(e: RaftError<HoloRaft, ClientWriteError<HoloRaft>>) -> TopicError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
            TopicError::NotController(f.leader_id)
        }
        other => TopicError::Unavailable(other.to_string()),
    }
}

pub(crate) fn new_cluster_id() -> String {
    // Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits = Uuid::new_v4().as_u128();
    (0..22)
        .map(|i| ALPHABET[((bits >> (i * 6)) & 63) as usize] as char)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
