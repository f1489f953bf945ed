//! One node's Raft runtime: the groups it hosts, the router their messages
//! leave by, and the settings every group shares.
//!
//! A standalone broker has the same runtime with a transport that has no
//! peers: its groups are 1-voter groups (DESIGN.md §4, one code path).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;

use super::group_id::GroupId;
use super::rejoin::Membership;
use super::router::{CallError, GroupNetwork, PeerTransport, Router};
use super::rpc::{HandlerError, RpcHandle, RpcHandler};
use super::service::Groups;
use super::types::NodeId;

/// RPC kinds at or above this are node services (metadata forwarding,
/// replica status), not Raft messages.
pub const FIRST_SERVICE_KIND: u8 = 32;

/// The probe a node without data sends its peers: do you belong to a formed
/// cluster? Answered by the RPC handler itself, before the broker exists
/// (see `rejoin`).
pub const PROBE: u8 = 33;

/// How Raft messages leave this node.
#[derive(Debug, Clone)]
pub enum Transport {
    /// A standalone node: there is nobody to send to.
    Local,
    /// The mTLS node-to-node connections.
    Rpc(RpcHandle),
}

impl PeerTransport for Transport {
    async fn call(
        &self,
        to: NodeId,
        group: Bytes,
        kind: u8,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        match self {
            Transport::Local => Err(CallError::Unreachable(
                to,
                "a standalone node has no peers".to_owned(),
            )),
            Transport::Rpc(rpc) => {
                PeerTransport::call(rpc, to, group, kind, payload, timeout).await
            }
        }
    }
}

/// What answers node-service requests (set once the broker exists).
pub type ServiceSlot = Arc<OnceLock<Arc<dyn RpcHandler>>>;

/// This node's Raft runtime.
#[derive(Debug, Clone)]
pub struct RaftNode {
    id: NodeId,
    groups: Groups,
    router: Router<Transport>,
    config: Arc<openraft::Config>,
}

impl RaftNode {
    /// A runtime for node `id` sending over `transport`.
    pub fn new(
        id: NodeId,
        transport: Transport,
        groups: Groups,
        config: Arc<openraft::Config>,
    ) -> RaftNode {
        RaftNode {
            id,
            groups,
            router: Router::new(transport),
            config,
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The groups hosted here.
    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// The settings of every group.
    pub fn config(&self) -> Arc<openraft::Config> {
        self.config.clone()
    }

    /// The network of one group.
    pub fn network(&self, group: GroupId) -> GroupNetwork<Transport> {
        self.router.network(group)
    }

    /// The transport (for node-service calls).
    pub fn transport(&self) -> &Transport {
        self.router.transport()
    }

    /// Calls a node service on `to`.
    pub async fn call_service(
        &self,
        to: NodeId,
        kind: u8,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        self.transport()
            .call(to, GroupId::Metadata.encode(), kind, payload, timeout)
            .await
    }
}

/// Serves incoming node-to-node requests: Raft messages go to the hosted
/// groups, service kinds to the broker's service handler.
pub struct NodeRpcHandler {
    groups: Groups,
    services: ServiceSlot,
    membership: Membership,
}

impl std::fmt::Debug for NodeRpcHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeRpcHandler").finish_non_exhaustive()
    }
}

impl NodeRpcHandler {
    /// A handler for `groups` and the services in `services`; probes are
    /// answered from `membership`.
    pub fn new(groups: Groups, services: ServiceSlot, membership: Membership) -> Arc<Self> {
        Arc::new(Self {
            groups,
            services,
            membership,
        })
    }
}

impl RpcHandler for NodeRpcHandler {
    fn handle(
        &self,
        from: NodeId,
        group: Bytes,
        kind: u8,
        payload: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, HandlerError>> {
        if kind == PROBE {
            let answer = self.membership.answer().map_err(HandlerError::from);
            return Box::pin(async move { answer });
        }
        if kind >= FIRST_SERVICE_KIND {
            return match self.services.get() {
                Some(s) => s.handle(from, group, kind, payload),
                None => Box::pin(async { Err("this node is still starting".into()) }),
            };
        }
        let groups = self.groups.clone();
        Box::pin(async move { Ok(groups.handle(&group, kind, payload).await) })
    }
}
