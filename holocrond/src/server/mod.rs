//! Request dispatch by API key. One file per API; each handler decodes
//! nothing itself (the codec did), calls the domain, and builds the response.
//!
//! [`dispatch`] runs synchronously in the connection's read loop, so work a
//! handler does before returning its future (Produce's appends) happens in
//! request order; the rest runs concurrently and the connection writes the
//! responses back in order.

mod alter_configs;
mod api_versions;
mod config_change;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_producers;
mod describe_quorum;
mod elect_leaders;
pub mod errors;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod produce;
mod reassign;
mod sync_group;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use holocron_proto::request::{self, RequestError};
use holocron_proto::response;
use holocron_proto::versions::{ApiRange, ApiVersionTable};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};

use crate::broker::Broker;
use crate::net::ConnContext;

/// What the connection does with a request.
pub enum Dispatch {
    /// Run this (in its own task) and write what it yields, in order.
    Respond(BoxFuture<'static, Outcome>),
    /// Close the connection: the request cannot be answered.
    Close(String),
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dispatch::Respond(_) => f.write_str("Respond(..)"),
            Dispatch::Close(reason) => f.debug_tuple("Close").field(reason).finish(),
        }
    }
}

/// The end of one request.
#[derive(Debug)]
pub enum Outcome {
    /// A response frame.
    Send(Bytes),
    /// No response (Produce with acks=0).
    Nothing,
    /// Close the connection (how Kafka signals an error to an acks=0 producer).
    Close,
}

/// A handler's answer before encoding.
#[derive(Debug)]
pub(crate) enum Reply {
    Response(Box<ResponseKind>),
    Nothing,
    Close,
}

/// The APIs this broker serves and their versions: exactly the handlers below.
pub fn api_table() -> &'static ApiVersionTable {
    static TABLE: OnceLock<ApiVersionTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let r = |key, (min, max): (i16, i16)| ApiRange { key, min, max };
        ApiVersionTable::new([
            r(ApiKey::ApiVersions, api_versions::VERSIONS),
            r(ApiKey::Metadata, metadata::VERSIONS),
            r(ApiKey::Produce, produce::VERSIONS),
            r(ApiKey::Fetch, fetch::VERSIONS),
            r(ApiKey::ListOffsets, list_offsets::VERSIONS),
            r(ApiKey::CreateTopics, create_topics::VERSIONS),
            r(ApiKey::DeleteTopics, delete_topics::VERSIONS),
            r(ApiKey::CreatePartitions, create_partitions::VERSIONS),
            r(ApiKey::DescribeConfigs, describe_configs::VERSIONS),
            r(
                ApiKey::IncrementalAlterConfigs,
                incremental_alter_configs::VERSIONS,
            ),
            r(ApiKey::DescribeCluster, describe_cluster::VERSIONS),
            r(ApiKey::DescribeQuorum, describe_quorum::VERSIONS),
            r(ApiKey::ElectLeaders, elect_leaders::VERSIONS),
            r(
                ApiKey::AlterPartitionReassignments,
                reassign::ALTER_VERSIONS,
            ),
            r(ApiKey::ListPartitionReassignments, reassign::LIST_VERSIONS),
            r(ApiKey::DeleteRecords, delete_records::VERSIONS),
            r(ApiKey::DescribeLogDirs, describe_log_dirs::VERSIONS),
            r(ApiKey::AlterConfigs, alter_configs::VERSIONS),
            r(ApiKey::InitProducerId, init_producer_id::VERSIONS),
            r(ApiKey::DescribeProducers, describe_producers::VERSIONS),
            r(ApiKey::FindCoordinator, find_coordinator::VERSIONS),
            r(ApiKey::JoinGroup, join_group::VERSIONS),
            r(ApiKey::SyncGroup, sync_group::VERSIONS),
            r(ApiKey::Heartbeat, heartbeat::VERSIONS),
            r(ApiKey::LeaveGroup, leave_group::VERSIONS),
            r(ApiKey::OffsetCommit, offset_commit::VERSIONS),
            r(ApiKey::OffsetFetch, offset_fetch::VERSIONS),
            r(ApiKey::DescribeGroups, describe_groups::VERSIONS),
            r(ApiKey::ListGroups, list_groups::VERSIONS),
            r(ApiKey::DeleteGroups, delete_groups::VERSIONS),
            r(ApiKey::OffsetDelete, offset_delete::VERSIONS),
        ])
    })
}

