//! DeleteGroups: empty groups only; their offsets and metadata are
//! tombstoned and the answer waits for the tombstones to commit.

use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, GroupId, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::errors::group_error;
use super::Reply;
use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: DeleteGroupsRequest,
    _version: i16,
) -> BoxFuture<'static, Reply> {
    let ids = req
        .groups_names
        .into_iter()
        .map(|g| g.0.to_string())
        .collect();
    let pending = broker.groups.delete_groups(ids);
    let broker = broker.clone();
    async move {
        let results = pending
            .await
            .into_iter()
            .map(|(id, e)| {
                let mut r = DeletableGroupResult::default()
                    .with_group_id(GroupId(StrBytes::from_string(id)));
                if let Some(e) = e {
                    let code = group_error(e);
                    broker.metrics.observe_error("DeleteGroups", code);
                    r.error_code = code.code();
                }
                r
            })
            .collect();
        Reply::response(ResponseKind::DeleteGroups(
            DeleteGroupsResponse::default().with_results(results),
        ))
    }
    .boxed()
}
