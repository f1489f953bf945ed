//! Raft replication (DESIGN.md §4): the openraft glue, kept small and in
//! one file per job — the type configuration (`types`), how entries are
//! stored in the partition log (`entry_codec`), the log store over that log
//! (`log_store`), the durable vote/purge/applied facts (`raft_state`), the
//! state machines of data partitions (`partition_sm`), and node-to-node RPC
//! over mTLS (`rpc`).

pub mod entry_codec;
pub mod group_id;
pub mod log_store;
pub mod meta_sm;
pub mod node;
pub mod partition_sm;
pub mod raft_state;
pub mod rejoin;
pub mod router;
pub mod rpc;
pub mod service;
pub mod transport;
pub mod types;
pub mod wire;

#[cfg(test)]
mod tests_cluster;
#[cfg(test)]
mod tests_meta;
#[cfg(test)]
mod tests_suite;

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// openraft settings for every group: heartbeats and election timeouts as
/// given (DESIGN.md §4: ~500 ms and 1.5–3 s in production), pre-vote on
/// (a replica that comes back after a partition or a restart must not
/// depose a healthy leader with a higher term — the in-process cluster test
/// saw exactly that without it), and no policy snapshots or purges: the
/// partition log is the Raft log and only retention may delete from it,
/// through a metadata-only snapshot at the retention boundary.
pub fn raft_config(
    heartbeat_ms: u64,
    election_min_ms: u64,
    election_max_ms: u64,
) -> Result<std::sync::Arc<openraft::Config>, openraft::ConfigError> {
    let config = openraft::Config {
        cluster_name: "holocron".to_owned(),
        heartbeat_interval: heartbeat_ms,
        election_timeout_min: election_min_ms,
        election_timeout_max: election_max_ms,
        enable_pre_vote: Some(true),
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: u64::MAX,
        // A follower whose data directory was wiped comes back with an
        // empty log. The leader then replicates to it from the beginning
        // instead of asserting; the wiped node itself does not vote until
        // it has caught up (`rejoin`).
        allow_log_reversion: Some(true),
        ..openraft::Config::default()
    };
    Ok(std::sync::Arc::new(config.validate()?))
}