fn api_name(key: ApiKey) -> &'static str {
    match key {
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::Metadata => "Metadata",
        ApiKey::Produce => "Produce",
        ApiKey::Fetch => "Fetch",
        ApiKey::ListOffsets => "ListOffsets",
        ApiKey::CreateTopics => "CreateTopics",
        ApiKey::DeleteTopics => "DeleteTopics",
        ApiKey::CreatePartitions => "CreatePartitions",
        ApiKey::DescribeConfigs => "DescribeConfigs",
        ApiKey::IncrementalAlterConfigs => "IncrementalAlterConfigs",
        ApiKey::DescribeCluster => "DescribeCluster",
        ApiKey::DescribeQuorum => "DescribeQuorum",
        ApiKey::ElectLeaders => "ElectLeaders",
        ApiKey::AlterPartitionReassignments => "AlterPartitionReassignments",
        ApiKey::ListPartitionReassignments => "ListPartitionReassignments",
        ApiKey::DeleteRecords => "DeleteRecords",
        ApiKey::DescribeLogDirs => "DescribeLogDirs",
        ApiKey::AlterConfigs => "AlterConfigs",
        ApiKey::InitProducerId => "InitProducerId",
        ApiKey::DescribeProducers => "DescribeProducers",
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::JoinGroup => "JoinGroup",
        ApiKey::SyncGroup => "SyncGroup",
        ApiKey::Heartbeat => "Heartbeat",
        ApiKey::LeaveGroup => "LeaveGroup",
        ApiKey::OffsetCommit => "OffsetCommit",
        ApiKey::OffsetFetch => "OffsetFetch",
        ApiKey::DescribeGroups => "DescribeGroups",
        ApiKey::ListGroups => "ListGroups",
        ApiKey::DeleteGroups => "DeleteGroups",
        ApiKey::OffsetDelete => "OffsetDelete",
        _ => "Other",
    }
}

fn later(
    reply: impl std::future::Future<Output = ResponseKind> + Send + 'static,
) -> BoxFuture<'static, Reply> {
    reply.map(Reply::response).boxed()
}

fn ready(reply: ResponseKind) -> BoxFuture<'static, Reply> {
    futures::future::ready(Reply::response(reply)).boxed()
}

impl Reply {
    fn response(body: ResponseKind) -> Reply {
        Reply::Response(Box::new(body))
    }
}

