//! The classic group state machine, as Kafka's `GroupMetadata` and
//! `GroupCoordinator` define it:
//!
//! ```text
//!   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
//!     ▲                 ▲        │ (no members left)                    │ leader's SyncGroup
//!     └─────────────────┼────────┘                                      ▼ (stored)
//!                       └──── member joins, leaves, fails ◀──────── Stable
//!   any ──delete / offsets expired while Empty──▶ Dead
//! ```
//!
//! Everything here is synchronous and runs under the group's lock: no I/O,
//! no awaiting. Waiting requests are oneshot senders held by the members;
//! deadlines are plain instants that the coordinator's ticker checks. When a
//! transition needs the group's metadata written, `store_requested` is set
//! and the coordinator writes it before releasing the lock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::codec::{GroupValue, MemberValue};
use super::member::{JoinResult, JoinedMember, Member, SyncResult};
use super::offsets::{Committed, OffsetWrites};
use super::GroupError;

/// A new member that never completes its first join is dropped after this
/// (Kafka's `NewMemberJoinTimeoutMs`).
pub const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

/// The protocol type of Kafka consumers.
pub const CONSUMER_PROTOCOL: &str = "consumer";

/// A group's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (possibly offsets).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Assigned and running.
    Stable,
    /// Removed; requests against it are refused.
    Dead,
}

impl GroupState {
    /// Kafka's name of the state (DescribeGroups, ListGroups).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// The initial rebalance delay in progress (Kafka's `InitialDelayedJoin`).
#[derive(Debug, Clone, Copy)]
struct InitialDelay {
    delay: Duration,
    remaining: Duration,
}

/// One classic group.
#[derive(Debug)]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Current state.
    pub state: GroupState,
    /// When the group entered its state (ms since the epoch).
    pub state_since_ms: i64,
    /// Protocol type, set by the first member.
    pub protocol_type: Option<String>,
    /// Protocol selected for the current generation.
    pub protocol_name: Option<String>,
    /// Generation.
    pub generation: i32,
    /// Leader's member id.
    pub leader: Option<String>,
    /// Members by id.
    pub members: BTreeMap<String, Member>,
    /// KIP-394: member ids handed out with MEMBER_ID_REQUIRED, until they expire.
    pub pending_members: HashMap<String, Instant>,
    /// Static members: instance id → member id.
    pub static_members: HashMap<String, String>,
    /// Members of this generation that have not sent SyncGroup yet.
    pending_sync: HashSet<String>,
    /// When the join phase ends at the latest.
    join_deadline: Option<Instant>,
    initial: Option<InitialDelay>,
    new_member_added: bool,
    /// When members that have not synced are removed.
    sync_deadline: Option<Instant>,
    initial_rebalance_delay: Duration,
    /// Topics the members subscribe to (consumer protocol), if known.
    pub subscribed_topics: Option<HashSet<String>>,
    /// Committed offsets by (topic, partition).
    pub offsets: BTreeMap<(String, i32), Committed>,
    /// Offset writes in flight.
    pub writes: OffsetWrites,
    /// Set when a transition wants the group's metadata persisted.
    pub store_requested: bool,
}

impl Group {
    /// A new, empty group.
    pub fn new(id: &str, initial_rebalance_delay: Duration, now_ms: i64) -> Group {
        Group {
            id: id.to_owned(),
            state: GroupState::Empty,
            state_since_ms: now_ms,
            protocol_type: None,
            protocol_name: None,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            pending_members: HashMap::new(),
            static_members: HashMap::new(),
            pending_sync: HashSet::new(),
            join_deadline: None,
            initial: None,
            new_member_added: false,
            sync_deadline: None,
            initial_rebalance_delay,
            subscribed_topics: None,
            offsets: BTreeMap::new(),
            writes: OffsetWrites::default(),
            store_requested: false,
        }
    }

    /// Whether the group is in `state`.
    pub fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    /// The leader's assignment is stored: install it, answer every waiting
    /// SyncGroup and become Stable.
    pub fn stabilize(&mut self, assignment: &HashMap<String, Bytes>, now: Instant) {
        self.set_and_propagate_assignment(assignment, now);
        self.transition(GroupState::Stable);
    }

