//! One client connection: read frames, dispatch in order, answer in order.

use std::sync::Arc;

use futures::StreamExt;
use holocron_proto::frame::{FrameCodec, FrameError};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;

use super::{ConnContext, MAX_IN_FLIGHT};

/// How long in-flight responses may take to drain at shutdown.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);
use crate::broker::Broker;
use crate::server::{self, Dispatch, Outcome};

/// Serves one connection until the client leaves, sends something we must
/// refuse, or the broker shuts down (in-flight requests are still answered).
#[tracing::instrument(level = "debug", skip_all, fields(peer = %ctx.peer))]
pub async fn run<S>(stream: S, broker: Arc<Broker>, ctx: ConnContext)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (read_half, write_half) = tokio::io::split(stream);
    let mut frames = FramedRead::new(read_half, FrameCodec::new(broker.config.max_request_bytes));
    let (queue, pending) = mpsc::channel::<JoinHandle<Outcome>>(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_responses(write_half, pending, broker.clone()));
    let ctx = Arc::new(ctx);
    loop {
        let next = tokio::select! {
            f = frames.next() => f,
            () = broker.shutdown.cancelled() => break,
        };
        let frame = match next {
            None => break,
            Some(Ok(frame)) => frame,
            // A TLS client that closes between requests without close_notify
            // (most do) has left normally, not sent a bad frame.
            Some(Err(FrameError::Io(e)))
                if e.kind() == std::io::ErrorKind::UnexpectedEof
                    && frames.read_buffer().is_empty() =>
            {
                tracing::debug!(peer = %ctx.peer, "client closed without TLS close_notify");
                break;
            }
            Some(Err(e)) => {
                broker.metrics.bad_requests.inc();
                tracing::warn!(peer = %ctx.peer, error = %e, "closing connection: unreadable frame");
                break;
            }
        };
        broker.metrics.bytes_in.inc_by(frame.len() as u64 + 4);
        match server::dispatch(&broker, &ctx, frame.freeze()) {
            Dispatch::Respond(work) => {
                let sent = tokio::select! {
                    r = queue.send(tokio::spawn(work)) => r.is_ok(),
                    () = broker.shutdown.cancelled() => false,
                };
                if !sent {
                    break; // the writer failed (the client is gone), or shutdown
                }
            }
            Dispatch::Close(reason) => {
                broker.metrics.bad_requests.inc();
                tracing::warn!(peer = %ctx.peer, %reason, "closing connection");
                break;
            }
        }
    }
    drop(queue);
    let mut writer = writer;
    if broker.shutdown.is_cancelled() {
        // At shutdown a client that stopped reading must not hold the
        // broker up: in-flight answers get a grace period, then the
        // connection is dropped.
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
    } else {
        let _ = writer.await;
    }
}

async fn write_responses<W: AsyncWrite + Unpin>(
    write_half: W,
    mut pending: mpsc::Receiver<JoinHandle<Outcome>>,
    broker: Arc<Broker>,
) {
    let mut out = BufWriter::with_capacity(64 * 1024, write_half);
    while let Some(handle) = pending.recv().await {
        // Answers that are ready go out now, not when a slow request queued
        // behind them (a long-poll fetch, a join) finishes.
        if !handle.is_finished() && out.flush().await.is_err() {
            break;
        }
        let response = match handle.await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "request task failed; closing connection");
                break;
            }
        };
        match response {
            Outcome::Send(bytes) => {
                broker.metrics.bytes_out.inc_by(bytes.len() as u64);
                if out.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            Outcome::Nothing => {}
            Outcome::Close => break,
        }
        if pending.is_empty() && out.flush().await.is_err() {
            break;
        }
    }
    let _ = out.flush().await;
    let _ = out.shutdown().await;
}
