//! AlterConfigs (the legacy, non-incremental form): the given configs
//! replace every override of the topic. kafka-python's `alter_configs` and
//! older tools use it.

use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::config_change;
use super::errors::ErrorCode;
use crate::broker::Broker;
use crate::cluster::ConfigOp;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

pub(super) async fn handle(
    broker: Arc<Broker>,
    req: AlterConfigsRequest,
    _version: i16,
) -> ResponseKind {
    let broker = &broker;
    let mut responses = Vec::with_capacity(req.resources.len());
    for r in req.resources {
        {
            let name = r.resource_name.to_string();
            let outcome =
                config_change::apply(broker, r.resource_type, &name, req.validate_only, || {
                    replace_ops(broker, &name, &r.configs)
                })
                .await;
            let mut resp = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name);
            if let Err((code, message)) = outcome {
                broker.metrics.observe_error("AlterConfigs", code);
                resp.error_code = code.code();
                resp.error_message = Some(StrBytes::from_string(message));
            }
            responses.push(resp);
        }
    }
    ResponseKind::AlterConfigs(AlterConfigsResponse::default().with_responses(responses))
}

/// The ops that turn the topic's overrides into exactly `configs`.
fn replace_ops(
    broker: &Broker,
    topic: &str,
    configs: &[kafka_protocol::messages::alter_configs_request::AlterableConfig],
) -> Result<Vec<ConfigOp>, (ErrorCode, String)> {
    let snapshot = broker.metadata.snapshot();
    let current = snapshot.topics.get(topic).ok_or_else(|| {
        (
            ErrorCode::UnknownTopicOrPartition,
            format!("topic {topic:?} does not exist"),
        )
    })?;
    let mut ops: Vec<ConfigOp> = current
        .configs
        .keys()
        .filter(|k| !configs.iter().any(|c| c.name.as_str() == k.as_str()))
        .map(|k| ConfigOp::Delete(k.clone()))
        .collect();
    for c in configs {
        match &c.value {
            Some(v) => ops.push(ConfigOp::Set(c.name.to_string(), v.to_string())),
            None => ops.push(ConfigOp::Delete(c.name.to_string())),
        }
    }
    Ok(ops)
}