    fn transition(&mut self, to: GroupState) {
        tracing::debug!(group = %self.id, from = self.state.as_str(), to = to.as_str(), generation = self.generation, "group state");
        self.state = to;
        self.state_since_ms = crate::broker::now_ms();
    }

    /// Whether `member_id` is the leader.
    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    /// The member currently holding a static instance id.
    pub fn static_member(&self, instance_id: &str) -> Option<&str> {
        self.static_members.get(instance_id).map(String::as_str)
    }

    /// KIP-345: a request naming an instance id held by another member id is fenced.
    pub fn is_fenced(&self, instance_id: Option<&str>, member_id: &str) -> bool {
        instance_id
            .and_then(|i| self.static_member(i))
            .is_some_and(|current| current != member_id)
    }

    /// Whether the group is Empty with nothing worth keeping: no offsets,
    /// no KIP-394 pending members and no offset writes in flight.
    pub fn is_removable(&self) -> bool {
        self.is(GroupState::Empty)
            && self.offsets.is_empty()
            && self.pending_members.is_empty()
            && self.writes.in_flight == 0
    }

    /// The longest rebalance timeout among the members.
    pub fn rebalance_timeout(&self) -> Duration {
        let ms = self
            .members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// Protocols every member supports.
    fn candidate_protocols(&self) -> Vec<&str> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for m in self.members.values() {
            for (name, _) in &m.protocols {
                *counts.entry(name.as_str()).or_default() += 1;
            }
        }
        let n = self.members.len();
        counts
            .into_iter()
            .filter(|(_, c)| *c == n)
            .map(|(p, _)| p)
            .collect()
    }

