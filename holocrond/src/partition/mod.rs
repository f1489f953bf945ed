//! A partition: its log, its high watermark and its group-commit flusher.
//!
//! On a single node the high watermark is the durable end of the log when
//! appends are fsynced (`FlushPolicy::Always`), else the log end: consumers
//! only ever see records that are as durable as the policy promises, and
//! `acks=all` waits for the high watermark to pass its batch — the same rule
//! the Raft commit point will follow in clusters (DESIGN.md §4).
//!
//! Group commit lives in [`flusher`]: appends only write to the page cache
//! and queue the partition; a flush thread fsyncs whatever has accumulated,
//! once, then advances the high watermark, releasing every producer and
//! long-polling fetcher waiting on it.

pub mod flusher;
pub mod quorum;
pub mod registry;
pub mod replica;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use holocron_proto::batch::{BatchView, Batches};
use parking_lot::RwLock;
use tokio::sync::watch;
use uuid::Uuid;

use crate::log::{Durability, FlushPolicy, Log, LogConfig, LogError, RetentionOutcome};
use crate::producer::state::ProducerBatch;
use crate::producer::{snapshot, Check, ProducerStateTable, SequenceError};

/// Where an appended batch went.
#[derive(Debug)]
pub struct Appended {
    /// Its first offset.
    pub base_offset: u64,
    /// Its last offset.
    pub last_offset: u64,
    /// Whether it was a retry of a batch already stored (nothing was written).
    pub duplicate: bool,
    /// On a replicated partition: the entry's own commit answer.
    pub commit: Option<replica::CommitTicket>,
}

/// Why a batch was not appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The log refused it (validation, size, storage).
    #[error(transparent)]
    Log(#[from] LogError),
    /// The idempotent producer's sequence or epoch does not fit.
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    /// Transactional batches need the transaction coordinator (not yet built).
    #[error("transactional batches are not supported yet")]
    Transactional,
    /// The replication layer refused the write (not the leader, busy).
    #[error(transparent)]
    Replica(#[from] replica::ReplicaError),
}

/// Why a read's view of the partition is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochCheck {
    /// This replica does not lead.
    NotLeader,
    /// The client's epoch is older than the leader's.
    Fenced,
    /// The client's epoch is newer than this replica knows.
    Unknown,
}

/// A topic partition's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// What a fetch read from a partition.
#[derive(Debug, Clone)]
pub struct FetchedData {
    /// Whole batches below the high watermark.
    pub records: Bytes,
    /// High watermark at the time of the read.
    pub high_watermark: u64,
    /// Log start offset.
    pub log_start_offset: u64,
}

/// A partition of a topic on this broker.
#[derive(Debug)]
pub struct Partition {
    id: TopicPartition,
    topic_id: Uuid,
    dir: std::path::PathBuf,
    log: Arc<RwLock<Log>>,
    /// Idempotent producers; locked after `log` (never the other way round).
    producers: parking_lot::Mutex<ProducerStateTable>,
    /// Whether the producer table changed since the last snapshot.
    producers_dirty: AtomicBool,
    durability: Arc<Durability>,
    /// The high watermark; every change wakes waiting producers and fetchers.
    hwm: watch::Sender<u64>,
    /// Whether the partition is in the flush queue.
    flush_queued: AtomicBool,
    flusher: Arc<flusher::FlushQueue>,
    me: std::sync::Weak<Partition>,
    fsync_each_append: AtomicBool,
    poisoned: AtomicBool,
    /// The partition's Raft group (cluster and replicated partitions).
    replica: Option<replica::Replica>,
}

impl Partition {
    /// Opens (recovering) or creates the partition's log in `dir`.
    pub fn open(
        dir: &Path,
        id: TopicPartition,
        topic_id: Uuid,
        config: LogConfig,
        flusher: Arc<flusher::FlushQueue>,
    ) -> Result<Arc<Partition>, LogError> {
        let always = matches!(config.flush, FlushPolicy::Always);
        let log = Log::open(dir, config)?;
        let durability = log.durability();
        let end = log.log_end_offset();
        let (from, mut producers) = snapshot::load(dir, end).unwrap_or_default();
        let replayed = replay_producers(
            &log,
            from.max(log.log_start_offset()),
            &mut producers,
            wall_clock_ms(),
        )?;
        let (hwm, _) = watch::channel(end);
        Ok(Arc::new_cyclic(|me| Partition {
            id,
            topic_id,
            dir: dir.to_owned(),
            log: Arc::new(RwLock::new(log)),
            producers: parking_lot::Mutex::new(producers),
            producers_dirty: AtomicBool::new(replayed > 0),
            durability,
            hwm,
            flush_queued: AtomicBool::new(false),
            flusher,
            me: me.clone(),
            fsync_each_append: AtomicBool::new(always),
            poisoned: AtomicBool::new(false),
            replica: None,
        }))
    }

