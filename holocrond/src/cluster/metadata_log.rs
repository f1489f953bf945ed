//! The single-node metadata log: an append-only file of [`MetadataCommand`]s,
//! each framed as `len u32 | crc32c u32 | JSON`, fsynced before the change is
//! applied. Replaying it rebuilds the metadata; a torn last record (a crash
//! mid-append) is cut off, a damaged record before the tail is an error.
//! The metadata Raft group replaces this file in clusters (DESIGN.md §4).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::state::{MetadataCommand, MetadataState};

/// A metadata log failure.
#[derive(Debug, thiserror::Error)]
pub enum MetadataLogError {
    /// The file could not be read or written.
    #[error("metadata log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A record before the tail is damaged.
    #[error("metadata log {path} is corrupt at byte {position}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where.
        position: u64,
        /// What.
        reason: String,
    },
}

/// The open metadata log.
#[derive(Debug)]
pub struct MetadataLog {
    path: PathBuf,
    file: File,
}

const FRAME: usize = 8;

impl MetadataLog {
    /// Opens (or creates) the log and replays it.
    pub fn open(path: &Path) -> Result<(MetadataLog, MetadataState), MetadataLogError> {
        let io = |source| MetadataLogError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut state = MetadataState::default();
        let mut pos = 0usize;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            let whole = rest.len() >= FRAME && {
                let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                rest.len() >= FRAME + len
            };
            if !whole {
                break; // torn tail: cut below
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let crc = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
            let body = &rest[FRAME..FRAME + len];
            let last = pos + FRAME + len == bytes.len();
            if crc32c::crc32c(body) != crc {
                if last {
                    break;
                }
                return Err(MetadataLogError::Corrupt {
                    path: path.to_owned(),
                    position: pos as u64,
                    reason: "checksum mismatch".into(),
                });
            }
            let cmd: MetadataCommand =
                serde_json::from_slice(body).map_err(|e| MetadataLogError::Corrupt {
                    path: path.to_owned(),
                    position: pos as u64,
                    reason: e.to_string(),
                })?;
            state.apply(&cmd);
            pos += FRAME + len;
        }
        if pos < bytes.len() {
            tracing::warn!(path = %path.display(), kept = pos, dropped = bytes.len() - pos, "cutting torn tail of the metadata log");
            file.set_len(pos as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        Ok((
            MetadataLog {
                path: path.to_owned(),
                file,
            },
            state,
        ))
    }

    /// Appends one command durably (written and fsynced when this returns).
    pub fn append(&mut self, cmd: &MetadataCommand) -> Result<(), MetadataLogError> {
        let body = serde_json::to_vec(cmd).map_err(|e| MetadataLogError::Io {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        let mut frame = Vec::with_capacity(FRAME + body.len());
        frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
        frame.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        frame.extend_from_slice(&body);
        let io = |source| MetadataLogError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&frame).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init(id: &str) -> MetadataCommand {
        MetadataCommand::InitCluster {
            cluster_id: id.into(),
        }
    }

    #[test]
    fn replays_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("metadata.log");
        {
            let (mut log, state) = MetadataLog::open(&path).expect("open");
            assert_eq!(state, MetadataState::default());
            log.append(&init("c1")).expect("append");
        }
        let good_len = std::fs::metadata(&path).expect("stat").len();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&[0, 0, 0, 50, 1, 2]))
            .expect("tear");
        let (mut log, state) = MetadataLog::open(&path).expect("reopen");
        assert_eq!(state.cluster_id.as_deref(), Some("c1"));
        assert_eq!(std::fs::metadata(&path).expect("stat").len(), good_len);
        log.append(&init("c2")).expect("append after cut");
        drop(log);
        let (_, state) = MetadataLog::open(&path).expect("reopen");
        assert_eq!(state.cluster_id.as_deref(), Some("c1"));
    }

    #[test]
    fn damage_before_the_tail_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("metadata.log");
        {
            let (mut log, _) = MetadataLog::open(&path).expect("open");
            log.append(&init("c1")).expect("append");
            log.append(&init("c2")).expect("append");
        }
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[10] ^= 0xff;
        std::fs::write(&path, bytes).expect("write");
        let err = MetadataLog::open(&path).expect_err("corrupt");
        assert!(matches!(err, MetadataLogError::Corrupt { position: 0, .. }));
    }
}
