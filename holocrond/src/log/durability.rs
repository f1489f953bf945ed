//! Group commit: making appended data durable without the log's lock.
//!
//! The broker holds a `Log` behind a lock and appends under it; waiting for
//! an fsync under that lock would serialise every producer behind the
//! disk. Instead an append only registers the segment file it wrote to
//! here, and callers that must not acknowledge before the data is on disk
//! call [`Durability::sync_to`] after releasing the lock. One caller at a
//! time runs the fsync (the *leader*); callers arriving meanwhile wait for
//! it and are done if it covered their offset, otherwise one of them leads
//! the next round, which covers everything written by then. So N
//! concurrent appenders share far fewer than N fsyncs.
//!
//! Progress is tracked both in offsets (Kafka's acks wait on a record's
//! offset) and in ordinals (Raft waits on an entry, and an internal entry
//! takes an ordinal but no offset, so an offset alone could not tell that
//! it still needs an fsync).
//!
//! A failed fsync poisons the log: the kernel may have dropped the dirty
//! pages, so retrying could "succeed" with data lost. Every later
//! `sync_to` and append returns [`LogError::Poisoned`]; reopening the log
//! runs recovery from what is really on disk.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::error::LogError;
use super::segment::SegmentFile;

/// Shared durability state of one log (`Send + Sync`; get it with
/// `Log::durability`).
#[derive(Debug)]
pub struct Durability {
    state: Mutex<State>,
    synced: Condvar,
    poisoned: AtomicBool,
    syncs: AtomicU64,
}

/// A position in the log: the offset and the ordinal that come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub offset: u64,
    pub ordinal: u64,
}

impl Mark {
    fn min(self, other: Self) -> Self {
        Self {
            offset: self.offset.min(other.offset),
            ordinal: self.ordinal.min(other.ordinal),
        }
    }
    fn max(self, other: Self) -> Self {
        Self {
            offset: self.offset.max(other.offset),
            ordinal: self.ordinal.max(other.ordinal),
        }
    }
}

#[derive(Debug)]
struct State {
    /// Offsets and ordinals below this have been written to the page cache.
    written_end: Mark,
    /// Offsets and ordinals below this are durable.
    durable_end: Mark,
    /// Files with data written since their last fsync began.
    pending: Vec<Arc<SegmentFile>>,
    /// A leader is fsyncing outside the lock.
    syncing: bool,
    /// Bumped by truncation: a sync that started before it cannot vouch for
    /// offsets that were rewritten after.
    generation: u64,
}

impl Durability {
    /// Everything below `end` is durable (just recovered and fsynced).
    pub(crate) fn new(end: Mark) -> Self {
        Self {
            state: Mutex::new(State {
                written_end: end,
                durable_end: end,
                pending: Vec::new(),
                syncing: false,
                generation: 0,
            }),
            synced: Condvar::new(),
            poisoned: AtomicBool::new(false),
            syncs: AtomicU64::new(0),
        }
    }

    /// Blocks until every offset up to and including `offset` is durable.
    ///
    /// Errors: [`LogError::Poisoned`] once any fsync has failed;
    /// [`LogError::SyncBeyondEnd`] if `offset` was never written (or was
    /// truncated away).
    pub fn sync_to(&self, offset: u64) -> Result<(), LogError> {
        self.wait_until(
            |durable| durable.offset > offset,
            |written| {
                (offset >= written.offset).then_some(LogError::SyncBeyondEnd {
                    requested: offset,
                    log_end: written.offset,
                })
            },
        )
    }

    /// Blocks until entry `ordinal` and every entry before it is durable:
    /// what a Raft log store waits on, since an internal entry has no
    /// offset to wait for.
    ///
    /// Errors: [`LogError::Poisoned`] once any fsync has failed;
    /// [`LogError::SyncBeyondOrdinal`] if the entry was never written (or
    /// was truncated away).
    pub fn sync_to_ordinal(&self, ordinal: u64) -> Result<(), LogError> {
        self.wait_until(
            |durable| durable.ordinal > ordinal,
            |written| {
                (ordinal >= written.ordinal).then_some(LogError::SyncBeyondOrdinal {
                    requested: ordinal,
                    next_ordinal: written.ordinal,
                })
            },
        )
    }

    /// Waits (leading fsync rounds as needed) until `done(durable_end)`;
    /// `beyond(written_end)` says when what is asked was never written.
    fn wait_until(
        &self,
        done: impl Fn(Mark) -> bool,
        beyond: impl Fn(Mark) -> Option<LogError>,
    ) -> Result<(), LogError> {
        let mut st = self.state.lock();
        loop {
            if self.is_poisoned() {
                return Err(LogError::Poisoned);
            }
            if done(st.durable_end) {
                return Ok(());
            }
            if let Some(e) = beyond(st.written_end) {
                return Err(e);
            }
            if st.syncing {
                self.synced.wait(&mut st);
                continue;
            }
            self.lead_sync(&mut st);
        }
    }

    /// Runs one fsync round for everything written so far. Called with the
    /// lock held and `syncing` false; returns with the lock held.
    fn lead_sync(&self, st: &mut MutexGuard<'_, State>) {
        st.syncing = true;
        let target = st.written_end;
        let generation = st.generation;
        let files = std::mem::take(&mut st.pending);
        let result = MutexGuard::unlocked(st, || {
            files.iter().try_for_each(|f| {
                f.file.sync_data().map_err(|e| {
                    tracing::error!(file = %f.path.display(), error = %e, "fsync failed; poisoning the log");
                })
            })
        });
        self.syncs.fetch_add(1, Ordering::Relaxed);
        st.syncing = false;
        match result {
            Ok(()) if st.generation == generation => {
                st.durable_end = st.durable_end.max(target);
            }
            Ok(()) => {}
            Err(()) => self.poisoned.store(true, Ordering::Release),
        }
        self.synced.notify_all();
    }

