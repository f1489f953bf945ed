//! The state machine of a data partition's Raft group.
//!
//! The records are already in the log (the log is the Raft log), so
//! applying a committed entry only moves the high watermark past it and
//! hands the writer the entry's offsets; a membership entry updates the
//! membership. Snapshots carry metadata only — the Kafka offset after the
//! snapshot's last entry — because retention deletes data for good: a
//! follower installing one starts its log there (DESIGN.md §4).

use std::fmt::Debug;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StoredMembership};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::entry_codec;
use super::raft_state::{self, AppliedState, APPLIED_FILE};
use super::types::{Applied, HoloRaft, LogId, SnapshotMeta, StoredMembership as Stored};
use crate::log::Log;

/// How often the applied position is written down while entries flow.
const PERSIST_EVERY: Duration = Duration::from_secs(2);
/// File holding the last snapshot's metadata.
const SNAPSHOT_FILE: &str = "raft.snapshot";

/// A snapshot as openraft moves it around: its serialized body.
pub type SnapshotData = Bytes;
/// A snapshot with its metadata.
pub type Snapshot = openraft::type_config::alias::SnapshotOf<HoloRaft, SnapshotData>;

/// The body of a data partition's snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionSnapshot {
    /// The Kafka offset after the snapshot's last entry.
    pub next_offset: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: Option<SnapshotMeta>,
    body: PartitionSnapshot,
}

/// The state machine of one partition group; cheap to clone.
#[derive(Clone)]
pub struct PartitionStateMachine {
    inner: Arc<Inner>,
}

impl Debug for PartitionStateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionStateMachine")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

/// Called with every data batch applied: its bytes, base offset and the
/// offset after it (the partition rebuilds producer state from it).
pub type ApplyHook = Arc<dyn Fn(&[u8], u64, u64) + Send + Sync>;

struct Inner {
    hook: Mutex<Option<ApplyHook>>,
    log: Arc<RwLock<Log>>,
    dir: PathBuf,
    applied: Mutex<AppliedState>,
    last_persist: Mutex<Instant>,
    hwm: watch::Sender<u64>,
    snapshot: Mutex<StoredSnapshot>,
    /// The entry the next snapshot ends at (retention's boundary), if set.
    aim: Mutex<Option<u64>>,
}

impl PartitionStateMachine {
    /// The state machine over `log`, publishing the high watermark on
    /// `hwm`. Reads the applied hint and the last snapshot's metadata.
    pub fn open(log: Arc<RwLock<Log>>, hwm: watch::Sender<u64>) -> io::Result<Self> {
        let dir = log.read().dir().to_owned();
        let applied: AppliedState = raft_state::read(&dir, APPLIED_FILE).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "applied-position hint unreadable; re-applying from the snapshot");
            AppliedState::default()
        });
        let snapshot: StoredSnapshot = raft_state::read(&dir, SNAPSHOT_FILE)?;
        let applied = if applied.last_applied < snapshot.meta.as_ref().and_then(|m| m.last_log_id) {
            AppliedState {
                last_applied: snapshot.meta.as_ref().and_then(|m| m.last_log_id),
                membership: snapshot
                    .meta
                    .as_ref()
                    .map(|m| m.last_membership.clone())
                    .unwrap_or_default(),
                next_offset: snapshot.body.next_offset,
            }
        } else {
            applied
        };
        hwm.send_modify(|h| *h = applied.next_offset);
        Ok(Self {
            inner: Arc::new(Inner {
                hook: Mutex::new(None),
                log,
                dir,
                applied: Mutex::new(applied),
                last_persist: Mutex::new(Instant::now()),
                hwm,
                snapshot: Mutex::new(snapshot),
                aim: Mutex::new(None),
            }),
        })
    }

    /// Makes the next snapshot end at entry `index` (applied, at or after
    /// the membership in force) instead of at the last applied entry:
    /// retention deletes through exactly there, so a follower installing
    /// the snapshot loses nothing the leader still keeps.
    pub fn aim_snapshot(&self, index: u64) {
        *self.inner.aim.lock() = Some(index);
    }

    /// The entry a snapshot can end at for retention through `index`: not
    /// past the last applied entry, and not before the membership in force
    /// (a snapshot carries the membership as of its end).
    pub fn snapshot_point(&self, index: u64) -> Option<u64> {
        let a = self.inner.applied.lock();
        let applied = a.last_applied?.index;
        let membership = a.membership.log_id().map_or(0, |l| l.index);
        let point = index.min(applied);
        (point >= membership).then_some(point)
    }

    /// Calls `hook` for every data batch applied from now on.
    pub fn set_apply_hook(&self, hook: ApplyHook) {
        *self.inner.hook.lock() = Some(hook);
    }

    /// The Kafka offset after the last applied entry.
    pub fn applied_next_offset(&self) -> u64 {
        self.inner.applied.lock().next_offset
    }

    /// Writes the applied position down now (clean shutdown).
    pub fn persist(&self) -> io::Result<()> {
        let applied = self.inner.applied.lock().clone();
        raft_state::write(&self.inner.dir, APPLIED_FILE, &applied)?;
        *self.inner.last_persist.lock() = Instant::now();
        Ok(())
    }

    fn maybe_persist(&self) {
        let due = self.inner.last_persist.lock().elapsed() >= PERSIST_EVERY;
        if due {
            if let Err(e) = self.persist() {
                tracing::warn!(dir = %self.inner.dir.display(), error = %e, "cannot write the applied position");
            }
        }
    }

    fn current_snapshot(&self) -> Option<Snapshot> {
        let s = self.inner.snapshot.lock();
        let meta = s.meta.clone()?;
        let body = serde_json::to_vec(&s.body).ok()?;
        Some(Snapshot {
            meta,
            snapshot: Bytes::from(body),
        })
    }
}

