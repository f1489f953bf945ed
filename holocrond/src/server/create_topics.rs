//! CreateTopics, with validate_only, configs, explicit assignments and the
//! v5+ echo of the created topic's settings.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::describe_configs::topic_entries;
use super::errors::{topic_error, ErrorCode};
use crate::broker::Broker;
use crate::cluster::TopicError;

/// Versions served.
pub const VERSIONS: (i16, i16) = (2, 7);

pub(super) fn handle(broker: &Arc<Broker>, req: CreateTopicsRequest, version: i16) -> ResponseKind {
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = req
        .topics
        .iter()
        .map(|t| t.name.0.to_string())
        .filter(|n| !seen.insert(n.clone()))
        .collect();
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let mut result = CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_num_partitions(-1)
                .with_replication_factor(-1);
            let outcome = if duplicates.contains(&name) {
                Err((
                    ErrorCode::InvalidRequest,
                    format!("topic {name:?} appears more than once in the request"),
                ))
            } else {
                create_one(broker, &name, &t, req.validate_only)
            };
            match outcome {
                Ok((partitions, id)) => {
                    result.num_partitions = partitions;
                    result.replication_factor = 1;
                    if let Some(id) = id {
                        result.topic_id = id;
                    }
                    let configs = configs_of(&t);
                    result.configs = (version >= 5).then(|| {
                        topic_entries(broker, &configs)
                            .into_iter()
                            .map(|e| {
                                CreatableTopicConfigs::default()
                                    .with_name(StrBytes::from_static_str(e.name))
                                    .with_value(Some(StrBytes::from_string(e.value)))
                                    .with_config_source(e.source.wire())
                            })
                            .collect()
                    });
                }
                Err((code, message)) => {
                    broker.metrics.observe_error("CreateTopics", code);
                    result.error_code = code.code();
                    result.error_message = Some(StrBytes::from_string(message));
                }
            }
            result
        })
        .collect();
    ResponseKind::CreateTopics(CreateTopicsResponse::default().with_topics(topics))
}

fn configs_of(t: &CreatableTopic) -> BTreeMap<String, String> {
    t.configs
        .iter()
        .filter_map(|c| {
            c.value
                .as_ref()
                .map(|v| (c.name.to_string(), v.to_string()))
        })
        .collect()
}

fn create_one(
    broker: &Broker,
    name: &str,
    t: &CreatableTopic,
    validate_only: bool,
) -> Result<(i32, Option<uuid::Uuid>), (ErrorCode, String)> {
    let fail = |e: TopicError| (topic_error(&e), e.to_string());
    if let Some(c) = t.configs.iter().find(|c| c.value.is_none()) {
        return Err((
            ErrorCode::InvalidConfig,
            format!("config {} has no value", c.name.as_str()),
        ));
    }
    let node = broker.config.node_id;
    let partitions = if t.assignments.is_empty() {
        if t.num_partitions == -1 {
            broker.config.default_partitions
        } else {
            t.num_partitions
        }
    } else {
        if t.num_partitions != -1 || t.replication_factor != -1 {
            return Err((
                ErrorCode::InvalidRequest,
                "give either partitions and replication factor, or assignments, not both".into(),
            ));
        }
        let mut indexes: Vec<i32> = t.assignments.iter().map(|a| a.partition_index).collect();
        indexes.sort_unstable();
        if indexes.iter().enumerate().any(|(i, p)| *p != i as i32) {
            return Err((
                ErrorCode::InvalidReplicaAssignment,
                "assignments must cover partitions 0..n once each".into(),
            ));
        }
        if t.assignments
            .iter()
            .any(|a| a.broker_ids.len() != 1 || a.broker_ids[0].0 != node)
        {
            return Err((
                ErrorCode::InvalidReplicaAssignment,
                format!("this single-node cluster can only place replicas on broker {node}"),
            ));
        }
        t.assignments.len() as i32
    };
    let rf = if t.assignments.is_empty() {
        t.replication_factor
    } else {
        1
    };
    if rf != -1 && rf != 1 {
        let e = if rf < 1 {
            format!("replication factor must be at least 1, got {rf}")
        } else {
            format!("replication factor {rf} is larger than the 1 available broker")
        };
        return Err((ErrorCode::InvalidReplicationFactor, e));
    }
    let configs = configs_of(t);
    if validate_only {
        broker
            .metadata
            .check_new_topic(name, partitions, &configs)
            .map_err(fail)?;
        return Ok((partitions, None));
    }
    let topic = broker
        .create_topic(name, partitions, configs)
        .map_err(fail)?;
    Ok((topic.partitions, Some(topic.id)))
}
