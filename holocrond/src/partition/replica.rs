//! A partition replicated by its own Raft group (DESIGN.md §4): the log is
//! the Raft log, the high watermark is the commit point, and only the
//! leader takes writes.
//!
//! The leader takes a batch synchronously, in request order: it checks the
//! idempotent producer's sequence against its *writer* table (committed
//! state plus what it submitted this term), predicts the batch's offsets
//! (only its own submissions take offsets in its term), and submits the
//! batch to Raft without waiting. `acks=-1` then waits for the entry's own
//! commit answer — never just for the high watermark, which a new leader's
//! records could move past a lost batch.
//!
//! The writer is prepared when this node becomes leader of a term: after a
//! linearizable barrier it starts from the applied producer table (which
//! every replica keeps up to date as entries apply) plus the batches in the
//! rest of its log, all of which this leader will commit. Until then writes are refused as
//! NOT_LEADER_OR_FOLLOWER and clients retry.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use holocron_proto::batch::BatchView;
use openraft::async_runtime::watch::WatchReceiver;
use openraft::impls::{BasicNode, ProgressResponder};
use openraft::{Raft, ReadPolicy, ServerState};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::{producer_batch, AppendError, Appended, Partition, TopicPartition};
use crate::log::{Log, LogConfig, LogError};
use crate::producer::state::ProducerBatch;
use crate::producer::{snapshot, Check, ProducerStateTable};
use crate::replication::group_id::GroupId;
use crate::replication::log_store::RaftLogStore;
use crate::replication::node::RaftNode;
use crate::replication::partition_sm::PartitionStateMachine;
use crate::replication::service::{GroupRaft, PartitionRaft};
use crate::replication::types::{HoloRaft, NodeId, RecordBatch};

/// The outcome of a submitted write, once Raft has committed (or dropped) it.
pub type CommitTicket = openraft::type_config::alias::OneshotReceiverOf<
    HoloRaft,
    openraft::raft::ClientWriteResult<HoloRaft>,
>;

/// A leadership this node gained: (topic id, partition, node, term).
pub type LeaderReport = (Uuid, i32, i32, i32);

/// Producer state as of the applied entries.
#[derive(Debug, Default)]
pub(super) struct AppliedProducers {
    pub(super) table: ProducerStateTable,
    /// The offset after the last batch the table has seen.
    pub(super) through: u64,
    /// `through` at the last producer snapshot.
    pub(super) snapshotted: Option<u64>,
}

/// What the leader needs to take writes in its term.
#[derive(Debug, Default)]
struct Writer {
    /// The term the writer was prepared for; 0 when not leading.
    term: u64,
    /// Offset the next submitted batch gets.
    next_offset: u64,
    /// Committed producer state plus this term's submissions.
    producers: ProducerStateTable,
}

/// The Raft side of a replicated partition.
pub struct Replica {
    raft: PartitionRaft,
    sm: PartitionStateMachine,
    node: NodeId,
    applied: Arc<Mutex<AppliedProducers>>,
    writer: Mutex<Writer>,
    log_end: watch::Receiver<u64>,
    /// Wakes the leadership task to prepare the writer again (a write of
    /// this term was refused or stored elsewhere than predicted).
    reprepare: Arc<tokio::sync::Notify>,
    /// When followers were last seen caught up (DescribeQuorum).
    caught_up: super::quorum::CaughtUp,
    /// A retention pass (snapshot, then purge) is running.
    retaining: Arc<std::sync::atomic::AtomicBool>,
    /// A change of the group's voters is running.
    changing: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// Why a write was refused by the replication layer.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// This replica does not lead the partition (or is still preparing).
    #[error("this node is not the partition leader{}", .0.map(|l| format!(" (node {l} is)")).unwrap_or_default())]
    NotLeader(Option<NodeId>),
    /// Raft's request queue is full.
    #[error("too many writes waiting for replication")]
    Busy,
}

/// Where a replica's group starts.
#[derive(Debug)]
pub struct ReplicaSpec<'a> {
    /// This node's Raft runtime.
    pub node: &'a RaftNode,
    /// The partition's replicas (node ids); a group never formed here is
    /// formed with them.
    pub replicas: &'a [i32],
    /// Told when this node becomes leader of a term.
    pub reports: mpsc::UnboundedSender<LeaderReport>,
    /// The metadata records a leader for the partition: it was formed
    /// before, so a replica found empty here lost its data (or never had
    /// any) and is filled by the leader instead of forming the group.
    pub formed: bool,
}

