//! LeaveGroup: one member (v0–v2) or a batch of members, possibly named by
//! group instance id only (v3+, KIP-345).

use std::sync::Arc;

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse, ResponseKind};

use super::errors::group_error;
use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

pub(super) fn handle(broker: &Arc<Broker>, req: LeaveGroupRequest, version: i16) -> ResponseKind {
    let leaving: Vec<(String, Option<String>)> = if version >= 3 {
        req.members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|s| s.to_string()),
                )
            })
            .collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    let mut resp = LeaveGroupResponse::default();
    match broker.groups.leave(&req.group_id.0, &leaving) {
        Err(e) => {
            let code = group_error(e);
            broker.metrics.observe_error("LeaveGroup", code);
            resp.error_code = code.code();
        }
        Ok(results) if version >= 3 => {
            resp.members = req
                .members
                .into_iter()
                .zip(results)
                .map(|(m, e)| {
                    let code = e.map_or(0, |e| group_error(e).code());
                    MemberResponse::default()
                        .with_member_id(m.member_id)
                        .with_group_instance_id(m.group_instance_id)
                        .with_error_code(code)
                })
                .collect();
        }
        Ok(results) => {
            if let Some(e) = results.into_iter().flatten().next() {
                let code = group_error(e);
                broker.metrics.observe_error("LeaveGroup", code);
                resp.error_code = code.code();
            }
        }
    }
    ResponseKind::LeaveGroup(resp)
}
