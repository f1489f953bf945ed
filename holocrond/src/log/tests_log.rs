//! Behaviour tests of the `Log` API: append/read, indexes, timestamps,
//! rolling, retention, DeleteRecords, truncation, ordinals, reopen.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::batch::testing::make_batch;
use super::*;

pub(crate) fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1000,
        index_interval_bytes: 150,
        retention_ms: None,
        flush: FlushPolicy::Never,
        ..LogConfig::default()
    }
}

/// Appends a batch of `records` records and `payload` filler bytes.
pub(crate) fn append(log: &mut Log, records: u32, payload: usize, ts: i64) -> AppendInfo {
    let mut b = make_batch(records, payload, ts);
    log.append(&mut b, 3, ts).unwrap()
}

/// Every batch in the log, read one at a time from the log start.
pub(crate) fn read_all(log: &Log) -> Vec<Bytes> {
    let mut out = vec![];
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 0).unwrap();
        assert!(!r.bytes.is_empty());
        out.push(r.bytes.clone());
        offset = r.next_offset;
    }
    out
}

fn open(dir: &Path) -> Log {
    Log::open(dir, small_config()).unwrap()
}

#[test]
fn append_stamps_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 0));
    let mut b = make_batch(5, 40, 1000);
    let info = log.append(&mut b, 9, 1000).unwrap();
    assert_eq!(info.base_offset, 0);
    assert_eq!(info.last_offset, 4);
    assert_eq!(info.ordinal, 0);
    assert_eq!(info.record_count, 5);
    assert_eq!(info.bytes, 101);
    assert_eq!(info.max_timestamp, 1000);
    let info2 = append(&mut log, 2, 10, 1001);
    assert_eq!(
        (info2.base_offset, info2.last_offset, info2.ordinal),
        (5, 6, 1)
    );
    assert_eq!(log.log_end_offset(), 7);

    let r = log.read(3, 0).unwrap();
    assert_eq!(&r.bytes[..], &b[..], "stored verbatim, stamped");
    assert_eq!(&r.bytes[0..8], &0u64.to_be_bytes());
    assert_eq!(&r.bytes[12..16], &9i32.to_be_bytes());
    assert_eq!(r.next_offset, 5);
    let both = log.read(0, 1 << 20).unwrap();
    assert_eq!(both.bytes.len(), 101 + 71);
    assert_eq!(both.next_offset, 7);
    let r = log.read(5, 1 << 20).unwrap();
    assert_eq!(&r.bytes[0..8], &5u64.to_be_bytes());
    let end = log.read(7, 100).unwrap();
    assert!(end.bytes.is_empty());
    assert_eq!((end.log_start_offset, end.log_end_offset), (0, 7));
    assert!(matches!(
        log.read(8, 100),
        Err(LogError::OffsetOutOfRange {
            requested: 8,
            log_start: 0,
            log_end: 7
        })
    ));
}

#[test]
fn max_bytes_keeps_whole_batches_and_first_batch_always() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            flush: FlushPolicy::Never,
            ..LogConfig::default()
        },
    )
    .unwrap();
    for i in 0..10 {
        append(&mut log, 1, 39, i); // 100 bytes each
    }
    assert_eq!(log.read(0, 250).unwrap().bytes.len(), 200);
    assert_eq!(log.read(0, 250).unwrap().next_offset, 2);
    assert_eq!(
        log.read(0, 10).unwrap().bytes.len(),
        100,
        "KIP-74: first batch whole"
    );
    assert_eq!(log.read(9, 1 << 20).unwrap().bytes.len(), 100);
}

#[test]
fn rejects_bad_batches_without_storing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut bad = make_batch(1, 10, 0);
    bad[30] ^= 1;
    assert!(matches!(
        log.append(&mut bad, 0, 0),
        Err(LogError::CorruptBatch { .. })
    ));
    let mut big = make_batch(1, 2_000_000, 0);
    assert!(matches!(
        log.append(&mut big, 0, 0),
        Err(LogError::BatchTooLarge { .. })
    ));
    let mut two = make_batch(1, 10, 0);
    two.extend_from_slice(&make_batch(1, 10, 0));
    assert!(matches!(
        log.append(&mut two, 0, 0),
        Err(LogError::InvalidBatch {
            reason: InvalidBatchReason::LengthMismatch
        })
    ));
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.size_bytes(), 0);
}

