//! DescribeCluster: the brokers (or controllers), cluster id and controller.

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{
    BrokerId, DescribeClusterRequest, DescribeClusterResponse, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;

use super::metadata::{advertised, OPS_NOT_REQUESTED};
use crate::broker::Broker;
use crate::net::ConnContext;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 2);

/// Every cluster operation (no ACLs yet): ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
/// DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12, CREATE 5.
const ALL_CLUSTER_OPS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

pub(super) fn handle(
    broker: &Arc<Broker>,
    ctx: &ConnContext,
    req: DescribeClusterRequest,
    _version: i16,
) -> ResponseKind {
    let (host, port) = advertised(broker, ctx);
    let brokers = super::metadata::live_brokers(broker, broker.config.node_id, host, port)
        .into_iter()
        .map(|(id, host, port)| {
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(id))
                .with_host(StrBytes::from_string(host))
                .with_port(port)
        })
        .collect();
    let controller = broker.controller_id();
    ResponseKind::DescribeCluster(
        DescribeClusterResponse::default()
            .with_endpoint_type(req.endpoint_type)
            .with_cluster_id(StrBytes::from_string(broker.metadata.cluster_id()))
            .with_controller_id(BrokerId(controller))
            .with_brokers(brokers)
            .with_cluster_authorized_operations(if req.include_cluster_authorized_operations {
                ALL_CLUSTER_OPS
            } else {
                OPS_NOT_REQUESTED
            }),
    )
}
