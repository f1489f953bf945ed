//! `cluster info` and `cluster health`.

use std::time::{Instant, SystemTime};

use holocron_proto::client::{Client, ClusterView};
use holocron_proto::kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use holocron_proto::kafka_protocol::messages::describe_quorum_response::PartitionData as QuorumPartition;
use holocron_proto::kafka_protocol::messages::{
    ApiKey, DescribeClusterRequest, DescribeQuorumRequest, DescribeQuorumResponse, MetadataRequest,
    TopicName,
};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};

use super::common::{broker_entries, BrokerEntry};
use super::{interrupted, Ctx};
use crate::cli::{ClusterCmd, HealthArgs};
use crate::connect;
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, Document, Out};
use crate::timespec::ms_since_epoch;

/// `holocron.cluster.info/v1`: who is in the cluster and what it speaks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Cluster id.
    pub cluster_id: Option<String>,
    /// Controller node id (null: none).
    pub controller_id: Option<i32>,
    /// Leader of the metadata quorum (`__cluster_metadata`), from
    /// DescribeQuorum; null when the broker does not serve it.
    pub metadata_leader_id: Option<i32>,
    /// Epoch of the metadata leader (null: unknown).
    pub metadata_leader_epoch: Option<i32>,
    /// Brokers by node id (the live ones: a node that is down is not
    /// listed by Metadata).
    pub brokers: Vec<BrokerEntry>,
    /// Every voter of the metadata quorum with its role (empty when the
    /// broker does not serve DescribeQuorum).
    pub nodes: Vec<NodeRole>,
    /// Number of topics (internal included).
    pub topics: usize,
    /// Number of partitions.
    pub partitions: usize,
    /// The broker answering (the first bootstrap broker that did).
    pub bootstrap: String,
    /// holocronctl's version.
    pub client_version: String,
    /// APIs the bootstrap broker serves.
    pub api_versions: Vec<ApiVersionEntry>,
}

/// A node of the metadata quorum and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRole {
    /// Node id.
    pub node_id: i32,
    /// `leader`, `follower`, or `offline` (a voter no live broker lists).
    pub role: String,
    /// Its metadata log end (null: unknown, asked of a non-leader).
    pub metadata_log_end: Option<i64>,
    /// Its last acknowledgement to the metadata leader, ms since the
    /// epoch (null: unknown).
    pub last_fetch_ms: Option<i64>,
}

/// One API a broker serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiVersionEntry {
    /// Kafka API key.
    pub api_key: i16,
    /// API name, e.g. `Produce`.
    pub name: String,
    /// Lowest version served.
    pub min_version: i16,
    /// Highest version served.
    pub max_version: i16,
    /// The version holocronctl uses (null: none in common).
    pub used_version: Option<i16>,
}

impl Document for ClusterInfo {
    fn schema(&self) -> &'static str {
        "holocron.cluster.info/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut s = output::kv(&[
            ("Cluster id", output::opt(self.cluster_id.as_ref())),
            ("Controller", output::opt(self.controller_id)),
            (
                "Metadata leader",
                match (self.metadata_leader_id, self.metadata_leader_epoch) {
                    (Some(id), Some(e)) => format!("{id} (epoch {e})"),
                    (Some(id), None) => id.to_string(),
                    _ => "- (DescribeQuorum not served)".into(),
                },
            ),
            ("Topics", self.topics.to_string()),
            ("Partitions", self.partitions.to_string()),
            ("Bootstrap", self.bootstrap.clone()),
            ("holocronctl", self.client_version.clone()),
        ]);
        s.push_str("\nBrokers\n");
        let mut t = out.table(&["id", "address", "rack", "controller"]);
        for b in &self.brokers {
            t.add_row(vec![
                b.node_id.to_string(),
                b.address.clone(),
                output::opt(b.rack.as_ref()),
                if b.is_controller { "yes" } else { "" }.into(),
            ]);
        }
        s.push_str(&output::render(&t));
        if !self.nodes.is_empty() {
            s.push_str("\nNodes (metadata quorum)\n");
            let mut t = out.table(&["id", "role", "metadata-log-end", "last-fetch"]);
            for n in &self.nodes {
                t.add_row(vec![
                    n.node_id.to_string(),
                    n.role.clone(),
                    output::opt(n.metadata_log_end),
                    n.last_fetch_ms.map_or("-".into(), output::time_ms),
                ]);
            }
            s.push_str(&output::render(&t));
        }
        s.push_str("\nAPI versions (bootstrap broker)\n");
        let mut t = out.table(&["api", "key", "min", "max", "used"]);
        for a in &self.api_versions {
            t.add_row(vec![
                a.name.clone(),
                a.api_key.to_string(),
                a.min_version.to_string(),
                a.max_version.to_string(),
                output::opt(a.used_version),
            ]);
        }
        s.push_str(&output::render(&t));
        s
    }
}

