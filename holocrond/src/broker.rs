//! The broker's shared state and the topic operations that span layers:
//! metadata first (committed through the metadata Raft group), then the
//! partitions that follow from it.

use openraft::async_runtime::watch::WatchReceiver;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

use openraft::impls::BasicNode;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cluster::{
    topic_config, BrokerInfo, ConfigOp, MetaRequest, MetadataOpenError, MetadataStore, Nodes,
    Placement, TopicError, TopicMeta,
};
use crate::config::Config;
use crate::groups::{GroupConfig, GroupCoordinator};
use crate::log::LogConfig;
use crate::metrics::Metrics;
use crate::partition::registry::PartitionRegistry;
use crate::partition::replica::LeaderReport;
use crate::replication::group_id::GroupId;
use crate::replication::node::{NodeRpcHandler, RaftNode, ServiceSlot, Transport};
use crate::replication::rejoin::{self, Membership};
use crate::replication::rpc::{self, NodeTls, RpcConfig, RpcHandle};
use crate::replication::service::Groups;

/// Everything a request handler can reach.
#[derive(Debug)]
pub struct Broker {
    /// Validated configuration.
    pub config: Config,
    /// Cluster metadata.
    pub metadata: Arc<MetadataStore>,
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
    /// This node's Raft runtime.
    pub raft: RaftNode,
    /// Node-to-node connections (cluster mode).
    pub rpc: Option<RpcHandle>,
    /// Leaderships gained by local replicas, to report to the metadata group.
    reports: mpsc::UnboundedSender<LeaderReport>,
    /// Its receiving end, taken by [`Broker::run_reporter`].
    report_rx: parking_lot::Mutex<Option<mpsc::UnboundedReceiver<LeaderReport>>>,
    /// Orders reconciliations of local replicas with the metadata.
    reconcile_lock: tokio::sync::Mutex<()>,
    /// Preferred-leader elections already looked at, per partition.
    elections_seen: parking_lot::Mutex<HashMap<(Uuid, i32), u32>>,
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
    /// The data directory was written by a version without the metadata group.
    #[error("data directory {0} holds metadata of an older format (_holocron/metadata.log); move it aside or start with an empty data directory")]
    OldMetadata(std::path::PathBuf),
    /// The metadata could not be loaded.
    #[error(transparent)]
    Metadata(#[from] MetadataOpenError),
    /// The metadata group has no leader or refused a change.
    #[error("cluster metadata: {0}")]
    MetadataUnavailable(TopicError),
    /// A partition could not be opened.
    #[error("opening partition: {0}")]
    Partition(#[from] crate::log::LogError),
    /// The offsets topic could not be created.
    #[error("creating __consumer_offsets: {0}")]
    OffsetsTopic(TopicError),
    /// The node certificates could not be read.
    #[error("node certificate {path}: {source}")]
    NodeCert {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The node-to-node transport could not start.
    #[error("node-to-node transport: {0}")]
    Rpc(#[from] rpc::StartError),
    /// The Raft settings are invalid.
    #[error("raft settings: {0}")]
    RaftConfig(#[from] openraft::ConfigError),
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How long start-up waits for the metadata group to have a leader.
const METADATA_READY_TIMEOUT: Duration = Duration::from_secs(120);

impl Broker {
    /// Opens the data directory: the metadata group, then every partition
    /// this node holds a replica of. `services` is where the node-service
    /// handler goes once the broker exists (see [`crate::services`]).
    pub async fn open(
        config: Config,
        shutdown: CancellationToken,
        services: ServiceSlot,
    ) -> Result<Arc<Broker>, StartError> {
        let data_dir = config.data_dir.clone();
        let data_err = |source| StartError::DataDir {
            path: data_dir.clone(),
            source,
        };
        std::fs::create_dir_all(&config.data_dir).map_err(data_err)?;
        let meta_root = config.data_dir.join("_holocron");
        if meta_root.join("metadata.log").exists() && !meta_root.join("metadata").exists() {
            return Err(StartError::OldMetadata(config.data_dir.clone()));
        }
        let groups = Groups::default();
        let membership = Membership::default();
        let meta_dir = meta_root.join("metadata");
        // No metadata yet (or a directory left empty by a crash before it
        // got any): a new node, or one whose data was lost.
        let fresh = std::fs::read_dir(&meta_dir).map_or(true, |mut d| d.next().is_none());
        if fresh {
            membership.set_forming();
        }
        let raft_config = crate::replication::raft_config(
            config.raft.heartbeat_ms,
            config.raft.election_timeout_ms,
            config.raft.election_timeout_ms * 2,
        )?;
        let me = u64::try_from(config.node_id).unwrap_or(0);
        let (transport, rpc, voters) = match &config.cluster {
            None => (
                Transport::Local,
                None,
                BTreeMap::from([(me, BasicNode::new("local"))]),
            ),
            Some(c) => {
                let read = |path: &std::path::PathBuf| {
                    std::fs::read_to_string(path).map_err(|source| StartError::NodeCert {
                        path: path.clone(),
                        source,
                    })
                };
                let tls = NodeTls {
                    ca_pem: read(&c.node_ca)?,
                    cert_pem: read(&c.node_cert)?,
                    key_pem: read(&c.node_key)?,
                };
                let handler =
                    NodeRpcHandler::new(groups.clone(), services.clone(), membership.clone());
                let rpc_config = RpcConfig::new(me, c.peer_listen, c.peers.clone(), tls);
                let handle = rpc::start(rpc_config, handler).await?;
                let voters = c
                    .peers
                    .iter()
                    .map(|(id, addr)| (*id, BasicNode::new(addr.clone())))
                    .collect();
                let transport = Transport::Rpc(handle.clone());
                let ids: Vec<u64> = c.peers.keys().copied().collect();
                if fresh && rejoin::decide(me, &ids, &transport).await {
                    // Durable before the group exists: it grants no votes
                    // (and stands for none) until it has caught up.
                    rejoin::mark(&meta_dir).map_err(data_err)?;
                    membership.set_member();
                }
                (transport, Some(handle), voters)
            }
        };
        let node = RaftNode::new(me, transport, groups, raft_config);
        let nodes = Nodes {
            ids: config.node_ids(),
            default_replication_factor: config.default_replication_factor,
        };
        let metadata = Arc::new(MetadataStore::open(&meta_dir, node.clone(), voters, nodes).await?);
        // A rejoining node is a member already (set above), though its
        // metadata is still empty.
        if metadata.snapshot().cluster_id.is_some() {
            membership.set_member();
        } else if !membership.is_member() {
            membership.set_forming();
        }
        let _ = services.set(crate::services::NodeServices::new(&metadata));
        if config.cluster.is_some() {
            tracing::info!("waiting for the metadata group to elect a leader");
        }
        metadata
            .wait_ready(METADATA_READY_TIMEOUT)
            .await
            .map_err(StartError::MetadataUnavailable)?;
        membership.set_member();
        let partitions = PartitionRegistry::new(&config.data_dir);
        let (reports, report_rx) = mpsc::unbounded_channel();
        let mut broker = Broker {
            reports,
            report_rx: parking_lot::Mutex::new(Some(report_rx)),
            reconcile_lock: tokio::sync::Mutex::new(()),
            elections_seen: parking_lot::Mutex::new(elections_asked(&metadata.snapshot())),
            metrics: Metrics::new(),
            producer_ids: Default::default(),
            config,
            metadata,
            partitions,
            shutdown,
            started: Instant::now(),
            groups: Arc::new(GroupCoordinator::open(GroupConfig::default(), Vec::new())?),
            raft: node,
            rpc,
        };
        broker.register().await?;
        let topics: Vec<TopicMeta> = broker
            .metadata
            .snapshot()
            .topics
            .values()
            .cloned()
            .collect();
        broker.partitions.remove_strays(&topics).map_err(data_err)?;
        for topic in &topics {
            broker.open_partitions(topic).await.map_err(|e| match e {
                TopicError::Log(e) => StartError::Partition(e),
                other => StartError::MetadataUnavailable(other),
            })?;
        }
        broker.groups = Arc::new(broker.open_groups().await?);
        Ok(Arc::new(broker))
    }

    /// Announces where clients reach this broker (cluster mode: the other
    /// nodes list it in their Metadata answers).
    async fn register(&self) -> Result<(), StartError> {
        if self.config.cluster.is_none() {
            return Ok(());
        }
        let listener = &self.config.listeners[0];
        let host = self
            .config
            .advertised_host
            .clone()
            .unwrap_or_else(|| listener.addr.ip().to_string());
        let req = MetaRequest::RegisterBroker {
            broker: BrokerInfo {
                id: self.config.node_id,
                host,
                port: i32::from(listener.addr.port()),
            },
        };
        self.metadata
            .execute(req)
            .await
            .map(|_| ())
            .map_err(StartError::MetadataUnavailable)
    }

    /// Creates `__consumer_offsets` if it is missing (compacted, with
    /// `--offsets-topic-partitions` partitions) and loads the groups stored in it.
    async fn open_groups(&self) -> Result<GroupCoordinator, StartError> {
        let name = crate::groups::OFFSETS_TOPIC;
        let existing = self.metadata.snapshot().topics.get(name).cloned();
        let topic = match existing {
            Some(t) => t,
            None => {
                let configs = BTreeMap::from([
                    ("cleanup.policy".to_owned(), "compact".to_owned()),
                    ("segment.bytes".to_owned(), "104857600".to_owned()),
                ]);
                match self
                    .create_topic(
                        name,
                        self.config.groups.offsets_topic_partitions,
                        Placement::Factor(-1),
                        configs,
                    )
                    .await
                {
                    Ok(t) => t,
                    // Another node created it: this node's copy of the
                    // metadata may not have applied that yet.
                    Err(TopicError::AlreadyExists(_) | TopicError::Remote { .. }) => self
                        .wait_for_topic(name, Duration::from_secs(30))
                        .await
                        .ok_or_else(|| {
                            StartError::OffsetsTopic(TopicError::Unknown(name.to_owned()))
                        })?,
                    Err(e) => return Err(StartError::OffsetsTopic(e)),
                }
            }
        };
        // Another node may have created the topic: open this node's
        // replicas of it before the coordinator takes them.
        self.open_partitions(&topic)
            .await
            .map_err(StartError::OffsetsTopic)?;
        let partitions = (0..topic.partitions)
            .map(|i| self.partitions.get(name, i))
            .collect();
        Ok(GroupCoordinator::open(
            self.config.groups.clone(),
            partitions,
        )?)
    }

    /// Waits (at most `timeout`) until this node's metadata has `name`.
    async fn wait_for_topic(&self, name: &str, timeout: Duration) -> Option<TopicMeta> {
        let mut changes = self.metadata.subscribe();
        let found = tokio::time::timeout(
            timeout,
            changes.wait_for(|state| state.topics.contains_key(name)),
        )
        .await;
        match found {
            Ok(Ok(state)) => state.topics.get(name).cloned(),
            _ => None,
        }
    }

    /// The log settings of a topic.
    pub fn topic_log_config(&self, topic: &TopicMeta) -> LogConfig {
        topic_config::log_config(&topic.configs, &self.config.log_defaults)
    }

    /// Creates a topic and this node's replicas of its partitions.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        placement: Placement,
        configs: BTreeMap<String, String>,
    ) -> Result<TopicMeta, TopicError> {
        let topic = self
            .metadata
            .create_topic(name, partitions, placement, configs, now_ms())
            .await?;
        tracing::info!(topic = name, partitions, "created topic");
        self.open_partitions(&topic).await?;
        Ok(topic)
    }

    /// Opens this node's replicas of a topic's partitions.
    pub async fn open_partitions(&self, topic: &TopicMeta) -> Result<(), TopicError> {
        let config = self.topic_log_config(topic);
        let opened = if self.config.cluster.is_some() {
            self.partitions
                .open_replicas(topic, &config, &self.raft, &self.reports)
                .await
        } else {
            self.partitions.open_topic(topic, &config)
        };
        opened.map_err(|e| {
            tracing::error!(topic = %topic.name, error = %e, "cannot open partitions");
            TopicError::Log(e)
        })
    }

    /// Brings the local replicas in line with the metadata: opens the ones
    /// this node should hold, stops and deletes the ones it should not
    /// (deleted topics, replicas moved away).
    pub async fn reconcile(&self) {
        let _one_at_a_time = self.reconcile_lock.lock().await;
        let state = self.metadata.snapshot();
        let me = self.config.node_id;
        let clustered = self.config.cluster.is_some();
        for p in self.partitions.all() {
            // A replica moved away stays until the leader reports voters
            // without it.
            let keep = state.topics.get(&p.id().topic).is_some_and(|t| {
                let i = p.id().partition;
                t.id == p.topic_id()
                    && i < t.partitions
                    && (!clustered
                        || t.replicas_of(i).contains(&me)
                        || t.voters_of(i).contains(&me))
            });
            if keep {
                continue;
            }
            if let Some(r) = p.replica() {
                let _ = r.raft().shutdown().await;
                self.raft.groups().remove(&GroupId::Partition {
                    topic_id: p.topic_id(),
                    partition: p.id().partition,
                });
            }
            tracing::info!(partition = %p.id(), "removing local replica");
            if let Err(e) = self.partitions.remove_partition(p.id(), p.topic_id()) {
                tracing::warn!(partition = %p.id(), error = %e, "cannot remove partition directory");
            }
        }
        for t in state.topics.values() {
            if let Err(e) = self.open_partitions(t).await {
                tracing::error!(topic = %t.name, error = %e, "cannot open local replicas");
            }
        }
        self.follow_elections(&state).await;
        self.follow_replica_sets(&state);
        // Config changes made through another node.
        for (name, t) in &state.topics {
            let config = self.topic_log_config(t);
            for p in self.partitions.of_topic(name) {
                if p.config() != config {
                    p.set_config(config.clone());
                }
            }
        }
    }

    /// The controller clients are told of: the metadata leader (-1: none
    /// known).
    pub fn controller_id(&self) -> i32 {
        self.metadata
            .leader()
            .and_then(|l| i32::try_from(l).ok())
            .unwrap_or(-1)
    }

    /// Whether node `id` is up as far as this node can tell: itself, or a
    /// peer it has a live node-to-node connection with.
    pub fn is_live(&self, id: i32) -> bool {
        id == self.config.node_id
            || self
                .rpc
                .as_ref()
                .is_some_and(|rpc| u64::try_from(id).is_ok_and(|id| rpc.is_connected(id)))
    }

    /// Hands a partition's leadership to its preferred (first) replica when
    /// a preferred-leader election was asked for since this node last
    /// looked, this node leads, and the preferred replica is caught up.
    async fn follow_elections(&self, state: &crate::cluster::MetadataState) {
        let me = self.config.node_id;
        let mut asked = Vec::new();
        {
            let mut seen = self.elections_seen.lock();
            for (key, count) in elections_asked(state) {
                // A partition created since start: no election seen yet.
                let before = seen.insert(key, count).unwrap_or(0);
                if count > before {
                    asked.push(key);
                }
            }
        }
        for (topic_id, partition) in asked {
            let Some(t) = state.topic_by_id(topic_id) else {
                continue;
            };
            let Some(&preferred) = t.replicas_of(partition).first() else {
                continue;
            };
            let Some(p) = self.partitions.get(&t.name, partition) else {
                continue;
            };
            let Some(r) = p.replica().filter(|r| r.is_ready_leader()) else {
                continue;
            };
            if preferred == me {
                continue;
            }
            let Ok(to) = u64::try_from(preferred) else {
                continue;
            };
            let caught_up = {
                let m = r.raft().metrics().borrow_watched().clone();
                let matched = m
                    .replication
                    .as_ref()
                    .and_then(|rep| rep.get(&to).copied().flatten())
                    .map(|l| l.index);
                matched.is_some() && matched >= m.last_log_index
            };
            if !caught_up {
                tracing::warn!(partition = %p.id(), preferred, "preferred leader is not caught up; keeping leadership");
                continue;
            }
            tracing::info!(partition = %p.id(), to = preferred, "handing leadership to the preferred replica");
            if let Err(e) = r.raft().trigger().transfer_leader(to).await {
                tracing::warn!(partition = %p.id(), error = %e, "cannot hand over leadership");
            }
        }
    }

    /// On the partitions this node leads: makes the group's voters the
    /// replicas the metadata names (a partition move, in the background),
    /// then reports them, which lets moved-away replicas go.
    fn follow_replica_sets(&self, state: &crate::cluster::MetadataState) {
        for p in self.partitions.all() {
            let Some(r) = p.replica().filter(|r| r.is_ready_leader()) else {
                continue;
            };
            let Some(t) = state.topic_by_id(p.topic_id()) else {
                continue;
            };
            let i = p.id().partition;
            let target: std::collections::BTreeSet<u64> = t
                .replicas_of(i)
                .iter()
                .filter_map(|n| u64::try_from(*n).ok())
                .collect();
            let voters = r.voters();
            let reported: std::collections::BTreeSet<u64> = t
                .voters_of(i)
                .iter()
                .filter_map(|n| u64::try_from(*n).ok())
                .collect();
            if target.is_empty()
                || (voters == target && (reported.is_empty() || reported == target))
            {
                continue;
            }
            let metadata = self.metadata.clone();
            let (topic_id, partition) = (p.topic_id(), i);
            tokio::spawn(async move {
                let Some(r) = p.replica() else { return };
                if !r.change_voters(target).await {
                    return;
                }
                let voters = r
                    .voters()
                    .into_iter()
                    .filter_map(|n| i32::try_from(n).ok())
                    .collect();
                let req = MetaRequest::ReportVoters {
                    topic_id,
                    partition,
                    voters,
                };
                if let Err(e) = metadata.execute(req).await {
                    tracing::warn!(partition = %p.id(), error = %e, "cannot report the voters");
                }
            });
        }
    }

    /// Follows metadata changes made elsewhere (cluster mode) until shutdown.
    pub async fn run_reconciler(self: Arc<Self>) {
        let mut changes = self.metadata.subscribe();
        let mut seen = changes.borrow_and_update().clone();
        // Whatever was applied between opening the partitions and now (a
        // node catching up its metadata at start) is not a change to come.
        self.reconcile().await;
        // A partition move whose leader was not ready, or changed, when the
        // metadata changed is picked up again here.
        let mut moves = tokio::time::interval(Duration::from_secs(5));
        moves.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                r = changes.changed() => if r.is_err() { return },
                _ = moves.tick() => {
                    if moving(&seen) {
                        self.follow_replica_sets(&seen);
                    }
                    continue;
                }
                () = self.shutdown.cancelled() => return,
            }
            let now = changes.borrow_and_update().clone();
            // Leader reports and broker registrations change nothing here.
            if replicas_or_configs_changed(&seen, &now) {
                self.reconcile().await;
            }
            seen = now;
        }
    }

    /// Reports the leaderships local replicas gain to the metadata group,
    /// so every node's Metadata answer names current leaders.
    pub async fn run_reporter(self: Arc<Self>) {
        let Some(mut rx) = self.report_rx.lock().take() else {
            return;
        };
        loop {
            let report = tokio::select! {
                r = rx.recv() => match r { Some(r) => r, None => return },
                () = self.shutdown.cancelled() => return,
            };
            let (topic_id, partition, leader, epoch) = report;
            let req = MetaRequest::ReportLeader {
                topic_id,
                partition,
                leader,
                epoch,
            };
            if let Err(e @ (TopicError::NotController(_) | TopicError::Unavailable(_))) =
                self.metadata.execute(req).await
            {
                tracing::warn!(%topic_id, partition, error = %e, "cannot report leadership; retrying");
                // Again later, unless a newer report supersedes it (the
                // metadata keeps the highest epoch anyway).
                let tx = self.reports.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let _ = tx.send(report);
                });
            }
        }
    }

    /// Deletes a topic and its data.
    pub async fn delete_topic(&self, name: &str) -> Result<TopicMeta, TopicError> {
        let topic = self.metadata.delete_topic(name).await?;
        tracing::info!(topic = name, "deleted topic");
        if self.config.cluster.is_some() {
            self.reconcile().await;
            return Ok(topic);
        }
        if let Err(e) = self.partitions.remove_topic(&topic) {
            // The metadata no longer names the topic; stray directories are
            // removed at the next start.
            tracing::warn!(topic = name, error = %e, "could not remove all partition directories");
        }
        Ok(topic)
    }

    /// Raises a topic's partition count.
    pub async fn add_partitions(&self, name: &str, count: i32) -> Result<(), TopicError> {
        self.add_partitions_placed(name, count, Placement::Factor(-1))
            .await
    }

    /// Raises a topic's partition count, placing the new replicas as given.
    pub async fn add_partitions_placed(
        &self,
        name: &str,
        count: i32,
        placement: Placement,
    ) -> Result<(), TopicError> {
        self.metadata
            .set_partition_count(name, count, placement)
            .await?;
        let topic = self
            .metadata
            .snapshot()
            .topics
            .get(name)
            .cloned()
            .ok_or_else(|| TopicError::Unknown(name.to_owned()))?;
        tracing::info!(topic = name, partitions = count, "added partitions");
        self.open_partitions(&topic).await
    }

    /// Changes a topic's config overrides and applies them to its partitions.
    pub async fn alter_topic_configs(
        &self,
        name: &str,
        ops: &[ConfigOp],
    ) -> Result<(), TopicError> {
        self.metadata.alter_configs(name, ops).await?;
        self.apply_topic_configs(name);
        Ok(())
    }

    /// The leader and leader epoch of a partition: what the local replica
    /// knows (freshest), else what the leader last reported; a standalone
    /// partition is led by this broker.
    pub fn partition_leader(&self, topic: &TopicMeta, partition: i32) -> Option<(i32, i32)> {
        if let Some(local) = self.partitions.get(&topic.name, partition) {
            return match local.replica() {
                None => Some((self.config.node_id, 0)),
                Some(r) => r.leader().map(|(l, term)| {
                    (
                        i32::try_from(l).unwrap_or(-1),
                        i32::try_from(term).unwrap_or(i32::MAX),
                    )
                }),
            };
        }
        topic.leader_of(partition)
    }

    /// Applies a topic's current overrides to its local partitions.
    pub fn apply_topic_configs(&self, name: &str) {
        if let Some(topic) = self.metadata.snapshot().topics.get(name) {
            let config = self.topic_log_config(topic);
            for p in self.partitions.of_topic(name) {
                p.set_config(config.clone());
            }
        }
    }
}

/// Whether topics, their replicas or their configs differ (what the local
/// replicas follow), ignoring reported leaders and brokers.
fn replicas_or_configs_changed(
    a: &crate::cluster::MetadataState,
    b: &crate::cluster::MetadataState,
) -> bool {
    a.topics.len() != b.topics.len()
        || a.topics.iter().zip(&b.topics).any(|((na, ta), (nb, tb))| {
            na != nb
                || ta.id != tb.id
                || ta.partitions != tb.partitions
                || ta.replicas != tb.replicas
                || ta.configs != tb.configs
                || ta.elections != tb.elections
                || ta.voters != tb.voters
        })
}

/// Whether a partition is moving: its reported voters are not its replicas.
fn moving(state: &crate::cluster::MetadataState) -> bool {
    state
        .topics
        .values()
        .any(|t| (0..t.partitions).any(|p| t.moving(p).is_some()))
}

/// Every partition's count of preferred-leader elections asked for.
fn elections_asked(state: &crate::cluster::MetadataState) -> HashMap<(Uuid, i32), u32> {
    state
        .topics
        .values()
        .flat_map(|t| (0..t.partitions).map(move |p| ((t.id, p), t.elections_of(p))))
        .collect()
}
