//! The time index of one segment, Kafka-style.
//!
//! Entries are `(max timestamp i64, relative offset u32)`, big-endian,
//! appended together with offset-index entries but only when the
//! segment's running max timestamp has grown, plus one final entry when the
//! segment is sealed. The offset is the last offset of the first batch that
//! reached that timestamp, so every batch before it has a smaller max
//! timestamp: a lookup for `ts` can start after the last entry below `ts`.

use std::path::Path;

use super::error::LogError;
use super::index_file::IndexFile;

const ENTRY: usize = 12;

/// Max timestamp → offset, sparse and strictly increasing in both.
#[derive(Debug)]
pub(crate) struct TimeIndex {
    file: IndexFile,
    base_offset: u64,
}

impl TimeIndex {
    /// Creates an empty index with room for `capacity` entries.
    pub(crate) fn create(path: &Path, base_offset: u64, capacity: usize) -> Result<Self, LogError> {
        Ok(Self {
            file: IndexFile::create(path, ENTRY, capacity)?,
            base_offset,
        })
    }

    /// Opens an existing index; `capacity` > entries preallocates for appends.
    pub(crate) fn open(path: &Path, base_offset: u64, capacity: usize) -> Result<Self, LogError> {
        Ok(Self {
            file: IndexFile::open(path, ENTRY, capacity)?,
            base_offset,
        })
    }

    pub(crate) fn file(&mut self) -> &mut IndexFile {
        &mut self.file
    }

    pub(crate) fn len(&self) -> usize {
        self.file.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.file.is_full()
    }

    /// Entry `i` as (timestamp, absolute offset).
    pub(crate) fn entry(&self, i: usize) -> (i64, u64) {
        let e = self.file.entry(i);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&e[..8]);
        let rel = u32::from_be_bytes([e[8], e[9], e[10], e[11]]);
        (i64::from_be_bytes(ts), self.base_offset + u64::from(rel))
    }

    pub(crate) fn last(&self) -> Option<(i64, u64)> {
        self.len().checked_sub(1).map(|i| self.entry(i))
    }

    /// Appends `(timestamp, offset)` if `timestamp` is above the last entry's.
    pub(crate) fn maybe_append(&mut self, timestamp: i64, offset: u64) {
        if self.last().is_some_and(|(ts, _)| ts >= timestamp) {
            return;
        }
        let Ok(rel) = u32::try_from(offset - self.base_offset) else {
            return;
        };
        let mut e = [0u8; ENTRY];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&rel.to_be_bytes());
        self.file.push(&e);
    }

    /// The last entry with a timestamp strictly below `timestamp`: every
    /// batch up to its offset is older than `timestamp`.
    pub(crate) fn last_below(&self, timestamp: i64) -> Option<(i64, u64)> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid).0 < timestamp {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1).map(|i| self.entry(i))
    }

    /// Drops entries whose offset is `>= offset`.
    pub(crate) fn truncate_from(&mut self, offset: u64) {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid).1 < offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.file.truncate(lo);
    }

    /// Whether entries are strictly increasing in timestamp, non-decreasing
    /// in offset, and below `next_offset`.
    pub(crate) fn is_sane(&self, next_offset: u64) -> bool {
        let mut prev: Option<(i64, u64)> = None;
        for i in 0..self.len() {
            let (ts, offset) = self.entry(i);
            if offset >= next_offset {
                return false;
            }
            if let Some((pt, po)) = prev {
                if ts <= pt || offset < po {
                    return false;
                }
            }
            prev = Some((ts, offset));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn append_only_when_growing() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = TimeIndex::create(&dir.path().join("a.timeindex"), 50, 8).unwrap();
        idx.maybe_append(1000, 55);
        idx.maybe_append(1000, 60);
        idx.maybe_append(900, 61);
        idx.maybe_append(2000, 70);
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.last(), Some((2000, 70)));
        assert_eq!(idx.last_below(1000), None);
        assert_eq!(idx.last_below(1001), Some((1000, 55)));
        assert_eq!(idx.last_below(i64::MAX), Some((2000, 70)));
        assert!(idx.is_sane(71));
        assert!(!idx.is_sane(70));
        idx.truncate_from(70);
        assert_eq!(idx.last(), Some((1000, 55)));
    }
}
