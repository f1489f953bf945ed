//! `topic list|describe|create|delete|alter-config|add-partitions`.

use std::collections::BTreeMap;

use holocron_proto::client::{Client, OffsetSpec, TopicInfo};
use holocron_proto::errors::from_code;
use holocron_proto::kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use holocron_proto::kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig,
};
use holocron_proto::kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use holocron_proto::kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use holocron_proto::kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    IncrementalAlterConfigsRequest, TopicName,
};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use serde::{Deserialize, Serialize};

use super::common::{self, ConfigEntry, ItemError};
use super::Ctx;
use crate::cli::TopicCmd;
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, Document, Out};
use crate::timespec::parse_kv;

/// `holocron.topic.list/v1`: topics by name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicList {
    /// Topics by name.
    pub topics: Vec<TopicSummary>,
}

/// One topic in `topic list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSummary {
    /// Name.
    pub name: String,
    /// Topic id (UUID).
    pub topic_id: String,
    /// Internal topic.
    pub internal: bool,
    /// Number of partitions.
    pub partitions: usize,
    /// Replicas per partition (the largest replica set).
    pub replication_factor: usize,
}

impl Document for TopicList {
    fn schema(&self) -> &'static str {
        "holocron.topic.list/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&["name", "partitions", "replicas", "internal", "id"]);
        for x in &self.topics {
            t.add_row(vec![
                x.name.clone(),
                x.partitions.to_string(),
                x.replication_factor.to_string(),
                if x.internal { "yes" } else { "" }.into(),
                x.topic_id.clone(),
            ]);
        }
        output::render(&t)
    }
}

/// `holocron.topic.describe/v1`: topics with every partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicDescribe {
    /// In the order asked for.
    pub topics: Vec<TopicDetail>,
}

/// One topic in `topic describe`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicDetail {
    /// Name.
    pub name: String,
    /// Topic id (UUID).
    pub topic_id: String,
    /// Internal topic.
    pub internal: bool,
    /// Replicas per partition (the largest replica set).
    pub replication_factor: usize,
    /// Every config (the table shows those not at their default).
    pub configs: Vec<ConfigEntry>,
    /// Every partition, by index.
    pub partitions: Vec<PartitionDetail>,
}

/// One partition in `topic describe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionDetail {
    /// Index.
    pub partition: i32,
    /// Leader node id (null: no leader).
    pub leader: Option<i32>,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub in_sync: Vec<i32>,
    /// Offline replica node ids.
    pub offline: Vec<i32>,
    /// Raft voters of the partition (DescribeQuorum); null when the broker
    /// does not serve DescribeQuorum.
    pub voters: Option<Vec<i32>>,
    /// First offset in the log (ListOffsets earliest); null if unknown.
    pub log_start_offset: Option<i64>,
    /// High watermark (ListOffsets latest); null if unknown.
    pub high_watermark: Option<i64>,
    /// The leader's log end offset (DescribeQuorum); null when the broker
    /// does not serve DescribeQuorum.
    pub log_end_offset: Option<i64>,
    /// Bytes on the leader's disk (DescribeLogDirs); null if unknown.
    pub size_bytes: Option<u64>,
    /// Segment files; always null today: no standard Kafka API reports it.
    pub segments: Option<u64>,
    /// The partition's error, if metadata or ListOffsets reported one.
    pub error: Option<String>,
}

