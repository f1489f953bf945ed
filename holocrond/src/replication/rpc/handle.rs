//! The transport's shared state and the handle the layer above holds.
//!
//! `Shared` is the registry of live connections (one [`Link`] per peer; a
//! newer connection from a peer replaces an older one), the reason each
//! missing peer is missing, the counters, and the shutdown token every task
//! selects on. All tasks are spawned on one `TaskTracker`, so
//! [`RpcHandle::shutdown`] can wait until every one of them has finished.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::Link;
use super::frame::{Frame, HEADER_LEN, MAX_GROUP_LEN};
use super::{accept, dial, identity, verify};
use super::{NodeId, RpcConfig, RpcError, RpcHandler, StartError};

/// Per-connection limits, copied from the config.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) handler_timeout: Duration,
    pub(super) max_frame_bytes: usize,
    pub(super) max_in_flight: usize,
    pub(super) write_queue: usize,
}

/// Counters behind [`RpcStats`].
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) open: AtomicU64,
    pub(super) accepted: AtomicU64,
    pub(super) dialled: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) bad_frames: AtomicU64,
    pub(super) busy: AtomicU64,
}

/// What the transport has done so far (for tests and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RpcStats {
    /// Connections open right now (briefly two to one peer while a newer
    /// connection replaces an older one).
    pub open_connections: u64,
    /// Connections accepted from lower-id peers, ever.
    pub connections_accepted: u64,
    /// Connections dialled to higher-id peers, ever.
    pub connections_dialled: u64,
    /// Handshakes failed over a certificate, on either side.
    pub handshakes_refused: u64,
    /// Connections closed over an oversized or malformed frame.
    pub bad_frames: u64,
    /// Requests answered "busy" because a connection had `max_in_flight`.
    pub requests_busy: u64,
}

pub(super) struct Shared {
    pub(super) me: NodeId,
    pub(super) peers: BTreeMap<NodeId, String>,
    pub(super) handler: Arc<dyn RpcHandler>,
    pub(super) limits: Limits,
    pub(super) stats: Counters,
    pub(super) shutdown: CancellationToken,
    pub(super) tracker: TaskTracker,
    links: Mutex<HashMap<NodeId, Arc<Link>>>,
    why_not: Mutex<HashMap<NodeId, String>>,
    changed: watch::Sender<u64>,
    next_serial: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("me", &self.me)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// A new link to `peer`, closed with the transport.
    pub(super) fn new_link(&self, peer: NodeId) -> (Arc<Link>, tokio::sync::mpsc::Receiver<Frame>) {
        let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        Link::new(
            peer,
            serial,
            self.limits.write_queue,
            self.shutdown.child_token(),
        )
    }

    pub(super) fn register(&self, link: &Arc<Link>) {
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        let old = self.links.lock().insert(link.peer, link.clone());
        self.why_not.lock().remove(&link.peer);
        if let Some(old) = old {
            tracing::info!(
                peer = link.peer,
                "a new connection from the peer replaces the old one"
            );
            old.close();
        }
        self.changed.send_modify(|n| *n += 1);
    }

    pub(super) fn deregister(&self, link: &Link) {
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
        let mut links = self.links.lock();
        if links
            .get(&link.peer)
            .is_some_and(|l| l.serial == link.serial)
        {
            links.remove(&link.peer);
        }
        drop(links);
        self.changed.send_modify(|n| *n += 1);
    }

    /// Records why `peer` is not connected (shown by `Unreachable`).
    pub(super) fn set_reason(&self, peer: NodeId, reason: String) {
        self.why_not.lock().insert(peer, reason);
    }

    fn reason(&self, peer: NodeId) -> String {
        match self.why_not.lock().get(&peer) {
            Some(r) => r.clone(),
            None if peer < self.me => format!("waiting for node {peer} to connect"),
            None => "not connected yet".into(),
        }
    }
}

/// A running transport. Cheap to clone; every clone talks to the same
/// connections. Stops only when [`RpcHandle::shutdown`] is called.
#[derive(Debug, Clone)]
pub struct RpcHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
}

