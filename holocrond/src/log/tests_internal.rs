//! Internal entries mixed with data: offsets are the running record count,
//! ordinals count every entry, reads by offset see only data, reads by
//! ordinal see everything, and all of it survives rolls, reopens,
//! truncation and DeleteRecords.

#![allow(clippy::unwrap_used)]

use super::batch::{self, testing::make_batch};
use super::tests_expected::{mixed, Expected};
use super::tests_log::small_config;
use super::*;

fn open(dir: &std::path::Path) -> Log {
    Log::open(dir, small_config()).unwrap()
}

#[test]
fn offsets_count_records_and_ordinals_count_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let x = mixed(&mut log);
    assert_eq!(log.next_ordinal(), x.entries.len() as u64);
    assert_eq!(
        log.log_end_offset(),
        (0..14).map(|i| 1 + i % 3).sum::<u64>()
    );
    assert!(log.segments().len() > 3);
    assert!(log
        .segments()
        .iter()
        .all(|s| s.next_offset > s.base_offset || !s.sealed));
    x.check(&log);
}

#[test]
fn a_read_over_internal_entries_returns_the_data_around_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            flush: FlushPolicy::Never,
            ..LogConfig::default()
        },
    )
    .unwrap();
    let mut x = Expected::default();
    x.data(&mut log, 2, 39, 0);
    x.internal(&mut log, 10, 1);
    x.data(&mut log, 1, 39, 0);
    x.internal(&mut log, 10, 1);
    x.internal(&mut log, 10, 1);
    x.data(&mut log, 3, 39, 0);
    x.internal(&mut log, 10, 1);
    let data = x.data_batches(0);
    let r = log.read(0, 1 << 20).unwrap();
    assert_eq!(r.bytes, data.concat(), "internal entries are cut out");
    assert_eq!(r.next_offset, 6);
    let r = log.read(2, 1 << 20).unwrap();
    assert_eq!(r.bytes, data[1..].concat());
    // max_bytes counts the internal entries read (71 + 100): only the
    // first batch fits.
    assert_eq!(log.read(2, 170).unwrap().bytes, data[1]);
    assert_eq!(
        log.read(2, 100 + 71 + 71 + 100).unwrap().bytes,
        data[1..].concat()
    );
    x.check(&log);
}

#[test]
fn a_log_of_internal_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut x = Expected::default();
    for term in 1..=3 {
        x.internal(&mut log, 30, term);
    }
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 0));
    assert_eq!((log.first_ordinal(), log.next_ordinal()), (0, 3));
    assert!(log.read(0, 1 << 20).unwrap().bytes.is_empty());
    assert_eq!(log.offset_for_timestamp(0).unwrap(), None);
    x.check(&log);
    drop(log);
    let log = open(dir.path());
    x.check(&log);
    log.close().unwrap();
    let timeindex = dir.path().join("00000000000000000000.timeindex");
    assert_eq!(
        std::fs::metadata(timeindex).unwrap().len(),
        0,
        "no final time-index entry for a segment without data"
    );
    let log = open(dir.path());
    assert_eq!(log.first_ordinal(), 0, "the checkpoint keeps them readable");
    x.check(&log);
    drop(log);
    std::fs::remove_file(dir.path().join("log.checkpoint")).unwrap();
    let mut log = open(dir.path());
    x.check(&log);
    let info = x.data(&mut log, 2, 10, 7);
    assert_eq!((info.base_offset, info.ordinal), (0, 3));
    x.check(&log);
    drop(log);
    let log = open(dir.path());
    x.check(&log);
}

#[test]
fn internal_entries_at_segment_starts_and_a_segment_without_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut x = Expected::default();
    for _ in 0..5 {
        x.data(&mut log, 2, 139, 10);
    }
    // The segment is full: the internal entry starts the next one.
    x.internal(&mut log, 20, 1);
    assert_eq!(log.segments().len(), 2);
    assert_eq!(log.segments()[1].base_offset, 10);
    // A segment without data is never rolled, however large: the next one
    // would have the same name.
    for _ in 0..20 {
        x.internal(&mut log, 60, 2);
    }
    assert_eq!(log.segments().len(), 2);
    assert!(log.segments()[1].size_bytes > 1000);
    let config = LogConfig {
        segment_ms: Some(1),
        ..small_config()
    };
    log.set_config(config);
    assert!(!log.roll_if_due(i64::MAX).unwrap());
    log.set_config(small_config());
    x.data(&mut log, 1, 10, 11);
    assert_eq!(log.segments().len(), 2, "data joins it");
    x.data(&mut log, 1, 10, 12);
    assert_eq!(log.segments().len(), 3, "then it rolls");
    x.check(&log);
    log.close().unwrap();
    let log = open(dir.path());
    x.check(&log);
}

