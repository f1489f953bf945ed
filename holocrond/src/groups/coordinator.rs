//! The groups of this broker and the membership APIs: JoinGroup, SyncGroup,
//! Heartbeat and LeaveGroup, following Kafka's classic `GroupCoordinator`.
//!
//! Each group sits behind its own lock, never held across an await. A
//! request that must wait (JoinGroup until the rebalance completes,
//! SyncGroup until the leader's assignment is stored) gets a oneshot
//! receiver; the state machine answers it. The ticker ([`GroupCoordinator::run`])
//! fires session, join and sync deadlines and expires offsets.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::codec::{self, RecordKey, MAX_STRING};
use super::group::{session_timeout, Group, GroupState, NEW_MEMBER_JOIN_TIMEOUT};
use super::member::{JoinResult, Member, SyncResult};
use super::store::{Appended, OffsetsLog, Write};
use super::{GroupConfig, GroupError};
use crate::log::LogError;
use crate::partition::Partition;

/// How often deadlines are checked.
const TICK: Duration = Duration::from_millis(100);

/// A group behind its lock.
pub(crate) type Cell = Arc<Mutex<Group>>;

/// The group coordinator of this broker.
#[derive(Debug)]
pub struct GroupCoordinator {
    pub(crate) config: GroupConfig,
    pub(crate) log: OffsetsLog,
    pub(crate) groups: RwLock<HashMap<String, Cell>>,
    pub(crate) loads: super::ownership::Loads,
}

/// A JoinGroup, decoded.
#[derive(Debug, Clone, Default)]
pub struct JoinRequest {
    /// Group id.
    pub group_id: String,
    /// Member id, "" for a new member.
    pub member_id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Client id of the request header.
    pub client_id: String,
    /// Client host ("/127.0.0.1").
    pub client_host: String,
    /// Session timeout (ms).
    pub session_timeout_ms: i32,
    /// Rebalance timeout (ms).
    pub rebalance_timeout_ms: i32,
    /// Protocol type.
    pub protocol_type: String,
    /// Protocols with metadata, in preference order.
    pub protocols: Vec<(String, Bytes)>,
    /// KIP-394 (JoinGroup v4+): a new dynamic member gets MEMBER_ID_REQUIRED first.
    pub require_known_member_id: bool,
    /// JoinGroup v9+.
    pub supports_skip_assignment: bool,
}

/// A SyncGroup, decoded.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    /// Group id.
    pub group_id: String,
    /// Generation.
    pub generation: i32,
    /// Member id.
    pub member_id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Protocol type (v5+).
    pub protocol_type: Option<String>,
    /// Protocol name (v5+).
    pub protocol_name: Option<String>,
    /// The leader's assignment, by member id.
    pub assignments: Vec<(String, Bytes)>,
}

fn answered<T>(value: T) -> oneshot::Receiver<T> {
    let (tx, rx) = oneshot::channel();
    let _ = tx.send(value);
    rx
}

/// Checks a group id: empty ids are refused where Kafka refuses them.
pub fn check_group_id(id: &str, allow_empty: bool) -> Result<(), GroupError> {
    if (id.is_empty() && !allow_empty) || id.len() > MAX_STRING {
        return Err(GroupError::InvalidGroupId);
    }
    Ok(())
}

impl GroupCoordinator {
    /// Loads the groups stored in the offsets topic's partitions.
    pub fn open(
        config: GroupConfig,
        partitions: Vec<Option<Arc<Partition>>>,
    ) -> Result<GroupCoordinator, LogError> {
        let log = OffsetsLog::new(partitions);
        let loaded = log.load()?;
        let coordinator = GroupCoordinator {
            config,
            log,
            groups: RwLock::new(HashMap::with_capacity(loaded.len())),
            loads: Default::default(),
        };
        let mut offsets = 0;
        for (id, l) in loaded {
            offsets += l.offsets.len();
            let cell = coordinator.restore(&id, l);
            coordinator.groups.write().insert(id, cell);
        }
        let groups = coordinator.groups.read().len();
        if groups > 0 {
            tracing::info!(
                groups,
                offsets,
                "loaded consumer groups from the offsets topic"
            );
        }
        Ok(coordinator)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Cell> {
        self.groups.read().get(id).cloned()
    }

    pub(crate) fn get_or_create(&self, id: &str) -> Cell {
        if let Some(g) = self.get(id) {
            return g;
        }
        self.groups
            .write()
            .entry(id.to_owned())
            .or_insert_with(|| {
                Arc::new(Mutex::new(Group::new(
                    id,
                    self.config.initial_rebalance_delay,
                    crate::broker::now_ms(),
                )))
            })
            .clone()
    }

    /// Drops a dead group from the map (if the map still holds that one).
    pub(crate) fn forget(&self, id: &str, cell: &Cell) {
        let mut groups = self.groups.write();
        if groups.get(id).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            groups.remove(id);
        }
    }

