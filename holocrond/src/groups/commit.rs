//! OffsetCommit, OffsetFetch, OffsetDelete and offset expiry.
//!
//! A commit is validated against the group as Kafka does (members of an
//! active group must name their member id and generation; a group nobody
//! manages — a `simple` consumer — accepts generation -1), appended to the
//! group's offsets partition in request order, and acknowledged once the
//! partition commits it. The cache follows the log (see [`super::offsets`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use tokio::time::Instant;

use super::codec::{self, OffsetValue, RecordKey};
use super::coordinator::{check_group_id, GroupCoordinator};
use super::group::GroupState;
use super::offsets::{self, Committed};
use super::store::Write;
use super::GroupError;

/// One partition's commit.
#[derive(Debug, Clone)]
pub struct CommitEntry {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Leader epoch, -1 if unknown.
    pub leader_epoch: i32,
    /// Metadata.
    pub metadata: Option<String>,
}

/// An OffsetCommit, decoded (partitions of unknown topics already removed).
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    /// Group id.
    pub group_id: String,
    /// Generation, -1 for a simple commit.
    pub generation: i32,
    /// Member id, "" for a simple commit.
    pub member_id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// v2–v4 retention_time_ms when not -1.
    pub retention_ms: Option<i64>,
    /// The offsets.
    pub entries: Vec<CommitEntry>,
}

/// A partition's committed offset, if any, as OffsetFetch reports it.
pub type Fetched = (String, Vec<(i32, Option<Committed>)>);

