//! OffsetDelete: removes a group's committed offsets for some partitions,
//! unless an active member consumes the topic.

use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse, ResponseKind};

use super::errors::{group_error, ErrorCode};
use super::Reply;
use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 0);

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: OffsetDeleteRequest,
    _version: i16,
) -> BoxFuture<'static, Reply> {
    let mut slots = Vec::new();
    let mut wanted = Vec::new();
    let mut topics = Vec::with_capacity(req.topics.len());
    for (ti, t) in req.topics.iter().enumerate() {
        let name = t.name.0.to_string();
        let mut parts = Vec::with_capacity(t.partitions.len());
        for (pi, p) in t.partitions.iter().enumerate() {
            parts.push(
                OffsetDeleteResponsePartition::default().with_partition_index(p.partition_index),
            );
            if broker.partitions.get(&name, p.partition_index).is_none() {
                slots.push((ti, pi, Some(ErrorCode::UnknownTopicOrPartition)));
            } else {
                slots.push((ti, pi, None));
                wanted.push((name.clone(), p.partition_index));
            }
        }
        topics.push(
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(parts),
        );
    }
    let pending = broker.groups.delete_offsets(&req.group_id.0, wanted);
    let broker = broker.clone();
    async move {
        let mut resp = OffsetDeleteResponse::default();
        match pending.await {
            Err(e) => {
                let code = group_error(e);
                broker.metrics.observe_error("OffsetDelete", code);
                resp.error_code = code.code();
            }
            Ok(results) => {
                let mut results = results.into_iter();
                for (ti, pi, refused) in slots {
                    let code = refused.or_else(|| results.next().flatten().map(group_error));
                    if let Some(code) = code {
                        broker.metrics.observe_error("OffsetDelete", code);
                        topics[ti].partitions[pi].error_code = code.code();
                    }
                }
                resp.topics = topics;
            }
        }
        Reply::response(ResponseKind::OffsetDelete(resp))
    }
    .boxed()
}