/// Decodes a request frame and starts handling it.
pub fn dispatch(broker: &Arc<Broker>, ctx: &Arc<ConnContext>, frame: Bytes) -> Dispatch {
    let table = api_table();
    // The codec must never take the broker down: a panic while decoding is
    // treated like any other malformed request.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        request::decode(frame, table)
    }));
    let Ok(decoded) = decoded else {
        return Dispatch::Close("request decoding panicked".into());
    };
    let req = match decoded {
        Ok(r) => r,
        Err(RequestError::UnsupportedVersion(p)) if p.api_key == ApiKey::ApiVersions as i16 => {
            let bytes = response::api_versions_fallback(p.correlation_id, table);
            return Dispatch::Respond(futures::future::ready(Outcome::Send(bytes)).boxed());
        }
        Err(e) => return Dispatch::Close(e.to_string()),
    };
    let started = Instant::now();
    let api = req.api_key;
    let version = req.version();
    let correlation_id = req.header.correlation_id;
    let b = broker.clone();
    let work: BoxFuture<'static, Reply> = match req.body {
        RequestKind::ApiVersions(r) => ready(api_versions::handle(&r, version)),
        RequestKind::Metadata(r) => later(metadata::handle(b.clone(), ctx.clone(), r, version)),
        RequestKind::Produce(r) => produce::handle(&b, r, version),
        RequestKind::Fetch(r) => fetch::handle(b.clone(), r, version).boxed(),
        RequestKind::ListOffsets(r) => ready(list_offsets::handle(&b, r, version)),
        RequestKind::CreateTopics(r) => later(create_topics::handle(b.clone(), r, version)),
        RequestKind::DeleteTopics(r) => later(delete_topics::handle(b.clone(), r, version)),
        RequestKind::CreatePartitions(r) => later(create_partitions::handle(b.clone(), r, version)),
        RequestKind::DescribeConfigs(r) => ready(describe_configs::handle(&b, r, version)),
        RequestKind::IncrementalAlterConfigs(r) => {
            later(incremental_alter_configs::handle(b.clone(), r, version))
        }
        RequestKind::DescribeCluster(r) => ready(describe_cluster::handle(&b, ctx, r, version)),
        RequestKind::DescribeQuorum(r) => ready(describe_quorum::handle(&b, ctx, r, version)),
        RequestKind::ElectLeaders(r) => later(elect_leaders::handle(b.clone(), r, version)),
        RequestKind::AlterPartitionReassignments(r) => {
            later(reassign::alter(b.clone(), r, version))
        }
        RequestKind::ListPartitionReassignments(r) => ready(reassign::list(&b, r, version)),
        RequestKind::DeleteRecords(r) => ready(delete_records::handle(&b, r, version)),
        RequestKind::DescribeLogDirs(r) => ready(describe_log_dirs::handle(&b, r, version)),
        RequestKind::AlterConfigs(r) => later(alter_configs::handle(b.clone(), r, version)),
        RequestKind::InitProducerId(r) => later(init_producer_id::handle(b.clone(), r, version)),
        RequestKind::DescribeProducers(r) => ready(describe_producers::handle(&b, r, version)),
        RequestKind::FindCoordinator(r) => ready(find_coordinator::handle(&b, ctx, r, version)),
        RequestKind::JoinGroup(r) => join_group::handle(&b, ctx, &req.header, r, version),
        RequestKind::SyncGroup(r) => sync_group::handle(&b, r, version),
        RequestKind::Heartbeat(r) => ready(heartbeat::handle(&b, r, version)),
        RequestKind::LeaveGroup(r) => ready(leave_group::handle(&b, r, version)),
        RequestKind::OffsetCommit(r) => offset_commit::handle(&b, r, version),
        RequestKind::OffsetFetch(r) => ready(offset_fetch::handle(&b, r, version)),
        RequestKind::DescribeGroups(r) => ready(describe_groups::handle(&b, r, version)),
        RequestKind::ListGroups(r) => ready(list_groups::handle(&b, r, version)),
        RequestKind::DeleteGroups(r) => delete_groups::handle(&b, r, version),
        RequestKind::OffsetDelete(r) => offset_delete::handle(&b, r, version),
        _ => return Dispatch::Close(format!("no handler for API {api:?}")),
    };
    let name = api_name(api);
    Dispatch::Respond(
        async move {
            let reply = work.await;
            let outcome = match reply {
                Reply::Response(body) => {
                    match response::encode(api, version, correlation_id, &body) {
                        Ok(bytes) => Outcome::Send(bytes),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot encode response; closing connection");
                            Outcome::Close
                        }
                    }
                }
                Reply::Nothing => Outcome::Nothing,
                Reply::Close => Outcome::Close,
            };
            broker_metrics(&b, name, started);
            outcome
        }
        .boxed(),
    )
}

fn broker_metrics(broker: &Broker, name: &'static str, started: Instant) {
    broker
        .metrics
        .observe_request(name, started.elapsed().as_secs_f64());
}
