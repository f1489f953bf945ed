//! openraft's log store over the partition log (DESIGN.md §4: "the
//! partition log is the Raft log").
//!
//! Raft index = the entry's ordinal in the log, term = its
//! `partitionLeaderEpoch`; entries are encoded by [`super::entry_codec`].
//! Appends go to the page cache under the log's write lock and are
//! readable at once; a per-group sync task fsyncs them (one fsync covering
//! every append queued meanwhile: group commit) and only then reports them
//! flushed, so openraft counts this replica toward a commit only for data
//! that is on disk. The vote and the purge point live in `raft.state`,
//! written only after pending log data is durable, so the two never
//! reorder.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::PathBuf;
use std::sync::Arc;

use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc;

use super::entry_codec::{self, Encoded};
use super::raft_state::{self, RaftState, STATE_FILE};
use super::types::{log_id, Entry, HoloRaft, LogId, Vote};
use crate::log::{Durability, FlushPolicy, Log, LogError};

/// Largest read handed to replication in one call (at least one entry is
/// always returned).
pub const MAX_READ_BYTES: usize = 4 << 20;
/// Most entries read in one call.
const MAX_READ_ENTRIES: usize = 4096;
/// Appends waiting for their fsync, per group.
const SYNC_QUEUE: usize = 1024;

/// The log store of one Raft group; cheap to clone (the clone is also the
/// log reader).
#[derive(Clone)]
pub struct RaftLogStore {
    inner: Arc<Inner>,
}

impl Debug for RaftLogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftLogStore")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

struct Inner {
    log: Arc<RwLock<Log>>,
    dir: PathBuf,
    state: Mutex<RaftState>,
    /// The id of the last entry present in the log (not counting purges).
    last_present: Mutex<Option<LogId>>,
    durability: Arc<Durability>,
    /// `None` when appends are not fsynced (`--log-flush never` or an
    /// interval): they count as flushed once written.
    sync: Option<mpsc::Sender<(u64, IOFlushed<HoloRaft>)>>,
    /// Whether `save_committed` persists (the metadata group: its state
    /// machine is rebuilt by re-applying up to the committed entry).
    keep_committed: bool,
    /// Told the log end offset after every append (acks=1 waits on it).
    appended: Mutex<Option<tokio::sync::watch::Sender<u64>>>,
}

impl RaftLogStore {
    /// The store for the log in its directory, reading `raft.state`.
    /// Spawns the group's sync task (needs a Tokio runtime).
    pub fn open(log: Arc<RwLock<Log>>, keep_committed: bool) -> io::Result<RaftLogStore> {
        let (dir, durability, fsync, last_present) = {
            let l = log.read();
            let fsync = matches!(l.config().flush, FlushPolicy::Always);
            (
                l.dir().to_owned(),
                l.durability(),
                fsync,
                last_entry_id(&l)?,
            )
        };
        let state: RaftState = raft_state::read(&dir, STATE_FILE)?;
        let sync = fsync.then(|| {
            let (tx, rx) = mpsc::channel(SYNC_QUEUE);
            tokio::spawn(sync_task(durability.clone(), rx));
            tx
        });
        Ok(RaftLogStore {
            inner: Arc::new(Inner {
                log,
                dir,
                state: Mutex::new(state),
                last_present: Mutex::new(last_present),
                durability,
                sync,
                keep_committed,
                appended: Mutex::new(None),
            }),
        })
    }

    /// Publishes the log end offset on `tx` after every append.
    pub fn watch_appends(&self, tx: tokio::sync::watch::Sender<u64>) {
        *self.inner.appended.lock() = Some(tx);
    }

    /// Entries `[start, end)` clipped to what the log holds, at most
    /// `max_bytes` of them (but at least one) when `limited`.
    fn read_range(&self, start: u64, end: u64, limited: bool) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        let purged = self
            .inner
            .state
            .lock()
            .last_purged
            .map_or(0, |p| p.index + 1);
        let mut next = start.max(purged);
        while next < end {
            let chunk = {
                let log = self.inner.log.read();
                let end = end.min(log.next_ordinal());
                if next >= end {
                    break;
                }
                // Below the log start only purged entries were.
                next = next.max(log.first_ordinal());
                if next >= end {
                    break;
                }
                let want = usize::try_from(end - next).unwrap_or(usize::MAX);
                log.read_entries(next, want.min(MAX_READ_ENTRIES), MAX_READ_BYTES)
                    .map_err(to_io)?
            };
            if chunk.is_empty() {
                break;
            }
            for bytes in chunk {
                out.push(entry_codec::decode(next, bytes)?);
                next += 1;
            }
            if limited {
                break;
            }
        }
        Ok(out)
    }

    fn persist_state(&self, change: impl FnOnce(&mut RaftState)) -> io::Result<()> {
        // Log data appended before this state change must be on disk first:
        // openraft requires writes to land in the order they were issued.
        let next = self.inner.log.read().next_ordinal();
        if let Some(last) = next.checked_sub(1) {
            match self.inner.durability.sync_to_ordinal(last) {
                Ok(()) | Err(LogError::SyncBeyondOrdinal { .. }) => {}
                Err(e) => return Err(to_io(e)),
            }
        }
        let mut state = self.inner.state.lock();
        let mut next = state.clone();
        change(&mut next);
        raft_state::write(&self.inner.dir, STATE_FILE, &next)?;
        *state = next;
        Ok(())
    }
}