    /// Every group, for scans.
    pub(crate) fn all(&self) -> Vec<(String, Cell)> {
        self.groups
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Appends the group's metadata record.
    pub(crate) fn store_group(
        &self,
        g: &Group,
        value: &codec::GroupValue,
    ) -> Result<Appended, GroupError> {
        let write = Write {
            key: codec::encode_key(&RecordKey::Group {
                group: g.id.clone(),
            }),
            value: Some(codec::encode_group(value)),
        };
        self.log.append(&g.id, &[write], GroupError::GroupTooLarge)
    }

    /// Writes the group's metadata if a transition asked for it (not awaited:
    /// losing it only brings back the previous generation, which has no
    /// live members either).
    pub(crate) fn store_if_requested(&self, g: &mut Group) {
        if !std::mem::take(&mut g.store_requested) {
            return;
        }
        if let Err(e) = self.store_group(g, &g.to_value()) {
            tracing::warn!(group = %g.id, error = %e, "cannot store group metadata");
        }
    }

    /// JoinGroup. The receiver yields the answer when the rebalance completes.
    pub fn join(self: &Arc<Self>, req: JoinRequest) -> oneshot::Receiver<JoinResult> {
        let fail = |e| answered(JoinResult::failed(e, &req.member_id));
        if let Err(e) = check_group_id(&req.group_id, false).and_then(|()| self.own(&req.group_id))
        {
            return fail(e);
        }
        if req.session_timeout_ms < self.config.min_session_timeout_ms
            || req.session_timeout_ms > self.config.max_session_timeout_ms
        {
            return fail(GroupError::InvalidSessionTimeout);
        }
        let too_long = |s: &str| s.len() > MAX_STRING;
        if too_long(&req.protocol_type)
            || req.protocols.iter().any(|(n, _)| too_long(n))
            || req.instance_id.as_deref().is_some_and(too_long)
            || req.instance_id.as_deref() == Some("")
        {
            return fail(GroupError::InvalidRequest);
        }
        let new_member = req.member_id.is_empty();
        let cell = if new_member {
            self.get_or_create(&req.group_id)
        } else {
            match self.get(&req.group_id) {
                Some(c) => c,
                None => return fail(GroupError::UnknownMemberId),
            }
        };
        let (tx, rx) = oneshot::channel();
        let now = Instant::now();
        let mut g = cell.lock();
        if g.is(GroupState::Dead) {
            return fail(GroupError::CoordinatorNotAvailable);
        }
        if !g.supports_protocols(&req.protocol_type, &req.protocols) {
            return fail(GroupError::InconsistentGroupProtocol);
        }
        if new_member {
            self.join_new_member(&cell, &mut g, req, tx, now);
        } else {
            join_known_member(&mut g, req, tx, now);
        }
        if g.is(GroupState::PreparingRebalance) {
            g.try_complete_join(now);
        }
        self.store_if_requested(&mut g);
        rx
    }

    fn join_new_member(
        self: &Arc<Self>,
        cell: &Cell,
        g: &mut Group,
        req: JoinRequest,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        let rejoining_static = req
            .instance_id
            .as_deref()
            .and_then(|i| g.static_member(i))
            .map(str::to_owned);
        if rejoining_static.is_none()
            && g.members.len() + g.pending_members.len() >= self.config.max_size
        {
            let _ = tx.send(JoinResult::failed(GroupError::GroupMaxSizeReached, ""));
            return;
        }
        let prefix = req.instance_id.as_deref().unwrap_or(&req.client_id);
        let prefix: String = prefix.chars().take(255).collect();
        let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        match (&req.instance_id, rejoining_static) {
            (Some(instance), Some(old_id)) => {
                let ids = (instance.clone(), old_id, new_id);
                self.rejoin_static_member(cell, g, ids, req, tx, now);
            }
            (None, _) if req.require_known_member_id => {
                let expiry = now + Duration::from_millis(req.session_timeout_ms.max(0) as u64);
                g.pending_members.insert(new_id.clone(), expiry);
                let _ = tx.send(JoinResult::failed(GroupError::MemberIdRequired, &new_id));
            }
            _ => add_member_and_rebalance(g, req, new_id, tx, now),
        }
    }

    /// KIP-345: a static member rejoins with an unknown member id. It takes
    /// over its instance's membership; a Stable group whose protocol does not
    /// change keeps its assignment without a rebalance.
    fn rejoin_static_member(
        self: &Arc<Self>,
        cell: &Cell,
        g: &mut Group,
        (instance, old_id, new_id): (String, String, String),
        req: JoinRequest,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        let old_leader = g.leader.clone().unwrap_or_default();
        g.replace_static_member(&instance, &old_id, &new_id);
        let Some(m) = g.members.get_mut(&new_id) else {
            let _ = tx.send(JoinResult::failed(GroupError::UnknownMemberId, ""));
            return;
        };
        m.expires_at = now + session_timeout(m);
        m.protocols = req.protocols;
        m.supports_skip_assignment = req.supports_skip_assignment;
        m.awaiting_join = Some(tx);
        tracing::info!(group = %g.id, %instance, old = %old_id, new = %new_id, state = g.state.as_str(), "static member rejoined");
        match g.state {
            GroupState::Stable if g.select_protocol() == g.protocol_name => {
                let stored = self.store_group(g, &g.to_value());
                let generation = g.generation;
                let cell = cell.clone();
                tokio::spawn(async move {
                    let outcome = match stored {
                        Ok(a) => a.committed().await,
                        Err(e) => Err(e),
                    };
                    let mut g = cell.lock();
                    let result = match outcome {
                        Err(e) => JoinResult::failed(e, ""),
                        Ok(()) if g.generation != generation => {
                            JoinResult::failed(GroupError::RebalanceInProgress, &new_id)
                        }
                        Ok(()) => {
                            let skip = g.is_leader(&new_id)
                                && g.members
                                    .get(&new_id)
                                    .is_some_and(|m| m.supports_skip_assignment);
                            JoinResult {
                                error: None,
                                member_id: new_id.clone(),
                                generation: g.generation,
                                protocol_type: g.protocol_type.clone(),
                                protocol_name: g.protocol_name.clone(),
                                leader: if skip { new_id.clone() } else { old_leader },
                                skip_assignment: skip,
                                members: if skip {
                                    g.current_member_metadata()
                                } else {
                                    Vec::new()
                                },
                            }
                        }
                    };
                    if let Some(m) = g.members.get_mut(&new_id) {
                        m.complete_join(result);
                    }
                });
            }
            GroupState::Stable | GroupState::CompletingRebalance => g.maybe_prepare_rebalance(now),
            _ => {}
        }
    }

    /// SyncGroup. The receiver yields the member's assignment once the
    /// leader's is stored.
    pub fn sync(self: &Arc<Self>, req: SyncRequest) -> oneshot::Receiver<SyncResult> {
        let fail = |e| answered(SyncResult::failed(e));
        if let Err(e) = check_group_id(&req.group_id, false).and_then(|()| self.own(&req.group_id))
        {
            return fail(e);
        }
        let Some(cell) = self.get(&req.group_id) else {
            return fail(GroupError::UnknownMemberId);
        };
        let now = Instant::now();
        let mut g = cell.lock();
        if g.is(GroupState::Dead) {
            return fail(GroupError::CoordinatorNotAvailable);
        }
        if g.is_fenced(req.instance_id.as_deref(), &req.member_id) {
            return fail(GroupError::FencedInstanceId);
        }
        if !g.members.contains_key(&req.member_id) {
            return fail(GroupError::UnknownMemberId);
        }
        if req.generation != g.generation {
            return fail(GroupError::IllegalGeneration);
        }
        if req
            .protocol_type
            .as_ref()
            .is_some_and(|t| g.protocol_type.as_ref() != Some(t))
            || req
                .protocol_name
                .as_ref()
                .is_some_and(|n| g.protocol_name.as_ref() != Some(n))
        {
            return fail(GroupError::InconsistentGroupProtocol);
        }
        match g.state {
            GroupState::Empty => fail(GroupError::UnknownMemberId),
            GroupState::Dead => fail(GroupError::CoordinatorNotAvailable),
            GroupState::PreparingRebalance => fail(GroupError::RebalanceInProgress),
            GroupState::Stable => {
                g.remove_pending_sync(&req.member_id);
                g.heartbeat(&req.member_id, now);
                let assignment = g
                    .members
                    .get(&req.member_id)
                    .map(|m| m.assignment.clone())
                    .unwrap_or_default();
                answered(SyncResult {
                    error: None,
                    protocol_type: g.protocol_type.clone(),
                    protocol_name: g.protocol_name.clone(),
                    assignment,
                })
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = g.members.get_mut(&req.member_id) {
                    m.complete_sync(SyncResult::failed(GroupError::RebalanceInProgress));
                    m.awaiting_sync = Some(tx);
                }
                g.remove_pending_sync(&req.member_id);
                if g.is_leader(&req.member_id) {
                    self.store_assignment(&cell, &mut g, req.assignments, now);
                }
                rx
            }
        }
    }

    /// The leader's SyncGroup: persist the generation with its assignment,
    /// then (once committed) make the group Stable and answer every member.
    fn store_assignment(
        &self,
        cell: &Cell,
        g: &mut Group,
        given: Vec<(String, Bytes)>,
        now: Instant,
    ) {
        let assignment: HashMap<String, Bytes> = given
            .into_iter()
            .filter(|(id, _)| g.members.contains_key(id))
            .collect();
        let mut value = g.to_value();
        for m in &mut value.members {
            m.assignment = assignment.get(&m.member_id).cloned().unwrap_or_default();
        }
        tracing::info!(group = %g.id, generation = g.generation, members = g.members.len(), "assignment received from the leader");
        match self.store_group(g, &value) {
            Err(e) => {
                g.reset_and_propagate_assignment_error(e);
                g.maybe_prepare_rebalance(now);
            }
            Ok(appended) => {
                let generation = g.generation;
                let cell = cell.clone();
                tokio::spawn(async move {
                    let outcome = appended.committed().await;
                    let mut g = cell.lock();
                    if !(g.is(GroupState::CompletingRebalance) && g.generation == generation) {
                        return;
                    }
                    let now = Instant::now();
                    match outcome {
                        Ok(()) => g.stabilize(&assignment, now),
                        Err(e) => {
                            g.reset_and_propagate_assignment_error(e);
                            g.maybe_prepare_rebalance(now);
                        }
                    }
                });
            }
        }
    }

    /// Heartbeat.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        check_group_id(group_id, false)?;
        self.own(group_id)?;
        let cell = self.get(group_id).ok_or(GroupError::UnknownMemberId)?;
        let mut g = cell.lock();
        if g.is(GroupState::Dead) {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if g.is_fenced(instance_id, member_id) {
            return Err(GroupError::FencedInstanceId);
        }
        if !g.members.contains_key(member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        if generation != g.generation {
            return Err(GroupError::IllegalGeneration);
        }
        let now = Instant::now();
        match g.state {
            GroupState::Empty | GroupState::Dead => Err(GroupError::UnknownMemberId),
            GroupState::CompletingRebalance | GroupState::Stable => {
                g.heartbeat(member_id, now);
                Ok(())
            }
            GroupState::PreparingRebalance => {
                g.heartbeat(member_id, now);
                Err(GroupError::RebalanceInProgress)
            }
        }
    }

    /// LeaveGroup for several members (member id, instance id); the outer
    /// error is the group's, the inner ones each member's.
    pub fn leave(
        &self,
        group_id: &str,
        leaving: &[(String, Option<String>)],
    ) -> Result<Vec<Option<GroupError>>, GroupError> {
        check_group_id(group_id, false)?;
        self.own(group_id)?;
        let Some(cell) = self.get(group_id) else {
            return Ok(vec![Some(GroupError::UnknownMemberId); leaving.len()]);
        };
        let now = Instant::now();
        let mut g = cell.lock();
        if g.is(GroupState::Dead) {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        let results = leaving
            .iter()
            .map(|(member_id, instance_id)| {
                if member_id.is_empty() {
                    // Administrative removal by instance id.
                    let current = instance_id
                        .as_deref()
                        .and_then(|i| g.static_member(i))
                        .map(str::to_owned);
                    return match current {
                        Some(id) => {
                            tracing::info!(group = %g.id, member = %id, "static member removed by LeaveGroup");
                            g.remove_member_and_update(&id, now);
                            None
                        }
                        None => Some(GroupError::UnknownMemberId),
                    };
                }
                if g.pending_members.contains_key(member_id) {
                    g.remove_pending_member(member_id, now);
                    None
                } else if g.is_fenced(instance_id.as_deref(), member_id) {
                    Some(GroupError::FencedInstanceId)
                } else if g.members.contains_key(member_id) {
                    tracing::info!(group = %g.id, member = %member_id, "member left");
                    g.remove_member_and_update(member_id, now);
                    None
                } else {
                    Some(GroupError::UnknownMemberId)
                }
            })
            .collect();
        self.store_if_requested(&mut g);
        Ok(results)
    }

    /// Runs due timers of every group; drops groups that never got past
    /// their first join and have nothing left.
    pub fn tick(&self, now: Instant) {
        self.release_lost();
        for (id, cell) in self.all() {
            if !self.is_current_group(&id) {
                continue;
            }
            let mut g = cell.lock();
            if g.next_deadline().is_some_and(|d| d <= now) {
                g.tick(now);
                self.store_if_requested(&mut g);
            }
            if g.generation == 0 && g.members.is_empty() && g.is_removable() {
                g.mark_dead();
                drop(g);
                self.forget(&id, &cell);
            }
        }
    }

    /// The coordinator's background work until `shutdown`: timers every
    /// 100 ms, offset expiry every retention check interval. At shutdown it
    /// lets go of the offsets partitions so they close cleanly.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_expiry = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => {
                    self.log.close();
                    return;
                }
            }
            let now = Instant::now();
            self.tick(now);
            if now.duration_since(last_expiry) >= self.config.offsets_retention_check_interval {
                last_expiry = now;
                self.expire_offsets(crate::broker::now_ms());
            }
        }
    }
}