/// A topic partition named in a health report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRef {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
}

/// `holocron.cluster.health/v1`: one health check (one per line with --watch).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterHealth {
    /// No problems found.
    pub healthy: bool,
    /// When checked, ms since the epoch.
    pub checked_at_ms: i64,
    /// Brokers in the metadata (0 when none could be reached).
    pub brokers: usize,
    /// Brokers in the metadata that did not answer.
    pub unreachable_brokers: Vec<i32>,
    /// Partitions without a leader.
    pub leaderless_partitions: Vec<PartitionRef>,
    /// Partitions whose in-sync set is smaller than the replica set, or that
    /// have offline replicas.
    pub under_replicated_partitions: Vec<PartitionRef>,
    /// Every problem, one line each.
    pub problems: Vec<String>,
}

impl Document for ClusterHealth {
    fn schema(&self) -> &'static str {
        "holocron.cluster.health/v1"
    }
    fn human(&self, _out: &Out) -> String {
        let mut s = output::kv(&[
            ("Healthy", if self.healthy { "yes" } else { "no" }.into()),
            ("Checked at", output::time_ms(self.checked_at_ms)),
            ("Brokers", self.brokers.to_string()),
            (
                "Unreachable brokers",
                self.unreachable_brokers.len().to_string(),
            ),
            (
                "Leaderless partitions",
                self.leaderless_partitions.len().to_string(),
            ),
            (
                "Under-replicated partitions",
                self.under_replicated_partitions.len().to_string(),
            ),
        ]);
        for p in &self.problems {
            s.push_str(&format!("  problem: {p}\n"));
        }
        s
    }
}

/// Runs a cluster command.
pub async fn run(ctx: &Ctx, cmd: ClusterCmd) -> CtlResult {
    match cmd {
        ClusterCmd::Info => {
            let client = ctx.client().await?;
            let info = info(client).await?;
            ctx.out.emit(&info)
        }
        ClusterCmd::Health(args) => health(ctx, args).await,
    }
}

async fn info(client: &Client) -> CtlResult<ClusterInfo> {
    let view = client.metadata(None).await?;
    let mut cluster_id = view.cluster_id.clone();
    let mut controller = view.controller;
    if let Ok(dc) = client.send_any(DescribeClusterRequest::default()).await {
        if dc.error_code == 0 {
            cluster_id = Some(dc.cluster_id.to_string());
            controller = dc.controller_id.0;
        }
    }
    let quorum = metadata_quorum(client).await;
    let (metadata_leader_id, metadata_leader_epoch) = quorum
        .as_ref()
        .filter(|q| q.leader_id.0 >= 0)
        .map_or((None, None), |q| {
            (Some(q.leader_id.0), Some(q.leader_epoch))
        });
    let live: Vec<i32> = view.brokers.iter().map(|b| b.node_id).collect();
    let nodes = quorum.map_or_else(Vec::new, |q| {
        q.current_voters
            .iter()
            .map(|v| {
                let id = v.replica_id.0;
                let role = if !live.contains(&id) {
                    "offline"
                } else if id == q.leader_id.0 {
                    "leader"
                } else {
                    "follower"
                };
                NodeRole {
                    node_id: id,
                    role: role.into(),
                    metadata_log_end: (v.log_end_offset >= 0).then_some(v.log_end_offset),
                    last_fetch_ms: (v.last_fetch_timestamp >= 0).then_some(v.last_fetch_timestamp),
                }
            })
            .collect()
    });
    let api_versions = client
        .api_versions()
        .await?
        .into_iter()
        .map(|(key, min, max)| {
            let (name, used) = match ApiKey::try_from(key) {
                Ok(k) => {
                    let ours = k.valid_versions();
                    let v = max.min(ours.max);
                    (format!("{k:?}"), (v >= min.max(ours.min)).then_some(v))
                }
                Err(()) => (format!("Unknown{key}"), None),
            };
            ApiVersionEntry {
                api_key: key,
                name,
                min_version: min,
                max_version: max,
                used_version: used,
            }
        })
        .collect();
    Ok(ClusterInfo {
        cluster_id,
        controller_id: (controller >= 0).then_some(controller),
        metadata_leader_id,
        metadata_leader_epoch,
        brokers: broker_entries(&view),
        nodes,
        topics: view.topics.len(),
        partitions: view.topics.iter().map(|t| t.partitions.len()).sum(),
        bootstrap: client.config().bootstrap.join(","),
        client_version: env!("CARGO_PKG_VERSION").into(),
        api_versions,
    })
}