#[test]
fn indexes_and_timestamps_ignore_internal_entries() {
    let config = LogConfig {
        index_interval_bytes: 0,
        ..small_config()
    };
    let plain = tempfile::tempdir().unwrap();
    let mixed_dir = tempfile::tempdir().unwrap();
    let mut a = Log::open(plain.path(), config.clone()).unwrap();
    let mut b = Log::open(mixed_dir.path(), config.clone()).unwrap();
    let mut x = Expected::default();
    for t in 0..30i64 {
        let ts = (t * 7) % 23 + t;
        let mut batch = make_batch(1, 39, ts);
        a.append(&mut batch, 3, ts).unwrap();
        x.internal(&mut b, 8, 1);
        x.data(&mut b, 1, 39, ts);
    }
    let answers = |log: &Log| -> Vec<_> {
        (-2..60)
            .map(|t| log.offset_for_timestamp(t).unwrap())
            .collect()
    };
    let expected = answers(&a);
    assert_eq!(answers(&b), expected);
    let max_ts =
        |log: &Log| -> Vec<i64> { log.segments().iter().map(|s| s.max_timestamp).collect() };
    assert!(
        max_ts(&b).iter().all(|ts| *ts < 5000),
        "append times of internal entries do not count"
    );
    x.check(&b);
    b.close().unwrap();
    // Rebuilt indexes equal the ones appends wrote.
    let index = |base: u64, ext: &str| {
        std::fs::read(mixed_dir.path().join(format!("{base:020}.{ext}"))).unwrap()
    };
    let sealed = index(0, "index");
    let sealed_time = index(0, "timeindex");
    std::fs::remove_file(mixed_dir.path().join("log.checkpoint")).unwrap();
    let b = Log::open(mixed_dir.path(), config).unwrap();
    assert_eq!(index(0, "index"), sealed);
    assert_eq!(index(0, "timeindex"), sealed_time);
    assert_eq!(answers(&b), expected);
    x.check(&b);
}

#[test]
fn retention_by_time_uses_the_data_in_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut x = Expected::default();
    for i in 0..10 {
        x.data(&mut log, 1, 139, 100 * i);
        x.internal(&mut log, 0, 1);
    }
    let config = LogConfig {
        retention_ms: Some(1000),
        ..small_config()
    };
    log.set_config(config);
    let out = log.apply_retention(1350).unwrap();
    // Segment 0 holds D I D I D I D (983 bytes, newest data at 300), and
    // goes; segment 1 holds I D I D I D I (newest data at 600, while its
    // internal entries were appended at 5000 and later) and stays.
    assert_eq!(out.deleted.len(), 1);
    assert_eq!(log.log_start_offset(), 4);
    assert_eq!(
        log.first_ordinal(),
        7,
        "segment 1 starts with an internal entry"
    );
    x.check(&log);
}

#[test]
fn reopen_after_clean_and_unclean_stops() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let x = mixed(&mut log);
    drop(log);
    let log = open(dir.path());
    x.check(&log);
    log.close().unwrap();
    let log = open(dir.path());
    x.check(&log);
    drop(log);
    std::fs::remove_file(dir.path().join("log.checkpoint")).unwrap();
    let mut log = open(dir.path());
    x.check(&log);
    let info = log.append_internal(b"next", 9, 0).unwrap();
    assert_eq!(info.ordinal, x.entries.len() as u64);
}