impl Partition {
    /// Opens (recovering) or creates a replicated partition in `dir` and
    /// starts its Raft group.
    pub async fn open_replica(
        dir: &std::path::Path,
        id: TopicPartition,
        topic_id: Uuid,
        config: LogConfig,
        flusher: Arc<super::flusher::FlushQueue>,
        spec: ReplicaSpec<'_>,
    ) -> Result<Arc<Partition>, LogError> {
        let raft_err = |e: String| LogError::Io {
            context: "start the partition's raft group",
            path: dir.to_owned(),
            source: std::io::Error::other(e),
        };
        let io_err = |e: std::io::Error| raft_err(e.to_string());
        let log = Arc::new(RwLock::new(Log::open(dir, config)?));
        let durability = log.read().durability();
        let store = RaftLogStore::open(log.clone(), false).map_err(io_err)?;
        let (end_tx, log_end) = watch::channel(log.read().log_end_offset());
        store.watch_appends(end_tx);
        let (hwm, _) = watch::channel(0);
        let sm = PartitionStateMachine::open(log.clone(), hwm.clone()).map_err(io_err)?;
        let through = sm.applied_next_offset();
        let (from, mut table) = snapshot::load(dir, through).unwrap_or_default();
        {
            let l = log.read();
            super::replay_producers_until(
                &l,
                from.max(l.log_start_offset()),
                through,
                &mut table,
                super::wall_clock_ms(),
            )?;
        }
        let applied = Arc::new(Mutex::new(AppliedProducers {
            table,
            through,
            snapshotted: None,
        }));
        let hook_state = applied.clone();
        sm.set_apply_hook(Arc::new(move |batch, base, next| {
            let mut a = hook_state.lock();
            if base < a.through {
                return; // already in the table (from the producer snapshot)
            }
            if let Some(view) = BatchView::new(batch).filter(|v| v.producer_id() >= 0) {
                let pb = ProducerBatch {
                    producer_id: view.producer_id(),
                    epoch: view.producer_epoch(),
                    first_seq: view.base_sequence(),
                    record_count: view.record_count(),
                };
                a.table.record(
                    &pb,
                    base,
                    next.saturating_sub(1),
                    view.max_timestamp(),
                    super::wall_clock_ms(),
                );
            }
            a.through = next;
        }));
        let group = GroupId::Partition {
            topic_id,
            partition: id.partition,
        };
        let node = spec.node;
        let raft = Raft::new(
            node.id(),
            node.config(),
            node.network(group),
            store,
            sm.clone(),
        )
        .await
        .map_err(|e| raft_err(e.to_string()))?;
        node.groups()
            .insert(group, GroupRaft::Partition(raft.clone()));
        let members: BTreeMap<NodeId, BasicNode> = spec
            .replicas
            .iter()
            .filter_map(|r| u64::try_from(*r).ok())
            .map(|r| (r, BasicNode::new(r.to_string())))
            .collect();
        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| raft_err(e.to_string()))?;
        // An empty replica of a formed group with other replicas: it may
        // have voted or acknowledged entries before its data was lost, so it
        // waits for the leader (a single replica re-forms, empty: its data
        // is gone with no copy elsewhere).
        let refill = !initialized && spec.formed && members.len() > 1;
        crate::replication::rejoin::guard(dir, group, raft.clone(), node.groups(), refill)
            .map_err(io_err)?;
        if refill {
            tracing::info!(partition = %id, "replica is empty: waiting for the leader to fill it");
        } else if !initialized {
            if let Err(e) = raft.initialize(members.clone()).await {
                tracing::debug!(partition = %id, error = %e, "initialize");
            }
            // The preferred leader (first replica) of a new partition stands
            // at once instead of after an election timeout, so leaders
            // follow the placement and a new topic is writable sooner.
            let preferred = spec.replicas.first().and_then(|r| u64::try_from(*r).ok());
            if preferred == Some(node.id()) {
                let _ = raft.trigger().elect(false).await;
            }
        } else if members.len() == 1 && members.contains_key(&node.id()) {
            let _ = raft.trigger().elect(false).await;
        }
        let replica = Replica {
            raft: raft.clone(),
            sm,
            node: node.id(),
            applied,
            writer: Mutex::new(Writer::default()),
            log_end,
            reprepare: Arc::new(tokio::sync::Notify::new()),
            caught_up: Default::default(),
            retaining: Default::default(),
            changing: Default::default(),
        };
        let reprepare = replica.reprepare.clone();
        let partition = Arc::new_cyclic(|me| Partition {
            id,
            topic_id,
            dir: dir.to_owned(),
            log,
            producers: parking_lot::Mutex::new(ProducerStateTable::default()),
            producers_dirty: std::sync::atomic::AtomicBool::new(false),
            durability,
            hwm,
            flush_queued: std::sync::atomic::AtomicBool::new(false),
            flusher,
            me: me.clone(),
            fsync_each_append: std::sync::atomic::AtomicBool::new(false),
            poisoned: std::sync::atomic::AtomicBool::new(false),
            replica: Some(replica),
        });
        tokio::spawn(watch_leadership(
            Arc::downgrade(&partition),
            raft,
            spec.reports,
            reprepare,
        ));
        Ok(partition)
    }
}

