//! `log.checkpoint`: the small file that lets `open` skip scanning, and
//! that carries what cannot be recomputed from the segments.
//!
//! It records the log start offset (moved by DeleteRecords and retention),
//! the ordinal of the first readable entry, and a summary of each segment
//! (base offset and ordinal, size, batch count, max timestamp). Summaries
//! marked *complete* (sealed segments, and the active one after a clean
//! close) are trusted on open when the file size still matches, so only
//! the rest is scanned. The base ordinals are what make ordinals survive
//! retention: once the first segments are deleted, nothing else knows how
//! many batches came before.
//!
//! The file is replaced atomically: written to a temporary file, fsynced,
//! renamed over the old one, and the directory fsynced. A CRC-32C over the
//! contents catches a damaged file, which is an error rather than ignored.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use super::error::{io_err, LogError};

/// The checkpoint's file name inside the partition directory.
pub(crate) const CHECKPOINT_FILE: &str = "log.checkpoint";
const TMP_FILE: &str = "log.checkpoint.tmp";
const MAGIC: &[u8; 4] = b"HLCP";
const VERSION: u32 = 1;
const NO_CREATED: i64 = i64::MIN;
const SUMMARY_LEN: usize = 8 * 8 + 1;

/// What the checkpoint records about one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentSummary {
    pub base_offset: u64,
    pub base_ordinal: u64,
    /// The fields below may be trusted (without scanning) if the file size
    /// still equals `size`.
    pub complete: bool,
    pub size: u64,
    pub batch_count: u64,
    pub next_offset: u64,
    pub max_timestamp: i64,
    pub offset_of_max_timestamp: u64,
    pub created_ms: Option<i64>,
}

/// The whole checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    /// Written by a clean close: the active segment's summary is complete.
    pub clean: bool,
    pub log_start_offset: u64,
    pub first_ordinal: u64,
    pub segments: Vec<SegmentSummary>,
}

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(32 + self.segments.len() * SUMMARY_LEN);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_be_bytes());
        b.push(u8::from(self.clean));
        b.extend_from_slice(&self.log_start_offset.to_be_bytes());
        b.extend_from_slice(&self.first_ordinal.to_be_bytes());
        b.extend_from_slice(&(self.segments.len() as u64).to_be_bytes());
        for s in &self.segments {
            b.extend_from_slice(&s.base_offset.to_be_bytes());
            b.extend_from_slice(&s.base_ordinal.to_be_bytes());
            b.push(u8::from(s.complete));
            b.extend_from_slice(&s.size.to_be_bytes());
            b.extend_from_slice(&s.batch_count.to_be_bytes());
            b.extend_from_slice(&s.next_offset.to_be_bytes());
            b.extend_from_slice(&s.max_timestamp.to_be_bytes());
            b.extend_from_slice(&s.offset_of_max_timestamp.to_be_bytes());
            b.extend_from_slice(&s.created_ms.unwrap_or(NO_CREATED).to_be_bytes());
        }
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_be_bytes());
        b
    }

    fn decode(bytes: &[u8]) -> Result<Self, &'static str> {
        let body_len = bytes.len().checked_sub(4).ok_or("too short")?;
        let (body, crc) = bytes.split_at(body_len);
        if crc32c::crc32c(body) != u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err("checksum mismatch");
        }
        let mut r = Reader(body);
        if r.take(4)? != MAGIC {
            return Err("bad magic");
        }
        if r.u32()? != VERSION {
            return Err("unknown version");
        }
        let clean = r.u8()? != 0;
        let log_start_offset = r.u64()?;
        let first_ordinal = r.u64()?;
        let n = r.u64()?;
        if n > (r.0.len() / SUMMARY_LEN) as u64 {
            return Err("segment count exceeds file");
        }
        let mut segments = Vec::with_capacity(n as usize);
        for _ in 0..n {
            segments.push(SegmentSummary {
                base_offset: r.u64()?,
                base_ordinal: r.u64()?,
                complete: r.u8()? != 0,
                size: r.u64()?,
                batch_count: r.u64()?,
                next_offset: r.u64()?,
                max_timestamp: r.u64()? as i64,
                offset_of_max_timestamp: r.u64()?,
                created_ms: Some(r.u64()? as i64).filter(|c| *c != NO_CREATED),
            });
        }
        if !r.0.is_empty() {
            return Err("trailing bytes");
        }
        Ok(Self {
            clean,
            log_start_offset,
            first_ordinal,
            segments,
        })
    }

    /// Reads the checkpoint in `dir`; `None` if there is none.
    pub(crate) fn read(dir: &Path) -> Result<Option<Self>, LogError> {
        let path = dir.join(CHECKPOINT_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LogError::io("read checkpoint", path, e)),
        };
        Self::decode(&bytes)
            .map(Some)
            .map_err(|reason| LogError::CorruptCheckpoint { file: path, reason })
    }

    /// Atomically replaces the checkpoint in `dir` (durable on return).
    pub(crate) fn write(&self, dir: &Path) -> Result<(), LogError> {
        let tmp = dir.join(TMP_FILE);
        let mut f = File::create(&tmp).map_err(io_err("create checkpoint", &tmp))?;
        f.write_all(&self.encode())
            .map_err(io_err("write checkpoint", &tmp))?;
        f.sync_all().map_err(io_err("fsync checkpoint", &tmp))?;
        drop(f);
        let path = dir.join(CHECKPOINT_FILE);
        fs::rename(&tmp, &path).map_err(io_err("rename checkpoint", &path))?;
        sync_dir(dir)
    }
}

/// Makes directory entries (created, renamed, deleted files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("truncated");
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            clean: true,
            log_start_offset: 17,
            first_ordinal: 3,
            segments: vec![
                SegmentSummary {
                    base_offset: 10,
                    base_ordinal: 2,
                    complete: true,
                    size: 1000,
                    batch_count: 4,
                    next_offset: 30,
                    max_timestamp: -1,
                    offset_of_max_timestamp: 10,
                    created_ms: None,
                },
                SegmentSummary {
                    base_offset: 30,
                    base_ordinal: 6,
                    complete: false,
                    size: 0,
                    batch_count: 0,
                    next_offset: 30,
                    max_timestamp: 99,
                    offset_of_max_timestamp: 31,
                    created_ms: Some(5),
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Checkpoint::read(dir.path()).unwrap(), None);
        sample().write(dir.path()).unwrap();
        assert_eq!(Checkpoint::read(dir.path()).unwrap(), Some(sample()));
        assert!(!dir.path().join(TMP_FILE).exists());
    }

    #[test]
    fn damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        sample().write(dir.path()).unwrap();
        let path = dir.path().join(CHECKPOINT_FILE);
        let mut bytes = fs::read(&path).unwrap();
        bytes[20] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            Checkpoint::read(dir.path()),
            Err(LogError::CorruptCheckpoint { .. })
        ));
        fs::write(&path, &bytes[..3]).unwrap();
        assert!(matches!(
            Checkpoint::read(dir.path()),
            Err(LogError::CorruptCheckpoint { .. })
        ));
    }
}
