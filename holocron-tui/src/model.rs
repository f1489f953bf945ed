//! What the collectors observe, as plain data: the cluster (brokers, topics,
//! partitions with offsets, sizes and replica state), consumer groups, and
//! records of the tailed topic. Values the broker did not report are `None`
//! (drawn as "—"), never guessed.

/// One poll of the cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSnapshot {
    /// When the poll finished, ms since the dashboard started (rates are
    /// deltas over this clock).
    pub at_ms: u64,
    /// Cluster id.
    pub cluster_id: Option<String>,
    /// Controller node id (-1: none).
    pub controller: i32,
    /// Brokers by node id.
    pub brokers: Vec<BrokerRow>,
    /// The metadata Raft quorum (None until the broker serves DescribeQuorum).
    pub metadata_quorum: Option<MetaQuorum>,
    /// Topics by name.
    pub topics: Vec<TopicRow>,
    /// Broker-wide byte counters from the Prometheus endpoint, if scraped.
    pub metrics: Option<BrokerCounters>,
}

/// A broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRow {
    /// Node id.
    pub node_id: i32,
    /// `HOST:PORT`.
    pub address: String,
    /// Rack.
    pub rack: Option<String>,
    /// Bytes stored on it (DescribeLogDirs), if it answered.
    pub stored_bytes: Option<u64>,
}

/// The metadata quorum's leader and term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaQuorum {
    /// Leader node id.
    pub leader: i32,
    /// Raft term (leader epoch).
    pub term: i32,
    /// Committed index.
    pub high_watermark: i64,
}

/// Counters read from the broker's Prometheus endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokerCounters {
    /// `holocron_produce_bytes_total`.
    pub produce_bytes: u64,
    /// `holocron_fetch_bytes_total`.
    pub fetch_bytes: u64,
}

/// A topic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicRow {
    /// Name.
    pub name: String,
    /// Internal (e.g. `__consumer_offsets`).
    pub internal: bool,
    /// Partitions by index.
    pub partitions: Vec<PartitionRow>,
}

impl TopicRow {
    /// Records stored (high watermark − log start, summed over known partitions).
    pub fn records(&self) -> Option<i64> {
        sum(self.partitions.iter().map(PartitionRow::records))
    }

    /// Bytes stored, summed over partitions that reported a size.
    pub fn size(&self) -> Option<u64> {
        sum(self.partitions.iter().map(|p| p.size))
    }
}

fn sum<T: std::iter::Sum + Copy>(it: impl Iterator<Item = Option<T>>) -> Option<T> {
    let known: Vec<T> = it.flatten().collect();
    (!known.is_empty()).then(|| known.into_iter().sum())
}

/// A partition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartitionRow {
    /// Index.
    pub partition: i32,
    /// Leader node id (-1: none).
    pub leader: i32,
    /// Leader epoch (the Raft term).
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
    /// Log start offset.
    pub log_start: Option<i64>,
    /// High watermark (the Raft commit point).
    pub high_watermark: Option<i64>,
    /// The leader's log end offset (DescribeQuorum, else the metrics endpoint).
    pub log_end: Option<i64>,
    /// Bytes on disk (DescribeLogDirs).
    pub size: Option<u64>,
    /// Per-replica log end offsets (DescribeQuorum); None until served.
    pub replica_state: Option<Vec<ReplicaRow>>,
    /// The partition's error, if any (Kafka error name).
    pub error: Option<String>,
}

impl PartitionRow {
    /// Records stored.
    pub fn records(&self) -> Option<i64> {
        Some((self.high_watermark? - self.log_start?).max(0))
    }

    /// Each replica's lag behind the leader's log end (None: unknown). The
    /// leader is the reference, so its lag is 0 whenever offsets are known.
    pub fn replica_lags(&self) -> Vec<(i32, Option<i64>)> {
        let known = self.log_end.or(self.high_watermark).is_some();
        self.replicas
            .iter()
            .map(|id| {
                if *id == self.leader && known {
                    return (*id, Some(0));
                }
                let lag = self.replica_state.as_ref().and_then(|rs| {
                    let leo = rs.iter().find(|r| r.node_id == *id)?.log_end_offset?;
                    let end = self.log_end.or(self.high_watermark)?;
                    Some((end - leo).max(0))
                });
                (*id, lag)
            })
            .collect()
    }
}

/// One replica's state in a partition's Raft group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaRow {
    /// Node id.
    pub node_id: i32,
    /// Its log end offset (None: unknown).
    pub log_end_offset: Option<i64>,
}

/// What the groups collector saw.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupsData {
    /// The broker does not serve the consumer group APIs (which one is missing).
    Unsupported(String),
    /// Every group, by id.
    Groups(Vec<GroupRow>),
}

/// A consumer group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRow {
    /// Group id.
    pub group_id: String,
    /// State, e.g. `Stable`.
    pub state: String,
    /// Protocol type, e.g. `consumer`.
    pub protocol_type: String,
    /// Assignor, e.g. `range`.
    pub protocol: String,
    /// Coordinator node id.
    pub coordinator: i32,
    /// Members.
    pub members: Vec<MemberRow>,
    /// Committed offsets and lag by topic and partition.
    pub offsets: Vec<GroupOffsetRow>,
    /// Why describing it failed, if it did.
    pub error: Option<String>,
}

impl GroupRow {
    /// Sum of known lags (None if no partition's lag is known).
    pub fn total_lag(&self) -> Option<i64> {
        sum(self.offsets.iter().map(|o| o.lag))
    }
}

/// A group member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberRow {
    /// Member id.
    pub member_id: String,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Assigned partitions by topic.
    pub assignments: Vec<(String, Vec<i32>)>,
}

/// One partition's committed offset and lag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupOffsetRow {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Committed offset.
    pub committed: Option<i64>,
    /// High watermark.
    pub high_watermark: Option<i64>,
    /// `high_watermark − committed`.
    pub lag: Option<i64>,
    /// The member assigned the partition.
    pub member: Option<String>,
}

/// A record of the tailed topic, ready to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TailRecord {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp, ms since the epoch.
    pub timestamp_ms: i64,
    /// Key preview (None: null key).
    pub key: Option<String>,
    /// Value preview (None: null value, a tombstone).
    pub value: Option<String>,
    /// Size of the value in bytes.
    pub value_len: usize,
    /// Headers as `(key, value preview)`.
    pub headers: Vec<(String, String)>,
}

impl TailRecord {
    /// Whether the record's key, value or headers contain `needle`
    /// (case-insensitive; `needle` already lowercased).
    pub fn matches(&self, needle: &str) -> bool {
        let has = |s: &str| s.to_lowercase().contains(needle);
        self.key.as_deref().is_some_and(has)
            || self.value.as_deref().is_some_and(has)
            || self.headers.iter().any(|(k, v)| has(k) || has(v))
            || self.offset.to_string() == needle
    }
}
