//! A memory-mapped file of fixed-size entries: the storage under the offset
//! and time indexes.
//!
//! This is the log's only `unsafe` code. A file is preallocated (a sparse
//! `set_len`) while its segment is active so that appending an entry is a
//! store into the mapping, no syscall; when the segment is sealed the file
//! is trimmed to its entries and fsynced. The number of valid entries is
//! the file length divided by the entry size for a trimmed file; an active
//! segment's index is never trusted after an unclean stop (recovery
//! rebuilds it from the segment), so its zero-filled tail is never read as
//! entries.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use super::error::{io_err, LogError};

/// A file of `entry_size`-byte entries, mapped read-write.
#[derive(Debug)]
pub(crate) struct IndexFile {
    path: PathBuf,
    file: File,
    mmap: MmapMut,
    entry_size: usize,
    /// Valid entries.
    entries: usize,
    /// Entries the current mapping can hold.
    capacity: usize,
}

impl IndexFile {
    /// Opens (creating if missing) the file and maps it. Existing contents
    /// count as `file length / entry_size` entries; a partial trailing entry
    /// is ignored. If `capacity` exceeds the existing entries the file is
    /// grown (sparse) to hold that many.
    pub(crate) fn open(path: &Path, entry_size: usize, capacity: usize) -> Result<Self, LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err("open index", path))?;
        let len = file.metadata().map_err(io_err("stat index", path))?.len();
        let entries = usize::try_from(len).unwrap_or(usize::MAX) / entry_size;
        let mut index = Self {
            path: path.to_path_buf(),
            mmap: map(&file, path)?,
            file,
            entry_size,
            entries,
            capacity: entries,
        };
        index.resize(capacity.max(entries))?;
        Ok(index)
    }

    /// Creates the file anew (discarding any contents) with room for
    /// `capacity` entries.
    pub(crate) fn create(
        path: &Path,
        entry_size: usize,
        capacity: usize,
    ) -> Result<Self, LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(io_err("create index", path))?;
        let mut index = Self {
            path: path.to_path_buf(),
            mmap: map(&file, path)?,
            file,
            entry_size,
            entries: 0,
            capacity: 0,
        };
        index.resize(capacity)?;
        Ok(index)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    pub(crate) fn is_full(&self) -> bool {
        self.entries >= self.capacity
    }

    /// Entry `i` (`i < len()`).
    pub(crate) fn entry(&self, i: usize) -> &[u8] {
        let at = i * self.entry_size;
        &self.mmap[at..at + self.entry_size]
    }

    /// Appends an entry; returns false (and writes nothing) when full.
    pub(crate) fn push(&mut self, entry: &[u8]) -> bool {
        debug_assert_eq!(entry.len(), self.entry_size);
        if self.is_full() {
            return false;
        }
        let at = self.entries * self.entry_size;
        self.mmap[at..at + self.entry_size].copy_from_slice(entry);
        self.entries += 1;
        true
    }

    /// Keeps the first `n` entries.
    pub(crate) fn truncate(&mut self, n: usize) {
        if n < self.entries {
            let from = n * self.entry_size;
            let to = self.entries * self.entry_size;
            self.mmap[from..to].fill(0);
            self.entries = n;
        }
    }

    /// Shrinks the file to its entries and makes it durable (sealing).
    pub(crate) fn trim_and_sync(&mut self) -> Result<(), LogError> {
        self.resize(self.entries)?;
        self.file
            .sync_all()
            .map_err(io_err("fsync index", &self.path))
    }

    /// Grows the file (sparse) to hold `capacity` entries; used when a
    /// sealed segment becomes active again after a truncation.
    pub(crate) fn reserve(&mut self, capacity: usize) -> Result<(), LogError> {
        if capacity > self.capacity {
            self.resize(capacity)?;
        }
        Ok(())
    }

    fn resize(&mut self, capacity: usize) -> Result<(), LogError> {
        if capacity == self.capacity && self.mmap.len() == capacity * self.entry_size {
            return Ok(());
        }
        self.mmap
            .flush()
            .map_err(io_err("msync index", &self.path))?;
        let bytes = (capacity * self.entry_size) as u64;
        self.file
            .set_len(bytes)
            .map_err(io_err("resize index", &self.path))?;
        self.mmap = map(&self.file, &self.path)?;
        self.capacity = capacity;
        self.entries = self.entries.min(capacity);
        Ok(())
    }
}

fn map(file: &File, path: &Path) -> Result<MmapMut, LogError> {
    // SAFETY: memory-mapping is unsafe because another process (or this
    // one, through another handle) could truncate or modify the file while
    // it is mapped, which would make reads through the mapping fault or
    // change under us. Index files live in the partition directory that
    // this broker owns exclusively; within the process, each index file is
    // opened by exactly one `IndexFile`, which is the only code that
    // resizes it, and it always remaps right after `set_len` (the old
    // mapping is dropped before any access to the new length).
    unsafe { MmapMut::map_mut(file) }.map_err(io_err("mmap index", path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn push_trim_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        let mut f = IndexFile::create(&path, 8, 4).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 32);
        for i in 0..4u64 {
            assert!(f.push(&i.to_be_bytes()));
        }
        assert!(f.is_full());
        assert!(!f.push(&9u64.to_be_bytes()));
        f.truncate(3);
        f.trim_and_sync().unwrap();
        drop(f);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 24);

        let mut f = IndexFile::open(&path, 8, 10).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f.entry(2), &2u64.to_be_bytes());
        assert!(f.push(&7u64.to_be_bytes()));
        assert_eq!(f.entry(3), &7u64.to_be_bytes());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 80);
    }

    #[test]
    fn empty_and_partial_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("y.index");
        std::fs::write(&path, [1u8; 13]).unwrap();
        let f = IndexFile::open(&path, 8, 0).unwrap();
        assert_eq!(f.len(), 1);
        let mut f = IndexFile::create(&path, 8, 0).unwrap();
        assert_eq!(f.len(), 0);
        assert!(!f.push(&[0; 8]));
        f.reserve(2).unwrap();
        assert!(f.push(&[0; 8]));
    }
}
