//! One connection to a peer, used in both directions.
//!
//! A [`Link`] is the calling side: it numbers requests, parks a oneshot per
//! call in `pending`, and hands frames to the writer's bounded queue (so a
//! caller waits when the socket is backed up). [`serve`] runs the
//! connection: a reader and a writer, joined in one task.
//!
//! The reader never waits on anything but the socket. An answer completes
//! its call at once; a request becomes its own task if one of the
//! connection's `max_in_flight` permits is free, and is answered "busy"
//! (with a non-blocking send) otherwise. So a slow handler delays nobody
//! else, and two nodes flooding each other cannot deadlock on full queues.
//! Handler tasks live in a `JoinSet` that is aborted when the connection
//! ends.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::frame::{write_frame, Frame, FrameDecoder, FrameError, FrameType};
use super::handle::Shared;
use super::{NodeId, RpcError, RpcHandler};

/// How long a closing connection may take to flush and say goodbye.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

type Reply = Result<Bytes, String>;

/// The calling side of one connection.
#[derive(Debug)]
pub(super) struct Link {
    /// The node on the other end.
    pub(super) peer: NodeId,
    /// Tells this connection apart from an earlier or later one to the same peer.
    pub(super) serial: u64,
    out: mpsc::Sender<Frame>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    next_id: AtomicU64,
    closed: CancellationToken,
}

/// Removes a call's pending entry however the call ends (answer, timeout,
/// the caller's future dropped).
struct PendingGuard<'a> {
    link: &'a Link,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.link.pending.lock().remove(&self.id);
    }
}

impl Link {
    /// A link and the receiving end of its writer queue. `closed` is a child
    /// of the transport's shutdown token.
    pub(super) fn new(
        peer: NodeId,
        serial: u64,
        queue: usize,
        closed: CancellationToken,
    ) -> (Arc<Link>, mpsc::Receiver<Frame>) {
        let (out, rx) = mpsc::channel(queue);
        let link = Link {
            peer,
            serial,
            out,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            closed,
        };
        (Arc::new(link), rx)
    }

    /// Queues the hello frame: the accepting side's first frame. The queue
    /// is new and empty, so this cannot fail.
    pub(super) fn queue_hello(&self) {
        let _ = self.out.try_send(Frame::hello());
    }

    /// Closes the connection; calls waiting on it fail with `Closed`.
    pub(super) fn close(&self) {
        self.closed.cancel();
    }

    /// Sends a request and waits for its answer (the caller adds the timeout).
    pub(super) async fn call(
        &self,
        group: Bytes,
        kind: u8,
        payload: Bytes,
    ) -> Result<Bytes, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        let _guard = PendingGuard { link: self, id };
        let closed = RpcError::Closed(self.peer);
        tokio::select! {
            sent = self.out.send(Frame::request(id, group, kind, payload)) => {
                if sent.is_err() {
                    return Err(closed);
                }
            }
            () = self.closed.cancelled() => return Err(closed),
        }
        tokio::select! {
            reply = rx => match reply {
                Ok(Ok(payload)) => Ok(payload),
                Ok(Err(message)) => Err(RpcError::Remote { peer: self.peer, message }),
                Err(_) => Err(closed),
            },
            () = self.closed.cancelled() => Err(closed),
        }
    }

    fn complete(&self, id: u64, reply: Reply) {
        match self.pending.lock().remove(&id) {
            Some(tx) => {
                let _ = tx.send(reply);
            }
            None => tracing::debug!(peer = self.peer, id, "answer to a call that gave up"),
        }
    }
}

/// Runs a connection until either side closes it, it breaks, it is
/// replaced, or the transport shuts down. Registers the link while it runs.
#[tracing::instrument(level = "debug", skip_all, fields(me = shared.me, peer = link.peer))]
pub(super) async fn serve<R, W>(
    shared: &Shared,
    link: Arc<Link>,
    frames: FramedRead<R, FrameDecoder>,
    write: W,
    queue: mpsc::Receiver<Frame>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    shared.register(&link);
    tokio::join!(
        read_loop(shared, &link, frames),
        write_loop(&link, write, queue)
    );
    shared.deregister(&link);
}

