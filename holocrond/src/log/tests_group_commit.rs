//! Group commit: concurrent appenders share fsyncs, `sync_to` never needs
//! the log's lock, and a failed fsync poisons the log.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Barrier};
use std::thread;

use parking_lot::RwLock;

use super::batch::testing::make_batch;
use super::*;

fn shared_log(dir: &std::path::Path) -> Arc<RwLock<Log>> {
    let config = LogConfig {
        flush: FlushPolicy::Always,
        ..LogConfig::default()
    };
    Arc::new(RwLock::new(Log::open(dir, config).unwrap()))
}

#[test]
fn log_and_durability_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Log>();
    check::<Durability>();
}

#[test]
fn callers_waiting_together_share_one_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let log = shared_log(dir.path());
    let durability = log.read().durability();
    let before = durability.sync_count();
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (log, barrier, durability) = (log.clone(), barrier.clone(), durability.clone());
            thread::spawn(move || {
                let mut b = make_batch(1 + i as u32, 100, 0);
                let info = log.write().append(&mut b, 1, 0).unwrap();
                barrier.wait();
                durability.sync_to(info.last_offset)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let end = log.read().log_end_offset();
    assert_eq!(durability.durable_offset(), Some(end - 1));
    assert_eq!(
        durability.sync_count() - before,
        1,
        "all appends were written before any sync began: one fsync covers them all"
    );
}

#[test]
fn concurrent_append_and_sync_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let log = shared_log(dir.path());
    let durability = log.read().durability();
    let (threads, per_thread) = (6, 25);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (log, durability) = (log.clone(), durability.clone());
            thread::spawn(move || {
                let mut acked = vec![];
                for _ in 0..per_thread {
                    let mut b = make_batch(2, 500, 0);
                    let info = log.write().append(&mut b, 1, 0).unwrap();
                    durability.sync_to(info.last_offset).unwrap();
                    assert!(durability.durable_offset().unwrap() >= info.last_offset);
                    acked.push(info.base_offset);
                }
                acked
            })
        })
        .collect();
    let mut acked: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    acked.sort_unstable();
    let callers = (threads * per_thread) as u64;
    assert_eq!(acked, (0..callers).map(|i| 2 * i).collect::<Vec<_>>());
    let syncs = durability.sync_count();
    assert!(syncs < callers, "{syncs} fsyncs for {callers} callers");
    assert_eq!(durability.durable_offset(), Some(2 * callers - 1));
}

#[test]
fn sync_to_does_not_need_the_log_lock() {
    let dir = tempfile::tempdir().unwrap();
    let log = shared_log(dir.path());
    let durability = log.read().durability();
    let mut b = make_batch(1, 100, 0);
    let info = log.write().append(&mut b, 1, 0).unwrap();
    // Hold the write lock (as an appender would) while another thread syncs.
    let guard = log.write();
    let d = durability.clone();
    let synced = thread::spawn(move || d.sync_to(info.last_offset))
        .join()
        .unwrap();
    synced.unwrap();
    drop(guard);
    assert_eq!(durability.durable_offset(), Some(0));
}

#[test]
fn sync_beyond_the_end_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = shared_log(dir.path());
    let durability = log.read().durability();
    assert!(matches!(
        durability.sync_to(0),
        Err(LogError::SyncBeyondEnd {
            requested: 0,
            log_end: 0
        })
    ));
}

#[test]
fn poisoned_log_refuses_appends_syncs_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
    let mut b = make_batch(1, 100, 0);
    log.append(&mut b, 1, 0).unwrap();
    let durability = log.durability();
    durability.poison();
    assert!(durability.is_poisoned());
    let mut b = make_batch(1, 100, 0);
    assert!(matches!(log.append(&mut b, 1, 0), Err(LogError::Poisoned)));
    assert!(matches!(durability.sync_to(0), Err(LogError::Poisoned)));
    assert!(matches!(log.flush(), Err(LogError::Poisoned)));
    assert!(matches!(log.truncate_after(0), Err(LogError::Poisoned)));
    assert!(matches!(log.close(), Err(LogError::Poisoned)));
    // Reopening recovers from what is on disk.
    let log = Log::open(dir.path(), LogConfig::default()).unwrap();
    assert_eq!(log.log_end_offset(), 1);
    assert!(!log.durability().is_poisoned());
}

#[test]
fn truncation_lowers_the_durable_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), LogConfig::default()).unwrap();
    for _ in 0..4 {
        let mut b = make_batch(1, 100, 0);
        log.append(&mut b, 1, 0).unwrap();
    }
    let durability = log.durability();
    durability.sync_to(3).unwrap();
    log.truncate_after(1).unwrap();
    assert_eq!(durability.durable_offset(), Some(1));
    assert!(matches!(
        durability.sync_to(2),
        Err(LogError::SyncBeyondEnd { .. })
    ));
    let mut b = make_batch(1, 100, 0);
    let info = log.append(&mut b, 1, 0).unwrap();
    assert_eq!(info.base_offset, 2);
    durability.sync_to(2).unwrap();
    assert_eq!(durability.durable_offset(), Some(2));
}