    /// The partition's name.
    pub fn id(&self) -> &TopicPartition {
        &self.id
    }

    /// The topic's id.
    pub fn topic_id(&self) -> Uuid {
        self.topic_id
    }

    /// Appends one batch (whole RecordBatch v2 bytes), applying the
    /// idempotent producer's rules. The result says where it went; whether
    /// it is committed yet is [`Partition::wait_committed`]'s business.
    pub fn append(
        &self,
        batch: &[u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<Appended, AppendError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(LogError::Poisoned.into());
        }
        if let Some(r) = &self.replica {
            return r.append(&self.log, *self.hwm.borrow(), batch, now_ms);
        }
        let producer = producer_batch(batch)?;
        let appended = {
            let mut log = self.log.write();
            let mut producers = self.producers.lock();
            if let Some(pb) = &producer {
                if let Check::Duplicate {
                    first_offset,
                    last_offset,
                } = producers.check(pb)?
                {
                    if BatchView::new(batch).is_some_and(|v| v.crc_ok()) {
                        return Ok(Appended {
                            base_offset: first_offset,
                            last_offset,
                            duplicate: true,
                            commit: None,
                        });
                    }
                }
            }
            let info = log.append_shared(batch, leader_epoch, now_ms)?;
            if let Some(pb) = &producer {
                producers.record(
                    pb,
                    info.base_offset,
                    info.last_offset,
                    info.max_timestamp,
                    now_ms,
                );
            }
            drop(producers);
            if !self.fsync_each_append.load(Ordering::Relaxed) {
                // Without fsync the log end is the commit point; publish under
                // the lock so the high watermark never goes backwards.
                self.hwm
                    .send_if_modified(|h| advance(h, info.last_offset + 1));
            }
            Appended {
                base_offset: info.base_offset,
                last_offset: info.last_offset,
                duplicate: false,
                commit: None,
            }
        };
        if self.fsync_each_append.load(Ordering::Relaxed) {
            self.request_flush();
        }
        Ok(appended)
    }

    /// The idempotent producers this partition knows.
    pub fn producers(&self) -> ProducerStateTable {
        match &self.replica {
            Some(r) => r.producers(),
            None => self.producers.lock().clone(),
        }
    }

    /// The partition's Raft side, if it is replicated.
    pub fn replica(&self) -> Option<&replica::Replica> {
        self.replica.as_ref()
    }

    /// Checks a client's view of this partition for a read: the replica
    /// must lead, and the client's leader epoch (-1: not given) must be
    /// the current one (older: FENCED_LEADER_EPOCH, newer: UNKNOWN_LEADER_EPOCH).
    pub fn check_read(&self, client_epoch: i32) -> Result<(), EpochCheck> {
        let epoch = match &self.replica {
            None => 0,
            Some(r) => {
                r.check_leader().map_err(|_| EpochCheck::NotLeader)?;
                r.leader()
                    .map_or(0, |(_, term)| i32::try_from(term).unwrap_or(i32::MAX))
            }
        };
        match client_epoch {
            e if e < 0 || e == epoch => Ok(()),
            e if e < epoch => Err(EpochCheck::Fenced),
            _ => Err(EpochCheck::Unknown),
        }
    }

    /// The current leader epoch (0 on a standalone partition).
    pub fn leader_epoch(&self) -> i32 {
        self.replica
            .as_ref()
            .and_then(|r| r.leader())
            .map_or(0, |(_, term)| i32::try_from(term).unwrap_or(i32::MAX))
    }

    /// Waits for a write's commit: its own Raft answer on a replicated
    /// partition, else the high watermark passing `end`.
    pub async fn wait_commit(
        &self,
        end: u64,
        ticket: Option<replica::CommitTicket>,
    ) -> Result<(), AppendError> {
        match (&self.replica, ticket) {
            (Some(r), Some(t)) => Ok(r.wait_commit(end, t).await?),
            _ => Ok(self.wait_committed(end).await?),
        }
    }

