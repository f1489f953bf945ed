//! DescribeGroups: state, protocol and members (with metadata and
//! assignments when Stable). An unknown group is "Dead"; v6+ also says
//! GROUP_ID_NOT_FOUND (KIP-1043).

use std::sync::Arc;

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::errors::{group_error, ErrorCode};
use super::metadata::OPS_NOT_REQUESTED;
use crate::broker::Broker;
use crate::groups::coordinator::check_group_id;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 6);

/// Every group operation (no ACLs yet): READ 3, DELETE 6, DESCRIBE 8.
const ALL_GROUP_OPS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: DescribeGroupsRequest,
    version: i16,
) -> ResponseKind {
    let ops = if version >= 3 && req.include_authorized_operations {
        ALL_GROUP_OPS
    } else {
        OPS_NOT_REQUESTED
    };
    let groups = req
        .groups
        .into_iter()
        .map(|id| {
            let mut out = DescribedGroup::default()
                .with_group_id(id.clone())
                .with_authorized_operations(ops);
            if let Err(e) = check_group_id(&id.0, true).and_then(|()| broker.groups.own(&id.0)) {
                out.error_code = group_error(e).code();
                return out;
            }
            match broker.groups.describe(&id.0) {
                Some(d) => {
                    out.group_state = StrBytes::from_static_str(d.state);
                    out.protocol_type = StrBytes::from_string(d.protocol_type);
                    out.protocol_data = StrBytes::from_string(d.protocol);
                    out.members = d
                        .members
                        .into_iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(StrBytes::from_string(m.member_id))
                                .with_group_instance_id(if version >= 4 {
                                    m.instance_id.map(StrBytes::from_string)
                                } else {
                                    None
                                })
                                .with_client_id(StrBytes::from_string(m.client_id))
                                .with_client_host(StrBytes::from_string(m.client_host))
                                .with_member_metadata(m.metadata)
                                .with_member_assignment(m.assignment)
                        })
                        .collect();
                }
                None => {
                    out.group_state = StrBytes::from_static_str("Dead");
                    if version >= 6 {
                        broker
                            .metrics
                            .observe_error("DescribeGroups", ErrorCode::GroupIdNotFound);
                        out.error_code = ErrorCode::GroupIdNotFound.code();
                        out.error_message = Some(StrBytes::from_string(format!(
                            "group {} not found",
                            id.0.as_str()
                        )));
                    }
                }
            }
            out
        })
        .collect();
    ResponseKind::DescribeGroups(DescribeGroupsResponse::default().with_groups(groups))
}