impl Document for TopicDescribe {
    fn schema(&self) -> &'static str {
        "holocron.topic.describe/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut s = String::new();
        for (i, t) in self.topics.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            let overrides: Vec<String> = t
                .configs
                .iter()
                .filter(|c| c.source != "default")
                .map(|c| format!("{}={}", c.name, output::opt(c.value.as_ref())))
                .collect();
            s.push_str(&output::kv(&[
                ("Topic", t.name.clone()),
                ("Id", t.topic_id.clone()),
                ("Internal", if t.internal { "yes" } else { "no" }.into()),
                ("Partitions", t.partitions.len().to_string()),
                ("Replication factor", t.replication_factor.to_string()),
                (
                    "Configs (non-default)",
                    if overrides.is_empty() {
                        "-".into()
                    } else {
                        overrides.join(", ")
                    },
                ),
            ]));
            let mut tab = out.table(&[
                "partition",
                "leader",
                "epoch",
                "replicas",
                "in-sync",
                "voters",
                "log-start",
                "high-watermark",
                "log-end",
                "size",
                "segments",
                "error",
            ]);
            for p in &t.partitions {
                tab.add_row(vec![
                    p.partition.to_string(),
                    output::opt(p.leader),
                    p.leader_epoch.to_string(),
                    output::ids(&p.replicas),
                    output::ids(&p.in_sync),
                    output::opt(p.voters.as_deref().map(output::ids)),
                    output::opt(p.log_start_offset),
                    output::opt(p.high_watermark),
                    output::opt(p.log_end_offset),
                    output::opt(p.size_bytes.map(output::size)),
                    output::opt(p.segments),
                    output::opt(p.error.as_ref()),
                ]);
            }
            s.push_str(&output::render(&tab));
        }
        s
    }
}

/// `holocron.topic.create/v1` and `holocron.topic.delete/v1`: one result per
/// topic named.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicOps {
    /// `create` or `delete`.
    pub operation: String,
    /// Only validated (`--dry-run`); nothing changed.
    pub dry_run: bool,
    /// One per topic, in the order given.
    pub topics: Vec<TopicOpResult>,
}

/// The result for one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicOpResult {
    /// Name.
    pub name: String,
    /// `created`, `valid` (dry run), `exists` (with --if-not-exists),
    /// `deleted`, `absent` (with --if-exists) or `failed`.
    pub status: String,
    /// Topic id of a created topic (null otherwise).
    pub topic_id: Option<String>,
    /// Partitions of a created topic (null otherwise).
    pub partitions: Option<i32>,
    /// Replication factor of a created topic (null otherwise).
    pub replication_factor: Option<i16>,
    /// Why it failed (null unless `failed`).
    pub error: Option<ItemError>,
}

impl Document for TopicOps {
    fn schema(&self) -> &'static str {
        if self.operation == "create" {
            "holocron.topic.create/v1"
        } else {
            "holocron.topic.delete/v1"
        }
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&["topic", "status", "partitions", "replicas", "error"]);
        for r in &self.topics {
            t.add_row(vec![
                r.name.clone(),
                r.status.clone(),
                output::opt(r.partitions),
                output::opt(r.replication_factor),
                output::opt(r.error.as_ref().map(|e| e.message.clone())),
            ]);
        }
        output::render(&t)
    }
}

/// `holocron.topic.alter-config/v1`: the change made (or validated).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicAlterConfig {
    /// Topic.
    pub topic: String,
    /// Only validated (`--dry-run`).
    pub dry_run: bool,
    /// Configs set, by name.
    pub set: BTreeMap<String, String>,
    /// Configs reset to their defaults.
    pub deleted: Vec<String>,
}

impl Document for TopicAlterConfig {
    fn schema(&self) -> &'static str {
        "holocron.topic.alter-config/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&["config", "change"]);
        for (k, v) in &self.set {
            t.add_row(vec![k.clone(), format!("set to {v}")]);
        }
        for k in &self.deleted {
            t.add_row(vec![k.clone(), "reset to default".into()]);
        }
        let verb = if self.dry_run {
            "would alter (dry run)"
        } else {
            "altered"
        };
        format!("topic {:?} {verb}:\n{}", self.topic, output::render(&t))
    }
}

/// `holocron.topic.add-partitions/v1`: the partition count before and after.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicAddPartitions {
    /// Topic.
    pub topic: String,
    /// Only validated (`--dry-run`).
    pub dry_run: bool,
    /// Partitions before.
    pub previous_count: usize,
    /// Partitions after.
    pub count: i32,
}

impl Document for TopicAddPartitions {
    fn schema(&self) -> &'static str {
        "holocron.topic.add-partitions/v1"
    }
    fn human(&self, _out: &Out) -> String {
        let verb = if self.dry_run {
            "would grow (dry run)"
        } else {
            "grown"
        };
        format!(
            "topic {:?} {verb} from {} to {} partitions\n",
            self.topic, self.previous_count, self.count
        )
    }
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}

