//! openraft's network over the node-to-node transport: one
//! [`GroupRouter`] shared by every group of the node (openraft-multi), so
//! all groups' messages to a peer ride the one mTLS connection to it; the
//! transport tags each message with its group.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::OptionalSend;
use openraft_multi::{GroupNetworkAdapter, GroupRouter};
use serde::de::DeserializeOwned;

use super::group_id::GroupId;
use super::partition_sm::{Snapshot, SnapshotData};
use super::types::{HoloRaft, NodeId, Vote};
use super::wire::{self, kind};

/// Why a call to a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No connection to the peer (down, refused, not yet connected).
    #[error("peer {0} unreachable: {1}")]
    Unreachable(NodeId, String),
    /// No answer in time.
    #[error("peer {0} did not answer in time")]
    Timeout(NodeId),
    /// The peer answered with an error.
    #[error("peer {0}: {1}")]
    Remote(NodeId, String),
}

/// What the router needs from the node-to-node transport.
pub trait PeerTransport: Clone + Send + Sync + 'static {
    /// Sends one request to `to` for `group` and waits for the answer.
    fn call(
        &self,
        to: NodeId,
        group: Bytes,
        kind: u8,
        payload: Bytes,
        timeout: Duration,
    ) -> impl Future<Output = Result<Bytes, CallError>> + Send;
}

/// Routes every group's Raft messages over one transport.
#[derive(Debug, Clone)]
pub struct Router<T> {
    transport: T,
}

impl<T: PeerTransport> Router<T> {
    /// A router over `transport`.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// The transport underneath.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The network factory of one group.
    pub fn network(&self, group: GroupId) -> GroupNetwork<T> {
        GroupNetwork {
            router: self.clone(),
            group,
        }
    }

    async fn rpc<R: DeserializeOwned>(
        &self,
        to: NodeId,
        group: GroupId,
        kind: u8,
        payload: std::io::Result<Bytes>,
        timeout: Duration,
    ) -> Result<R, CallError> {
        let payload = payload.map_err(|e| CallError::Remote(to, format!("encoding: {e}")))?;
        let answer = self
            .transport
            .call(to, group.encode(), kind, payload, timeout)
            .await?;
        let result: Result<R, String> =
            wire::decode_json(&answer).map_err(|e| CallError::Remote(to, e.to_string()))?;
        result.map_err(|e| CallError::Remote(to, e))
    }
}

fn rpc_error(e: CallError) -> RPCError<HoloRaft> {
    match e {
        CallError::Remote(..) => RPCError::Network(NetworkError::new(&e)),
        _ => RPCError::Unreachable(Unreachable::new(&e)),
    }
}

fn streaming_error(e: CallError) -> StreamingError<HoloRaft> {
    match e {
        CallError::Remote(..) => StreamingError::Network(NetworkError::new(&e)),
        _ => StreamingError::Unreachable(Unreachable::new(&e)),
    }
}

impl<T: PeerTransport> GroupRouter<HoloRaft, GroupId> for Router<T> {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &self,
        target: NodeId,
        group: GroupId,
        rpc: AppendEntriesRequest<HoloRaft>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<HoloRaft>, RPCError<HoloRaft>> {
        self.rpc(
            target,
            group,
            kind::APPEND,
            wire::encode_append(&rpc),
            option.soft_ttl(),
        )
        .await
        .map_err(rpc_error)
    }

    async fn vote(
        &self,
        target: NodeId,
        group: GroupId,
        rpc: VoteRequest<HoloRaft>,
        option: RPCOption,
    ) -> Result<VoteResponse<HoloRaft>, RPCError<HoloRaft>> {
        self.rpc(
            target,
            group,
            kind::VOTE,
            wire::encode_json(&rpc),
            option.soft_ttl(),
        )
        .await
        .map_err(rpc_error)
    }

    async fn pre_vote(
        &self,
        target: NodeId,
        group: GroupId,
        rpc: VoteRequest<HoloRaft>,
        option: RPCOption,
    ) -> Result<VoteResponse<HoloRaft>, RPCError<HoloRaft>> {
        self.rpc(
            target,
            group,
            kind::PRE_VOTE,
            wire::encode_json(&rpc),
            option.soft_ttl(),
        )
        .await
        .map_err(rpc_error)
    }

    async fn full_snapshot(
        &self,
        target: NodeId,
        group: GroupId,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<HoloRaft>, StreamingError<HoloRaft>> {
        let payload = wire::encode_snapshot(&vote, &snapshot.meta, &snapshot.snapshot);
        let call = self.rpc(target, group, kind::SNAPSHOT, payload, option.hard_ttl());
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            answer = call => answer.map_err(streaming_error),
        }
    }

    async fn transfer_leader(
        &self,
        target: NodeId,
        group: GroupId,
        req: TransferLeaderRequest<HoloRaft>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<HoloRaft>, RPCError<HoloRaft>> {
        self.rpc(
            target,
            group,
            kind::TRANSFER_LEADER,
            wire::encode_json(&req),
            option.soft_ttl(),
        )
        .await
        .map_err(rpc_error)
    }
}

/// The network factory of one group: adapters to each peer over the
/// shared router.
#[derive(Debug, Clone)]
pub struct GroupNetwork<T> {
    router: Router<T>,
    group: GroupId,
}

impl<T: PeerTransport> RaftNetworkFactory<HoloRaft> for GroupNetwork<T> {
    type Network = GroupNetworkAdapter<HoloRaft, GroupId, Router<T>>;

    async fn new_client(
        &mut self,
        target: NodeId,
        _node: &openraft::impls::BasicNode,
    ) -> Self::Network {
        GroupNetworkAdapter::new(self.router.clone(), target, self.group)
    }
}
