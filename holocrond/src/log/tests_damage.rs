//! Damage tests: write a known log, damage its files the way crashes and
//! disks do, reopen, and assert exactly which prefix survives.
//!
//! The known log: 13 batches of 2 records and 200 bytes each, 5 per
//! 1000-byte segment, so segments `0` and `10` are sealed (offsets 0..10
//! and 10..20) and segment `20` is active with batches at offsets 20, 22,
//! 24 (positions 0, 200, 400). Unless a test says otherwise the log is
//! dropped without `close` (an unclean stop), which is what a crash leaves.

#![allow(clippy::unwrap_used)]

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::tests_log::{append, read_all, small_config};
use super::*;

const BATCH: u64 = 200;

struct Known {
    dir: tempfile::TempDir,
    batches: Vec<Bytes>,
}

impl Known {
    fn path(&self, base: u64, ext: &str) -> PathBuf {
        self.dir.path().join(format!("{base:020}.{ext}"))
    }
    fn open(&self) -> Result<Log, LogError> {
        Log::open(self.dir.path(), small_config())
    }
}

fn known_log(clean: bool) -> Known {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_config()).unwrap();
    for i in 0..13 {
        append(&mut log, 2, 139, 1000 + i);
    }
    let batches = read_all(&log);
    assert_eq!(batches.len(), 13);
    assert_eq!(log.segments().len(), 3);
    if clean {
        log.close().unwrap();
    }
    Known { dir, batches }
}

/// The log holds exactly the first `n` known batches and accepts appends
/// at the right offset and ordinal afterwards.
fn assert_prefix(log: &mut Log, known: &Known, n: usize) {
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(log.log_end_offset(), 2 * n as u64);
    assert_eq!(log.next_ordinal(), n as u64);
    assert_eq!(read_all(log), known.batches[..n].to_vec());
    for (i, b) in known.batches[..n].iter().enumerate() {
        assert_eq!(&log.read_entry(i as u64).unwrap(), b);
    }
    let info = append(log, 1, 10, 5000);
    assert_eq!(info.base_offset, 2 * n as u64);
    assert_eq!(info.ordinal, n as u64);
    assert_eq!(log.read(info.base_offset, 0).unwrap().bytes.len(), 71);
}