/// The id of the log's last entry, read from its header.
fn last_entry_id(log: &Log) -> io::Result<Option<LogId>> {
    if log.next_ordinal() == log.first_ordinal() {
        return Ok(None);
    }
    let index = log.next_ordinal() - 1;
    let bytes = log.read_entry(index).map_err(to_io)?;
    Ok(Some(log_id(entry_codec::term_of(index, &bytes)?, index)))
}

/// Fsyncs whatever the group's appends wrote, then reports them flushed,
/// in order; appends queued during an fsync share the next one.
async fn sync_task(
    durability: Arc<Durability>,
    mut rx: mpsc::Receiver<(u64, IOFlushed<HoloRaft>)>,
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, SYNC_QUEUE).await > 0 {
        let d = durability.clone();
        let upto = batch.iter().map(|(o, _)| *o).max().unwrap_or(0);
        let result = tokio::task::spawn_blocking(move || match d.sync_to_ordinal(upto) {
            // Truncated meanwhile: what is left of it was fsynced by the cut.
            Err(LogError::SyncBeyondOrdinal { .. }) => Ok(()),
            other => other,
        })
        .await
        .map_err(io::Error::other)
        .and_then(|r| r.map_err(to_io));
        for (_, done) in batch.drain(..) {
            done.io_completed(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            });
        }
    }
}

fn to_io(e: LogError) -> io::Error {
    io::Error::other(e)
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(s) => *s,
        Bound::Excluded(s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(e) => e.saturating_add(1),
        Bound::Excluded(e) => *e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<HoloRaft> for RaftLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let (start, end) = bounds(&range);
        self.read_range(start, end, false)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.inner.state.lock().vote)
    }

    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>, io::Error> {
        self.read_range(start, end, true)
    }
}

impl RaftLogStorage<HoloRaft> for RaftLogStore {
    type LogReader = RaftLogStore;

    async fn get_log_state(&mut self) -> Result<LogState<HoloRaft>, io::Error> {
        let purged = self.inner.state.lock().last_purged;
        let present = *self.inner.last_present.lock();
        let last = match (present, purged) {
            (Some(p), Some(q)) if p.index > q.index => Some(p),
            (Some(_), Some(q)) => Some(q),
            (p, q) => p.or(q),
        };
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let vote = *vote;
        self.persist_state(|s| s.vote = Some(vote))
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        if !self.inner.keep_committed || self.inner.state.lock().committed == committed {
            return Ok(());
        }
        self.persist_state(|s| s.committed = committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.inner.state.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<HoloRaft>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let now = super::now_ms();
        let last_ordinal = {
            let mut log = self.inner.log.write();
            let mut last = self.inner.last_present.lock();
            for entry in entries {
                let index = entry.log_id.index;
                let next = log.next_ordinal();
                if index > next && next == log.first_ordinal() {
                    // An empty log continuing past a purge or a snapshot.
                    let start = log.log_end_offset();
                    log.reset(index, start, now).map_err(to_io)?;
                } else if index != next {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("raft entry {index} appended where entry {next} belongs"),
                    ));
                }
                let epoch = entry_codec::epoch_of(entry.log_id.leader_id.term)?;
                match entry_codec::encode(&entry)? {
                    Encoded::Batch(bytes) => log.append_replicated(bytes, epoch, now),
                    Encoded::Internal(body) => log.append_internal(&body, epoch, now),
                }
                .map_err(to_io)?;
                *last = Some(entry.log_id);
            }
            if let Some(tx) = &*self.inner.appended.lock() {
                tx.send_replace(log.log_end_offset());
            }
            log.next_ordinal().saturating_sub(1)
        };
        match &self.inner.sync {
            Some(tx) => tx
                .send((last_ordinal, callback))
                .await
                .map_err(|_| io::Error::other("the log's sync task has stopped")),
            None => {
                callback.io_completed(Ok(()));
                Ok(())
            }
        }
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let mut log = self.inner.log.write();
        let from = last_log_id.map_or(log.first_ordinal(), |id| id.index + 1);
        if from < log.next_ordinal() {
            log.truncate_from_ordinal(from).map_err(to_io)?;
        }
        *self.inner.last_present.lock() = last_entry_id(&log)?;
        Ok(())
    }

    async fn purge(&mut self, upto: LogId) -> Result<(), io::Error> {
        self.persist_state(|s| {
            if s.last_purged.is_none_or(|p| p.index < upto.index) {
                s.last_purged = Some(upto);
            }
        })?;
        let mut log = self.inner.log.write();
        if upto.index >= log.next_ordinal() {
            // Everything present is purged: continue empty after `upto`.
            let start = log.log_end_offset();
            log.reset(upto.index + 1, start, super::now_ms())
                .map_err(to_io)?;
            *self.inner.last_present.lock() = None;
        } else {
            log.purge_through_ordinal(upto.index).map_err(to_io)?;
        }
        Ok(())
    }
}
