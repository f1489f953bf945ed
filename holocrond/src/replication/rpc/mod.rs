//! Node-to-node RPC: one mutually authenticated TLS connection per pair of
//! nodes, multiplexing the calls of every Raft group (DESIGN.md §4, §6).
//!
//! Why it looks like this:
//! - **One connection per pair, used both ways.** The node with the lower id
//!   dials; the higher one waits for it and sends its own requests over the
//!   accepted connection. Frames say whether they are requests or answers,
//!   so either side calls the other at any time. A deterministic rule means
//!   no duplicate connections and no tie-break races. The dialler reconnects
//!   with exponential backoff (50 ms → 2 s); the accepting side keeps the
//!   newest connection from a peer and closes an older one (a restarted
//!   dialler may leave a half-open socket behind).
//! - **Calls fail fast while disconnected** with [`RpcError::Unreachable`],
//!   saying why (the last dial error, or that we wait for the peer to dial):
//!   Raft retries on its own, and a caller should not sit out a reconnect
//!   backoff. [`RpcHandle::wait_connected`] is there for start-up.
//! - **No head-of-line blocking between groups.** Every incoming request runs
//!   in its own task (at most `max_in_flight` per connection; beyond that a
//!   request is answered "busy" at once); answers and calls go out through
//!   one writer task per connection behind a bounded queue. The reader never
//!   waits on anything but the socket, so two nodes calling each other hard
//!   cannot deadlock on full queues.
//! - **Identity is checked during the handshake** (`identity`, `verify`): both sides
//!   present node certificates from the cluster CA, and the node id in the
//!   certificate's URI SAN must be the one expected. There is no plaintext
//!   mode at all.
//!
//! Files: `frame` (wire format), `identity` (who may connect), `verify`
//! (rustls verifiers and configs), `connection` (one connection: calls, reader, writer), `handle`
//! (the shared state and the public handle), `accept` and `dial`.
//! `docs/replication-rpc.md` has the frame layout and the rules in one page.

#![deny(clippy::unwrap_used)]

mod accept;
mod connection;
mod dial;
pub mod frame;
mod handle;
pub mod identity;
mod verify;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use tokio::net::TcpListener;

pub use handle::{RpcHandle, RpcStats};
pub use identity::IdentityError;

/// A node id. Node certificates carry it in a `urn:holocron:node:<id>` URI
/// SAN, which holds ids up to `i32::MAX`; larger ids are refused at start.
pub type NodeId = u64;

/// What a handler returns when it fails; its `Display` text travels to the
/// caller as [`RpcError::Remote`].
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The layer above: answers the requests other nodes send us.
///
/// Each request runs in its own task, so a slow answer for one group never
/// delays another. If the connection closes (or the transport shuts down)
/// before the future completes, it is dropped. A handler that panics or runs
/// past [`RpcConfig::handler_timeout`] is answered with an error.
pub trait RpcHandler: Send + Sync + 'static {
    /// Answers one request from node `from` for `group`.
    fn handle(
        &self,
        from: NodeId,
        group: Bytes,
        kind: u8,
        payload: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, HandlerError>>;
}

/// This node's certificate material, PEM encoded.
#[derive(Clone)]
pub struct NodeTls {
    /// The cluster CA certificate; peers must chain to it.
    pub ca_pem: String,
    /// This node's certificate (naming this node's id), then any intermediates.
    pub cert_pem: String,
    /// This node's private key.
    pub key_pem: String,
}

impl std::fmt::Debug for NodeTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeTls").finish_non_exhaustive()
    }
}

