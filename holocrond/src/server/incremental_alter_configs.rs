//! IncrementalAlterConfigs on topics: SET, DELETE, APPEND, SUBTRACT, with
//! validate_only. Broker configs are static (flags, environment, file).

use std::sync::Arc;

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;

use super::config_change;
use super::errors::ErrorCode;
use crate::broker::Broker;
use crate::cluster::ConfigOp;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 1);

pub(super) async fn handle(
    broker: Arc<Broker>,
    req: IncrementalAlterConfigsRequest,
    _version: i16,
) -> ResponseKind {
    let broker = &broker;
    let mut responses = Vec::with_capacity(req.resources.len());
    for r in req.resources {
        {
            let name = r.resource_name.to_string();
            let outcome =
                config_change::apply(broker, r.resource_type, &name, req.validate_only, || {
                    ops_of(&r.configs)
                })
                .await;
            let mut resp = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name);
            if let Err((code, message)) = outcome {
                broker
                    .metrics
                    .observe_error("IncrementalAlterConfigs", code);
                resp.error_code = code.code();
                resp.error_message = Some(StrBytes::from_string(message));
            }
            responses.push(resp);
        }
    }
    ResponseKind::IncrementalAlterConfigs(
        IncrementalAlterConfigsResponse::default().with_responses(responses),
    )
}

fn ops_of(
    configs: &[kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig],
) -> Result<Vec<ConfigOp>, (ErrorCode, String)> {
    configs
        .iter()
        .map(|c| {
            let name = c.name.to_string();
            let value = c.value.as_ref().map(|v| v.to_string());
            let need = |v: Option<String>| {
                v.ok_or_else(|| {
                    (
                        ErrorCode::InvalidConfig,
                        format!("config {name} needs a value"),
                    )
                })
            };
            Ok(match c.config_operation {
                0 => ConfigOp::Set(name.clone(), need(value)?),
                1 => ConfigOp::Delete(name),
                2 => ConfigOp::Append(name.clone(), need(value)?),
                3 => ConfigOp::Subtract(name.clone(), need(value)?),
                op => {
                    return Err((
                        ErrorCode::InvalidRequest,
                        format!("unknown config operation {op}"),
                    ))
                }
            })
        })
        .collect()
}
