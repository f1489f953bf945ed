//! SyncGroup: the leader hands in the assignment; every member gets its
//! share once the assignment is stored.

use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use kafka_protocol::messages::{ResponseKind, SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::errors::group_error;
use super::Reply;
use crate::broker::Broker;
use crate::groups::coordinator::SyncRequest;
use crate::groups::member::SyncResult;
use crate::groups::GroupError;

/// Versions served (v3+ static membership, v5 protocol type and name).
pub const VERSIONS: (i16, i16) = (0, 5);

/// The coordinator answers a waiting SyncGroup within the group's rebalance
/// timeout; this only bounds a request if something is badly wrong.
const MAX_WAIT: Duration = Duration::from_secs(30 * 60);

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: SyncGroupRequest,
    version: i16,
) -> BoxFuture<'static, Reply> {
    let sync = SyncRequest {
        group_id: req.group_id.0.to_string(),
        generation: req.generation_id,
        member_id: req.member_id.to_string(),
        instance_id: req.group_instance_id.map(|s| s.to_string()),
        protocol_type: req.protocol_type.map(|s| s.to_string()),
        protocol_name: req.protocol_name.map(|s| s.to_string()),
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
    };
    let rx = broker.groups.sync(sync);
    let broker = broker.clone();
    async move {
        let result = tokio::select! {
            r = tokio::time::timeout(MAX_WAIT, rx) => match r {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => SyncResult::failed(GroupError::CoordinatorNotAvailable),
                Err(_) => SyncResult::failed(GroupError::RebalanceInProgress),
            },
            () = broker.shutdown.cancelled() => SyncResult::failed(GroupError::ShuttingDown),
        };
        let mut resp = SyncGroupResponse::default().with_assignment(result.assignment);
        if let Some(e) = result.error {
            let code = group_error(e);
            broker.metrics.observe_error("SyncGroup", code);
            resp.error_code = code.code();
        }
        if version >= 5 {
            resp.protocol_type = result.protocol_type.map(StrBytes::from_string);
            resp.protocol_name = result.protocol_name.map(StrBytes::from_string);
        }
        Reply::response(ResponseKind::SyncGroup(resp))
    }
    .boxed()
}