/// How a node takes part in node-to-node RPC.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// This node's id; must match the id in `tls.cert_pem`.
    pub node_id: NodeId,
    /// Where to accept connections from nodes with lower ids.
    pub listen: SocketAddr,
    /// The other nodes: id → `host:port` (resolved at every dial). An entry
    /// for this node itself is ignored, so every node can get the same list.
    pub peers: BTreeMap<NodeId, String>,
    /// Certificates; mandatory, there is no plaintext mode.
    pub tls: NodeTls,
    /// The longest a handler may take for one incoming request before the
    /// caller is answered with an error and the handler's future is dropped
    /// (bounds how long a request holds one of the `max_in_flight` slots).
    pub handler_timeout: Duration,
    /// The largest frame read or written (after the 4-byte prefix).
    pub max_frame_bytes: usize,
    /// Incoming requests handled at once per connection.
    pub max_in_flight: usize,
    /// Frames queued for a connection's writer before callers wait.
    pub write_queue: usize,
}

impl RpcConfig {
    /// A config with default limits: handlers 60 s, frames 64 MiB, 512
    /// requests in flight and 1024 queued frames per connection.
    pub fn new(
        node_id: NodeId,
        listen: SocketAddr,
        peers: BTreeMap<NodeId, String>,
        tls: NodeTls,
    ) -> RpcConfig {
        RpcConfig {
            node_id,
            listen,
            peers,
            tls,
            handler_timeout: Duration::from_secs(60),
            max_frame_bytes: frame::DEFAULT_MAX_FRAME,
            max_in_flight: 512,
            write_queue: 1024,
        }
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The node is not in the configured peer list.
    #[error("node {0} is not a configured peer")]
    UnknownPeer(NodeId),
    /// There is no connection to the node right now.
    #[error("node {peer} is unreachable: {reason}")]
    Unreachable {
        /// The node called.
        peer: NodeId,
        /// Why: the last dial error, or that we wait for the node to dial us.
        reason: String,
    },
    /// No answer in time (the call may still run on the peer).
    #[error("call to node {peer} timed out after {after:?}")]
    Timeout {
        /// The node called.
        peer: NodeId,
        /// The timeout given.
        after: Duration,
    },
    /// The peer's handler failed, timed out, or the peer was too busy.
    #[error("node {peer} answered with an error: {message}")]
    Remote {
        /// The node called.
        peer: NodeId,
        /// The peer's message.
        message: String,
    },
    /// The connection closed before the answer arrived.
    #[error("the connection to node {0} closed before the answer arrived")]
    Closed(NodeId),
    /// This node's transport is shut down.
    #[error("the RPC transport is shut down")]
    Shutdown,
    /// The group id is longer than a frame can carry.
    #[error("group id of {0} bytes is longer than {max} bytes", max = frame::MAX_GROUP_LEN)]
    GroupTooLong(usize),
    /// The request does not fit in a frame.
    #[error("request of {size} bytes exceeds the maximum frame of {max} bytes")]
    TooLarge {
        /// Frame size the request needs.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
}

/// Why the transport could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A node id that no certificate can name.
    #[error("node id {0} is larger than a node certificate can carry ({max})", max = i32::MAX)]
    NodeIdOutOfRange(NodeId),
    /// Our own certificate does not name our node id.
    #[error("the node certificate names {found}, but this is node {expected}")]
    WrongOwnCertificate {
        /// This node's id.
        expected: NodeId,
        /// What the certificate names.
        found: String,
    },
    /// A limit that cannot work.
    #[error("invalid limit: {0}")]
    BadLimit(&'static str),
    /// The certificate material is unusable.
    #[error(transparent)]
    Cert(#[from] holocron_certs::CertError),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] tokio_rustls::rustls::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Binds `config.listen` and starts the transport: the accept loop, and a
/// dial loop for every peer with a higher id than ours.
pub async fn start(
    config: RpcConfig,
    handler: Arc<dyn RpcHandler>,
) -> Result<RpcHandle, StartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    start_on(listener, config, handler)
}

/// Starts the transport on an already bound listener (`config.listen` is
/// not used). Tests bind every node's port first, then build the peer lists.
pub fn start_on(
    listener: TcpListener,
    config: RpcConfig,
    handler: Arc<dyn RpcHandler>,
) -> Result<RpcHandle, StartError> {
    handle::launch(listener, config, handler)
}
