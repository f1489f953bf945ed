//! The state machine of the metadata Raft group: cluster metadata
//! ([`MetadataState`]) changed only by applying committed
//! [`MetadataCommand`]s (DESIGN.md §4).
//!
//! A command travels as a one-record RecordBatch whose value is the
//! command's JSON, so the metadata group's log is a partition log like any
//! other (`_holocron/metadata`). Snapshots are the serialized metadata;
//! readers get cheap `Arc` copies of the current state.

use std::fmt::Debug;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use kafka_protocol::records::RecordBatchDecoder;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StoredMembership};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::partition_sm::{Snapshot, SnapshotData};
use super::raft_state;
use super::types::{
    Applied, HoloRaft, LogId, RecordBatch, SnapshotMeta, StoredMembership as Stored,
};
use crate::cluster::{MetadataCommand, MetadataState};

const SNAPSHOT_FILE: &str = "raft.snapshot";

/// Encodes a command as the one-record batch the metadata group stores.
pub fn encode_command(cmd: &MetadataCommand, now_ms: i64) -> io::Result<RecordBatch> {
    encode_commands(std::slice::from_ref(cmd), now_ms)
}

/// Encodes commands as one batch (one record each), committed all or none.
pub fn encode_commands(cmds: &[MetadataCommand], now_ms: i64) -> io::Result<RecordBatch> {
    let records = cmds
        .iter()
        .map(|cmd| {
            serde_json::to_vec(cmd)
                .map(|v| (None, Some(Bytes::from(v))))
                .map_err(io::Error::other)
        })
        .collect::<io::Result<Vec<_>>>()?;
    holocron_proto::batch::encode_plain_batch(&records, now_ms)
        .map(RecordBatch)
        .map_err(|e| io::Error::other(e.to_string()))
}

/// The commands in a stored metadata batch.
pub fn decode_commands(batch: &RecordBatch) -> io::Result<Vec<MetadataCommand>> {
    let mut bytes = batch.0.clone();
    let set = RecordBatchDecoder::decode(&mut bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    set.records
        .iter()
        .filter_map(|r| r.value.as_ref())
        .map(|v| {
            serde_json::from_slice(v).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        })
        .collect()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct MetaSnapshot {
    meta: Option<SnapshotMeta>,
    state: MetadataState,
}

/// The metadata group's state machine; cheap to clone.
#[derive(Clone)]
pub struct MetaStateMachine {
    inner: Arc<Inner>,
}

impl Debug for MetaStateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaStateMachine")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

struct Inner {
    dir: PathBuf,
    /// The metadata and the entry it reflects.
    applied: Mutex<(Option<LogId>, Stored)>,
    state: watch::Sender<Arc<MetadataState>>,
    snapshot: RwLock<MetaSnapshot>,
}

impl MetaStateMachine {
    /// The state machine for the group whose files live in `dir`, starting
    /// from its last snapshot (the log after it is re-applied by openraft).
    pub fn open(dir: PathBuf) -> io::Result<Self> {
        let snapshot: MetaSnapshot = raft_state::read(&dir, SNAPSHOT_FILE)?;
        let applied = match &snapshot.meta {
            Some(m) => (m.last_log_id, m.last_membership.clone()),
            None => (None, Stored::default()),
        };
        let (state, _) = watch::channel(Arc::new(snapshot.state.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
                applied: Mutex::new(applied),
                state,
                snapshot: RwLock::new(snapshot),
            }),
        })
    }

    /// The current metadata.
    pub fn state(&self) -> Arc<MetadataState> {
        self.inner.state.borrow().clone()
    }

    /// Notified on every change of the metadata.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataState>> {
        self.inner.state.subscribe()
    }

    fn current_snapshot(&self) -> io::Result<Option<Snapshot>> {
        let s = self.inner.snapshot.read();
        let Some(meta) = s.meta.clone() else {
            return Ok(None);
        };
        let body = serde_json::to_vec(&s.state).map_err(io::Error::other)?;
        Ok(Some(Snapshot {
            meta,
            snapshot: Bytes::from(body),
        }))
    }
}

impl RaftSnapshotBuilder<HoloRaft> for MetaStateMachine {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let (last, membership) = self.inner.applied.lock().clone();
        let stored = MetaSnapshot {
            meta: Some(SnapshotMeta {
                last_log_id: last,
                last_membership: membership,
            }),
            state: (*self.state()).clone(),
        };
        raft_state::write(&self.inner.dir, SNAPSHOT_FILE, &stored)?;
        *self.inner.snapshot.write() = stored;
        self.current_snapshot()?
            .ok_or_else(|| io::Error::other("snapshot vanished while being built"))
    }
}

impl RaftStateMachine<HoloRaft> for MetaStateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = MetaStateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Stored), io::Error> {
        Ok(self.inner.applied.lock().clone())
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<HoloRaft>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            match &entry.payload {
                EntryPayload::Normal(batch) => {
                    let commands = decode_commands(batch)?;
                    self.inner.state.send_modify(|s| {
                        let next = Arc::make_mut(s);
                        for cmd in &commands {
                            next.apply(cmd);
                        }
                    });
                }
                EntryPayload::Blank => {}
                EntryPayload::Membership(m) => {
                    self.inner.applied.lock().1 =
                        StoredMembership::new(Some(entry.log_id), m.clone());
                }
            }
            self.inner.applied.lock().0 = Some(entry.log_id);
            if let Some(r) = responder {
                r.send(Applied {
                    base_offset: entry.log_id.index,
                    next_offset: entry.log_id.index + 1,
                });
            }
        }
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
        let state: MetadataState = serde_json::from_slice(&snapshot)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let stored = MetaSnapshot {
            meta: Some(meta.clone()),
            state: state.clone(),
        };
        raft_state::write(&self.inner.dir, SNAPSHOT_FILE, &stored)?;
        *self.inner.snapshot.write() = stored;
        *self.inner.applied.lock() = (meta.last_log_id, meta.last_membership.clone());
        self.inner.state.send_replace(Arc::new(state));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        self.current_snapshot()
    }
}