fn replication_factor(t: &TopicInfo) -> usize {
    t.partitions
        .iter()
        .map(|p| p.replicas.len())
        .max()
        .unwrap_or(0)
}

fn check_names(topics: &[String]) -> CtlResult {
    for t in topics {
        if t.is_empty() || t.len() > 249 {
            return Err(CtlError::usage(format!("bad topic name {t:?}")));
        }
    }
    Ok(())
}

/// Runs a topic command.
pub async fn run(ctx: &Ctx, cmd: TopicCmd) -> CtlResult {
    match cmd {
        TopicCmd::List { internal } => {
            let view = ctx.client().await?.metadata(None).await?;
            let mut topics: Vec<TopicSummary> = view
                .topics
                .iter()
                .filter(|t| internal || !t.internal)
                .map(|t| TopicSummary {
                    name: t.name.clone(),
                    topic_id: t.id.to_string(),
                    internal: t.internal,
                    partitions: t.partitions.len(),
                    replication_factor: replication_factor(t),
                })
                .collect();
            topics.sort_by(|a, b| a.name.cmp(&b.name));
            ctx.out.emit(&TopicList { topics })
        }
        TopicCmd::Describe { topics } => {
            check_names(&topics)?;
            let client = ctx.client().await?;
            let mut details = Vec::new();
            for t in &topics {
                details.push(describe(client, t).await?);
            }
            ctx.out.emit(&TopicDescribe { topics: details })
        }
        TopicCmd::Create {
            topics,
            partitions,
            replication_factor,
            configs,
            if_not_exists,
            dry_run,
        } => {
            check_names(&topics)?;
            if partitions.is_some_and(|p| p < 1) {
                return Err(CtlError::usage("--partitions must be at least 1"));
            }
            if replication_factor.is_some_and(|r| r < 1) {
                return Err(CtlError::usage("--replication-factor must be at least 1"));
            }
            let configs = configs
                .iter()
                .map(|c| parse_kv(c, "config"))
                .collect::<CtlResult<Vec<_>>>()?;
            let req = CreateTopicsRequest::default()
                .with_timeout_ms(ctx.settings.timeout.as_millis() as i32)
                .with_validate_only(dry_run)
                .with_topics(
                    topics
                        .iter()
                        .map(|t| {
                            CreatableTopic::default()
                                .with_name(name(t))
                                .with_num_partitions(partitions.unwrap_or(-1))
                                .with_replication_factor(replication_factor.unwrap_or(-1))
                                .with_configs(
                                    configs
                                        .iter()
                                        .map(|(k, v)| {
                                            CreatableTopicConfig::default()
                                                .with_name(StrBytes::from_string(k.clone()))
                                                .with_value(Some(StrBytes::from_string(v.clone())))
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let resp = ctx.client().await?.send_any(req).await?;
            let mut results = Vec::new();
            for t in &topics {
                let r = resp.topics.iter().find(|r| r.name.0.as_str() == t.as_str());
                let mut out = TopicOpResult {
                    name: t.clone(),
                    status: if dry_run { "valid" } else { "created" }.into(),
                    topic_id: None,
                    partitions: None,
                    replication_factor: None,
                    error: None,
                };
                match r {
                    None => {
                        out.status = "failed".into();
                        out.error = Some(ItemError::from(&CtlError::new(
                            ErrorClass::Failure,
                            format!("the broker did not answer for topic {t:?}"),
                        )));
                    }
                    Some(r) => match from_code(r.error_code) {
                        None => {
                            out.topic_id = (!r.topic_id.is_nil()).then(|| r.topic_id.to_string());
                            out.partitions = (r.num_partitions > 0).then_some(r.num_partitions);
                            out.replication_factor =
                                (r.replication_factor > 0).then_some(r.replication_factor);
                        }
                        Some(holocron_proto::errors::ErrorCode::TopicAlreadyExists)
                            if if_not_exists =>
                        {
                            out.status = "exists".into();
                        }
                        Some(code) => {
                            let what = match &r.error_message {
                                Some(m) => format!("creating topic {t:?}: {m}"),
                                None => format!("creating topic {t:?}"),
                            };
                            out.status = "failed".into();
                            out.error = Some(ItemError::from(&CtlError::kafka(code, what)));
                        }
                    },
                }
                results.push(out);
            }
            let doc = TopicOps {
                operation: "create".into(),
                dry_run,
                topics: results,
            };
            ctx.out.emit(&doc)?;
            common::combine(doc.topics.iter().map(|r| r.error.as_ref()), "topics")
        }
        TopicCmd::Delete { topics, if_exists } => {
            check_names(&topics)?;
            let client = ctx.client().await?;
            let version = client.version_for::<DeleteTopicsRequest>().await?;
            let mut req = DeleteTopicsRequest::default()
                .with_timeout_ms(ctx.settings.timeout.as_millis() as i32);
            if version >= 6 {
                req.topics = topics
                    .iter()
                    .map(|t| DeleteTopicState::default().with_name(Some(name(t))))
                    .collect();
            } else {
                req.topic_names = topics.iter().map(|t| name(t)).collect();
            }
            let resp = client.send_any(req).await?;
            let mut results = Vec::new();
            for t in &topics {
                let r = resp
                    .responses
                    .iter()
                    .find(|r| r.name.as_ref().is_some_and(|n| n.0.as_str() == t.as_str()));
                let mut out = TopicOpResult {
                    name: t.clone(),
                    status: "deleted".into(),
                    topic_id: None,
                    partitions: None,
                    replication_factor: None,
                    error: None,
                };
                match r.map(|r| (from_code(r.error_code), r.error_message.clone())) {
                    None => {
                        out.status = "failed".into();
                        out.error = Some(ItemError::from(&CtlError::new(
                            ErrorClass::Failure,
                            format!("the broker did not answer for topic {t:?}"),
                        )));
                    }
                    Some((None, _)) => {}
                    Some((Some(holocron_proto::errors::ErrorCode::UnknownTopicOrPartition), _))
                        if if_exists =>
                    {
                        out.status = "absent".into();
                    }
                    Some((Some(code), msg)) => {
                        let what = match msg {
                            Some(m) => format!("deleting topic {t:?}: {m}"),
                            None => format!("deleting topic {t:?}"),
                        };
                        out.status = "failed".into();
                        out.error = Some(ItemError::from(&CtlError::kafka(code, what)));
                    }
                }
                results.push(out);
            }
            let doc = TopicOps {
                operation: "delete".into(),
                dry_run: false,
                topics: results,
            };
            ctx.out.emit(&doc)?;
            common::combine(doc.topics.iter().map(|r| r.error.as_ref()), "topics")
        }
        TopicCmd::AlterConfig {
            topic,
            set,
            delete,
            dry_run,
        } => {
            check_names(std::slice::from_ref(&topic))?;
            let set: BTreeMap<String, String> = set
                .iter()
                .map(|c| parse_kv(c, "config"))
                .collect::<CtlResult<_>>()?;
            if set.is_empty() && delete.is_empty() {
                return Err(CtlError::usage("nothing to change: give --set or --delete"));
            }
            if let Some(k) = delete.iter().find(|k| set.contains_key(*k)) {
                return Err(CtlError::usage(format!("{k:?} is both set and deleted")));
            }
            let client = ctx.client().await?;
            common::topic_info(client, &topic).await?;
            let mut configs: Vec<AlterableConfig> = set
                .iter()
                .map(|(k, v)| {
                    AlterableConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_config_operation(0)
                        .with_value(Some(StrBytes::from_string(v.clone())))
                })
                .collect();
            configs.extend(delete.iter().map(|k| {
                AlterableConfig::default()
                    .with_name(StrBytes::from_string(k.clone()))
                    .with_config_operation(1)
                    .with_value(None)
            }));
            let req = IncrementalAlterConfigsRequest::default()
                .with_validate_only(dry_run)
                .with_resources(vec![AlterConfigsResource::default()
                    .with_resource_type(common::RESOURCE_TOPIC)
                    .with_resource_name(StrBytes::from_string(topic.clone()))
                    .with_configs(configs)]);
            let resp = client.send_any(req).await?;
            for r in &resp.responses {
                if let Some(code) = from_code(r.error_code) {
                    let what = match &r.error_message {
                        Some(m) => format!("altering configs of {topic:?}: {m}"),
                        None => format!("altering configs of {topic:?}"),
                    };
                    return Err(CtlError::kafka(code, what));
                }
            }
            ctx.out.emit(&TopicAlterConfig {
                topic,
                dry_run,
                set,
                deleted: delete,
            })
        }
        TopicCmd::AddPartitions {
            topic,
            count,
            dry_run,
        } => {
            check_names(std::slice::from_ref(&topic))?;
            if count < 1 {
                return Err(CtlError::usage("--count must be at least 1"));
            }
            let client = ctx.client().await?;
            let (_, info) = common::topic_info(client, &topic).await?;
            let req = CreatePartitionsRequest::default()
                .with_timeout_ms(ctx.settings.timeout.as_millis() as i32)
                .with_validate_only(dry_run)
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(name(&topic))
                    .with_count(count)
                    .with_assignments(None)]);
            let resp = client.send_any(req).await?;
            for r in &resp.results {
                if let Some(code) = from_code(r.error_code) {
                    let what = match &r.error_message {
                        Some(m) => format!("adding partitions to {topic:?}: {m}"),
                        None => format!("adding partitions to {topic:?}"),
                    };
                    return Err(CtlError::kafka(code, what));
                }
            }
            ctx.out.emit(&TopicAddPartitions {
                topic,
                dry_run,
                previous_count: info.partitions.len(),
                count,
            })
        }
    }
}

/// Everything `topic describe` shows for one topic.
pub async fn describe(client: &Client, topic: &str) -> CtlResult<TopicDetail> {
    let (view, info) = common::topic_info(client, topic).await?;
    let all: Vec<(String, i32)> = info
        .partitions
        .iter()
        .map(|p| (topic.to_owned(), p.partition))
        .collect();
    let starts = client
        .list_offsets(&view, &all, OffsetSpec::Earliest)
        .await?;
    let ends = client.list_offsets(&view, &all, OffsetSpec::Latest).await?;
    let indexes: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
    let quorum = common::quorum(client, &info, &indexes).await?;
    let mut sizes = BTreeMap::new();
    let mut leaders: Vec<i32> = info
        .partitions
        .iter()
        .map(|p| p.leader)
        .filter(|l| *l >= 0)
        .collect();
    leaders.sort_unstable();
    leaders.dedup();
    for leader in leaders {
        let (_, s) = common::log_dirs(client, leader, Some(&info)).await?;
        for ((_, p), size) in s {
            if info
                .partitions
                .iter()
                .any(|x| x.partition == p && x.leader == leader)
            {
                sizes.insert(p, size);
            }
        }
    }
    let configs = common::describe_configs(client, common::RESOURCE_TOPIC, topic, None).await?;
    let partitions = info
        .partitions
        .iter()
        .map(|p| {
            let key = (topic.to_owned(), p.partition);
            let start = starts.get(&key).cloned();
            let end = ends.get(&key).cloned();
            let q = quorum.get(&p.partition);
            let error = p
                .error
                .or(start.and_then(|r| r.err()))
                .or(end.and_then(|r| r.err()))
                .map(crate::exit::kafka_name);
            PartitionDetail {
                partition: p.partition,
                leader: (p.leader >= 0).then_some(p.leader),
                leader_epoch: p.leader_epoch,
                replicas: p.replicas.clone(),
                in_sync: p.isr.clone(),
                offline: p.offline.clone(),
                voters: q.map(|q| {
                    q.replicas
                        .iter()
                        .filter(|r| r.voter)
                        .map(|r| r.node_id)
                        .collect()
                }),
                log_start_offset: start.and_then(|r| r.ok()).map(|o| o.offset),
                high_watermark: end.and_then(|r| r.ok()).map(|o| o.offset),
                log_end_offset: q.and_then(|q| {
                    q.replicas
                        .iter()
                        .find(|r| r.node_id == q.leader_id && r.log_end_offset >= 0)
                        .map(|r| r.log_end_offset)
                }),
                size_bytes: sizes.get(&p.partition).copied(),
                segments: None,
                error,
            }
        })
        .collect();
    Ok(TopicDetail {
        name: info.name.clone(),
        topic_id: info.id.to_string(),
        internal: info.internal,
        replication_factor: replication_factor(&info),
        configs,
        partitions,
    })
}