#[test]
fn truncation_across_internal_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut x = mixed(&mut log);
    let kinds: Vec<bool> = x.entries.iter().map(|e| e.internal.is_some()).collect();
    // From the back: after an internal entry, on one, before one.
    for _ in 0..3 {
        let last = x.entries.len() - 1;
        let cut = (1..=last)
            .rev()
            .find(|&k| kinds[k] != kinds[k - 1])
            .unwrap();
        log.truncate_from_ordinal(cut as u64).unwrap();
        x.truncate_from(cut as u64);
        assert_eq!(
            log.log_end_offset(),
            x.entries[cut - 1].base + u64::from(x.entries[cut - 1].records)
        );
        x.check(&log);
    }
    // By offset: the internal entries before the removed batch stay.
    let victim = x
        .entries
        .windows(2)
        .filter(|w| w[0].internal.is_some() && w[1].internal.is_none())
        .last()
        .map(|w| w[1].clone())
        .unwrap();
    assert!(victim.ordinal > 10);
    log.truncate_after(victim.base - 1).unwrap();
    x.truncate_from(victim.ordinal);
    assert_eq!(log.next_ordinal(), victim.ordinal);
    x.check(&log);
    // truncate_after the log end keeps trailing internal entries.
    x.internal(&mut log, 5, 40);
    log.truncate_after(log.log_end_offset() - 1).unwrap();
    x.check(&log);
    // Cut to just the first two (internal) entries: offset 0, ordinal 2.
    log.truncate_after_ordinal(1).unwrap();
    x.truncate_from(2);
    assert_eq!((log.log_end_offset(), log.segments().len()), (0, 1));
    x.check(&log);
    drop(log);
    let mut log = open(dir.path());
    x.check(&log);
    x.data(&mut log, 1, 10, 0);
    x.check(&log);
}

#[test]
fn delete_records_with_internal_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut x = Expected::default();
    x.data(&mut log, 2, 10, 0);
    x.internal(&mut log, 4, 1);
    x.data(&mut log, 2, 10, 0);
    x.internal(&mut log, 4, 1);
    // The log start moves to the data batch holding it; the internal
    // entry before that batch goes with the data before it.
    assert_eq!(log.delete_records_before(2).unwrap(), 2);
    assert_eq!(log.first_ordinal(), 2);
    assert!(matches!(
        log.read_entry(1),
        Err(LogError::OrdinalOutOfRange { .. })
    ));
    x.check(&log);
    assert_eq!(log.delete_records_before(4).unwrap(), 4);
    assert_eq!(
        log.first_ordinal(),
        4,
        "all gone, the trailing internal entry too"
    );
    x.check(&log);
    log.close().unwrap();
    let mut log = open(dir.path());
    assert_eq!((log.first_ordinal(), log.log_start_offset()), (4, 4));
    x.internal(&mut log, 4, 2);
    assert_eq!(log.first_ordinal(), 4);
    x.check(&log);
}

#[test]
fn a_client_control_batch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut b = make_batch(1, 10, 0);
    b[22] |= 0x20;
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    let refused = |r: Result<AppendInfo, LogError>| {
        matches!(
            r,
            Err(LogError::InvalidBatch {
                reason: InvalidBatchReason::ControlBatch
            })
        )
    };
    assert!(refused(log.append(&mut b.clone(), 0, 0)));
    assert!(refused(log.append_shared(&b, 0, 0)));
    // Not even one shaped exactly like an internal entry.
    let internal = batch::encode_internal(b"forged", 0, 1, 0);
    assert!(refused(log.append_shared(&internal, 0, 0)));
    assert_eq!((log.next_ordinal(), log.size_bytes()), (0, 0));
}

#[test]
fn internal_entries_are_synced_by_ordinal() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            flush: FlushPolicy::Always,
            ..small_config()
        },
    )
    .unwrap();
    let d = log.durability();
    let mut b = make_batch(2, 10, 0);
    let data = log.append(&mut b, 1, 0).unwrap();
    d.sync_to(data.last_offset).unwrap();
    assert_eq!(d.durable_ordinal(), Some(0));
    let internal = log.append_internal(b"blank", 1, 0).unwrap();
    assert_eq!(d.durable_ordinal(), Some(0), "written, not yet durable");
    d.sync_to_ordinal(internal.ordinal).unwrap();
    assert_eq!(d.durable_ordinal(), Some(1));
    log.append_internal(b"membership", 1, 0).unwrap();
    log.flush().unwrap();
    assert_eq!(
        d.durable_ordinal(),
        Some(2),
        "flush covers internal entries"
    );
    log.truncate_from_ordinal(1).unwrap();
    assert!(matches!(
        d.sync_to_ordinal(1),
        Err(LogError::SyncBeyondOrdinal {
            requested: 1,
            next_ordinal: 1
        })
    ));
}

#[test]
fn an_internal_entry_larger_than_max_message_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            max_batch_bytes: 100,
            ..small_config()
        },
    )
    .unwrap();
    assert!(log.append_internal(&[0; 39], 1, 0).is_ok());
    assert!(matches!(
        log.append_internal(&[0; 40], 1, 0),
        Err(LogError::BatchTooLarge {
            size: 101,
            max: 100
        })
    ));
    assert_eq!(log.next_ordinal(), 1);
}
