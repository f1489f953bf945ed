//! Heartbeat: keeps a member's session alive and tells it when to rejoin.

use std::sync::Arc;

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse, ResponseKind};

use super::errors::group_error;
use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

pub(super) fn handle(broker: &Arc<Broker>, req: HeartbeatRequest, _version: i16) -> ResponseKind {
    let outcome = broker.groups.heartbeat(
        &req.group_id.0,
        &req.member_id,
        req.group_instance_id.as_deref(),
        req.generation_id,
    );
    let mut resp = HeartbeatResponse::default();
    if let Err(e) = outcome {
        let code = group_error(e);
        broker.metrics.observe_error("Heartbeat", code);
        resp.error_code = code.code();
    }
    ResponseKind::Heartbeat(resp)
}