/// The metadata quorum (`__cluster_metadata` partition 0), asked of the
/// metadata leader when known (it alone knows per-voter progress); None
/// if the broker does not serve DescribeQuorum.
async fn metadata_quorum(client: &Client) -> Option<QuorumPartition> {
    let req = || {
        DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
            .with_partitions(vec![PartitionData::default().with_partition_index(0)])])
    };
    let first = |resp: DescribeQuorumResponse| {
        (resp.error_code == 0)
            .then(|| resp.topics.into_iter().next())
            .flatten()
            .and_then(|t| t.partitions.into_iter().next())
            .filter(|p| p.error_code == 0)
    };
    let any = first(client.send_any(req()).await.ok()?)?;
    if any.leader_id.0 < 0 {
        return Some(any);
    }
    match client.send_to(any.leader_id.0, req()).await {
        Ok(resp) => first(resp).or(Some(any)),
        Err(_) => Some(any),
    }
}

async fn check(client: &Client) -> CtlResult<ClusterHealth> {
    let view: ClusterView = client.metadata(None).await?;
    let mut h = ClusterHealth {
        healthy: true,
        checked_at_ms: ms_since_epoch(SystemTime::now()),
        brokers: view.brokers.len(),
        unreachable_brokers: Vec::new(),
        leaderless_partitions: Vec::new(),
        under_replicated_partitions: Vec::new(),
        problems: Vec::new(),
    };
    for b in &view.brokers {
        let probe = MetadataRequest::default().with_topics(Some(Vec::new()));
        if let Err(e) = client.send_to(b.node_id, probe).await {
            h.unreachable_brokers.push(b.node_id);
            h.problems
                .push(format!("broker {} ({}): {e}", b.node_id, b.addr()));
        }
    }
    for t in &view.topics {
        for p in &t.partitions {
            let r = PartitionRef {
                topic: t.name.clone(),
                partition: p.partition,
            };
            if p.leader < 0 {
                h.problems
                    .push(format!("{}-{} has no leader", t.name, p.partition));
                h.leaderless_partitions.push(r);
            } else if p.isr.len() < p.replicas.len() || !p.offline.is_empty() {
                h.problems.push(format!(
                    "{}-{} is under-replicated (in sync {:?} of {:?})",
                    t.name, p.partition, p.isr, p.replicas
                ));
                h.under_replicated_partitions.push(r);
            }
        }
    }
    if view.brokers.is_empty() {
        h.problems.push("the metadata lists no brokers".into());
    }
    h.healthy = h.problems.is_empty();
    Ok(h)
}

fn unreachable_report(e: &CtlError) -> ClusterHealth {
    ClusterHealth {
        healthy: false,
        checked_at_ms: ms_since_epoch(SystemTime::now()),
        brokers: 0,
        unreachable_brokers: Vec::new(),
        leaderless_partitions: Vec::new(),
        under_replicated_partitions: Vec::new(),
        problems: vec![e.message.clone()],
    }
}

fn unhealthy(h: &ClusterHealth) -> CtlError {
    CtlError::new(
        ErrorClass::Unhealthy,
        format!(
            "cluster is unhealthy: {}",
            h.problems.first().map_or("", String::as_str)
        ),
    )
}

async fn health(ctx: &Ctx, args: HealthArgs) -> CtlResult {
    if !args.watch {
        let h = check(ctx.client().await?).await?;
        ctx.out.emit(&h)?;
        return if h.healthy {
            Ok(())
        } else {
            Err(unhealthy(&h))
        };
    }
    // Watching: reconnect each round so a cluster that is still starting
    // (or restarting) is reported as unhealthy rather than failing.
    let start = Instant::now();
    loop {
        let h = match connect::connect(&ctx.settings).await {
            Ok(client) => match check(&client).await {
                Ok(h) => h,
                Err(e) if e.class == ErrorClass::Unreachable => unreachable_report(&e),
                Err(e) => return Err(e),
            },
            Err(e) if e.class == ErrorClass::Unreachable => unreachable_report(&e),
            Err(e) => return Err(e),
        };
        ctx.out.emit(&h)?;
        if h.healthy && args.exit_when_healthy {
            return Ok(());
        }
        if args.max_wait.is_some_and(|m| start.elapsed() >= m) {
            return if h.healthy {
                Ok(())
            } else {
                Err(unhealthy(&h))
            };
        }
        tokio::select! {
            () = tokio::time::sleep(args.interval) => {}
            () = interrupted() => return Ok(()),
        }
    }
}
