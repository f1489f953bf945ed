//! The dialling side: one loop per peer with a higher id than ours, which
//! keeps a connection to it open for the life of the transport.
//!
//! A dial is TCP connect, TLS handshake (the peer's certificate must name
//! the node dialled, `verify::client_config`), then the peer's hello
//! frame. Only the hello proves the peer accepted *our* certificate: in
//! TLS 1.3 the client finishes its handshake before the server has checked
//! the client certificate, so a refusal arrives as an alert on the first
//! read. A failed dial is retried with exponential backoff; its reason is
//! logged when it changes (not at every retry) and kept for
//! `RpcError::Unreachable`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_util::codec::FramedRead;

use super::accept::HANDSHAKE_TIMEOUT;
use super::connection;
use super::frame::{FrameDecoder, FrameError, FrameType, PROTOCOL_VERSION};
use super::handle::Shared;
use super::NodeId;
use super::{identity, verify};

/// First retry delay; doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// Longest retry delay.
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Stream = TlsStream<TcpStream>;

/// Why a dial failed.
#[derive(Debug, thiserror::Error)]
enum DialError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("connecting timed out")]
    ConnectTimeout,
    #[error("certificate refused: {0}")]
    Refused(String),
    #[error("TLS handshake failed: {0}")]
    Handshake(std::io::Error),
    #[error("the TLS handshake timed out")]
    HandshakeTimeout,
    #[error("no hello from the peer: {0}")]
    NoHello(String),
}

impl DialError {
    fn from_tls(e: std::io::Error) -> DialError {
        match identity::refusal(&e) {
            Some(refusal) => DialError::Refused(refusal.to_string()),
            None => DialError::Handshake(e),
        }
    }
}

/// Dials `peer` at `addr` until shutdown, serving each connection it gets.
#[tracing::instrument(level = "debug", skip_all, fields(me = shared.me, peer))]
pub(super) async fn dial_loop(
    shared: Arc<Shared>,
    peer: NodeId,
    addr: String,
    connector: TlsConnector,
) {
    let mut backoff = BACKOFF_MIN;
    let mut last_error: Option<String> = None;
    loop {
        let attempt = tokio::select! {
            a = connect(&shared, peer, &addr, &connector) => a,
            () = shared.shutdown.cancelled() => return,
        };
        match attempt {
            Ok((frames, write)) => {
                backoff = BACKOFF_MIN;
                last_error = None;
                shared.stats.dialled.fetch_add(1, Ordering::Relaxed);
                tracing::info!(peer, %addr, "connected to node");
                let (link, queue) = shared.new_link(peer);
                connection::serve(&shared, link, frames, write, queue).await;
                shared.set_reason(peer, "the connection closed; reconnecting".into());
            }
            Err(e) => {
                if matches!(e, DialError::Refused(_)) {
                    shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                }
                let reason = e.to_string();
                if last_error.as_deref() != Some(reason.as_str()) {
                    tracing::warn!(peer, %addr, %reason, "cannot connect to node; retrying");
                } else {
                    tracing::debug!(peer, %addr, %reason, "cannot connect to node; retrying");
                }
                shared.set_reason(peer, format!("{reason} (dialling {addr})"));
                last_error = Some(reason);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shared.shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

async fn connect(
    shared: &Shared,
    peer: NodeId,
    addr: &str,
    connector: &TlsConnector,
) -> Result<
    (
        FramedRead<ReadHalf<Stream>, FrameDecoder>,
        WriteHalf<Stream>,
    ),
    DialError,
> {
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| DialError::ConnectTimeout)?
        .map_err(DialError::Connect)?;
    let _ = tcp.set_nodelay(true);
    let tls = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        connector.connect(verify::server_name(peer), tcp),
    )
    .await
    .map_err(|_| DialError::HandshakeTimeout)?
    .map_err(DialError::from_tls)?;
    let (read, write) = tokio::io::split(tls);
    let mut frames = FramedRead::new(read, FrameDecoder::new(shared.limits.max_frame_bytes));
    let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, frames.next())
        .await
        .map_err(|_| DialError::NoHello("timed out".into()))?;
    match first {
        Some(Ok(f)) if f.frame_type == FrameType::Hello && f.kind == PROTOCOL_VERSION => {
            Ok((frames, write))
        }
        Some(Ok(f)) if f.frame_type == FrameType::Hello => Err(DialError::NoHello(format!(
            "protocol version {} (we speak {PROTOCOL_VERSION})",
            f.kind
        ))),
        Some(Ok(f)) => Err(DialError::NoHello(format!(
            "got a {:?} frame first",
            f.frame_type
        ))),
        Some(Err(FrameError::Io(e))) => Err(DialError::from_tls(e)),
        Some(Err(e)) => Err(DialError::NoHello(e.to_string())),
        None => Err(DialError::NoHello("the peer closed the connection".into())),
    }
}