#[test]
fn rolls_by_size_and_reads_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut batches = vec![];
    for i in 0..30 {
        let info = append(&mut log, 2, 139, 100 + i); // 200 bytes
        assert_eq!(info.base_offset, 2 * i as u64);
        batches.push(log.read(info.base_offset, 0).unwrap().bytes);
    }
    let segs = log.segments();
    assert_eq!(
        segs.len(),
        6,
        "5 batches of 200 bytes per 1000-byte segment"
    );
    assert!(segs[..5]
        .iter()
        .all(|s| s.sealed && s.size_bytes == 1000 && s.batch_count == 5));
    assert!(!segs[5].sealed);
    assert_eq!(segs[1].base_offset, 10);
    assert_eq!(segs[1].base_ordinal, 5);
    assert!(segs[1].path.ends_with("00000000000000000010.log"));
    assert!(dir.path().join("00000000000000000010.index").exists());
    assert!(dir.path().join("00000000000000000010.timeindex").exists());
    assert_eq!(read_all(&log), batches);
    for off in 0..60 {
        let r = log.read(off, 0).unwrap();
        assert_eq!(r.bytes, batches[(off / 2) as usize]);
    }
    // A sealed segment's indexes are trimmed.
    let index_len = std::fs::metadata(dir.path().join("00000000000000000010.index"))
        .unwrap()
        .len();
    assert_eq!(index_len % 8, 0);
    assert!(index_len > 0 && index_len < 100);
}

#[test]
fn oversized_batch_gets_its_own_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    append(&mut log, 1, 100, 0);
    append(&mut log, 1, 3000, 0);
    append(&mut log, 1, 100, 0);
    let sizes: Vec<_> = log.segments().iter().map(|s| s.batch_count).collect();
    assert_eq!(sizes, vec![1, 1, 1]);
    assert_eq!(log.read(1, 10).unwrap().bytes.len(), 3061);
}

#[test]
fn offset_for_timestamp_uses_batch_max_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    // Timestamps not monotonic: 10, 30, 20, 40, ...
    let ts = [10, 30, 20, 40, 35, 50, 60, 55, 70, 80, 90, 100];
    for t in ts {
        append(&mut log, 1, 139, t);
    }
    assert!(log.segments().len() > 2);
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 10)));
    assert_eq!(log.offset_for_timestamp(10).unwrap(), Some((0, 10)));
    assert_eq!(log.offset_for_timestamp(11).unwrap(), Some((1, 30)));
    assert_eq!(log.offset_for_timestamp(25).unwrap(), Some((1, 30)));
    assert_eq!(log.offset_for_timestamp(31).unwrap(), Some((3, 40)));
    assert_eq!(log.offset_for_timestamp(51).unwrap(), Some((6, 60)));
    assert_eq!(log.offset_for_timestamp(56).unwrap(), Some((6, 60)));
    assert_eq!(log.offset_for_timestamp(100).unwrap(), Some((11, 100)));
    assert_eq!(log.offset_for_timestamp(101).unwrap(), None);
    log.delete_records_before(4).unwrap();
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((4, 35)));
}

#[test]
fn time_index_after_reopen_matches() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            index_interval_bytes: 0,
            ..small_config()
        },
    )
    .unwrap();
    for t in 0..40 {
        append(&mut log, 1, 39, (t * 7) % 23 + t);
    }
    let answers: Vec<_> = (0..70)
        .map(|t| log.offset_for_timestamp(t).unwrap())
        .collect();
    drop(log);
    let log = Log::open(dir.path(), small_config()).unwrap();
    let again: Vec<_> = (0..70)
        .map(|t| log.offset_for_timestamp(t).unwrap())
        .collect();
    assert_eq!(answers, again);
}

#[test]
fn roll_if_due_by_age_never_rolls_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            segment_ms: Some(100),
            ..small_config()
        },
    )
    .unwrap();
    assert!(!log.roll_if_due(1_000_000).unwrap());
    let at = |log: &mut Log, now: i64| {
        let mut b = make_batch(1, 10, 5);
        log.append(&mut b, 0, now).unwrap();
    };
    at(&mut log, 1000);
    at(&mut log, 1050);
    assert_eq!(log.segments().len(), 1);
    assert!(!log.roll_if_due(1099).unwrap());
    assert!(
        log.roll_if_due(1100).unwrap(),
        "first batch appended at 1000"
    );
    assert_eq!(log.segments().len(), 2);
    assert!(!log.roll_if_due(1_000_000).unwrap());
    // The age counts from the first append, and an append past it rolls.
    at(&mut log, 2000);
    assert!(!log.roll_if_due(2099).unwrap());
    at(&mut log, 2200);
    assert_eq!(log.segments().len(), 3);
}