impl Replica {
    /// The group's Raft.
    pub fn raft(&self) -> &PartitionRaft {
        &self.raft
    }

    /// Retention through entry `index` (the last entry of the segments
    /// retention deletes): a snapshot ending exactly there, then a purge
    /// of the log up to it (DESIGN.md §4). Runs in the background, one
    /// pass at a time; openraft delays the purge while a follower still
    /// needs those entries, and sends a lagging follower the snapshot.
    pub fn retain_through(&self, index: u64) {
        use std::sync::atomic::Ordering;
        let Some(point) = self.sm.snapshot_point(index) else {
            return;
        };
        if self.retaining.swap(true, Ordering::AcqRel) {
            return;
        }
        let (raft, sm, retaining) = (self.raft.clone(), self.sm.clone(), self.retaining.clone());
        tokio::spawn(async move {
            let snapshotted = |raft: &PartitionRaft| {
                raft.metrics()
                    .borrow_watched()
                    .snapshot
                    .is_some_and(|s| s.index >= point)
            };
            if !snapshotted(&raft) {
                sm.aim_snapshot(point);
                if raft.trigger().snapshot().await.is_ok() {
                    let _ = raft
                        .wait(Some(std::time::Duration::from_secs(30)))
                        .metrics(
                            |m| m.snapshot.is_some_and(|s| s.index >= point),
                            "retention snapshot",
                        )
                        .await;
                }
            }
            if snapshotted(&raft) {
                if let Err(e) = raft.trigger().purge_log(point).await {
                    tracing::warn!(error = %e, "retention: cannot purge the raft log");
                }
            }
            retaining.store(false, Ordering::Release);
        });
    }

    /// The group's voters as this replica knows them.
    pub fn voters(&self) -> std::collections::BTreeSet<NodeId> {
        self.raft
            .metrics()
            .borrow_watched()
            .membership_config
            .membership()
            .voter_ids()
            .collect()
    }

    /// Makes `target` the group's voters (a partition move), on its leader:
    /// every new replica joins as a learner and is caught up first, then
    /// the voter set changes (joint consensus). One change at a time; true
    /// once the voters are `target`.
    pub async fn change_voters(&self, target: std::collections::BTreeSet<NodeId>) -> bool {
        use std::sync::atomic::Ordering;
        if self.voters() == target {
            return true;
        }
        if self.changing.swap(true, Ordering::AcqRel) {
            return false;
        }
        let changed = async {
            let known: std::collections::BTreeSet<NodeId> = {
                let m = self.raft.metrics().borrow_watched().clone();
                let membership = m.membership_config.membership();
                membership
                    .voter_ids()
                    .chain(membership.learner_ids())
                    .collect()
            };
            for &n in target.difference(&known) {
                tracing::info!(node = n, "adding a replica as a learner");
                self.raft
                    .add_learner(n, BasicNode::new(n.to_string()), true)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            tracing::info!(voters = ?target, "changing the voters");
            self.raft
                .change_membership(target.clone(), false)
                .await
                .map_err(|e| e.to_string())
        };
        let result = tokio::time::timeout(std::time::Duration::from_secs(300), changed).await;
        self.changing.store(false, Ordering::Release);
        match result {
            Ok(Ok(_)) => self.voters() == target,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot change the voters; retrying later");
                false
            }
            Err(_) => {
                tracing::warn!("the new replicas did not catch up within 300 s; retrying later");
                false
            }
        }
    }

    /// When followers were last seen caught up.
    pub fn caught_up(&self) -> &super::quorum::CaughtUp {
        &self.caught_up
    }

