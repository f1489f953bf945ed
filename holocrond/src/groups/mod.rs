//! The group coordinator: classic consumer groups (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup) and committed offsets, stored in the internal
//! compacted topic `__consumer_offsets` (DESIGN.md §5).
//!
//! - [`group`]: the state machine of one group (pure, under its lock);
//! - [`member`]: a member and the answers its waiting requests get;
//! - [`coordinator`]: the groups of this broker, the membership APIs and the timers;
//! - [`commit`]: committing, fetching, deleting and expiring offsets;
//! - [`admin`]: describing, listing and deleting groups;
//! - [`offsets`]: the offsets cache rules and KIP-211 expiry;
//! - [`store`] / [`codec`]: the offsets topic and its record format.
//!
//! Every group lives in one partition of `__consumer_offsets`
//! (`abs(hashCode(group)) % partitions`, as Kafka places it); on a single
//! node this broker coordinates them all. A write is acknowledged only once
//! its partition commits it; at start the partitions are scanned to rebuild
//! the groups.

pub mod admin;
pub mod codec;
pub mod commit;
pub mod coordinator;
mod error;
pub mod group;
pub mod member;
pub mod offsets;
mod ownership;
pub mod store;
#[cfg(test)]
mod tests_state;

use std::time::Duration;

pub use coordinator::GroupCoordinator;
pub use error::GroupError;

/// The internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The group coordinator's settings (Kafka's broker configs of the same names).
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// group.min.session.timeout.ms.
    pub min_session_timeout_ms: i32,
    /// group.max.session.timeout.ms.
    pub max_session_timeout_ms: i32,
    /// group.initial.rebalance.delay.ms.
    pub initial_rebalance_delay: Duration,
    /// group.max.size: members (and KIP-394 pending members) per group.
    pub max_size: usize,
    /// offsets.topic.num.partitions (used when the topic is created).
    pub offsets_topic_partitions: i32,
    /// offsets.retention.minutes, in ms.
    pub offsets_retention_ms: i64,
    /// offsets.retention.check.interval.ms.
    pub offsets_retention_check_interval: Duration,
    /// offset.metadata.max.bytes.
    pub max_metadata_bytes: usize,
}

impl Default for GroupConfig {
    fn default() -> GroupConfig {
        GroupConfig {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay: Duration::from_millis(3_000),
            max_size: 1_000,
            offsets_topic_partitions: 50,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval: Duration::from_secs(600),
            max_metadata_bytes: 4096,
        }
    }
}
