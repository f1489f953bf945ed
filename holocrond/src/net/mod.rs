//! Client-facing networking: listeners, the per-connection loop, limits and
//! graceful shutdown.
//!
//! A connection reads frames in order and hands each to the server's
//! dispatcher *in arrival order* (so appends from one connection keep their
//! order), runs the rest of each request as its own task, and writes the
//! responses strictly in request order — pipelining with bounded in-flight
//! work (backpressure: when the queue is full we stop reading).

pub mod connection;

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
}

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
pub async fn serve(broker: Arc<Broker>, listeners: Vec<BoundListener>) {
    let limit = Arc::new(Semaphore::new(broker.config.max_connections));
    // Every connection holds a clone of `alive`; when all are dropped, `done`
    // yields None (mini-redis's shutdown-complete pattern).
    let (alive, mut done) = mpsc::channel::<()>(1);
    let mut accept_loops = Vec::new();
    for l in listeners {
        accept_loops.push(tokio::spawn(accept_loop(
            broker.clone(),
            l,
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
        let ctx = ConnContext {
            peer,
            local,
            kind: bound.kind,
        };
        let broker = broker.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            broker.metrics.connections.inc();
            broker.metrics.connections_total.inc();
            connection::run(stream, broker.clone(), ctx).await;
            broker.metrics.connections.dec();
            drop(permit);
            drop(alive);
        });
    }
}
