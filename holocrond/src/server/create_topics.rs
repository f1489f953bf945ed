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
use crate::cluster::{Placement, TopicError};

/// Versions served.
pub const VERSIONS: (i16, i16) = (2, 7);

pub(super) async fn handle(
    broker: Arc<Broker>,
    req: CreateTopicsRequest,
    version: i16,
) -> ResponseKind {
    let broker = &broker;
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = req
        .topics
        .iter()
        .map(|t| t.name.0.to_string())
        .filter(|n| !seen.insert(n.clone()))
        .collect();
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in req.topics {
        {
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
                create_one(broker, &name, &t, req.validate_only).await
            };
            match outcome {
                Ok((partitions, rf, id)) => {
                    result.num_partitions = partitions;
                    result.replication_factor = rf;
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
            topics.push(result);
        }
    }
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

async fn create_one(
    broker: &Broker,
    name: &str,
    t: &CreatableTopic,
    validate_only: bool,
) -> Result<(i32, i16, Option<uuid::Uuid>), (ErrorCode, String)> {
    let fail = |e: TopicError| (topic_error(&e), e.to_string());
    if let Some(c) = t.configs.iter().find(|c| c.value.is_none()) {
        return Err((
            ErrorCode::InvalidConfig,
            format!("config {} has no value", c.name.as_str()),
        ));
    }
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
        t.assignments.len() as i32
    };
    let placement = if t.assignments.is_empty() {
        Placement::Factor(t.replication_factor)
    } else {
        let mut sorted: Vec<_> = t.assignments.iter().collect();
        sorted.sort_by_key(|a| a.partition_index);
        Placement::Explicit(
            sorted
                .iter()
                .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                .collect(),
        )
    };
    let configs = configs_of(t);
    if validate_only {
        broker
            .metadata
            .check_new_topic(name, partitions, &placement, &configs)
            .map_err(fail)?;
        let rf = crate::cluster::plan::place(name, 0, 1, &placement, &broker.metadata.nodes())
            .map_or(-1, |r| r.first().map_or(-1, |r| r.len() as i16));
        return Ok((partitions, rf, None));
    }
    let topic = broker
        .create_topic(name, partitions, placement, configs)
        .await
        .map_err(fail)?;
    let rf = topic.replicas.first().map_or(1, |r| r.len() as i16);
    Ok((topic.partitions, rf, Some(topic.id)))
}
