//! DeleteTopics, by name (v1–v5) or by name or id (v6).

use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    DeleteTopicsRequest, DeleteTopicsResponse, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::errors::{topic_error, ErrorCode};
use crate::broker::Broker;
use crate::cluster::topic_name;

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 6);

pub(super) async fn handle(
    broker: Arc<Broker>,
    req: DeleteTopicsRequest,
    version: i16,
) -> ResponseKind {
    let broker = &broker;
    let targets: Vec<(Option<TopicName>, Uuid)> = if version >= 6 {
        req.topics
            .into_iter()
            .map(|t| (t.name, t.topic_id))
            .collect()
    } else {
        req.topic_names
            .into_iter()
            .map(|n| (Some(n), Uuid::nil()))
            .collect()
    };
    let mut responses = Vec::with_capacity(targets.len());
    for (name, id) in targets {
        {
            let resolved = match &name {
                Some(n) => Some(n.0.to_string()),
                None => broker
                    .metadata
                    .snapshot()
                    .topic_by_id(id)
                    .map(|t| t.name.clone()),
            };
            let mut result = DeletableTopicResult::default()
                .with_name(name.clone())
                .with_topic_id(id);
            let outcome = match resolved {
                None => Err((ErrorCode::UnknownTopicId, format!("no topic has id {id}"))),
                Some(n) if topic_name::is_internal(&n) => Err((
                    ErrorCode::InvalidTopicException,
                    format!("{n} is an internal topic and cannot be deleted"),
                )),
                Some(n) => broker
                    .delete_topic(&n)
                    .await
                    .map(|t| (n, t.id))
                    .map_err(|e| (topic_error(&e), e.to_string())),
            };
            match outcome {
                Ok((n, topic_id)) => {
                    result.name = Some(TopicName(StrBytes::from_string(n)));
                    result.topic_id = topic_id;
                }
                Err((code, message)) => {
                    broker.metrics.observe_error("DeleteTopics", code);
                    result.error_code = code.code();
                    result.error_message = Some(StrBytes::from_string(message));
                }
            }
            responses.push(result);
        }
    }
    ResponseKind::DeleteTopics(DeleteTopicsResponse::default().with_responses(responses))
}
