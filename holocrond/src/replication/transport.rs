//! Joins the Raft router to the mTLS RPC layer: outgoing Raft messages are
//! `rpc` calls, incoming requests are handed to the hosted groups.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;

use super::router::{CallError, PeerTransport};
use super::rpc::{HandlerError, NodeId, RpcError, RpcHandle, RpcHandler};
use super::service::Groups;

impl PeerTransport for RpcHandle {
    async fn call(
        &self,
        to: NodeId,
        group: Bytes,
        kind: u8,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        RpcHandle::call(self, to, group, kind, payload, timeout)
            .await
            .map_err(|e| match e {
                RpcError::Timeout { .. } => CallError::Timeout(to),
                RpcError::Remote { message, .. } => CallError::Remote(to, message),
                other => CallError::Unreachable(to, other.to_string()),
            })
    }
}

/// Serves incoming Raft messages from the groups this node hosts.
#[derive(Debug, Clone)]
pub struct RaftRpcHandler {
    groups: Groups,
}

impl RaftRpcHandler {
    /// A handler for `groups`.
    pub fn new(groups: Groups) -> Arc<Self> {
        Arc::new(Self { groups })
    }
}

impl RpcHandler for RaftRpcHandler {
    fn handle(
        &self,
        _from: NodeId,
        group: Bytes,
        kind: u8,
        payload: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, HandlerError>> {
        let groups = self.groups.clone();
        Box::pin(async move { Ok(groups.handle(&group, kind, payload).await) })
    }
}