/// Offsets of a stored batch from its stamped header.
fn batch_offsets(bytes: &[u8]) -> Option<(u64, u64)> {
    let base = u64::from_be_bytes(bytes.get(0..8)?.try_into().ok()?);
    let delta = i32::from_be_bytes(bytes.get(23..27)?.try_into().ok()?);
    let count = u64::try_from(i64::from(delta) + 1).ok()?;
    Some((base, base + count))
}

impl RaftSnapshotBuilder<HoloRaft> for PartitionStateMachine {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        // An error here would stop the group (openraft treats it as a
        // storage failure): anything unexpected falls back to a snapshot at
        // the last applied entry, and a snapshot never goes backwards.
        let applied = self.inner.applied.lock().clone();
        let aim = self.inner.aim.lock().take();
        let aimed = aim.and_then(|i| self.snapshot_point(i)).and_then(|point| {
            let log = self.inner.log.read();
            let entry = log.read_entry(point).ok()?;
            let term = entry_codec::term_of(point, &entry).ok()?;
            let next = log.end_offset_after(point).ok()?;
            Some((Some(super::types::log_id(term, point)), next))
        });
        let (last_log_id, next_offset) =
            aimed.unwrap_or((applied.last_applied, applied.next_offset));
        let stored_end = self
            .inner
            .snapshot
            .lock()
            .meta
            .as_ref()
            .and_then(|m| m.last_log_id);
        if stored_end.is_some() && last_log_id <= stored_end {
            return self
                .current_snapshot()
                .ok_or_else(|| io::Error::other("the stored snapshot cannot be encoded"));
        }
        let meta = SnapshotMeta {
            last_log_id,
            last_membership: applied.membership.clone(),
        };
        let stored = StoredSnapshot {
            meta: Some(meta),
            body: PartitionSnapshot { next_offset },
        };
        if let Err(e) = raft_state::write(&self.inner.dir, APPLIED_FILE, &applied) {
            // Only a hint (applying again from the snapshot is correct).
            tracing::warn!(dir = %self.inner.dir.display(), error = %e, "cannot write the applied position");
        }
        raft_state::write(&self.inner.dir, SNAPSHOT_FILE, &stored)?;
        *self.inner.snapshot.lock() = stored;
        self.current_snapshot()
            .ok_or_else(|| io::Error::other("snapshot vanished while being built"))
    }
}

impl RaftStateMachine<HoloRaft> for PartitionStateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = PartitionStateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Stored), io::Error> {
        let a = self.inner.applied.lock();
        Ok((a.last_applied, a.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<HoloRaft>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let applied = {
                let mut a = self.inner.applied.lock();
                let result = match &entry.payload {
                    EntryPayload::Normal(batch) => {
                        let (base, next) = batch_offsets(&batch.0).ok_or_else(|| {
                            io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!("raft entry {} is not a record batch", entry.log_id.index),
                            )
                        })?;
                        a.next_offset = next;
                        if let Some(hook) = &*self.inner.hook.lock() {
                            hook(&batch.0, base, next);
                        }
                        Applied {
                            base_offset: base,
                            next_offset: next,
                        }
                    }
                    EntryPayload::Blank => Applied {
                        base_offset: a.next_offset,
                        next_offset: a.next_offset,
                    },
                    EntryPayload::Membership(m) => {
                        a.membership = StoredMembership::new(Some(entry.log_id), m.clone());
                        Applied {
                            base_offset: a.next_offset,
                            next_offset: a.next_offset,
                        }
                    }
                };
                a.last_applied = Some(entry.log_id);
                result
            };
            self.inner
                .hwm
                .send_if_modified(|h| crate::partition::advance(h, applied.next_offset));
            if let Some(r) = responder {
                r.send(applied);
            }
        }
        self.maybe_persist();
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotData,
    ) -> Result<(), io::Error> {
        let body: PartitionSnapshot = serde_json::from_slice(&snapshot)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if let Some(last) = meta.last_log_id {
            let mut log = self.inner.log.write();
            let holds_it = last.index >= log.first_ordinal()
                && last.index < log.next_ordinal()
                && log
                    .read_entry(last.index)
                    .ok()
                    .and_then(|b| entry_codec::term_of(last.index, &b).ok())
                    == Some(last.leader_id.term);
            if !holds_it {
                tracing::info!(
                    dir = %self.inner.dir.display(),
                    log_start = body.next_offset,
                    "installing the leader's snapshot: the log restarts at its end"
                );
                log.reset(last.index + 1, body.next_offset, super::now_ms())
                    .map_err(io::Error::other)?;
            }
        }
        let applied = AppliedState {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
            next_offset: body.next_offset,
        };
        let stored = StoredSnapshot {
            meta: Some(meta.clone()),
            body,
        };
        raft_state::write(&self.inner.dir, SNAPSHOT_FILE, &stored)?;
        raft_state::write(&self.inner.dir, APPLIED_FILE, &applied)?;
        *self.inner.snapshot.lock() = stored;
        *self.inner.applied.lock() = applied;
        self.inner.hwm.send_modify(|h| *h = body.next_offset);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        Ok(self.current_snapshot())
    }
}