impl GroupCoordinator {
    /// OffsetCommit: one result per entry, in order. The appends happen
    /// now; the future waits for them to commit.
    pub fn commit(
        self: &Arc<Self>,
        req: CommitRequest,
    ) -> BoxFuture<'static, Vec<Option<GroupError>>> {
        let n = req.entries.len();
        let all = |e: GroupError| futures::future::ready(vec![Some(e); n]).boxed();
        if let Err(e) = check_group_id(&req.group_id, true).and_then(|()| self.own(&req.group_id)) {
            return all(e);
        }
        let cell = match self.get(&req.group_id) {
            Some(c) => c,
            None if req.generation < 0 => self.get_or_create(&req.group_id),
            None => return all(GroupError::IllegalGeneration),
        };
        let now = Instant::now();
        let now_ms = crate::broker::now_ms();
        let mut g = cell.lock();
        if let Err(e) = validate_commit(&g, &req) {
            return all(e);
        }
        match g.state {
            GroupState::CompletingRebalance => return all(GroupError::RebalanceInProgress),
            GroupState::Stable | GroupState::PreparingRebalance => g.heartbeat(&req.member_id, now),
            _ => {}
        }
        let mut results = vec![None; n];
        let mut writes = Vec::with_capacity(n);
        let mut written = Vec::with_capacity(n);
        for (i, e) in req.entries.iter().enumerate() {
            let metadata = e.metadata.clone().unwrap_or_default();
            if metadata.len() > self.config.max_metadata_bytes {
                results[i] = Some(GroupError::OffsetMetadataTooLarge);
                continue;
            }
            let value = OffsetValue {
                offset: e.offset,
                leader_epoch: e.leader_epoch,
                metadata,
                commit_timestamp: now_ms,
                expire_timestamp: req.retention_ms.map(|r| now_ms.saturating_add(r)),
            };
            writes.push(Write {
                key: codec::encode_key(&RecordKey::Offset {
                    group: req.group_id.clone(),
                    topic: e.topic.clone(),
                    partition: e.partition,
                }),
                value: Some(codec::encode_offset(&value)),
            });
            written.push((i, (e.topic.clone(), e.partition), value));
        }
        if writes.is_empty() {
            return futures::future::ready(results).boxed();
        }
        let appended = match self
            .log
            .append(&req.group_id, &writes, GroupError::CommitTooLarge)
        {
            Ok(a) => a,
            Err(e) => {
                for (i, _, _) in &written {
                    results[*i] = Some(e);
                }
                return futures::future::ready(results).boxed();
            }
        };
        g.writes.in_flight += 1;
        drop(g);
        // The cache is updated once the records commit, even if the client
        // stops waiting.
        let task = tokio::spawn(async move {
            let outcome = appended.committed().await;
            let mut g = cell.lock();
            g.writes.finished();
            match outcome {
                Ok(()) => {
                    let group = &mut *g;
                    for ((_, key, value), at) in written.iter().zip(&appended.offsets) {
                        let c = Committed::from_value(value.clone(), *at);
                        group.writes.apply(&mut group.offsets, key.clone(), c);
                    }
                }
                Err(e) => {
                    for (i, _, _) in &written {
                        results[*i] = Some(e);
                    }
                }
            }
            results
        });
        async move {
            task.await
                .unwrap_or_else(|_| vec![Some(GroupError::StorageFailed); n])
        }
        .boxed()
    }

    /// OffsetFetch of one group: the requested partitions (None: every
    /// partition with an offset), each with its offset if committed.
    pub fn fetch(
        &self,
        group_id: &str,
        topics: Option<Vec<(String, Vec<i32>)>>,
    ) -> Result<Vec<Fetched>, GroupError> {
        check_group_id(group_id, true)?;
        self.own(group_id)?;
        let cell = self.get(group_id);
        let g = cell.as_ref().map(|c| c.lock());
        let offsets = g
            .as_ref()
            .filter(|g| !g.is(GroupState::Dead))
            .map(|g| &g.offsets);
        Ok(match topics {
            Some(topics) => topics
                .into_iter()
                .map(|(topic, parts)| {
                    let parts = parts
                        .into_iter()
                        .map(|p| {
                            let c = offsets.and_then(|o| o.get(&(topic.clone(), p)).cloned());
                            (p, c)
                        })
                        .collect();
                    (topic, parts)
                })
                .collect(),
            None => {
                let mut by_topic: BTreeMap<String, Vec<(i32, Option<Committed>)>> = BTreeMap::new();
                for ((t, p), c) in offsets.into_iter().flatten() {
                    by_topic
                        .entry(t.clone())
                        .or_default()
                        .push((*p, Some(c.clone())));
                }
                by_topic.into_iter().collect()
            }
        })
    }

    /// OffsetDelete: partitions an active member consumes are refused with
    /// GROUP_SUBSCRIBED_TO_TOPIC; the rest are deleted (tombstones).
    pub fn delete_offsets(
        &self,
        group_id: &str,
        partitions: Vec<(String, i32)>,
    ) -> BoxFuture<'static, Result<Vec<Option<GroupError>>, GroupError>> {
        let fail = |e| futures::future::ready(Err(e)).boxed();
        if let Err(e) = check_group_id(group_id, false).and_then(|()| self.own(group_id)) {
            return fail(e);
        }
        let Some(cell) = self.get(group_id) else {
            return fail(GroupError::GroupIdNotFound);
        };
        let mut g = cell.lock();
        let consumer = g.protocol_type.as_deref() == Some(super::group::CONSUMER_PROTOCOL);
        let mut results = Vec::with_capacity(partitions.len());
        let mut doomed = Vec::new();
        for key in partitions {
            let refused = match g.state {
                GroupState::Dead => return fail(GroupError::GroupIdNotFound),
                GroupState::Empty => None,
                _ if consumer => g
                    .is_subscribed_to(&key.0)
                    .then_some(GroupError::GroupSubscribedToTopic),
                _ => return fail(GroupError::NonEmptyGroup),
            };
            if refused.is_none() && g.offsets.contains_key(&key) {
                doomed.push(key);
            }
            results.push(refused);
        }
        let waiting = self.delete_offset_records(&mut g, &doomed);
        drop(g);
        async move {
            match waiting {
                Some(Ok(a)) => a.committed().await.map(|()| results),
                Some(Err(e)) => Err(e),
                None => Ok(results),
            }
        }
        .boxed()
    }

    /// Appends tombstones for `keys` and drops them from the cache.
    pub(crate) fn delete_offset_records(
        &self,
        g: &mut super::group::Group,
        keys: &[(String, i32)],
    ) -> Option<Result<super::store::Appended, GroupError>> {
        if keys.is_empty() {
            return None;
        }
        let writes: Vec<Write> = keys
            .iter()
            .map(|(topic, partition)| Write {
                key: codec::encode_key(&RecordKey::Offset {
                    group: g.id.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                }),
                value: None,
            })
            .collect();
        let appended = self.log.append(&g.id, &writes, GroupError::CommitTooLarge);
        if let Ok(a) = &appended {
            let group = &mut *g;
            for (key, at) in keys.iter().zip(&a.offsets) {
                group.writes.delete(&mut group.offsets, key, *at);
            }
        }
        Some(appended)
    }

    /// Deletes expired offsets (KIP-211), then groups left Empty with no
    /// offsets (their metadata gets a tombstone).
    pub fn expire_offsets(&self, now_ms: i64) {
        let retention = self.config.offsets_retention_ms;
        let mut removed_offsets = 0;
        for (id, cell) in self.all() {
            if !self.is_current_group(&id) {
                continue;
            }
            let mut g = cell.lock();
            let expired = offsets::expired(&g, now_ms, retention);
            removed_offsets += expired.len();
            if let Some(Err(e)) = self.delete_offset_records(&mut g, &expired) {
                tracing::warn!(group = %id, error = %e, "cannot expire offsets");
                continue;
            }
            if g.members.is_empty() && g.is_removable() {
                g.mark_dead();
                let tombstone = Write {
                    key: codec::encode_key(&RecordKey::Group { group: id.clone() }),
                    value: None,
                };
                if let Err(e) = self
                    .log
                    .append(&id, &[tombstone], GroupError::GroupTooLarge)
                {
                    tracing::warn!(group = %id, error = %e, "cannot write group tombstone");
                }
                drop(g);
                tracing::info!(group = %id, "removed empty group without offsets");
                self.forget(&id, &cell);
            }
        }
        if removed_offsets > 0 {
            tracing::info!(offsets = removed_offsets, "expired committed offsets");
        }
    }
}

/// Kafka's `validateOffsetCommit`.
fn validate_commit(g: &super::group::Group, req: &CommitRequest) -> Result<(), GroupError> {
    if g.is(GroupState::Dead) {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    if req.generation >= 0 || !req.member_id.is_empty() || req.instance_id.is_some() {
        if g.is_fenced(req.instance_id.as_deref(), &req.member_id) {
            return Err(GroupError::FencedInstanceId);
        }
        if !g.members.contains_key(&req.member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        if req.generation != g.generation {
            return Err(GroupError::IllegalGeneration);
        }
    } else if !g.is(GroupState::Empty) {
        // Only members may commit for an active group.
        return Err(GroupError::UnknownMemberId);
    }
    Ok(())
}