fn add_member_and_rebalance(
    g: &mut Group,
    req: JoinRequest,
    member_id: String,
    tx: oneshot::Sender<JoinResult>,
    now: Instant,
) {
    let member = Member {
        id: member_id,
        instance_id: req.instance_id,
        client_id: req.client_id,
        client_host: req.client_host,
        rebalance_timeout_ms: req.rebalance_timeout_ms.max(0),
        session_timeout_ms: req.session_timeout_ms,
        protocol_type: req.protocol_type,
        protocols: req.protocols,
        assignment: Bytes::new(),
        awaiting_join: Some(tx),
        awaiting_sync: None,
        is_new: true,
        expires_at: now + NEW_MEMBER_JOIN_TIMEOUT,
        supports_skip_assignment: req.supports_skip_assignment,
    };
    tracing::info!(group = %g.id, member = %member.id, "member joined");
    g.note_new_member();
    g.add_member(member);
    g.maybe_prepare_rebalance(now);
}

fn join_known_member(
    g: &mut Group,
    req: JoinRequest,
    tx: oneshot::Sender<JoinResult>,
    now: Instant,
) {
    let member_id = req.member_id.clone();
    if g.pending_members.contains_key(&member_id) {
        if req.instance_id.is_some() {
            let _ = tx.send(JoinResult::failed(GroupError::UnknownMemberId, &member_id));
        } else {
            add_member_and_rebalance(g, req, member_id, tx, now);
        }
        return;
    }
    if g.is_fenced(req.instance_id.as_deref(), &member_id) {
        let _ = tx.send(JoinResult::failed(GroupError::FencedInstanceId, &member_id));
        return;
    }
    let Some(member) = g.members.get(&member_id) else {
        let _ = tx.send(JoinResult::failed(GroupError::UnknownMemberId, &member_id));
        return;
    };
    let unchanged = member.matches(&req.protocols);
    let leader = g.is_leader(&member_id);
    match g.state {
        GroupState::PreparingRebalance => update_member_and_rebalance(g, req, tx, now),
        GroupState::CompletingRebalance if unchanged => {
            let _ = tx.send(current_generation(g, &member_id));
        }
        GroupState::Stable if unchanged && !leader => {
            let _ = tx.send(current_generation(g, &member_id));
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            update_member_and_rebalance(g, req, tx, now)
        }
        GroupState::Empty | GroupState::Dead => {
            let _ = tx.send(JoinResult::failed(GroupError::UnknownMemberId, &member_id));
        }
    }
}

fn update_member_and_rebalance(
    g: &mut Group,
    req: JoinRequest,
    tx: oneshot::Sender<JoinResult>,
    now: Instant,
) {
    if let Some(m) = g.members.get_mut(&req.member_id) {
        m.protocols = req.protocols;
        m.supports_skip_assignment = req.supports_skip_assignment;
        m.complete_join(JoinResult::failed(
            GroupError::RebalanceInProgress,
            &req.member_id,
        ));
        m.awaiting_join = Some(tx);
    }
    g.maybe_prepare_rebalance(now);
}

/// The current generation as a member that re-sent JoinGroup sees it.
fn current_generation(g: &Group, member_id: &str) -> JoinResult {
    JoinResult {
        error: None,
        member_id: member_id.to_owned(),
        generation: g.generation,
        protocol_type: g.protocol_type.clone(),
        protocol_name: g.protocol_name.clone(),
        leader: g.leader.clone().unwrap_or_default(),
        skip_assignment: false,
        members: if g.is_leader(member_id) {
            g.current_member_metadata()
        } else {
            Vec::new()
        },
    }
}