fn set_len(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn flip(path: &Path, at: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at as usize] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

fn append_bytes(path: &Path, extra: &[u8]) {
    use std::io::Write;
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(extra)
        .unwrap();
}

#[test]
fn a_last_segment_truncated_mid_batch() {
    for clean in [false, true] {
        let known = known_log(clean);
        set_len(&known.path(20, "log"), 2 * BATCH + 77);
        let mut log = known.open().unwrap();
        assert_prefix(&mut log, &known, 12);
        assert_eq!(
            fs::metadata(known.path(20, "log")).unwrap().len(),
            2 * BATCH + 71
        );
    }
}

#[test]
fn a_last_segment_truncated_inside_a_header() {
    let known = known_log(false);
    set_len(&known.path(20, "log"), BATCH + 30);
    let mut log = known.open().unwrap();
    assert_prefix(&mut log, &known, 11);
}

#[test]
fn b_byte_flipped_in_last_batch() {
    let known = known_log(false);
    flip(&known.path(20, "log"), 2 * BATCH + 150);
    let mut log = known.open().unwrap();
    assert_prefix(&mut log, &known, 12);
}

#[test]
fn b_byte_flipped_in_an_earlier_batch_of_the_last_segment_cuts_there() {
    let known = known_log(false);
    flip(&known.path(20, "log"), BATCH + 100);
    let mut log = known.open().unwrap();
    assert_prefix(&mut log, &known, 11);
}

#[test]
fn b_length_field_flipped_in_last_batch() {
    let known = known_log(false);
    flip(&known.path(20, "log"), 2 * BATCH + 10);
    let mut log = known.open().unwrap();
    assert_prefix(&mut log, &known, 12);
}

#[test]
fn c_garbage_appended() {
    for (clean, garbage) in [
        (false, vec![0xAB; 333]),
        (true, vec![0; 4096]),
        (false, vec![7; 5]),
    ] {
        let known = known_log(clean);
        append_bytes(&known.path(20, "log"), &garbage);
        let mut log = known.open().unwrap();
        assert_prefix(&mut log, &known, 13);
    }
}

#[test]
fn c_a_whole_valid_batch_with_the_wrong_offset_is_garbage_too() {
    let known = known_log(false);
    // A copy of the first batch (offset 0) appended after offset 25.
    append_bytes(&known.path(20, "log"), &known.batches[0]);
    let mut log = known.open().unwrap();
    assert_prefix(&mut log, &known, 13);
}

#[test]
fn d_deleted_index_files_are_rebuilt() {
    for clean in [true, false] {
        let known = known_log(clean);
        let sealed_index = fs::read(known.path(0, "index")).unwrap();
        let sealed_time = fs::read(known.path(10, "timeindex")).unwrap();
        assert!(!sealed_index.is_empty() && !sealed_time.is_empty());
        fs::remove_file(known.path(0, "index")).unwrap();
        fs::remove_file(known.path(10, "timeindex")).unwrap();
        fs::remove_file(known.path(20, "index")).unwrap();
        let mut log = known.open().unwrap();
        assert_eq!(fs::read(known.path(0, "index")).unwrap(), sealed_index);
        assert_eq!(fs::read(known.path(10, "timeindex")).unwrap(), sealed_time);
        assert!(known.path(20, "index").exists());
        assert_eq!(log.offset_for_timestamp(1007).unwrap(), Some((14, 1007)));
        assert_prefix(&mut log, &known, 13);
    }
}

#[test]
fn d_damaged_index_is_rebuilt() {
    let known = known_log(true);
    let good = fs::read(known.path(0, "index")).unwrap();
    // Positions that go backwards.
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    fs::write(known.path(0, "index"), &bad).unwrap();
    // A time index with a torn entry.
    append_bytes(&known.path(10, "timeindex"), &[1, 2, 3]);
    let mut log = known.open().unwrap();
    assert_eq!(fs::read(known.path(0, "index")).unwrap(), good);
    assert_eq!(
        fs::metadata(known.path(10, "timeindex")).unwrap().len() % 12,
        0
    );
    assert_prefix(&mut log, &known, 13);
}

#[test]
fn e_corrupt_batch_in_sealed_segment_is_an_error() {
    // A sealed segment the checkpoint does not vouch for (here: no
    // checkpoint at all, as after a crash between a roll and its
    // checkpoint) is scanned, and damage inside it is not a torn tail.
    let known = known_log(false);
    fs::remove_file(known.dir.path().join("log.checkpoint")).unwrap();
    flip(&known.path(10, "log"), 2 * BATCH + 100);
    match known.open() {
        Err(LogError::CorruptSegment {
            file,
            position,
            reason,
        }) => {
            assert_eq!(file, known.path(10, "log"));
            assert_eq!(position, 2 * BATCH);
            assert!(reason.contains("CRC"), "{reason}");
        }
        other => panic!("expected CorruptSegment, got {other:?}"),
    }
    // Nothing was cut: the files are as they were.
    assert_eq!(
        fs::metadata(known.path(10, "log")).unwrap().len(),
        5 * BATCH
    );
    assert_eq!(
        fs::metadata(known.path(20, "log")).unwrap().len(),
        3 * BATCH
    );
}

#[test]
fn e_trailing_bytes_on_a_sealed_segment_are_an_error() {
    // The size no longer matches the checkpoint, so the segment is scanned.
    let known = known_log(true);
    append_bytes(&known.path(0, "log"), &[0; 50]);
    let err = known.open().unwrap_err();
    assert!(
        matches!(&err, LogError::CorruptSegment { file, position, .. }
            if *file == known.path(0, "log") && *position == 5 * BATCH),
        "{err:?}"
    );
    assert!(err.to_string().contains("00000000000000000000.log"));
}

#[test]
fn e_missing_middle_segment_is_an_error() {
    let known = known_log(false);
    for ext in ["log", "index", "timeindex"] {
        fs::remove_file(known.path(10, ext)).unwrap();
    }
    let err = known.open().unwrap_err();
    assert!(
        matches!(&err, LogError::CorruptSegment { file, position: 0, .. } if *file == known.path(20, "log")),
        "{err:?}"
    );
}

#[test]
fn damaged_checkpoint_is_an_error() {
    let known = known_log(true);
    flip(&known.dir.path().join("log.checkpoint"), 9);
    assert!(matches!(
        known.open(),
        Err(LogError::CorruptCheckpoint { .. })
    ));
}

#[test]
fn unclean_stop_keeps_everything_written() {
    let known = known_log(false);
    let mut log = known.open().unwrap();
    assert_prefix(&mut log, &known, 13);
    drop(log);
    // Reopening twice in a row after unclean stops is stable.
    let log = known.open().unwrap();
    assert_eq!(log.log_end_offset(), 27);
}

#[test]
fn orphan_and_temporary_files_are_cleaned() {
    let known = known_log(true);
    fs::write(known.path(99, "index"), [0; 16]).unwrap();
    fs::write(known.dir.path().join("log.checkpoint.tmp"), b"junk").unwrap();
    let mut log = known.open().unwrap();
    assert!(!known.path(99, "index").exists());
    assert!(!known.dir.path().join("log.checkpoint.tmp").exists());
    assert_prefix(&mut log, &known, 13);
}

/// A log with internal entries (81 bytes) among 200-byte data batches:
/// segment `0` (sealed) holds I D D I D D at positions 0, 81, 281, 481,
/// 562, 762; segment `8` (active) holds D I D I at 0, 200, 281, 481.
fn internal_log() -> (tempfile::TempDir, super::tests_expected::Expected) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_config()).unwrap();
    let mut x = super::tests_expected::Expected::default();
    for _ in 0..2 {
        x.internal(&mut log, 20, 1);
        x.data(&mut log, 2, 139, 1000);
        x.data(&mut log, 2, 139, 1000);
    }
    for _ in 0..2 {
        x.data(&mut log, 2, 139, 1000);
        x.internal(&mut log, 20, 2);
    }
    assert_eq!(log.segments().len(), 2);
    assert_eq!(log.segments()[1].base_offset, 8);
    assert_eq!(log.segments()[1].size_bytes, 562);
    (dir, x)
}