    /// The highest durable offset, if any.
    pub fn durable_offset(&self) -> Option<u64> {
        self.state.lock().durable_end.offset.checked_sub(1)
    }

    /// The highest durable entry ordinal, if any.
    pub fn durable_ordinal(&self) -> Option<u64> {
        self.state.lock().durable_end.ordinal.checked_sub(1)
    }

    /// How many fsync rounds have run (each may fsync several files).
    pub fn sync_count(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Whether an fsync or an unrecoverable write has failed.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    pub(crate) fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
        self.synced.notify_all();
    }

    /// Everything written so far (no-op when already durable). Every
    /// append takes an ordinal, so the ordinal end covers them all.
    pub(crate) fn sync_all(&self) -> Result<(), LogError> {
        let end = self.state.lock().written_end.ordinal;
        match end.checked_sub(1) {
            Some(last) => self.sync_to_ordinal(last),
            None if self.is_poisoned() => Err(LogError::Poisoned),
            None => Ok(()),
        }
    }

    /// An append wrote everything below `end` into `file`.
    pub(crate) fn note_written(&self, file: &Arc<SegmentFile>, end: Mark) {
        let mut st = self.state.lock();
        if !st.pending.iter().any(|f| Arc::ptr_eq(f, file)) {
            st.pending.push(Arc::clone(file));
        }
        st.written_end = end;
    }

    /// `file` was fsynced whole (sealed) and holds everything below `end`;
    /// all earlier segments are sealed too, so all of it is durable.
    pub(crate) fn note_sealed(&self, file: &Arc<SegmentFile>, end: Mark) {
        let mut st = self.state.lock();
        st.pending.retain(|f| !Arc::ptr_eq(f, file));
        st.durable_end = st.durable_end.max(end.min(st.written_end));
        self.synced.notify_all();
    }

    /// The log was truncated at `end`, already durable there.
    pub(crate) fn note_truncated(&self, end: Mark) {
        let mut st = self.state.lock();
        st.generation += 1;
        st.written_end = end;
        st.durable_end = st.durable_end.min(end);
    }

    /// The log now ends (and is durable) at `end` with nothing below it
    /// left to sync: used when the log start jumps past its end, or the
    /// log is reset.
    pub(crate) fn reset(&self, end: Mark) {
        let mut st = self.state.lock();
        st.generation += 1;
        st.written_end = end;
        st.durable_end = end;
        st.pending.clear();
        self.synced.notify_all();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::fs::File;

    fn mark(offset: u64, ordinal: u64) -> Mark {
        Mark { offset, ordinal }
    }

    fn file(dir: &std::path::Path) -> Arc<SegmentFile> {
        let path = dir.join("f");
        Arc::new(SegmentFile {
            file: File::create(&path).unwrap(),
            path,
        })
    }

    #[test]
    fn sync_to_tracks_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path());
        let d = Durability::new(mark(0, 0));
        assert_eq!(d.durable_offset(), None);
        assert!(matches!(
            d.sync_to(0),
            Err(LogError::SyncBeyondEnd {
                requested: 0,
                log_end: 0
            })
        ));
        d.note_written(&f, mark(5, 1));
        d.sync_to(2).unwrap();
        assert_eq!(d.durable_offset(), Some(4));
        assert_eq!(d.sync_count(), 1);
        d.sync_to(4).unwrap();
        assert_eq!(d.sync_count(), 1, "already durable: no second fsync");
        d.note_written(&f, mark(9, 2));
        d.note_truncated(mark(7, 2));
        assert_eq!(d.durable_offset(), Some(4));
        d.sync_all().unwrap();
        assert_eq!(d.durable_offset(), Some(6));
    }

    #[test]
    fn an_entry_without_offsets_still_gets_synced() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path());
        let d = Durability::new(mark(3, 1));
        d.note_written(&f, mark(3, 2));
        assert_eq!(d.durable_offset(), Some(2));
        assert_eq!(d.durable_ordinal(), Some(0));
        d.sync_to(2).unwrap();
        assert_eq!(d.sync_count(), 0, "offset 2 was durable already");
        d.sync_to_ordinal(1).unwrap();
        assert_eq!(d.sync_count(), 1);
        assert_eq!(d.durable_ordinal(), Some(1));
        assert!(matches!(
            d.sync_to_ordinal(2),
            Err(LogError::SyncBeyondOrdinal {
                requested: 2,
                next_ordinal: 2
            })
        ));
        d.note_written(&f, mark(3, 3));
        d.sync_all().unwrap();
        assert_eq!((d.durable_ordinal(), d.sync_count()), (Some(2), 2));
    }

    #[test]
    fn poisoned_refuses() {
        let d = Durability::new(mark(3, 1));
        d.poison();
        assert!(matches!(d.sync_to(1), Err(LogError::Poisoned)));
        assert!(matches!(d.sync_all(), Err(LogError::Poisoned)));
        assert!(matches!(d.sync_to_ordinal(0), Err(LogError::Poisoned)));
    }
}
