//! What AlterConfigs and IncrementalAlterConfigs share: applying (or, with
//! validate_only, only checking) config operations on one resource. Topic
//! configs change at runtime; broker configs are static.

use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::errors::{topic_error, ErrorCode};
use crate::broker::Broker;
use crate::cluster::ConfigOp;

/// A refused change: the error code and a message for the client.
pub(super) type Refusal = (ErrorCode, String);

/// Applies the ops that `ops` computes to the resource.
pub(super) async fn apply(
    broker: &Broker,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    ops: impl FnOnce() -> Result<Vec<ConfigOp>, Refusal>,
) -> Result<(), Refusal> {
    match resource_type {
        RESOURCE_TOPIC => {
            let ops = ops()?;
            let run = if validate_only {
                broker.metadata.check_config_ops(name, &ops).map(|_| ())
            } else {
                broker.alter_topic_configs(name, &ops).await
            };
            run.map_err(|e| (topic_error(&e), e.to_string()))
        }
        RESOURCE_BROKER => Err((
            ErrorCode::InvalidRequest,
            "broker configs are set with holocrond flags, environment or config file".into(),
        )),
        other => Err((
            ErrorCode::InvalidRequest,
            format!("resource type {other} is not supported"),
        )),
    }
}