#[test]
fn retention_by_size_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    for i in 0..30 {
        append(&mut log, 1, 139, i * 10); // segments of 5 batches: max ts 40, 90, 140, ...
    }
    assert_eq!(log.segments().len(), 6);
    let mut config = small_config();
    config.retention_bytes = Some(3500);
    log.set_config(config.clone());
    let out = log.apply_retention(1_000_000).unwrap();
    // 6000 bytes; dropping 1000-byte segments while what is left >= 3500.
    assert_eq!(out.deleted.len(), 2);
    assert_eq!(out.bytes_deleted, 2000);
    assert_eq!(out.log_start_offset, 10);
    assert_eq!(log.log_start_offset(), 10);
    assert_eq!(log.first_ordinal(), 10);
    assert!(!dir.path().join("00000000000000000000.log").exists());
    assert!(matches!(
        log.read(9, 10),
        Err(LogError::OffsetOutOfRange { .. })
    ));

    config.retention_bytes = None;
    config.retention_ms = Some(100);
    log.set_config(config.clone());
    // Segment [10,15) has max ts 140, [15,20) 190: at now=250 the first is
    // 110 ms old, the second 60 ms.
    let out = log.apply_retention(250).unwrap();
    assert_eq!(out.deleted.len(), 1);
    assert_eq!(log.log_start_offset(), 15);
    // Never the active segment.
    let out = log.apply_retention(i64::MAX).unwrap();
    assert_eq!(out.deleted.len(), 2);
    assert_eq!(log.segments().len(), 1);
    assert_eq!(log.log_start_offset(), 25);
    assert_eq!(log.first_ordinal(), 25);
    drop(log);
    let log = open(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (25, 30));
    assert_eq!(log.first_ordinal(), 25);
    assert_eq!(log.next_ordinal(), 30);
}

#[test]
fn delete_records_before_persists() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    for i in 0..12 {
        append(&mut log, 3, 100, i);
    }
    assert!(matches!(
        log.delete_records_before(37),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(log.delete_records_before(10).unwrap(), 10);
    assert_eq!(
        log.first_ordinal(),
        3,
        "offset 10 is inside batch 3 (9..=11)"
    );
    assert_eq!(
        log.delete_records_before(5).unwrap(),
        10,
        "never moves back"
    );
    assert!(matches!(
        log.read(9, 0),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(&log.read(10, 0).unwrap().bytes[0..8], &9u64.to_be_bytes());
    assert!(matches!(
        log.read_entry(2),
        Err(LogError::OrdinalOutOfRange { .. })
    ));
    assert_eq!(log.read_entry(3).unwrap(), log.read(10, 0).unwrap().bytes);
    drop(log);
    let mut log = open(dir.path());
    assert_eq!(log.log_start_offset(), 10);
    assert_eq!(log.first_ordinal(), 3);
    log.delete_records_before(36).unwrap();
    assert_eq!(log.log_start_offset(), 36);
    assert_eq!(log.first_ordinal(), 12);
    assert!(log.read(36, 10).unwrap().bytes.is_empty());
    assert_eq!(
        log.segments().len(),
        1,
        "all sealed segments were below the start"
    );
    assert_eq!(append(&mut log, 1, 1, 0).base_offset, 36);
    log.close().unwrap();
    let log = open(dir.path());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (36, 37));
    assert_eq!(log.first_ordinal(), 12);
}

#[test]
fn truncate_after_is_batch_granular() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    for i in 0..20 {
        append(&mut log, 2, 139, i); // 200 bytes, 5 per segment
    }
    let before = read_all(&log);
    assert!(matches!(
        log.truncate_after(20),
        Err(LogError::TruncateMidBatch {
            offset: 20,
            batch_base: 20,
            batch_last: 21
        })
    ));
    log.truncate_after(100).unwrap();
    assert_eq!(log.log_end_offset(), 40);
    // Cut inside the second segment (batches 5..10 at offsets 10..20).
    log.truncate_after(13).unwrap();
    assert_eq!(log.log_end_offset(), 14);
    assert_eq!(log.next_ordinal(), 7);
    assert_eq!(log.segments().len(), 2);
    assert!(!log.segments()[1].sealed);
    assert_eq!(read_all(&log), before[..7].to_vec());
    assert!(!dir.path().join("00000000000000000020.log").exists());
    let info = append(&mut log, 1, 10, 0);
    assert_eq!((info.base_offset, info.ordinal), (14, 7));
    // Cut exactly at a segment start: the segment stays, empty and active.
    log.truncate_after(9).unwrap();
    assert_eq!(log.log_end_offset(), 10);
    assert_eq!(log.segments().len(), 2);
    assert_eq!(log.segments()[1].batch_count, 0);
    drop(log);
    let log = open(dir.path());
    assert_eq!(log.log_end_offset(), 10);
    assert_eq!(read_all(&log), before[..5].to_vec());
}

#[test]
fn truncation_recomputes_max_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(
        dir.path(),
        LogConfig {
            index_interval_bytes: 0,
            ..LogConfig::default()
        },
    )
    .unwrap();
    for ts in [5, 50, 7, 8, 9] {
        append(&mut log, 1, 10, ts);
    }
    log.truncate_after(0).unwrap();
    assert_eq!(log.segments()[0].max_timestamp, 5);
    assert_eq!(log.offset_for_timestamp(6).unwrap(), None);
    append(&mut log, 1, 10, 6);
    assert_eq!(log.offset_for_timestamp(6).unwrap(), Some((1, 6)));
}