    /// Whether a member with this protocol type and protocols may join.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        let candidates = self.candidate_protocols();
        protocols
            .iter()
            .any(|(name, _)| candidates.contains(&name.as_str()))
    }

    /// Picks the protocol most members prefer among those all support.
    /// Ties go to the protocol the first member prefers.
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: Vec<(&str, usize)> = Vec::new();
        for m in self.members.values() {
            if let Some(p) = m.vote(&candidates) {
                match votes.iter_mut().find(|(name, _)| *name == p) {
                    Some((_, n)) => *n += 1,
                    None => votes.push((p, 1)),
                }
            }
        }
        let best = votes.iter().map(|(_, n)| *n).max()?;
        votes
            .into_iter()
            .find(|(_, n)| *n == best)
            .map(|(p, _)| p.to_owned())
    }

    /// Adds a member (its JoinGroup waits on `awaiting_join`).
    pub fn add_member(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member.id.clone());
        }
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.id.clone());
        }
        self.pending_members.remove(&member.id);
        self.members.insert(member.id.clone(), member);
    }

    /// Removes a member, telling its waiting requests it is gone.
    pub fn remove_member(&mut self, member_id: &str) -> Option<Member> {
        let mut member = self.members.remove(member_id);
        if let Some(m) = &mut member {
            m.complete_join(JoinResult::failed(GroupError::UnknownMemberId, ""));
            m.complete_sync(SyncResult::failed(GroupError::UnknownMemberId));
            if let Some(instance) = &m.instance_id {
                if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                    self.static_members.remove(instance);
                }
            }
        }
        if self.is_leader(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        self.pending_members.remove(member_id);
        self.pending_sync.remove(member_id);
        member
    }

    /// Removes a member and reacts as the state requires (Kafka's
    /// `removeMemberAndUpdateGroup`).
    pub fn remove_member_and_update(&mut self, member_id: &str, now: Instant) {
        self.remove_member(member_id);
        match self.state {
            GroupState::Dead | GroupState::Empty => {}
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance(now)
            }
            GroupState::PreparingRebalance => self.try_complete_join(now),
        }
    }

    /// Forgets a KIP-394 pending member.
    pub fn remove_pending_member(&mut self, member_id: &str, now: Instant) {
        self.pending_members.remove(member_id);
        if self.is(GroupState::PreparingRebalance) {
            self.try_complete_join(now);
        }
    }

    /// Replaces a static member's id (KIP-345 rejoin with an unknown member id).
    /// The old id's waiting requests are fenced.
    pub fn replace_static_member(&mut self, instance_id: &str, old_id: &str, new_id: &str) {
        let Some(mut member) = self.members.remove(old_id) else {
            return;
        };
        member.complete_join(JoinResult::failed(GroupError::FencedInstanceId, old_id));
        member.complete_sync(SyncResult::failed(GroupError::FencedInstanceId));
        member.id = new_id.to_owned();
        if self.is_leader(old_id) {
            self.leader = Some(new_id.to_owned());
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.to_owned());
        }
        self.static_members
            .insert(instance_id.to_owned(), new_id.to_owned());
        self.members.insert(new_id.to_owned(), member);
    }

    /// Whether every member is waiting in JoinGroup and no KIP-394 member is pending.
    pub fn has_all_members_joined(&self) -> bool {
        self.members.values().all(Member::is_awaiting_join) && self.pending_members.is_empty()
    }

    fn can_rebalance(&self) -> bool {
        matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        )
    }

    /// Starts a rebalance if the state allows one.
    pub fn maybe_prepare_rebalance(&mut self, now: Instant) {
        if self.can_rebalance() {
            self.prepare_rebalance(now);
        }
    }

    /// Starts a rebalance: waiting syncs are told to rejoin, and the join
    /// phase gets its deadline (the initial delay for an empty group).
    pub fn prepare_rebalance(&mut self, now: Instant) {
        if self.is(GroupState::CompletingRebalance) {
            self.reset_and_propagate_assignment_error(GroupError::RebalanceInProgress);
        }
        self.pending_sync.clear();
        self.sync_deadline = None;
        let timeout = self.rebalance_timeout();
        if self.is(GroupState::Empty) && !self.initial_rebalance_delay.is_zero() {
            let delay = self.initial_rebalance_delay;
            self.initial = Some(InitialDelay {
                delay,
                remaining: timeout.saturating_sub(delay),
            });
            self.new_member_added = false;
            self.join_deadline = Some(now + delay);
        } else {
            self.initial = None;
            self.join_deadline = Some(now + timeout);
        }
        self.transition(GroupState::PreparingRebalance);
        tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(), "preparing to rebalance");
        self.try_complete_join(now);
    }

    /// Completes the join phase now if every member has rejoined (not during
    /// the initial delay, which always runs its course).
    pub fn try_complete_join(&mut self, now: Instant) {
        if self.is(GroupState::PreparingRebalance)
            && self.initial.is_none()
            && self.has_all_members_joined()
        {
            self.complete_join(now);
        }
    }

    /// Ends the join phase (Kafka's `onCompleteJoin`): members that did not
    /// rejoin are dropped, the next generation starts and every waiting
    /// JoinGroup is answered.
    pub fn complete_join(&mut self, now: Instant) {
        self.join_deadline = None;
        self.initial = None;
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.is_awaiting_join() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            tracing::info!(group = %self.id, member = %id, "removing member that did not rejoin");
            self.remove_member(&id);
        }
        if self.is(GroupState::Dead) {
            return;
        }
        if !self.maybe_elect_joined_leader() && !self.members.is_empty() {
            // Nobody rejoined (only static members remain): wait another
            // round; their sessions expire meanwhile.
            self.join_deadline = Some(now + self.rebalance_timeout());
            return;
        }
        self.init_next_generation();
        if self.is(GroupState::Empty) {
            tracing::info!(group = %self.id, generation = self.generation, "group is now empty");
            self.store_requested = true;
            return;
        }
        tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(), protocol = ?self.protocol_name, "group rebalanced");
        let leader_view = self.current_member_metadata();
        let protocol_type = self.protocol_type.clone();
        let protocol_name = self.protocol_name.clone();
        let leader = self.leader.clone().unwrap_or_default();
        let generation = self.generation;
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            let result = JoinResult {
                error: None,
                member_id: id.clone(),
                generation,
                protocol_type: protocol_type.clone(),
                protocol_name: protocol_name.clone(),
                leader: leader.clone(),
                skip_assignment: false,
                members: if id == leader {
                    leader_view.clone()
                } else {
                    Vec::new()
                },
            };
            m.complete_join(result);
            m.expires_at = now + session_timeout(m);
            m.is_new = false;
            self.pending_sync.insert(id);
        }
        self.sync_deadline = Some(now + self.rebalance_timeout());
    }

    /// Kafka's `maybeElectNewJoinedLeader`: keeps the leader if it rejoined,
    /// else picks any member that did. False if none did.
    fn maybe_elect_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader.clone() else {
            return false;
        };
        if self
            .members
            .get(&leader)
            .is_some_and(Member::is_awaiting_join)
        {
            return true;
        }
        match self.members.values().find(|m| m.is_awaiting_join()) {
            Some(m) => {
                self.leader = Some(m.id.clone());
                true
            }
            None => false,
        }
    }

    fn init_next_generation(&mut self) {
        self.generation = self.generation.wrapping_add(1).max(1);
        if self.members.is_empty() {
            self.protocol_name = None;
            self.subscribed_topics = None;
            self.transition(GroupState::Empty);
        } else {
            self.protocol_name = self.select_protocol();
            self.subscribed_topics = self.compute_subscribed_topics();
            self.transition(GroupState::CompletingRebalance);
        }
        self.pending_sync.clear();
        self.sync_deadline = None;
    }

    /// Every member with its metadata for the selected protocol (the leader's view).
    pub fn current_member_metadata(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol_name.as_deref().unwrap_or("");
        self.members
            .values()
            .map(|m| JoinedMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                metadata: m.metadata(protocol),
            })
            .collect()
    }

    /// Tells every waiting SyncGroup about `error` and clears the assignments.
    pub fn reset_and_propagate_assignment_error(&mut self, error: GroupError) {
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            m.complete_sync(SyncResult::failed(error));
        }
    }

    /// Installs the leader's assignment and answers every waiting SyncGroup.
    pub fn set_and_propagate_assignment(
        &mut self,
        assignment: &HashMap<String, Bytes>,
        now: Instant,
    ) {
        let protocol_type = self.protocol_type.clone();
        let protocol_name = self.protocol_name.clone();
        for m in self.members.values_mut() {
            m.assignment = assignment.get(&m.id).cloned().unwrap_or_default();
            let result = SyncResult {
                error: None,
                protocol_type: protocol_type.clone(),
                protocol_name: protocol_name.clone(),
                assignment: m.assignment.clone(),
            };
            if m.complete_sync(result) {
                m.expires_at = now + session_timeout(m);
            }
        }
    }

    /// Marks a member's SyncGroup as received.
    pub fn remove_pending_sync(&mut self, member_id: &str) {
        self.pending_sync.remove(member_id);
        if self.pending_sync.is_empty() {
            self.sync_deadline = None;
        }
    }

    /// Resets a member's session timer.
    pub fn heartbeat(&mut self, member_id: &str, now: Instant) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.expires_at = now + session_timeout(m);
        }
    }

    /// The earliest instant at which [`Group::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let members = self.members.values().map(|m| m.expires_at);
        let pending = self.pending_members.values().copied();
        members
            .chain(pending)
            .chain(self.join_deadline)
            .chain(self.sync_deadline)
            .min()
    }

    /// Runs every timer that is due: expired sessions and KIP-394 pending
    /// members, the end of the join phase, and members that never synced.
    pub fn tick(&mut self, now: Instant) {
        let expired_pending: Vec<String> = self
            .pending_members
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired_pending {
            tracing::info!(group = %self.id, member = %id, "pending member expired");
            self.remove_pending_member(&id, now);
        }
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.expires_at <= now && !keep_alive(m))
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.id, member = %id, "member session expired");
            self.remove_member_and_update(&id, now);
        }
        if self.join_deadline.is_some_and(|d| d <= now) && self.is(GroupState::PreparingRebalance) {
            match self.initial {
                Some(InitialDelay { delay, remaining })
                    if self.new_member_added && !remaining.is_zero() =>
                {
                    let next = delay.min(remaining);
                    self.initial = Some(InitialDelay {
                        delay,
                        remaining: remaining - next,
                    });
                    self.new_member_added = false;
                    self.join_deadline = Some(now + next);
                }
                _ => self.complete_join(now),
            }
        }
        if self.sync_deadline.is_some_and(|d| d <= now) {
            self.sync_deadline = None;
            if matches!(
                self.state,
                GroupState::CompletingRebalance | GroupState::Stable
            ) && !self.pending_sync.is_empty()
            {
                let laggards: Vec<String> = self.pending_sync.drain().collect();
                for id in &laggards {
                    tracing::info!(group = %self.id, member = %id, "member did not send SyncGroup in time");
                    self.remove_member(id);
                }
                self.prepare_rebalance(now);
            }
        }
    }

    /// Notes that a member joined during the initial delay (which then extends).
    pub fn note_new_member(&mut self) {
        if self.is(GroupState::PreparingRebalance) && self.initial.is_some() {
            self.new_member_added = true;
        }
    }

    /// Topics the consumer-protocol members subscribe to, if all subscriptions parse.
    fn compute_subscribed_topics(&self) -> Option<HashSet<String>> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        if self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL) {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = HashSet::new();
        for m in self.members.values() {
            let mut meta = m.metadata(protocol);
            if meta.len() < 2 {
                return None;
            }
            let version = i16::from_be_bytes([meta[0], meta[1]]);
            let mut body = meta.split_off(2);
            let sub = ConsumerProtocolSubscription::decode(&mut body, version.clamp(0, 3)).ok()?;
            topics.extend(sub.topics.into_iter().map(|t| t.to_string()));
        }
        Some(topics)
    }

    /// Whether an active member may be consuming `topic` (unknown subscriptions count as yes).
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        match &self.subscribed_topics {
            Some(topics) => topics.contains(topic),
            None => true,
        }
    }

    /// The group's metadata as stored in `__consumer_offsets`.
    pub fn to_value(&self) -> GroupValue {
        let protocol = self.protocol_name.clone();
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_since_ms,
            members: self
                .members
                .values()
                .map(|m| MemberValue {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.metadata(protocol.as_deref().unwrap_or("")),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Restores a group from its stored metadata: members come back Stable
    /// with a fresh session each (as Kafka loads groups); a group without
    /// members is Empty.
    pub fn restore(&mut self, v: GroupValue, now: Instant) {
        self.protocol_type = (!v.protocol_type.is_empty()).then_some(v.protocol_type);
        self.generation = v.generation;
        self.protocol_name = v.protocol;
        self.leader = v.leader;
        self.state_since_ms = if v.current_state_timestamp >= 0 {
            v.current_state_timestamp
        } else {
            crate::broker::now_ms()
        };
        self.members.clear();
        self.static_members.clear();
        let protocol = self.protocol_name.clone().unwrap_or_default();
        for m in v.members {
            if let Some(i) = &m.group_instance_id {
                self.static_members.insert(i.clone(), m.member_id.clone());
            }
            let mut member = Member {
                id: m.member_id.clone(),
                instance_id: m.group_instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: m.session_timeout_ms,
                protocol_type: self.protocol_type.clone().unwrap_or_default(),
                protocols: vec![(protocol.clone(), m.subscription)],
                assignment: m.assignment,
                awaiting_join: None,
                awaiting_sync: None,
                is_new: false,
                expires_at: now,
                supports_skip_assignment: false,
            };
            member.expires_at = now + session_timeout(&member);
            self.members.insert(m.member_id, member);
        }
        if self.members.is_empty() {
            self.state = GroupState::Empty;
        } else {
            if self
                .leader
                .as_ref()
                .is_none_or(|l| !self.members.contains_key(l))
            {
                self.leader = self.members.keys().next().cloned();
            }
            self.state = GroupState::Stable;
            self.subscribed_topics = self.compute_subscribed_topics();
        }
    }

    /// Marks the group removed; waiting requests learn it is gone.
    pub fn mark_dead(&mut self) {
        for m in self.members.values_mut() {
            m.complete_join(JoinResult::failed(GroupError::CoordinatorNotAvailable, ""));
            m.complete_sync(SyncResult::failed(GroupError::CoordinatorNotAvailable));
        }
        self.transition(GroupState::Dead);
    }
}

/// A member's session timeout.
pub fn session_timeout(m: &Member) -> Duration {
    Duration::from_millis(u64::try_from(m.session_timeout_ms).unwrap_or(0))
}

/// Kafka's `shouldKeepAlive`: a member waiting in JoinGroup (unless it is
/// new) or in SyncGroup is bounded by the rebalance, not its session.
fn keep_alive(m: &Member) -> bool {
    (m.is_awaiting_join() && !m.is_new) || m.awaiting_sync.is_some()
}
