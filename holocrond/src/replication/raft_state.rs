//! The small durable facts a Raft group keeps beside its log: the vote and
//! the last purged log id (`raft.state`), and the state machine's applied
//! position with the membership as of it (`raft.applied`).
//!
//! Each file is rewritten whole: write a temporary file, fsync it, rename it
//! over the old one, fsync the directory — so a crash leaves either the old
//! or the new contents, never a torn mix. The vote file is written on every
//! vote change (rare: elections); the applied file is a hint written every
//! few seconds and at close, so a restart does not re-apply the whole log
//! (re-applying more than needed is harmless: applying only moves the high
//! watermark and tracks membership).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::types::{LogId, StoredMembership, Vote};

/// The vote and purge point of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftState {
    /// The last vote this node granted or holds.
    pub vote: Option<Vote>,
    /// Entries up to and including this one are gone for good.
    pub last_purged: Option<LogId>,
    /// The last known committed entry (kept only by groups that ask for it).
    #[serde(default)]
    pub committed: Option<LogId>,
}

/// The state machine's position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedState {
    /// The last applied entry.
    pub last_applied: Option<LogId>,
    /// The membership as of `last_applied`.
    pub membership: StoredMembership,
    /// The Kafka offset after `last_applied` (the high watermark).
    pub next_offset: u64,
}

/// File name of [`RaftState`] in a group's directory.
pub const STATE_FILE: &str = "raft.state";
/// File name of [`AppliedState`] in a group's directory.
pub const APPLIED_FILE: &str = "raft.applied";

/// Reads a state file; a missing file is the default state.
pub fn read<T: DeserializeOwned + Default>(dir: &Path, name: &str) -> io::Result<T> {
    let path = dir.join(name);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(e),
    }
}

/// Replaces a state file atomically and durably.
pub fn write<T: Serialize>(dir: &Path, name: &str, value: &T) -> io::Result<()> {
    // A unique temporary name: two writers of one file (the applied hint
    // from apply and from a snapshot build) never rename each other's.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    let tmp: PathBuf = dir.join(format!("{name}.{n}.tmp"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(name))?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::types::log_id;

    #[test]
    fn round_trips_and_defaults_when_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing: RaftState = read(dir.path(), STATE_FILE).expect("read");
        assert_eq!(missing, RaftState::default());
        let state = RaftState {
            vote: Some(Vote::new(3, 2)),
            last_purged: Some(log_id(2, 41)),
            committed: Some(log_id(3, 50)),
        };
        write(dir.path(), STATE_FILE, &state).expect("write");
        let back: RaftState = read(dir.path(), STATE_FILE).expect("read");
        assert_eq!(back, state);
        assert!(!dir.path().join("raft.state.tmp").exists());
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(STATE_FILE), b"{\"vote\":").expect("write");
        assert!(read::<RaftState>(dir.path(), STATE_FILE).is_err());
    }
}
