//! JoinGroup: decode, hand to the coordinator, and answer when the
//! rebalance completes (or at once for errors and KIP-394's MEMBER_ID_REQUIRED).

use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse, RequestHeader, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::errors::group_error;
use super::Reply;
use crate::broker::Broker;
use crate::groups::coordinator::JoinRequest;
use crate::groups::member::JoinResult;
use crate::groups::GroupError;
use crate::net::ConnContext;

/// Versions served (v4+ require a known member id, KIP-394; v5+ static membership).
pub const VERSIONS: (i16, i16) = (0, 9);

/// Slack beyond the rebalance timeout before a waiting JoinGroup gives up on
/// the coordinator (which always answers by then).
const SLACK: Duration = Duration::from_secs(30);

pub(super) fn handle(
    broker: &Arc<Broker>,
    ctx: &ConnContext,
    header: &RequestHeader,
    req: JoinGroupRequest,
    version: i16,
) -> BoxFuture<'static, Reply> {
    let rebalance_timeout_ms = if version == 0 {
        req.session_timeout_ms
    } else {
        req.rebalance_timeout_ms
    };
    let join = JoinRequest {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        instance_id: req.group_instance_id.map(|s| s.to_string()),
        client_id: header.client_id.as_deref().unwrap_or_default().to_owned(),
        client_host: format!("/{}", ctx.peer.ip()),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms,
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
    };
    let member_id = join.member_id.clone();
    let rx = broker.groups.join(join);
    let broker = broker.clone();
    let wait = Duration::from_millis(u64::try_from(rebalance_timeout_ms).unwrap_or(0)) + SLACK;
    async move {
        let result = tokio::select! {
            r = tokio::time::timeout(wait, rx) => match r {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => JoinResult::failed(GroupError::CoordinatorNotAvailable, &member_id),
                Err(_) => JoinResult::failed(GroupError::RebalanceInProgress, &member_id),
            },
            () = broker.shutdown.cancelled() => JoinResult::failed(GroupError::ShuttingDown, &member_id),
        };
        Reply::response(ResponseKind::JoinGroup(respond(&broker, result, version)))
    }
    .boxed()
}

fn respond(broker: &Broker, r: JoinResult, version: i16) -> JoinGroupResponse {
    let mut resp = JoinGroupResponse::default()
        .with_generation_id(r.generation)
        .with_member_id(StrBytes::from_string(r.member_id))
        .with_leader(StrBytes::from_string(r.leader))
        .with_skip_assignment(version >= 9 && r.skip_assignment)
        .with_members(
            r.members
                .into_iter()
                .map(|m| {
                    JoinGroupResponseMember::default()
                        .with_member_id(StrBytes::from_string(m.member_id))
                        .with_group_instance_id(if version >= 5 {
                            m.group_instance_id.map(StrBytes::from_string)
                        } else {
                            None
                        })
                        .with_metadata(m.metadata)
                })
                .collect(),
        );
    if let Some(e) = r.error {
        let code = group_error(e);
        broker.metrics.observe_error("JoinGroup", code);
        resp.error_code = code.code();
    }
    if version >= 7 {
        resp.protocol_type = r.protocol_type.map(StrBytes::from_string);
        resp.protocol_name = r.protocol_name.map(StrBytes::from_string);
    } else {
        // Not nullable before v7.
        resp.protocol_name = Some(StrBytes::from_string(r.protocol_name.unwrap_or_default()));
    }
    resp
}
