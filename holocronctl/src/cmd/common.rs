//! Lookups several commands share: topic metadata, configs, per-partition
//! quorum state and log-dir sizes, and how per-item failures add up to one
//! exit code.

use std::collections::BTreeMap;

use holocron_proto::client::{
    Client, ClientError, ClusterView, OffsetAnswers, OffsetSpec, TopicInfo,
};
use holocron_proto::errors::{from_code, ErrorCode};
use holocron_proto::kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use holocron_proto::kafka_protocol::messages::describe_quorum_request::{
    PartitionData as QuorumPartitionReq, TopicData as QuorumTopicReq,
};
use holocron_proto::kafka_protocol::messages::{
    describe_configs_request::DescribeConfigsResource, DescribeConfigsRequest,
    DescribeLogDirsRequest, DescribeQuorumRequest, TopicName,
};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};

use crate::exit::{CtlError, CtlResult, ErrorClass};

/// Why one item of a multi-item command failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemError {
    /// The error class (see the exit codes).
    pub class: ErrorClass,
    /// The Kafka error name, if the broker sent one.
    pub kafka_error: Option<String>,
    /// One line for a human.
    pub message: String,
}

impl From<&CtlError> for ItemError {
    fn from(e: &CtlError) -> Self {
        ItemError {
            class: e.class,
            kafka_error: e.kafka_error.clone(),
            message: e.message.clone(),
        }
    }
}

/// The overall result of items that each succeeded or failed: success if
/// none failed; the shared class if all failed alike; otherwise exit 7.
pub fn combine<'a>(
    errors: impl IntoIterator<Item = Option<&'a ItemError>>,
    what: &str,
) -> CtlResult {
    let mut total = 0;
    let mut failed: Vec<&ItemError> = Vec::new();
    for e in errors {
        total += 1;
        failed.extend(e);
    }
    match failed.as_slice() {
        [] => Ok(()),
        [first, ..] if failed.len() == total && failed.iter().all(|e| e.class == first.class) => {
            let mut e = CtlError::new(first.class, first.message.clone());
            e.kafka_error = first.kafka_error.clone();
            if total > 1 {
                e.message = format!("all {total} {what} failed; first: {}", first.message);
            }
            Err(e)
        }
        [first, ..] => Err(CtlError::new(
            ErrorClass::PartialFailure,
            format!(
                "{} of {total} {what} failed; first: {}",
                failed.len(),
                first.message
            ),
        )),
    }
}

/// Metadata for one topic; exit 3 if it does not exist.
pub async fn topic_info(client: &Client, topic: &str) -> CtlResult<(ClusterView, TopicInfo)> {
    let view = client.metadata(Some(&[topic.to_owned()])).await?;
    let t = view
        .topics
        .iter()
        .find(|t| t.name == topic)
        .cloned()
        .ok_or_else(|| not_found_topic(topic))?;
    match t.error {
        Some(ErrorCode::UnknownTopicOrPartition | ErrorCode::UnknownTopicId) => {
            Err(not_found_topic(topic))
        }
        Some(code) => Err(CtlError::kafka(code, format!("topic {topic:?}"))),
        None => Ok((view, t)),
    }
}

/// "topic does not exist" (exit 3).
pub fn not_found_topic(topic: &str) -> CtlError {
    let mut e = CtlError::new(
        ErrorClass::NotFound,
        format!("topic {topic:?} does not exist"),
    );
    e.kafka_error = Some("UNKNOWN_TOPIC_OR_PARTITION".into());
    e
}

/// The partitions asked for (all if `wanted` is empty); exit 3 for one the
/// topic does not have.
pub fn pick_partitions(t: &TopicInfo, wanted: &[i32]) -> CtlResult<Vec<i32>> {
    if wanted.is_empty() {
        return Ok(t.partitions.iter().map(|p| p.partition).collect());
    }
    let mut out = Vec::new();
    for w in wanted {
        if !t.partitions.iter().any(|p| p.partition == *w) {
            return Err(CtlError::new(
                ErrorClass::NotFound,
                format!(
                    "topic {:?} has no partition {w} (it has {})",
                    t.name,
                    t.partitions.len()
                ),
            ));
        }
        if !out.contains(w) {
            out.push(*w);
        }
    }
    Ok(out)
}

/// One config as DescribeConfigs reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigEntry {
    /// Name, e.g. `retention.ms`.
    pub name: String,
    /// Value (null for sensitive configs).
    pub value: Option<String>,
    /// Where the value comes from: `topic`, `dynamic_broker`,
    /// `dynamic_default_broker`, `static_broker`, `default`,
    /// `dynamic_broker_logger`, `client_metrics`, `group` or `unknown`.
    pub source: String,
    /// Cannot be changed.
    pub read_only: bool,
    /// Value is hidden.
    pub sensitive: bool,
}

