//! The accepting side: connections from peers with lower ids.
//!
//! Each accepted socket gets its own task for the TLS handshake (bounded by
//! a semaphore, so unauthenticated sockets cannot pile up, and by a
//! timeout). The certificate checks run inside the handshake
//! (`verify::server_config`); a refusal is logged with its reason and
//! counted. An accepted connection first sends the hello frame — the
//! dialler's sign that its certificate was accepted — and then serves.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::FramedRead;

use super::connection;
use super::frame::FrameDecoder;
use super::handle::Shared;
use super::identity::{self, Refusal};

/// How long a TLS handshake may take.
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once.
const MAX_HANDSHAKES: usize = 64;

/// Accepts connections until shutdown; drops the listener when it returns.
#[tracing::instrument(level = "debug", skip_all, fields(me = shared.me))]
pub(super) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, acceptor: TlsAcceptor) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let permit = tokio::select! {
            p = handshakes.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            () = shared.shutdown.cancelled() => return,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = shared.shutdown.cancelled() => return,
        };
        let (stream, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let task = shared.clone();
        let acceptor = acceptor.clone();
        shared.tracker.spawn(async move {
            let shared = task;
            let handshake = tokio::select! {
                h = handshake(&acceptor, stream) => h,
                () = shared.shutdown.cancelled() => return,
            };
            drop(permit);
            let stream = match handshake {
                Ok(s) => s,
                Err(e) => {
                    match identity::refusal(&e) {
                        Some(Refusal::Theirs(reason)) => {
                            shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%addr, %reason, "refused a node connection");
                        }
                        Some(ours @ Refusal::Ours(_)) => {
                            shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%addr, reason = %ours, "a dialling node refused our certificate");
                        }
                        None => tracing::info!(%addr, error = %e, "node handshake failed"),
                    }
                    return;
                }
            };
            let leaf = stream.get_ref().1.peer_certificates().and_then(|c| c.first());
            let Some(peer) = leaf.and_then(identity::node_id) else {
                // The verifier checked this; never expected.
                tracing::error!(%addr, "accepted a certificate without a node id; closing");
                return;
            };
            shared.stats.accepted.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%addr, peer, "node connected");
            let (read, write) = tokio::io::split(stream);
            let frames = FramedRead::new(read, FrameDecoder::new(shared.limits.max_frame_bytes));
            let (link, queue) = shared.new_link(peer);
            link.queue_hello();
            connection::serve(&shared, link, frames, write, queue).await;
        });
    }
}

async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
) -> std::io::Result<tokio_rustls::server::TlsStream<TcpStream>> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        )),
    }
}
