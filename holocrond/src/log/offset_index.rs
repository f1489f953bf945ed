//! The sparse offset index of one segment, Kafka-style.
//!
//! Entries are `(relative last offset u32, file position u32)`, big-endian,
//! one every ~`index.interval.bytes` appended: the position is where a batch
//! starts and the offset is that batch's last offset, relative to the
//! segment's base offset. A lookup gives a position at or before the batch
//! holding an offset; the reader walks batch headers from there. Being
//! sparse, a missing entry only makes a lookup walk further, never wrong.

use std::path::Path;

use super::error::LogError;
use super::index_file::IndexFile;

const ENTRY: usize = 8;

/// Offset → file position, sparse.
#[derive(Debug)]
pub(crate) struct OffsetIndex {
    file: IndexFile,
    base_offset: u64,
}

impl OffsetIndex {
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

    /// Entry `i` as (absolute last offset, position).
    pub(crate) fn entry(&self, i: usize) -> (u64, u32) {
        let e = self.file.entry(i);
        let rel = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
        let pos = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
        (self.base_offset + u64::from(rel), pos)
    }

    /// Records that the batch starting at `position` ends at `last_offset`.
    /// Returns false if the index is full (the entry is skipped, which only
    /// makes the index sparser).
    pub(crate) fn append(&mut self, last_offset: u64, position: u32) -> bool {
        let Ok(rel) = u32::try_from(last_offset - self.base_offset) else {
            return false;
        };
        let mut e = [0u8; ENTRY];
        e[..4].copy_from_slice(&rel.to_be_bytes());
        e[4..].copy_from_slice(&position.to_be_bytes());
        self.file.push(&e)
    }

    /// The last entry whose offset is `<= offset`: the batch at its position
    /// ends at or before `offset`, so the batch holding `offset` is there or
    /// later.
    pub(crate) fn lookup(&self, offset: u64) -> Option<(u64, u32)> {
        let n = self.partition_point(|o| o <= offset);
        n.checked_sub(1).map(|i| self.entry(i))
    }

    /// Drops the entries for batches that end at or after `offset`.
    pub(crate) fn truncate_from(&mut self, offset: u64) {
        let n = self.partition_point(|o| o < offset);
        self.file.truncate(n);
    }

    /// Whether the entries are plausible for a segment of `size` bytes
    /// ending before `next_offset`: strictly increasing offsets and
    /// positions, all within the segment.
    pub(crate) fn is_sane(&self, size: u64, next_offset: u64) -> bool {
        let mut prev: Option<(u64, u32)> = None;
        for i in 0..self.len() {
            let (offset, pos) = self.entry(i);
            if offset >= next_offset || u64::from(pos) >= size {
                return false;
            }
            if let Some((po, pp)) = prev {
                if offset <= po || pos <= pp {
                    return false;
                }
            }
            prev = Some((offset, pos));
        }
        true
    }

    fn partition_point(&self, pred: impl Fn(u64) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if pred(self.entry(mid).0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lookup_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = OffsetIndex::create(&dir.path().join("a.index"), 100, 8).unwrap();
        assert_eq!(idx.lookup(100), None);
        assert!(idx.append(109, 0));
        assert!(idx.append(119, 500));
        assert!(idx.append(129, 1000));
        assert_eq!(idx.lookup(99), None);
        assert_eq!(idx.lookup(108), None);
        assert_eq!(idx.lookup(109), Some((109, 0)));
        assert_eq!(idx.lookup(125), Some((119, 500)));
        assert_eq!(idx.lookup(1000), Some((129, 1000)));
        assert!(idx.is_sane(1500, 130));
        assert!(!idx.is_sane(1000, 130));
        assert!(!idx.is_sane(1500, 129));
        idx.truncate_from(119);
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.lookup(1000), Some((109, 0)));
    }

    #[test]
    fn insane_when_not_increasing() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = OffsetIndex::create(&dir.path().join("a.index"), 0, 8).unwrap();
        idx.append(10, 100);
        idx.append(20, 50);
        assert!(!idx.is_sane(1000, 100));
    }
}
