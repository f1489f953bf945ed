//! DescribeConfigs for topics (every supported config: overrides and
//! defaults, with sources, types and documentation) and for this broker.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::errors::ErrorCode;
use crate::broker::Broker;
use crate::cluster::topic_config::{self, ConfigType, TOPIC_CONFIGS};

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 4);

/// Resource type of a topic.
pub const RESOURCE_TOPIC: i8 = 2;
/// Resource type of a broker.
pub const RESOURCE_BROKER: i8 = 4;

/// Where a config value comes from (Kafka's ConfigSource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Set on the topic.
    Topic,
    /// Set when the broker started (flags, environment, file).
    StaticBroker,
    /// Built-in default.
    Default,
}

impl Source {
    /// Wire value.
    pub fn wire(self) -> i8 {
        match self {
            Source::Topic => 1,
            Source::StaticBroker => 4,
            Source::Default => 5,
        }
    }
}

/// One config entry to report.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Name.
    pub name: &'static str,
    /// Value.
    pub value: String,
    /// Where it comes from.
    pub source: Source,
    /// Type.
    pub kind: ConfigType,
    /// Documentation.
    pub doc: &'static str,
    /// Read-only.
    pub read_only: bool,
}

/// A topic's full config: its overrides over the broker defaults.
pub fn topic_entries(broker: &Broker, overrides: &BTreeMap<String, String>) -> Vec<Entry> {
    TOPIC_CONFIGS
        .iter()
        .filter_map(|d| {
            let (value, source) = match overrides.get(d.name) {
                Some(v) => (v.clone(), Source::Topic),
                None => (
                    topic_config::default_value(d.name, &broker.config.log_defaults)?,
                    Source::Default,
                ),
            };
            Some(Entry {
                name: d.name,
                value,
                source,
                kind: d.kind,
                doc: d.doc,
                read_only: false,
            })
        })
        .collect()
}

fn broker_entries(broker: &Broker) -> Vec<Entry> {
    let c = &broker.config;
    let d = &c.log_defaults;
    let e = |name, value: String, kind, doc| Entry {
        name,
        value,
        source: Source::StaticBroker,
        kind,
        doc,
        read_only: true,
    };
    vec![
        e(
            "broker.id",
            c.node_id.to_string(),
            ConfigType::Int,
            "This broker's node id",
        ),
        e(
            "node.id",
            c.node_id.to_string(),
            ConfigType::Int,
            "This broker's node id",
        ),
        e(
            "log.dirs",
            c.data_dir.display().to_string(),
            ConfigType::String,
            "Data directory",
        ),
        e(
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
            ConfigType::Boolean,
            "Create topics on first Metadata request",
        ),
        e(
            "num.partitions",
            c.default_partitions.to_string(),
            ConfigType::Int,
            "Default partition count",
        ),
        e(
            "log.retention.ms",
            d.retention_ms.unwrap_or(-1).to_string(),
            ConfigType::Long,
            "Default retention.ms",
        ),
        e(
            "log.retention.bytes",
            d.retention_bytes.unwrap_or(-1).to_string(),
            ConfigType::Long,
            "Default retention.bytes",
        ),
        e(
            "log.segment.bytes",
            d.segment_bytes.to_string(),
            ConfigType::Int,
            "Default segment.bytes",
        ),
        e(
            "message.max.bytes",
            d.max_batch_bytes.to_string(),
            ConfigType::Int,
            "Default max.message.bytes",
        ),
        e(
            "socket.request.max.bytes",
            c.max_request_bytes.to_string(),
            ConfigType::Int,
            "Largest request accepted",
        ),
        e(
            "log.retention.check.interval.ms",
            c.retention_check_interval.as_millis().to_string(),
            ConfigType::Long,
            "How often retention runs",
        ),
    ]
}

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: DescribeConfigsRequest,
    _version: i16,
) -> ResponseKind {
    let results = req
        .resources
        .into_iter()
        .map(|r| {
            let name = r.resource_name.to_string();
            let mut result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let entries = match r.resource_type {
                RESOURCE_TOPIC => match broker.metadata.snapshot().topics.get(&name) {
                    Some(t) => Ok(topic_entries(broker, &t.configs)),
                    None => Err((
                        ErrorCode::UnknownTopicOrPartition,
                        format!("topic {name:?} does not exist"),
                    )),
                },
                RESOURCE_BROKER if name.is_empty() || name == broker.config.node_id.to_string() => {
                    Ok(broker_entries(broker))
                }
                RESOURCE_BROKER => Err((
                    ErrorCode::InvalidRequest,
                    format!("this is broker {}, not {name:?}", broker.config.node_id),
                )),
                other => Err((
                    ErrorCode::InvalidRequest,
                    format!("resource type {other} is not supported"),
                )),
            };
            match entries {
                Ok(entries) => {
                    let keys: Option<Vec<String>> = r
                        .configuration_keys
                        .map(|k| k.iter().map(|s| s.to_string()).collect());
                    result.configs = entries
                        .into_iter()
                        .filter(|e| keys.as_ref().is_none_or(|k| k.iter().any(|k| k == e.name)))
                        .map(|e| to_wire(e, req.include_synonyms, req.include_documentation))
                        .collect();
                }
                Err((code, message)) => {
                    broker.metrics.observe_error("DescribeConfigs", code);
                    result.error_code = code.code();
                    result.error_message = Some(StrBytes::from_string(message));
                }
            }
            result
        })
        .collect();
    ResponseKind::DescribeConfigs(DescribeConfigsResponse::default().with_results(results))
}

fn to_wire(e: Entry, synonyms: bool, docs: bool) -> DescribeConfigsResourceResult {
    let value = StrBytes::from_string(e.value);
    let mut out = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_static_str(e.name))
        .with_value(Some(value.clone()))
        .with_read_only(e.read_only)
        .with_config_source(e.source.wire())
        .with_config_type(e.kind.wire());
    if synonyms {
        out.synonyms = vec![DescribeConfigsSynonym::default()
            .with_name(StrBytes::from_static_str(e.name))
            .with_value(Some(value))
            .with_source(e.source.wire())];
    }
    if docs {
        out.documentation = Some(StrBytes::from_static_str(e.doc));
    }
    out
}
