//! Group commit: a small pool of OS threads that fsync partitions with
//! unsynced appends and then advance their high watermarks.
//!
//! An append only writes to the page cache and queues its partition (once:
//! a partition already queued is not queued again, so the queue never holds
//! more entries than there are partitions). A flush thread takes the
//! partition, fsyncs everything written to it so far in one call, and
//! publishes the new high watermark, which releases every `acks=all`
//! producer and long-polling fetcher waiting on it. Appends that arrive
//! during the fsync queue the partition again for the next round. Running
//! on plain threads (not async tasks handing work to `spawn_blocking`)
//! keeps the time between an append and the start of its fsync short, and a
//! few threads let several partitions' fsyncs overlap.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::Partition;

/// Flush threads per broker.
pub const FLUSH_THREADS: usize = 4;

/// The queue of partitions waiting for an fsync.
#[derive(Debug)]
pub struct FlushQueue {
    tx: Sender<Arc<Partition>>,
}

impl FlushQueue {
    /// Starts the flush threads. They end with the process (or when every
    /// handle to the queue is gone).
    pub fn start(threads: usize) -> Arc<FlushQueue> {
        let (tx, rx) = channel::<Arc<Partition>>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("holocron-flush-{i}"))
                .spawn(move || work(&rx));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a flush thread");
            }
        }
        Arc::new(FlushQueue { tx })
    }

    /// Queues a partition for the next fsync round.
    pub fn enqueue(&self, partition: Arc<Partition>) {
        // Fails only when every flush thread is gone (process exit).
        let _ = self.tx.send(partition);
    }
}

fn work(rx: &Mutex<Receiver<Arc<Partition>>>) {
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        match next {
            Ok(partition) => partition.flush_round(),
            Err(_) => return,
        }
    }
}