fn source_name(code: i8) -> &'static str {
    match code {
        1 => "topic",
        2 => "dynamic_broker",
        3 => "dynamic_default_broker",
        4 => "static_broker",
        5 => "default",
        6 => "dynamic_broker_logger",
        7 => "client_metrics",
        8 => "group",
        _ => "unknown",
    }
}

/// Resource types in DescribeConfigs.
pub const RESOURCE_TOPIC: i8 = 2;
/// Broker resource type.
pub const RESOURCE_BROKER: i8 = 4;

/// Every config of a topic or broker, by name. Broker configs are asked of
/// that broker.
pub async fn describe_configs(
    client: &Client,
    resource_type: i8,
    name: &str,
    broker: Option<i32>,
) -> CtlResult<Vec<ConfigEntry>> {
    let req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(StrBytes::from_string(name.to_owned()))
            .with_configuration_keys(None)]);
    let resp = match broker {
        Some(id) => client.send_to(id, req).await?,
        None => client.send_any(req).await?,
    };
    let mut out = Vec::new();
    for r in resp.results {
        if let Some(code) = from_code(r.error_code) {
            let what = match r.error_message {
                Some(m) => format!("configs of {name:?}: {m}"),
                None => format!("configs of {name:?}"),
            };
            return Err(CtlError::kafka(code, what));
        }
        for c in r.configs {
            out.push(ConfigEntry {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                source: source_name(c.config_source).to_owned(),
                read_only: c.read_only,
                sensitive: c.is_sensitive,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One replica in a partition's quorum (DescribeQuorum per data partition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumReplica {
    /// Node id.
    pub node_id: i32,
    /// A voter (false: an observer).
    pub voter: bool,
    /// Its log end offset (-1 unknown).
    pub log_end_offset: i64,
    /// Last fetch, ms since the epoch (-1 unknown).
    pub last_fetch_timestamp: i64,
    /// Last time it was caught up, ms since the epoch (-1 unknown).
    pub last_caught_up_timestamp: i64,
}

/// A partition's quorum as DescribeQuorum reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumState {
    /// Leader node id.
    pub leader_id: i32,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// High watermark.
    pub high_watermark: i64,
    /// Voters and observers.
    pub replicas: Vec<QuorumReplica>,
}

/// DescribeQuorum for these partitions of `topic`, asked of each leader.
/// Empty when the broker does not serve DescribeQuorum (older brokers, or
/// Holocron before replication): callers show "unknown" then.
pub async fn quorum(
    client: &Client,
    t: &TopicInfo,
    partitions: &[i32],
) -> CtlResult<BTreeMap<i32, QuorumState>> {
    let mut out = BTreeMap::new();
    let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for p in &t.partitions {
        if partitions.contains(&p.partition) && p.leader >= 0 {
            by_leader.entry(p.leader).or_default().push(p.partition);
        }
    }
    for (leader, ps) in by_leader {
        let req = DescribeQuorumRequest::default().with_topics(vec![QuorumTopicReq::default()
            .with_topic_name(TopicName(StrBytes::from_string(t.name.clone())))
            .with_partitions(
                ps.iter()
                    .map(|p| QuorumPartitionReq::default().with_partition_index(*p))
                    .collect(),
            )]);
        let resp = match client.send_to(leader, req).await {
            Ok(r) => r,
            Err(ClientError::Unsupported(_)) => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        if from_code(resp.error_code).is_some() {
            continue;
        }
        for topic in resp.topics {
            for p in topic.partitions {
                if from_code(p.error_code).is_some() {
                    continue;
                }
                let mut replicas: Vec<QuorumReplica> = Vec::new();
                for (voter, list) in [(true, &p.current_voters), (false, &p.observers)] {
                    for r in list {
                        replicas.push(QuorumReplica {
                            node_id: r.replica_id.0,
                            voter,
                            log_end_offset: r.log_end_offset,
                            last_fetch_timestamp: r.last_fetch_timestamp,
                            last_caught_up_timestamp: r.last_caught_up_timestamp,
                        });
                    }
                }
                out.insert(
                    p.partition_index,
                    QuorumState {
                        leader_id: p.leader_id.0,
                        leader_epoch: p.leader_epoch,
                        high_watermark: p.high_watermark,
                        replicas,
                    },
                );
            }
        }
    }
    Ok(out)
}

/// Log directories of one broker (DescribeLogDirs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogDir {
    /// Path on the broker.
    pub path: String,
    /// Error for this directory, if any (Kafka error name).
    pub error: Option<String>,
    /// Total bytes of the volume (null: not reported).
    pub total_bytes: Option<i64>,
    /// Usable bytes of the volume (null: not reported).
    pub usable_bytes: Option<i64>,
    /// Partitions stored.
    pub partitions: u64,
    /// Bytes stored, summed over its partitions.
    pub size_bytes: u64,
}

/// Log dirs and per-partition sizes of one broker, for `topics` (all if None).
pub async fn log_dirs(
    client: &Client,
    broker: i32,
    topics: Option<&TopicInfo>,
) -> CtlResult<(Vec<LogDir>, BTreeMap<(String, i32), u64>)> {
    let req = DescribeLogDirsRequest::default().with_topics(topics.map(|t| {
        vec![DescribableLogDirTopic::default()
            .with_topic(TopicName(StrBytes::from_string(t.name.clone())))
            .with_partitions(t.partitions.iter().map(|p| p.partition).collect())]
    }));
    let resp = client.send_to(broker, req).await?;
    if let Some(code) = from_code(resp.error_code) {
        return Err(CtlError::kafka(
            code,
            format!("log dirs of broker {broker}"),
        ));
    }
    let mut dirs = Vec::new();
    let mut sizes = BTreeMap::new();
    for r in resp.results {
        let mut dir = LogDir {
            path: r.log_dir.to_string(),
            error: from_code(r.error_code).map(crate::exit::kafka_name),
            total_bytes: (r.total_bytes >= 0).then_some(r.total_bytes),
            usable_bytes: (r.usable_bytes >= 0).then_some(r.usable_bytes),
            partitions: 0,
            size_bytes: 0,
        };
        for t in r.topics {
            for p in t.partitions {
                let size = p.partition_size.max(0) as u64;
                dir.partitions += 1;
                dir.size_bytes += size;
                *sizes
                    .entry((t.name.0.to_string(), p.partition_index))
                    .or_default() += size;
            }
        }
        dirs.push(dir);
    }
    Ok((dirs, sizes))
}

/// A broker as listed by `cluster info` and `broker list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerEntry {
    /// Node id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// `host:port`.
    pub address: String,
    /// Rack, if configured.
    pub rack: Option<String>,
    /// Whether it is the controller.
    pub is_controller: bool,
}

/// The brokers of a metadata view, by node id.
pub fn broker_entries(view: &ClusterView) -> Vec<BrokerEntry> {
    let mut v: Vec<BrokerEntry> = view
        .brokers
        .iter()
        .map(|b| BrokerEntry {
            node_id: b.node_id,
            host: b.host.clone(),
            port: b.port,
            address: b.addr(),
            rack: b.rack.clone(),
            is_controller: b.node_id == view.controller,
        })
        .collect();
    v.sort_by_key(|b| b.node_id);
    v
}

/// Each partition's log start and high watermark, and where a timestamp
/// falls when one is given: the bounds within which a consumer's start
/// position or a group's offset reset is chosen.
#[derive(Debug)]
pub struct OffsetBounds {
    earliest: OffsetAnswers,
    latest: OffsetAnswers,
    at_time: Option<OffsetAnswers>,
}

fn answer(m: &OffsetAnswers, key: &(String, i32)) -> CtlResult<i64> {
    match m.get(key) {
        Some(Ok(o)) => Ok(o.offset),
        Some(Err(code)) => Err(CtlError::kafka(*code, format!("{}-{}", key.0, key.1))),
        None => Err(not_found_topic(&key.0)),
    }
}

impl OffsetBounds {
    /// Asks the partitions' leaders (ListOffsets earliest, latest, and by
    /// `time` when given).
    pub async fn fetch(
        client: &Client,
        view: &ClusterView,
        keys: &[(String, i32)],
        time: Option<i64>,
    ) -> CtlResult<OffsetBounds> {
        let earliest = client
            .list_offsets(view, keys, OffsetSpec::Earliest)
            .await?;
        let latest = client.list_offsets(view, keys, OffsetSpec::Latest).await?;
        let at_time = match time {
            Some(t) => Some(
                client
                    .list_offsets(view, keys, OffsetSpec::Timestamp(t))
                    .await?,
            ),
            None => None,
        };
        Ok(OffsetBounds {
            earliest,
            latest,
            at_time,
        })
    }

    /// (log start, high watermark) of a partition.
    pub fn range(&self, key: &(String, i32)) -> CtlResult<(i64, i64)> {
        Ok((answer(&self.earliest, key)?, answer(&self.latest, key)?))
    }

    /// The first offset at or after the timestamp; the high watermark when
    /// no record is that recent (or no timestamp was asked for).
    pub fn at_time(&self, key: &(String, i32)) -> CtlResult<i64> {
        let end = answer(&self.latest, key)?;
        match self.at_time.as_ref().map(|m| answer(m, key)).transpose()? {
            Some(o) if o >= 0 => Ok(o),
            _ => Ok(end),
        }
    }
}
