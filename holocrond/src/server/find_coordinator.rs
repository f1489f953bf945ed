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

/// The node coordinating `key`: this broker when standalone, else the
/// leader of the key's `__consumer_offsets` partition, with its address.
fn coordinator_of(
    broker: &Broker,
    ctx: &ConnContext,
    key: &str,
) -> Result<(BrokerId, StrBytes, i32), ErrorCode> {
    let (host, port) = advertised(broker, ctx);
    let me = broker.config.node_id;
    if broker.config.cluster.is_none() {
        return Ok((BrokerId(me), StrBytes::from_string(host), port));
    }
    let state = broker.metadata.snapshot();
    let topic = state
        .topics
        .get(crate::groups::OFFSETS_TOPIC)
        .ok_or(ErrorCode::CoordinatorNotAvailable)?;
    let partition =
        crate::groups::store::partition_for(key, topic.partitions.max(1) as usize) as i32;
    let (leader, _) = broker
        .partition_leader(topic, partition)
        .ok_or(ErrorCode::CoordinatorNotAvailable)?;
    if leader == me {
        return Ok((BrokerId(me), StrBytes::from_string(host), port));
    }
    let b = state
        .brokers
        .get(&leader)
        .ok_or(ErrorCode::CoordinatorNotAvailable)?;
    Ok((
        BrokerId(leader),
        StrBytes::from_string(b.host.clone()),
        b.port,
    ))
}

pub(super) fn handle(
    broker: &Arc<Broker>,
    ctx: &ConnContext,
    req: FindCoordinatorRequest,
    version: i16,
) -> ResponseKind {
    let outcome = check(req.key_type);
    if let Err(code) = outcome {
        broker.metrics.observe_error("FindCoordinator", code);
    }
    let find = |key: &str| outcome.and_then(|()| coordinator_of(broker, ctx, key));
    let mut resp = FindCoordinatorResponse::default();
    if version >= 4 {
        resp.coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let found = find(key.as_str());
                let c = Coordinator::default().with_key(key);
                match found {
                    Ok((node, host, port)) => c.with_node_id(node).with_host(host).with_port(port),
                    Err(code) => c
                        .with_node_id(BrokerId(-1))
                        .with_port(-1)
                        .with_error_code(code.code())
                        .with_error_message(Some(StrBytes::from_static_str(message(code)))),
                }
            })
            .collect();
    } else {
        match find(req.key.as_str()) {
            Ok((node, host, port)) => {
                resp.node_id = node;
                resp.host = host;
                resp.port = port;
            }
            Err(code) => {
                resp.node_id = BrokerId(-1);
                resp.port = -1;
                resp.error_code = code.code();
                if version >= 1 {
                    resp.error_message = Some(StrBytes::from_static_str(message(code)));
                }
            }
        }
    }
    ResponseKind::FindCoordinator(resp)
}

fn message(code: ErrorCode) -> &'static str {
    if code == ErrorCode::InvalidRequest {
        "unsupported coordinator key type"
    } else {
        "the coordinator is not available yet"
    }
}
