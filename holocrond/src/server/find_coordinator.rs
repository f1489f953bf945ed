//! FindCoordinator: on a single node this broker coordinates every group
//! (the leader of the group's `__consumer_offsets` partition, DESIGN.md §5).
//! v4+ batches several keys in one request.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;

use super::errors::ErrorCode;
use super::metadata::advertised;
use crate::broker::Broker;
use crate::net::ConnContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 6);

/// Key types: 0 group, 1 transaction (answered: this node coordinates
/// everything; transactional requests themselves are refused by their
/// handlers); 2 (share groups) is not supported.
fn check(key_type: i8) -> Result<(), ErrorCode> {
    match key_type {
        0 | 1 => Ok(()),
        _ => Err(ErrorCode::InvalidRequest),
    }
}

pub(super) fn handle(
    broker: &Arc<Broker>,
    ctx: &ConnContext,
    req: FindCoordinatorRequest,
    version: i16,
) -> ResponseKind {
    let (host, port) = advertised(broker, ctx);
    let node = BrokerId(broker.config.node_id);
    let host = StrBytes::from_string(host);
    let outcome = check(req.key_type);
    if let Err(code) = outcome {
        broker.metrics.observe_error("FindCoordinator", code);
    }
    let mut resp = FindCoordinatorResponse::default();
    if version >= 4 {
        resp.coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let c = Coordinator::default().with_key(key);
                match outcome {
                    Ok(()) => c.with_node_id(node).with_host(host.clone()).with_port(port),
                    Err(code) => c
                        .with_node_id(BrokerId(-1))
                        .with_port(-1)
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_static_str(
                            "unsupported coordinator key type",
                        ))),
                }
            })
            .collect();
    } else {
        match outcome {
            Ok(()) => {
                resp.node_id = node;
                resp.host = host;
                resp.port = port;
            }
            Err(code) => {
                resp.node_id = BrokerId(-1);
                resp.port = -1;
                resp.error_code = code.code();
                if version >= 1 {
                    resp.error_message = Some(StrBytes::from_static_str(
                        "unsupported coordinator key type",
                    ));
                }
            }
        }
    }
    ResponseKind::FindCoordinator(resp)
}