async fn read_loop<R: AsyncRead + Unpin>(
    shared: &Shared,
    link: &Link,
    mut frames: FramedRead<R, FrameDecoder>,
) {
    let permits = Arc::new(Semaphore::new(shared.limits.max_in_flight));
    let mut tasks = JoinSet::new();
    loop {
        let next = tokio::select! {
            () = link.closed.cancelled() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            next = frames.next() => next,
        };
        let frame = match next {
            Some(Ok(frame)) => frame,
            None => {
                tracing::info!(peer = link.peer, "peer closed the connection");
                break;
            }
            Some(Err(FrameError::Io(e))) => {
                tracing::info!(peer = link.peer, error = %e, "connection lost");
                break;
            }
            Some(Err(e)) => {
                shared.stats.bad_frames.fetch_add(1, Ordering::Relaxed);
                tracing::error!(peer = link.peer, error = %e, "closing connection: unreadable frame");
                break;
            }
        };
        match frame.frame_type {
            FrameType::Response => link.complete(frame.id, Ok(frame.payload)),
            FrameType::Error => link.complete(
                frame.id,
                Err(String::from_utf8_lossy(&frame.payload).into_owned()),
            ),
            FrameType::Request => match permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    tasks.spawn(answer(
                        shared.handler.clone(),
                        link.peer,
                        frame,
                        link.out.clone(),
                        permit,
                        shared.limits,
                    ));
                }
                Err(_) => {
                    shared.stats.busy.fetch_add(1, Ordering::Relaxed);
                    let message = format!(
                        "busy: {} requests from this node already in progress",
                        shared.limits.max_in_flight
                    );
                    let busy = Frame::error(frame.id, frame.group, frame.kind, &message);
                    if link.out.try_send(busy).is_err() {
                        tracing::warn!(
                            peer = link.peer,
                            "busy and the write queue is full; dropping a request"
                        );
                    }
                }
            },
            FrameType::Hello => {
                shared.stats.bad_frames.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    peer = link.peer,
                    "closing connection: unexpected hello frame"
                );
                break;
            }
        }
    }
    link.close();
    tasks.shutdown().await;
}

/// Runs one request's handler and queues the answer.
async fn answer(
    handler: Arc<dyn RpcHandler>,
    from: NodeId,
    request: Frame,
    out: mpsc::Sender<Frame>,
    _permit: OwnedSemaphorePermit,
    limits: super::handle::Limits,
) {
    let Frame {
        id,
        group,
        kind,
        payload,
        ..
    } = request;
    let work = AssertUnwindSafe(handler.handle(from, group.clone(), kind, payload)).catch_unwind();
    let reply = match tokio::time::timeout(limits.handler_timeout, work).await {
        Ok(Ok(Ok(payload))) => {
            let response = Frame::response(id, group.clone(), kind, payload);
            if response.size() <= limits.max_frame_bytes {
                response
            } else {
                let message = format!(
                    "answer of {} bytes exceeds the maximum frame of {} bytes",
                    response.size(),
                    limits.max_frame_bytes
                );
                Frame::error(id, group, kind, &message)
            }
        }
        Ok(Ok(Err(e))) => Frame::error(id, group, kind, &e.to_string()),
        Ok(Err(_)) => {
            tracing::error!(peer = from, "RPC handler panicked");
            Frame::error(id, group, kind, "the handler panicked")
        }
        Err(_) => Frame::error(
            id,
            group,
            kind,
            &format!("the handler timed out after {:?}", limits.handler_timeout),
        ),
    };
    // Fails only when the connection is closing; the caller learns that anyway.
    let _ = out.send(reply).await;
}

async fn write_loop<W: AsyncWrite + Unpin>(
    link: &Link,
    write: W,
    mut queue: mpsc::Receiver<Frame>,
) {
    let mut out = BufWriter::with_capacity(64 * 1024, write);
    loop {
        let frame = tokio::select! {
            biased;
            () = link.closed.cancelled() => break,
            f = queue.recv() => f,
        };
        let Some(frame) = frame else { break };
        let written = tokio::select! {
            r = async {
                write_frame(&mut out, &frame).await?;
                // Batch what is queued; flush when the queue runs dry.
                if queue.is_empty() {
                    out.flush().await?;
                }
                Ok::<(), std::io::Error>(())
            } => r,
            () = link.closed.cancelled() => break,
        };
        if let Err(e) = written {
            tracing::info!(peer = link.peer, error = %e, "write failed; closing connection");
            break;
        }
    }
    link.close();
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        let _ = out.flush().await;
        let _ = out.shutdown().await;
    })
    .await;
}