pub(super) fn launch(
    listener: TcpListener,
    config: RpcConfig,
    handler: Arc<dyn RpcHandler>,
) -> Result<RpcHandle, StartError> {
    let me = config.node_id;
    let mut peers = config.peers;
    peers.remove(&me);
    if let Some(&id) = peers.keys().chain([&me]).find(|&&id| id > i32::MAX as u64) {
        return Err(StartError::NodeIdOutOfRange(id));
    }
    if config.max_frame_bytes < HEADER_LEN + MAX_GROUP_LEN
        || config.max_frame_bytes > u32::MAX as usize
    {
        return Err(StartError::BadLimit(
            "max_frame_bytes must be between 266 and 4 GiB",
        ));
    }
    if config.max_in_flight == 0 || config.write_queue == 0 {
        return Err(StartError::BadLimit(
            "max_in_flight and write_queue must be positive",
        ));
    }
    identity::check_own(me, &config.tls)?;
    let acceptor = TlsAcceptor::from(verify::server_config(
        me,
        peers.keys().copied().collect(),
        &config.tls,
    )?);
    let mut dials = Vec::new();
    for (&peer, addr) in peers.range(me + 1..) {
        let connector = TlsConnector::from(verify::client_config(peer, &config.tls)?);
        dials.push((peer, addr.clone(), connector));
    }
    let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let shared = Arc::new(Shared {
        me,
        peers,
        handler,
        limits: Limits {
            handler_timeout: config.handler_timeout,
            max_frame_bytes: config.max_frame_bytes,
            max_in_flight: config.max_in_flight,
            write_queue: config.write_queue,
        },
        stats: Counters::default(),
        shutdown: CancellationToken::new(),
        tracker: TaskTracker::new(),
        links: Mutex::new(HashMap::new()),
        why_not: Mutex::new(HashMap::new()),
        changed: watch::channel(0).0,
        next_serial: AtomicU64::new(0),
    });
    tracing::info!(node = me, %local_addr, peers = ?shared.peers, "node-to-node RPC listening");
    shared
        .tracker
        .spawn(accept::accept_loop(shared.clone(), listener, acceptor));
    for (peer, addr, connector) in dials {
        shared
            .tracker
            .spawn(dial::dial_loop(shared.clone(), peer, addr, connector));
    }
    Ok(RpcHandle { shared, local_addr })
}

impl RpcHandle {
    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.shared.me
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Calls node `to`: sends `payload` for `group` with message `kind` and
    /// waits up to `timeout` for the answer. Fails at once with
    /// [`RpcError::Unreachable`] when there is no connection to `to`.
    pub async fn call(
        &self,
        to: NodeId,
        group: Bytes,
        kind: u8,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, RpcError> {
        let shared = &self.shared;
        if shared.shutdown.is_cancelled() {
            return Err(RpcError::Shutdown);
        }
        if !shared.peers.contains_key(&to) {
            return Err(RpcError::UnknownPeer(to));
        }
        if group.len() > MAX_GROUP_LEN {
            return Err(RpcError::GroupTooLong(group.len()));
        }
        let size = HEADER_LEN + group.len() + payload.len();
        if size > shared.limits.max_frame_bytes {
            return Err(RpcError::TooLarge {
                size,
                max: shared.limits.max_frame_bytes,
            });
        }
        let Some(link) = shared.links.lock().get(&to).cloned() else {
            return Err(RpcError::Unreachable {
                peer: to,
                reason: shared.reason(to),
            });
        };
        match tokio::time::timeout(timeout, link.call(group, kind, payload)).await {
            Ok(result) => result,
            Err(_) => Err(RpcError::Timeout {
                peer: to,
                after: timeout,
            }),
        }
    }

    /// Whether there is a live connection to `peer`.
    pub fn is_connected(&self, peer: NodeId) -> bool {
        self.shared.links.lock().contains_key(&peer)
    }

    /// The peers with a live connection, in id order.
    pub fn connected_peers(&self) -> Vec<NodeId> {
        let mut peers: Vec<NodeId> = self.shared.links.lock().keys().copied().collect();
        peers.sort_unstable();
        peers
    }

    /// Waits until `peer` is connected, up to `timeout`; says whether it is.
    pub async fn wait_connected(&self, peer: NodeId, timeout: Duration) -> bool {
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.is_connected(peer) {
                return true;
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return false },
                () = tokio::time::sleep_until(deadline) => return self.is_connected(peer),
            }
        }
    }

    /// The counters.
    pub fn stats(&self) -> RpcStats {
        let c = &self.shared.stats;
        RpcStats {
            open_connections: c.open.load(Ordering::Relaxed),
            connections_accepted: c.accepted.load(Ordering::Relaxed),
            connections_dialled: c.dialled.load(Ordering::Relaxed),
            handshakes_refused: c.refused.load(Ordering::Relaxed),
            bad_frames: c.bad_frames.load(Ordering::Relaxed),
            requests_busy: c.busy.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting and dialling, closes every connection (calls waiting
    /// on them fail with `Closed`, running handlers are dropped) and returns
    /// once every task has finished and the listener is closed.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
    }
}
