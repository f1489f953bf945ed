//! ListGroups, with the v4+ state filter and the v5+ type filter (every
//! group here is "classic").

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

/// The only group type this broker has.
const CLASSIC: &str = "classic";

pub(super) fn handle(broker: &Arc<Broker>, req: ListGroupsRequest, version: i16) -> ResponseKind {
    let types_ok = version < 5
        || req.types_filter.is_empty()
        || req
            .types_filter
            .iter()
            .any(|t| t.as_str().eq_ignore_ascii_case(CLASSIC));
    let states: Vec<String> = if version >= 4 {
        req.states_filter.iter().map(|s| s.to_string()).collect()
    } else {
        Vec::new()
    };
    let groups = if types_ok {
        broker
            .groups
            .list(&states)
            .into_iter()
            .map(|g| {
                let mut out = ListedGroup::default()
                    .with_group_id(GroupId(StrBytes::from_string(g.group_id)))
                    .with_protocol_type(StrBytes::from_string(g.protocol_type));
                if version >= 4 {
                    out.group_state = StrBytes::from_static_str(g.state);
                }
                if version >= 5 {
                    out.group_type = StrBytes::from_static_str(CLASSIC);
                }
                out
            })
            .collect()
    } else {
        Vec::new()
    };
    ResponseKind::ListGroups(ListGroupsResponse::default().with_groups(groups))
}