fn seg(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}

#[test]
fn f_a_torn_internal_entry_at_the_tail_is_cut() {
    for (len, kept) in [(481 + 30, 9), (481 + 70, 9), (200 + 5, 7)] {
        let (dir, mut x) = internal_log();
        set_len(&seg(dir.path(), 8), len);
        let mut log = Log::open(dir.path(), small_config()).unwrap();
        x.truncate_from(kept);
        x.check(&log);
        assert_eq!(x.internal(&mut log, 3, 9).ordinal, kept);
        x.check(&log);
    }
}

#[test]
fn f_a_flipped_byte_in_an_internal_entry_of_the_last_segment_cuts_there() {
    let (dir, mut x) = internal_log();
    flip(&seg(dir.path(), 8), 200 + 70);
    let log = Log::open(dir.path(), small_config()).unwrap();
    x.truncate_from(7);
    x.check(&log);
    assert_eq!(log.log_end_offset(), 10);
}

#[test]
fn f_damage_to_an_internal_entry_of_a_sealed_segment_is_reported() {
    // The payload (CRC), and the producer id, without which a record count
    // of 0 is invalid.
    for (at, needle) in [(481 + 65, "CRC"), (481 + 45, "recordCount")] {
        let (dir, _) = internal_log();
        fs::remove_file(dir.path().join("log.checkpoint")).unwrap();
        flip(&seg(dir.path(), 0), at);
        match Log::open(dir.path(), small_config()) {
            Err(LogError::CorruptSegment {
                file,
                position,
                reason,
            }) => {
                assert_eq!((file, position), (seg(dir.path(), 0), 481));
                assert!(reason.contains(needle), "{reason}");
            }
            other => panic!("expected CorruptSegment, got {other:?}"),
        }
        assert_eq!(fs::metadata(seg(dir.path(), 0)).unwrap().len(), 962);
    }
}

#[test]
fn f_reopen_without_a_checkpoint_rebuilds_the_same_log() {
    let (dir, x) = internal_log();
    fs::remove_file(dir.path().join("log.checkpoint")).unwrap();
    let log = Log::open(dir.path(), small_config()).unwrap();
    x.check(&log);
    assert_eq!(log.segments()[1].base_ordinal, 6);
}