    /// The leader this replica knows of and its term.
    pub fn leader(&self) -> Option<(NodeId, u64)> {
        let m = self.raft.metrics();
        let m = m.borrow_watched();
        m.current_leader.map(|l| (l, m.current_term))
    }

    /// Whether this node leads and is ready for writes.
    pub fn is_ready_leader(&self) -> bool {
        self.ready_term().is_some()
    }

    /// The term this node leads in, once ready for writes (everything
    /// committed before the term is applied by then).
    pub fn ready_term(&self) -> Option<u64> {
        let term = self.writer.lock().term;
        (term != 0 && self.leader() == Some((self.node, term))).then_some(term)
    }

    /// Refuses unless this node leads the partition.
    pub fn check_leader(&self) -> Result<(), ReplicaError> {
        if self.is_ready_leader() {
            Ok(())
        } else {
            Err(ReplicaError::NotLeader(
                self.leader().map(|(l, _)| l).filter(|l| *l != self.node),
            ))
        }
    }

    /// Waits until this replica's log holds everything before `end`.
    pub async fn wait_local(&self, end: u64) {
        let mut rx = self.log_end.clone();
        let _ = rx.wait_for(|e| *e >= end).await;
    }

    /// The committed producer state.
    pub(super) fn producers(&self) -> ProducerStateTable {
        self.applied.lock().table.clone()
    }

    /// The applied producer table and the offset it covers (snapshots).
    pub(super) fn applied_producers(&self) -> (u64, ProducerStateTable) {
        let a = self.applied.lock();
        (a.through, a.table.clone())
    }

    /// Expires idle producers from the applied table; returns the table to
    /// snapshot and the offset it covers, or None when nothing changed since
    /// the last snapshot.
    pub(super) fn producers_to_snapshot(
        &self,
        now_ms: i64,
        expiration_ms: i64,
    ) -> Option<(u64, ProducerStateTable)> {
        let mut a = self.applied.lock();
        let expired = a.table.expire(now_ms, expiration_ms) > 0;
        if !expired && a.snapshotted == Some(a.through) {
            return None;
        }
        a.snapshotted = Some(a.through);
        Some((a.through, a.table.clone()))
    }

    /// Persists the applied position (clean shutdown).
    pub(super) fn persist(&self) {
        if let Err(e) = self.sm.persist() {
            tracing::warn!(error = %e, "cannot write the applied position");
        }
    }