#[test]
fn ordinals_follow_batches_and_survive_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    let mut entries = vec![];
    for i in 0..17 {
        let info = append(&mut log, 1 + i % 3, 150, i as i64);
        assert_eq!(info.ordinal, u64::from(i));
        entries.push(log.read(info.base_offset, 0).unwrap().bytes);
    }
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(&log.read_entry(i as u64).unwrap(), e);
    }
    assert!(matches!(
        log.read_entry(17),
        Err(LogError::OrdinalOutOfRange {
            requested: 17,
            first: 0,
            next: 17
        })
    ));
    let mut config = small_config();
    config.retention_bytes = Some(0);
    log.set_config(config);
    log.apply_retention(0).unwrap();
    let first = log.first_ordinal();
    assert!(first > 0);
    assert_eq!(log.segments()[0].base_ordinal, first);
    log.close().unwrap();
    let mut log = open(dir.path());
    assert_eq!(log.first_ordinal(), first);
    assert_eq!(log.next_ordinal(), 17);
    for i in first..17 {
        assert_eq!(log.read_entry(i).unwrap(), entries[i as usize]);
    }
    log.truncate_after_ordinal(first).unwrap();
    assert_eq!(log.next_ordinal(), first + 1);
    log.truncate_from_ordinal(first).unwrap();
    assert_eq!(log.next_ordinal(), first);
    assert_eq!(log.log_end_offset(), log.log_start_offset());
    let info = append(&mut log, 1, 1, 0);
    assert_eq!(info.ordinal, first);
    assert_eq!(
        log.read_entry(first).unwrap(),
        log.read(info.base_offset, 0).unwrap().bytes
    );
}

#[test]
fn clean_close_skips_scanning_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path());
    for i in 0..13 {
        append(&mut log, 2, 139, i);
    }
    let before = read_all(&log);
    let segs = log.segments();
    log.close().unwrap();
    let mut log = open(dir.path());
    assert_eq!(read_all(&log), before);
    let after = log.segments();
    assert_eq!(segs.len(), after.len());
    for (a, b) in segs.iter().zip(&after) {
        assert_eq!(
            (a.base_offset, a.size_bytes, a.batch_count, a.max_timestamp),
            (b.base_offset, b.size_bytes, b.batch_count, b.max_timestamp)
        );
    }
    assert_eq!(append(&mut log, 1, 1, 0).base_offset, 26);
    assert_eq!(log.next_ordinal(), 14);
}

#[test]
fn flush_policies() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config();
    config.flush = FlushPolicy::Interval {
        ms: 100,
        messages: Some(5),
    };
    let mut log = Log::open(dir.path(), config).unwrap();
    let d = log.durability();
    assert_eq!(d.durable_offset(), None);
    append(&mut log, 2, 10, 0);
    log.flush_if_due(0).unwrap();
    assert_eq!(d.durable_offset(), None);
    append(&mut log, 3, 10, 0);
    log.flush_if_due(1).unwrap();
    assert_eq!(d.durable_offset(), Some(4), "5 messages");
    append(&mut log, 1, 10, 0);
    log.flush_if_due(50).unwrap();
    assert_eq!(d.durable_offset(), Some(4));
    log.flush_if_due(101).unwrap();
    assert_eq!(d.durable_offset(), Some(5), "100 ms");
    append(&mut log, 1, 10, 0);
    d.sync_to(6).unwrap();
    assert_eq!(d.durable_offset(), Some(6));
}

#[test]
fn append_shared_stamps_the_stored_copy_and_leaves_the_callers_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_config()).unwrap();
    log.append_shared(&make_batch(2, 100, 5), 3, 0).unwrap();
    let batch = make_batch(3, 200, 6);
    let original = batch.clone();
    let info = log.append_shared(&batch, 7, 0).unwrap();
    assert_eq!(batch, original, "the caller's bytes are not changed");
    assert_eq!(info.base_offset, 2);
    let stored = log.read(2, 1 << 20).unwrap().bytes;
    assert_eq!(stored.len(), original.len());
    assert_eq!(
        &stored[16..],
        &original[16..],
        "everything after the stamped prefix is stored as sent"
    );
    assert_eq!(u64::from_be_bytes(stored[0..8].try_into().unwrap()), 2);
    assert_eq!(i32::from_be_bytes(stored[12..16].try_into().unwrap()), 7);
}
