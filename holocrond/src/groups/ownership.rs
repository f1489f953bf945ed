//! Which groups this broker coordinates (cluster mode): those whose
//! `__consumer_offsets` partition it leads. When it gains a partition's
//! leadership it reads the partition again, so the groups' members,
//! generations and offsets are the ones the previous leader committed;
//! while another node leads, requests are answered NOT_COORDINATOR and the
//! client finds the coordinator again.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::coordinator::{Cell, GroupCoordinator};
use super::group::Group;
use super::store::{partition_for, Loaded, Ownership};
use super::GroupError;

/// Per offsets partition, the leader term whose state is loaded here.
#[derive(Debug, Default)]
pub(crate) struct Loads {
    terms: Mutex<HashMap<usize, u64>>,
}

impl GroupCoordinator {
    /// Checks that this node coordinates `group` now, loading its offsets
    /// partition first if this node has just gained its leadership.
    pub(crate) fn own(&self, group: &str) -> Result<(), GroupError> {
        let index = self.log.partition_of(group);
        match self.log.ownership(index) {
            Ownership::Standalone => Ok(()),
            Ownership::Elsewhere => Err(GroupError::NotCoordinator),
            Ownership::Leader(term) => self.load_partition(index, term),
        }
    }

    /// Whether this node coordinates the groups of partition `index` now,
    /// with their state loaded (timers and expiry run only for those).
    pub(crate) fn is_current(&self, index: usize) -> bool {
        match self.log.ownership(index) {
            Ownership::Standalone => true,
            Ownership::Elsewhere => false,
            Ownership::Leader(term) => self.loads.terms.lock().get(&index) == Some(&term),
        }
    }

    /// Loads every offsets partition this node has just gained the
    /// leadership of (ListGroups lists the groups of all of them).
    pub(crate) fn load_led(&self) {
        for index in 0..self.log.len() {
            if let Ownership::Leader(term) = self.log.ownership(index) {
                let _ = self.load_partition(index, term);
            }
        }
    }

    /// Lets go of the groups of offsets partitions this node no longer
    /// leads: requests waiting on them (JoinGroup, SyncGroup) are answered
    /// so their clients find the new coordinator at once.
    pub(crate) fn release_lost(&self) {
        let mut terms = self.loads.terms.lock();
        let lost: Vec<usize> = terms
            .iter()
            .filter(|(index, term)| self.log.ownership(**index) != Ownership::Leader(**term))
            .map(|(index, _)| *index)
            .collect();
        if lost.is_empty() {
            return;
        }
        let partitions = self.log.len();
        let mut groups = self.groups.write();
        for index in lost {
            terms.remove(&index);
            groups.retain(|id, cell| {
                if partition_for(id, partitions) != index {
                    return true;
                }
                cell.lock().mark_dead();
                false
            });
            tracing::info!(
                partition = index,
                "no longer coordinating the groups of an offsets partition"
            );
        }
    }

    /// Whether this node coordinates `group` now (see [`Self::is_current`]).
    pub(crate) fn is_current_group(&self, group: &str) -> bool {
        self.is_current(self.log.partition_of(group))
    }

    /// Replaces the groups of partition `index` with what the partition
    /// holds, unless that was done for `term` already.
    fn load_partition(&self, index: usize, term: u64) -> Result<(), GroupError> {
        let mut terms = self.loads.terms.lock();
        if terms.get(&index) == Some(&term) {
            return Ok(());
        }
        let loaded = self.log.load_one(index).map_err(|e| {
            tracing::error!(partition = index, error = %e, "cannot load consumer groups");
            GroupError::CoordinatorNotAvailable
        })?;
        let partitions = self.log.len();
        let count = loaded.len();
        let mut groups = self.groups.write();
        groups.retain(|id, cell| {
            if partition_for(id, partitions) != index {
                return true;
            }
            // State from an earlier leadership: whoever waits on it learns
            // the group moved and finds the coordinator again.
            cell.lock().mark_dead();
            false
        });
        for (id, l) in loaded {
            groups.insert(id.clone(), self.restore(&id, l));
        }
        terms.insert(index, term);
        tracing::info!(
            partition = index,
            term,
            groups = count,
            "coordinating the groups of an offsets partition"
        );
        Ok(())
    }

    /// A group as the offsets log stores it.
    pub(crate) fn restore(&self, id: &str, l: Loaded) -> Cell {
        let mut g = Group::new(
            id,
            self.config.initial_rebalance_delay,
            crate::broker::now_ms(),
        );
        if let Some(v) = l.value {
            g.restore(v, Instant::now());
        }
        g.offsets = l.offsets;
        Arc::new(Mutex::new(g))
    }
}