    /// Submits one batch (the leader's write path, see the module docs).
    pub(super) fn append(
        &self,
        log: &RwLock<Log>,
        high_watermark: u64,
        batch: &[u8],
        now_ms: i64,
    ) -> Result<Appended, AppendError> {
        let producer = producer_batch(batch)?;
        let mut writer = self.writer.lock();
        if writer.term == 0 || self.leader() != Some((self.node, writer.term)) {
            return Err(AppendError::Replica(ReplicaError::NotLeader(
                self.leader().map(|(l, _)| l).filter(|l| *l != self.node),
            )));
        }
        if let Some(pb) = &producer {
            let check = writer.producers.check(pb).inspect_err(|e| {
                tracing::warn!(term = writer.term, next_offset = writer.next_offset, error = %e, "refused a producer batch");
            })?;
            if let Check::Duplicate {
                first_offset,
                last_offset,
            } = check
            {
                if BatchView::new(batch).is_some_and(|v| v.crc_ok()) {
                    if last_offset >= high_watermark {
                        // The original is submitted but not committed: only
                        // its own commit answer may acknowledge it, and that
                        // goes to the original request. Ask for a retry.
                        return Err(AppendError::Replica(ReplicaError::Busy));
                    }
                    return Ok(Appended {
                        base_offset: first_offset,
                        last_offset,
                        duplicate: true,
                        commit: None,
                    });
                }
            }
        }
        let view = log.read().check_append(batch)?;
        let base = writer.next_offset;
        let last = base + u64::from(view.record_count) - 1;
        let (responder, ticket) = ProgressResponder::complete_only();
        let submitted = self
            .raft
            .client_write_ff(RecordBatch(Bytes::copy_from_slice(batch)), Some(responder))
            .now_or_never();
        match submitted {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                tracing::warn!(error = %e, "partition raft stopped");
                return Err(AppendError::Replica(ReplicaError::NotLeader(None)));
            }
            None => return Err(AppendError::Replica(ReplicaError::Busy)),
        }
        if let Some(pb) = &producer {
            writer
                .producers
                .record(pb, base, last, view.max_timestamp, now_ms);
        }
        writer.next_offset = last + 1;
        Ok(Appended {
            base_offset: base,
            last_offset: last,
            duplicate: false,
            commit: Some(ticket),
        })
    }

    /// Makes this node's writer ready for `term` once everything committed
    /// before it is applied; returns whether it did.
    async fn prepare(&self, log: &RwLock<Log>, term: u64) -> bool {
        if let Err(e) = self.raft.ensure_linearizable(ReadPolicy::ReadIndex).await {
            tracing::debug!(error = %e, "not ready to lead");
            return false;
        }
        // Everything in a leader's log will be committed in its term (a
        // leader never truncates its own log), including entries not applied
        // yet — those of its own term written before a restart, when openraft
        // restores a committed vote as leadership at once. So the writer's
        // producer state is the applied table plus the rest of the log.
        let (through, mut table) = self.applied_producers();
        let end = {
            let l = log.read();
            let start = through.max(l.log_start_offset());
            if let Err(e) = super::replay_producers(&l, start, &mut table, super::wall_clock_ms()) {
                tracing::error!(error = %e, "cannot read producer state from the log; not leading");
                return false;
            }
            l.log_end_offset()
        };
        let mut w = self.writer.lock();
        *w = Writer {
            term,
            next_offset: end,
            producers: table,
        };
        true
    }

    fn step_down(&self) {
        self.writer.lock().term = 0;
    }

    /// Stops writes until the writer is prepared again.
    fn invalidate(&self) {
        self.writer.lock().term = 0;
        self.reprepare.notify_one();
    }

    /// Waits for a submitted write's commit answer and checks that it was
    /// stored where it was predicted (`end` is one past its last offset).
    pub(super) async fn wait_commit(
        &self,
        end: u64,
        ticket: CommitTicket,
    ) -> Result<(), ReplicaError> {
        match ticket.await {
            Ok(Ok(r)) if r.data.next_offset == end => Ok(()),
            Ok(Ok(r)) => {
                tracing::error!(
                    predicted_end = end,
                    stored_end = r.data.next_offset,
                    "a batch was stored at other offsets than predicted; preparing the writer again"
                );
                self.invalidate();
                Err(ReplicaError::NotLeader(None))
            }
            Ok(Err(openraft::error::ClientWriteError::ForwardToLeader(f))) => {
                self.invalidate();
                Err(ReplicaError::NotLeader(f.leader_id))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "a write was not committed");
                self.invalidate();
                Err(ReplicaError::NotLeader(None))
            }
            Err(_) => {
                self.invalidate();
                Err(ReplicaError::NotLeader(None))
            }
        }
    }

    /// acks=1: waits until this replica's log holds the write, or its
    /// commit answer says it failed.
    pub(super) async fn wait_local_or_failed(
        &self,
        end: u64,
        ticket: CommitTicket,
    ) -> Result<(), ReplicaError> {
        tokio::select! {
            () = self.wait_local(end) => Ok(()),
            r = self.wait_commit(end, ticket) => r,
        }
    }
}

/// Follows the group's leadership: prepares the writer when this node
/// becomes leader and reports it to the metadata group; stops when the
/// partition is gone.
async fn watch_leadership(
    partition: std::sync::Weak<Partition>,
    raft: PartitionRaft,
    reports: mpsc::UnboundedSender<LeaderReport>,
    reprepare: Arc<tokio::sync::Notify>,
) {
    let mut metrics = raft.metrics();
    let mut prepared = 0u64;
    loop {
        let (state, term) = {
            let m = metrics.borrow_watched();
            (m.state, m.current_term)
        };
        let Some(p) = partition.upgrade() else { return };
        let Some(r) = &p.replica else { return };
        if state == ServerState::Leader && term != prepared {
            if r.prepare(&p.log, term).await {
                prepared = term;
                tracing::info!(partition = %p.id, term, "leading");
                let _ = reports.send((
                    p.topic_id,
                    p.id.partition,
                    i32::try_from(r.node).unwrap_or(-1),
                    i32::try_from(term).unwrap_or(i32::MAX),
                ));
            } else {
                drop(p);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        } else if state != ServerState::Leader && prepared != 0 {
            prepared = 0;
            r.step_down();
        }
        drop(p);
        tokio::select! {
            r = metrics.changed() => if r.is_err() { return },
            () = reprepare.notified() => prepared = 0,
        }
    }
}
