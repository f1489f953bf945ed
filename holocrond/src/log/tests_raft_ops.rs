//! The Raft-store operations: `read_entries`, `purge_through_ordinal` and
//! `reset`, each durable across clean and unclean reopen.

#![allow(clippy::unwrap_used)]

use super::checkpoint::Checkpoint;
use super::tests_expected::{mixed, Expected};
use super::tests_log::small_config;
use super::*;

fn open(dir: &std::path::Path) -> Log {
    Log::open(dir, small_config()).unwrap()
}

#[test]
fn read_entries_stops_at_each_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let x = mixed(&mut log);
    let all: Vec<_> = x.entries.iter().map(|e| e.bytes.clone()).collect();
    let segs = log.segments();
    // max_entries.
    assert_eq!(log.read_entries(0, 3, usize::MAX).unwrap(), all[..3]);
    // max_bytes: two internal entries (81 each) and a data batch (200).
    assert_eq!(log.read_entries(0, 10, 361).unwrap(), all[..2]);
    assert_eq!(log.read_entries(0, 10, 362).unwrap(), all[..3]);
    // Always one, even over both limits.
    assert_eq!(log.read_entries(2, 0, 0).unwrap(), all[2..3]);
    // The end of a segment.
    let second = segs[1].base_ordinal as usize;
    assert_eq!(
        log.read_entries(1, usize::MAX, usize::MAX).unwrap(),
        all[1..second]
    );
    let n = all.len() as u64;
    assert!(log.read_entries(n, 5, 5).unwrap().is_empty());
    assert!(matches!(
        log.read_entries(n + 1, 5, 5),
        Err(LogError::OrdinalOutOfRange { requested, first: 0, next }) if requested == n + 1 && next == n
    ));
    // The slices share one buffer per call and outlive the log.
    drop(log);
    let log = open(dir.path());
    let run = log.read_entries(second as u64, 4, usize::MAX).unwrap();
    assert_eq!(run, all[second..second + 4]);
    drop(log);
    assert_eq!(run[0], all[second]);
}

#[test]
fn purge_deletes_whole_sealed_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let x = mixed(&mut log);
    let segs = log.segments();
    assert!(segs.len() >= 4);
    // Through the last entry of segment 1 but one: only segment 0 goes.
    let upto = segs[2].base_ordinal - 2;
    let out = log.purge_through_ordinal(upto).unwrap();
    assert_eq!(out.deleted, segs[..1]);
    assert_eq!(log.first_ordinal(), segs[1].base_ordinal);
    assert_eq!(log.log_start_offset(), segs[1].base_offset);
    assert_eq!(out.log_start_offset, segs[1].base_offset);
    assert!(!segs[0].path.exists());
    x.check(&log);
    // Through its last entry: segment 1 goes too.
    let out = log.purge_through_ordinal(upto + 1).unwrap();
    assert_eq!(out.deleted, segs[1..2]);
    assert_eq!(log.first_ordinal(), segs[2].base_ordinal);
    x.check(&log);
    // Never the active segment.
    log.purge_through_ordinal(u64::MAX).unwrap();
    let left = log.segments();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0], *segs.last().unwrap());
    assert_eq!(log.first_ordinal(), left[0].base_ordinal);
    x.check(&log);
    drop(log);
    let log = open(dir.path());
    assert_eq!(log.first_ordinal(), left[0].base_ordinal);
    x.check(&log);
    log.close().unwrap();
    let log = open(dir.path());
    assert_eq!(log.log_start_offset(), left[0].base_offset);
    x.check(&log);
}

#[test]
fn purge_below_the_first_segment_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let x = mixed(&mut log);
    let before = log.segments();
    let out = log.purge_through_ordinal(0).unwrap();
    assert!(out.deleted.is_empty());
    assert_eq!(log.segments(), before);
    x.check(&log);
}

/// The log is empty at `(first, start)` and continues from there.
fn assert_reset_to(log: &mut Log, first: u64, start: u64) {
    assert_eq!((log.first_ordinal(), log.next_ordinal()), (first, first));
    assert_eq!(
        (log.log_start_offset(), log.log_end_offset()),
        (start, start)
    );
    assert_eq!(log.segments().len(), 1);
    assert_eq!(log.segments()[0].base_offset, start);
    assert!(log.read(start, 100).unwrap().bytes.is_empty());
    assert!(log.read_entries(first, 10, 100).unwrap().is_empty());
    assert!(matches!(
        log.read_entry(first.saturating_sub(1)),
        Err(LogError::OrdinalOutOfRange { .. })
    ));
}

#[test]
fn reset_starts_an_empty_log_at_the_snapshot_point_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let old = mixed(&mut log);
    let old_paths: Vec<_> = log.segments().into_iter().map(|s| s.path).collect();
    log.reset(1000, 5000, 0).unwrap();
    assert_reset_to(&mut log, 1000, 5000);
    assert!(old_paths.iter().all(|p| !p.exists()));
    assert!(!dir.path().join("00000000000000000000.index").exists());
    assert!(log.durability().sync_to_ordinal(999).is_ok());
    let mut x = Expected::default();
    assert_eq!(x.internal(&mut log, 30, 7).ordinal, 1000);
    assert_eq!(x.data(&mut log, 2, 50, 9).base_offset, 5000);
    x.check(&log);
    drop(log);
    let mut log = open(dir.path());
    x.check(&log);
    // Reset to a point below the old log (a name the old files had).
    log.reset(3, 0, 0).unwrap();
    assert_reset_to(&mut log, 3, 0);
    log.close().unwrap();
    let mut log = open(dir.path());
    assert_reset_to(&mut log, 3, 0);
    assert!(old.entries.len() > 3);
    let mut x = Expected::default();
    assert_eq!(x.data(&mut log, 1, 10, 0).ordinal, 3);
    x.check(&log);
}

#[test]
fn a_crash_inside_reset_leaves_the_old_log_or_the_new_one() {
    for created in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path());
        mixed(&mut log);
        log.reset(77, 300, 0).unwrap();
        drop(log);
        // The commit point: a checkpoint listing no segment, written after
        // the old files went; the crash came before (or just after) the
        // new segment was created.
        Checkpoint {
            clean: false,
            log_start_offset: 300,
            first_ordinal: 77,
            segments: Vec::new(),
        }
        .write(dir.path())
        .unwrap();
        if !created {
            for ext in ["log", "index", "timeindex"] {
                std::fs::remove_file(dir.path().join(format!("{:020}.{ext}", 300))).unwrap();
            }
        }
        let mut log = open(dir.path());
        assert_reset_to(&mut log, 77, 300);
    }
    // Before the commit point: the newest old files are gone, the old
    // checkpoint remains: a prefix of the old log.
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut x = mixed(&mut log);
    let segs = log.segments();
    drop(log);
    for s in &segs[2..] {
        for ext in ["log", "index", "timeindex"] {
            std::fs::remove_file(s.path.with_extension(ext)).unwrap();
        }
    }
    let log = open(dir.path());
    x.truncate_from(segs[2].base_ordinal);
    x.check(&log);
}

#[test]
fn a_poisoned_log_refuses_the_raft_operations() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    mixed(&mut log);
    log.durability().poison();
    assert!(matches!(
        log.append_internal(b"x", 1, 0),
        Err(LogError::Poisoned)
    ));
    assert!(matches!(log.reset(1, 1, 0), Err(LogError::Poisoned)));
    assert!(matches!(
        log.purge_through_ordinal(100),
        Err(LogError::Poisoned)
    ));
    assert!(log.read_entries(0, 1, 1).is_ok(), "reads still work");
}
