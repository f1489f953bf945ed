//! Client-facing networking: listeners, the per-connection loop, limits and
//! graceful shutdown.
//!
//! A connection reads frames in order and hands each to the server's
//! dispatcher *in arrival order* (so appends from one connection keep their
//! order), runs the rest of each request as its own task, and writes the
//! responses strictly in request order — pipelining with bounded in-flight
//! work (backpressure: when the queue is full we stop reading).

pub mod connection;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};

use crate::broker::Broker;
use crate::config::ListenerKind;

/// Most requests a connection may have in flight before we stop reading it.
pub const MAX_IN_FLIGHT: usize = 64;

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct ConnContext {
    /// The client's address.
    pub peer: SocketAddr,
    /// Our address as the client reached it (what Metadata advertises).
    pub local: SocketAddr,
    /// The listener's security protocol.
    pub kind: ListenerKind,
    /// The authenticated principal (client certificate subject), if any.
    pub principal: Option<String>,
}

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A bound Kafka listener.
#[derive(Debug)]
pub struct BoundListener {
    /// Socket.
    pub listener: TcpListener,
    /// Security protocol.
    pub kind: ListenerKind,
}

/// Accepts connections on every listener until shutdown, then waits for the
/// open connections to finish their in-flight requests.
pub async fn serve(
    broker: Arc<Broker>,
    listeners: Vec<BoundListener>,
    tls: Option<Arc<tls::TlsState>>,
) {
    let limit = Arc::new(Semaphore::new(broker.config.max_connections));
    // Every connection holds a clone of `alive`; when all are dropped, `done`
    // yields None (mini-redis's shutdown-complete pattern).
    let (alive, mut done) = mpsc::channel::<()>(1);
    let mut accept_loops = Vec::new();
    for l in listeners {
        accept_loops.push(tokio::spawn(accept_loop(
            broker.clone(),
            l,
            tls.clone(),
            limit.clone(),
            alive.clone(),
        )));
    }
    drop(alive);
    for a in accept_loops {
        let _ = a.await;
    }
    let _ = done.recv().await;
}

async fn accept_loop(
    broker: Arc<Broker>,
    bound: BoundListener,
    tls: Option<Arc<tls::TlsState>>,
    limit: Arc<Semaphore>,
    alive: mpsc::Sender<()>,
) {
    loop {
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            () = broker.shutdown.cancelled() => return,
        };
        let accepted = tokio::select! {
            a = bound.listener.accept() => a,
            () = broker.shutdown.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let local = stream
            .local_addr()
            .unwrap_or_else(|_| bound.listener.local_addr().unwrap_or(peer));
        let mut ctx = ConnContext {
            peer,
            local,
            kind: bound.kind,
            principal: None,
        };
        let broker = broker.clone();
        let alive = alive.clone();
        let acceptor = match (bound.kind, &tls) {
            (ListenerKind::Tls, Some(t)) => Some(t.acceptor()),
            _ => None,
        };
        tokio::spawn(async move {
            broker.metrics.connections.inc();
            broker.metrics.connections_total.inc();
            match acceptor {
                None => {
                    tracing::debug!(peer = %ctx.peer, "plaintext connection");
                    connection::run(stream, broker.clone(), ctx).await;
                }
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => {
                            let (_, session) = tls_stream.get_ref();
                            ctx.principal = session
                                .peer_certificates()
                                .and_then(holocron_certs::tls::peer_identity)
                                .map(|id| id.principal);
                            tracing::info!(peer = %ctx.peer, principal = ctx.principal.as_deref().unwrap_or("ANONYMOUS"), "TLS connection");
                            connection::run(tls_stream, broker.clone(), ctx).await;
                        }
                        Ok(Err(e)) => {
                            broker.metrics.bad_requests.inc();
                            tracing::info!(peer = %ctx.peer, error = %e, "TLS handshake failed; connection closed");
                        }
                        Err(_) => {
                            broker.metrics.bad_requests.inc();
                            tracing::info!(peer = %ctx.peer, "TLS handshake timed out; connection closed");
                        }
                    }
                }
            }
            broker.metrics.connections.dec();
            drop(permit);
            drop(alive);
        });
    }
}