    /// acks=1: waits until a replicated partition's own log holds everything
    /// before `end`, or the write's commit answer says it failed; a
    /// standalone append is local when it returns.
    pub async fn wait_local(
        &self,
        end: u64,
        ticket: Option<replica::CommitTicket>,
    ) -> Result<(), AppendError> {
        match (&self.replica, ticket) {
            (Some(r), Some(t)) => Ok(r.wait_local_or_failed(end, t).await?),
            _ => Ok(()),
        }
    }

    /// Expires idle producers, then writes a producer snapshot if the table
    /// changed since the last one (new batches or expiries) — an empty table
    /// too, so that an expiry is not undone by an older snapshot at restart.
    pub fn snapshot_producers(
        &self,
        now_ms: i64,
        expiration_ms: i64,
    ) -> Result<(), snapshot::SnapshotError> {
        if let Some(r) = &self.replica {
            return match r.producers_to_snapshot(now_ms, expiration_ms) {
                Some((through, table)) => snapshot::write(&self.dir, through, &table),
                None => Ok(()),
            };
        }
        let (end, table) = {
            let log = self.log.read();
            let mut producers = self.producers.lock();
            if producers.expire(now_ms, expiration_ms) > 0 {
                self.producers_dirty.store(true, Ordering::Relaxed);
            }
            if !self.producers_dirty.swap(false, Ordering::Relaxed) {
                return Ok(());
            }
            (log.log_end_offset(), producers.clone())
        };
        snapshot::write(&self.dir, end, &table).inspect_err(|_| {
            self.producers_dirty.store(true, Ordering::Relaxed);
        })
    }

    /// Waits until everything before `end` is committed (high watermark >= end).
    pub async fn wait_committed(&self, end: u64) -> Result<(), LogError> {
        let mut rx = self.hwm.subscribe();
        loop {
            if self.poisoned.load(Ordering::Acquire) {
                return Err(LogError::Poisoned);
            }
            if *rx.borrow_and_update() >= end {
                return Ok(());
            }
            if rx.changed().await.is_err() {
                return Err(LogError::Poisoned);
            }
        }
    }

    /// Queues this partition for the next fsync round (once).
    fn request_flush(&self) {
        if !self.flush_queued.swap(true, Ordering::SeqCst) {
            if let Some(me) = self.me.upgrade() {
                self.flusher.enqueue(me);
            }
        }
    }

    /// One group-commit round, on a flush thread: fsync everything written
    /// so far, then advance the high watermark to it.
    pub(crate) fn flush_round(&self) {
        // Cleared before the log end is read: an append after this point
        // queues the partition again and is covered by the next round.
        self.flush_queued.store(false, Ordering::SeqCst);
        if self.is_poisoned() {
            return;
        }
        let target = self.log.read().log_end_offset();
        if target <= *self.hwm.borrow() {
            return;
        }
        match self.durability.sync_to(target - 1) {
            Ok(()) => {
                self.hwm.send_if_modified(|h| advance(h, target));
            }
            Err(e) => {
                tracing::error!(partition = %self.id, error = %e, "fsync failed; the partition is read-only");
                self.poison();
            }
        }
    }

    fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
        self.hwm.send_modify(|_| {});
    }

    /// Whether a failed fsync has made the partition read-only.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// A receiver woken whenever the high watermark moves.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.hwm.subscribe()
    }

    /// Committed records from `offset`, whole batches, up to `max_bytes`
    /// (at least one batch if any is committed there).
    pub fn read(&self, offset: u64, max_bytes: usize) -> Result<FetchedData, LogError> {
        let hwm = *self.hwm.borrow();
        let log = self.log.read();
        let log_start_offset = log.log_start_offset();
        if offset >= hwm && offset <= log.log_end_offset() && offset >= log_start_offset {
            return Ok(FetchedData {
                records: Bytes::new(),
                high_watermark: hwm,
                log_start_offset,
            });
        }
        let read = log.read(offset, max_bytes)?;
        drop(log);
        let committed: usize = Batches::new(&read.bytes)
            .take_while(|b| u64::try_from(b.base_offset()).is_ok_and(|o| o < hwm))
            .map(|b| b.total_len().unwrap_or(0))
            .sum();
        Ok(FetchedData {
            records: read.bytes.slice(..committed),
            high_watermark: hwm,
            log_start_offset: read.log_start_offset,
        })
    }

    /// The high watermark.
    pub fn high_watermark(&self) -> u64 {
        *self.hwm.borrow()
    }

    /// The first offset still stored.
    pub fn log_start_offset(&self) -> u64 {
        self.log.read().log_start_offset()
    }

    /// The next offset to be written.
    pub fn log_end_offset(&self) -> u64 {
        self.log.read().log_end_offset()
    }

    /// Bytes on disk.
    pub fn size_bytes(&self) -> u64 {
        self.log.read().size_bytes()
    }

    /// The earliest committed offset whose record timestamp is >= `ts`, with
    /// that timestamp (Kafka's ListOffsets by timestamp). The time index finds
    /// the batch; the batch's records are then looked at to find the record.
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(u64, i64)>, LogError> {
        let hwm = self.high_watermark();
        let log = self.log.read();
        let Some((base, _)) = log.offset_for_timestamp(ts)? else {
            return Ok(None);
        };
        if base >= hwm {
            return Ok(None);
        }
        let read = log.read(base, 1)?;
        drop(log);
        let Some(first) = Batches::new(&read.bytes).next() else {
            return Ok(None);
        };
        let len = first.total_len().unwrap_or(0);
        // Records of the batch below the log start (DeleteRecords inside a
        // batch) are not offered.
        let exact = holocron_proto::batch::first_record_at_or_after(&read.bytes.slice(..len), ts)
            .and_then(|(offset, t)| u64::try_from(offset).ok().map(|o| (o, t)))
            .filter(|(o, _)| *o >= base);
        // A batch whose records cannot be decoded is answered at its start.
        Ok(Some(exact.unwrap_or((base, first.max_timestamp()))))
    }

    /// The largest timestamp among committed records, with its offset
    /// (ListOffsets MAX_TIMESTAMP). Only the segment whose recorded maximum
    /// is the largest is scanned, and the log lock is taken per 1 MiB chunk,
    /// so appends are never held up for the whole scan.
    pub fn max_timestamp(&self) -> Result<Option<(u64, i64)>, LogError> {
        let hwm = self.high_watermark();
        let (start, end) = {
            let log = self.log.read();
            let segments = log.segments();
            let Some(best) = segments
                .iter()
                .filter(|s| s.base_offset < hwm && s.batch_count > 0)
                .max_by_key(|s| s.max_timestamp)
            else {
                return Ok(None);
            };
            (
                best.base_offset.max(log.log_start_offset()),
                best.next_offset.min(hwm),
            )
        };
        let mut best: Option<(u64, i64)> = None;
        let mut offset = start;
        while offset < end {
            let read = self.log.read().read(offset, 1 << 20)?;
            let before = offset;
            for b in Batches::new(&read.bytes) {
                let base = u64::try_from(b.base_offset()).unwrap_or(0);
                if base >= end {
                    return Ok(best);
                }
                if best.is_none_or(|(_, ts)| b.max_timestamp() > ts) {
                    best = Some((
                        u64::try_from(b.last_offset()).unwrap_or(base),
                        b.max_timestamp(),
                    ));
                }
                offset = u64::try_from(b.last_offset()).map_or(end, |o| o + 1);
            }
            if offset == before {
                break;
            }
        }
        Ok(best)
    }

    /// DeleteRecords: drops records before `offset` (-1 means the high watermark).
    pub fn delete_records_before(&self, offset: u64) -> Result<u64, LogError> {
        let hwm = self.high_watermark();
        if offset > hwm {
            let log = self.log.read();
            return Err(LogError::OffsetOutOfRange {
                requested: offset,
                log_start: log.log_start_offset(),
                log_end: hwm,
            });
        }
        self.log.write().delete_records_before(offset)
    }

    /// The log settings in force.
    pub fn config(&self) -> LogConfig {
        self.log.read().config().clone()
    }

    /// Applies new log settings (IncrementalAlterConfigs).
    pub fn set_config(&self, config: LogConfig) {
        let always = matches!(config.flush, FlushPolicy::Always);
        self.log.write().set_config(config);
        self.fsync_each_append.store(always, Ordering::Relaxed);
        // Whatever was written before the change must still be committed.
        self.request_flush();
    }

    /// Periodic work: roll by age and flush by interval.
    pub fn tick(&self, now_ms: i64) -> Result<(), LogError> {
        let mut log = self.log.write();
        log.roll_if_due(now_ms)?;
        log.flush_if_due(now_ms)?;
        Ok(())
    }

    /// Retention by time and size.
    pub fn apply_retention(&self, now_ms: i64) -> Result<RetentionOutcome, LogError> {
        if let Some(r) = &self.replica {
            // A replicated log shrinks only through a Raft snapshot and a
            // purge (DESIGN.md §4), in the background.
            if let Some(index) = self.log.read().retention_boundary(now_ms) {
                r.retain_through(index);
            }
            return Ok(RetentionOutcome::default());
        }
        self.log.write().apply_retention(now_ms)
    }

    /// Per-segment details.
    pub fn segments(&self) -> Vec<crate::log::SegmentInfo> {
        self.log.read().segments()
    }

    /// Closes the log cleanly once no one else holds the partition (the
    /// flusher lets go when shutdown fires); otherwise only flushes it.
    pub fn close(mut this: Arc<Partition>) -> Result<(), LogError> {
        if let Err(e) = this.snapshot_producers(0, i64::MAX) {
            tracing::warn!(partition = %this.id, error = %e, "cannot write producer snapshot");
        }
        if let Some(r) = &this.replica {
            // The Raft group still holds the log; flushing is all we can do.
            r.persist();
            return this.flush();
        }
        for _ in 0..50 {
            match Arc::try_unwrap(this) {
                Ok(p) => match Arc::try_unwrap(p.log) {
                    Ok(log) => return log.into_inner().close(),
                    Err(log) => return log.write().flush(),
                },
                Err(shared) => this = shared,
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        this.flush()
    }

    /// Flushes everything written so far.
    pub fn flush(&self) -> Result<(), LogError> {
        self.log.write().flush()
    }
}

/// The producer fields of an idempotent batch; None for a plain one.
fn producer_batch(batch: &[u8]) -> Result<Option<ProducerBatch>, AppendError> {
    let Some(view) = BatchView::new(batch) else {
        return Ok(None); // the log refuses it with a precise reason
    };
    if view.producer_id() < 0 {
        return Ok(None);
    }
    if view.is_transactional() {
        return Err(AppendError::Transactional);
    }
    Ok(Some(ProducerBatch {
        producer_id: view.producer_id(),
        epoch: view.producer_epoch(),
        first_seq: view.base_sequence(),
        record_count: view.record_count(),
    }))
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Rebuilds producer state from the batches stored in `[from, until)`.
pub(crate) fn replay_producers_until(
    log: &Log,
    from: u64,
    until: u64,
    table: &mut ProducerStateTable,
    now_ms: i64,
) -> Result<usize, LogError> {
    replay_range(log, from, until.min(log.log_end_offset()), table, now_ms)
}

/// Rebuilds producer state from the batches stored from `from` on; returns
/// how many idempotent batches were replayed. Their producers count as
/// having written at `now_ms` (the broker's clock, as on the live path; the
/// batches' own timestamps are the producer's clock and may be anything), so
/// a restart can only lengthen, never shorten, how long state is kept.
fn replay_producers(
    log: &Log,
    from: u64,
    table: &mut ProducerStateTable,
    now_ms: i64,
) -> Result<usize, LogError> {
    replay_range(log, from, log.log_end_offset(), table, now_ms)
}

fn replay_range(
    log: &Log,
    from: u64,
    end: u64,
    table: &mut ProducerStateTable,
    now_ms: i64,
) -> Result<usize, LogError> {
    let mut replayed = 0;
    let mut offset = from;
    while offset < end {
        let read = log.read(offset, 4 << 20)?;
        if read.bytes.is_empty() {
            break;
        }
        let before = offset;
        for b in Batches::new(&read.bytes) {
            let (Ok(base), Ok(last)) = (
                u64::try_from(b.base_offset()),
                u64::try_from(b.last_offset()),
            ) else {
                continue;
            };
            if last < offset {
                continue;
            }
            if base >= end {
                return Ok(replayed);
            }
            if b.producer_id() >= 0 {
                let pb = ProducerBatch {
                    producer_id: b.producer_id(),
                    epoch: b.producer_epoch(),
                    first_seq: b.base_sequence(),
                    record_count: b.record_count(),
                };
                table.record(&pb, base, last, b.max_timestamp(), now_ms);
                replayed += 1;
            }
            offset = last + 1;
        }
        if offset == before {
            break;
        }
    }
    Ok(replayed)
}

pub(crate) fn advance(current: &mut u64, to: u64) -> bool {
    if to > *current {
        *current = to;
        true
    } else {
        false
    }
}
