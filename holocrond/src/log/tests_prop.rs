//! Property test: random interleavings of appends, reads, rolls,
//! retention, DeleteRecords, truncation and clean/unclean reopen, checked
//! against a simple in-memory model of the log.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use proptest::prelude::*;

use super::batch::testing::make_batch;
use super::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        records: u32,
        payload: usize,
        ts: i64,
    },
    Read {
        pick: u64,
        max_bytes: usize,
    },
    ReadEntry {
        pick: u64,
    },
    ForTimestamp {
        ts: i64,
    },
    RollIfDue,
    RetainBytes {
        bytes: i64,
    },
    DeleteRecords {
        pick: u64,
    },
    TruncateAfter {
        pick: usize,
        mid: bool,
    },
    TruncateAfterOrdinal {
        pick: u64,
    },
    CloseReopen,
    DropReopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (1u32..4, 0usize..300, 0i64..1000)
            .prop_map(|(records, payload, ts)| Op::Append { records, payload, ts }),
        4 => (any::<u64>(), 0usize..1200).prop_map(|(pick, max_bytes)| Op::Read { pick, max_bytes }),
        2 => any::<u64>().prop_map(|pick| Op::ReadEntry { pick }),
        2 => (0i64..1100).prop_map(|ts| Op::ForTimestamp { ts }),
        1 => Just(Op::RollIfDue),
        1 => (0i64..3000).prop_map(|bytes| Op::RetainBytes { bytes }),
        1 => any::<u64>().prop_map(|pick| Op::DeleteRecords { pick }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, mid)| Op::TruncateAfter { pick, mid }),
        1 => any::<u64>().prop_map(|pick| Op::TruncateAfterOrdinal { pick }),
        1 => Just(Op::CloseReopen),
        1 => Just(Op::DropReopen),
    ]
}

#[derive(Debug, Clone)]
struct MBatch {
    base: u64,
    last: u64,
    ordinal: u64,
    ts: i64,
    bytes: Bytes,
}

/// The model: the logically present batches (last offset >= log start).
#[derive(Debug, Default)]
struct Model {
    batches: Vec<MBatch>,
    log_start: u64,
    log_end: u64,
    next_ordinal: u64,
}

impl Model {
    fn first_ordinal(&self) -> u64 {
        self.batches
            .first()
            .map_or(self.next_ordinal, |b| b.ordinal)
    }
    fn drop_below_start(&mut self) {
        let start = self.log_start;
        self.batches.retain(|b| b.last >= start);
    }
    fn truncate_to_ordinal(&mut self, keep: usize) {
        self.batches.truncate(keep);
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 1000,
        segment_ms: Some(1000),
        index_interval_bytes: 100,
        retention_ms: None,
        retention_bytes: None,
        max_batch_bytes: 1 << 20,
        flush: FlushPolicy::Never,
    }
}

fn check(log: &Log, m: &Model) {
    assert_eq!(log.log_start_offset(), m.log_start);
    assert_eq!(log.log_end_offset(), m.log_end);
    assert_eq!(log.next_ordinal(), m.next_ordinal);
    assert_eq!(log.first_ordinal(), m.first_ordinal());
    let segs = log.segments();
    assert_eq!(
        log.size_bytes(),
        segs.iter().map(|s| s.size_bytes).sum::<u64>()
    );
    for w in segs.windows(2) {
        assert_eq!(w[0].next_offset, w[1].base_offset);
        assert_eq!(w[0].base_ordinal + w[0].batch_count, w[1].base_ordinal);
        assert!(w[0].sealed && w[0].batch_count > 0);
    }
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Some(Log::open(dir.path(), config()).unwrap());
    let mut m = Model::default();
    let mut now = 0i64;
    for op in ops {
        now += 100;
        let l = log.as_mut().unwrap();
        match op {
            Op::Append {
                records,
                payload,
                ts,
            } => {
                let mut b = make_batch(records, payload, ts);
                let info = l.append(&mut b, 1, now).unwrap();
                assert_eq!(info.base_offset, m.log_end);
                assert_eq!(info.ordinal, m.next_ordinal);
                m.batches.push(MBatch {
                    base: info.base_offset,
                    last: info.last_offset,
                    ordinal: info.ordinal,
                    ts,
                    bytes: Bytes::from(b),
                });
                m.log_end = info.last_offset + 1;
                m.next_ordinal += 1;
            }
            Op::Read { pick, max_bytes } => {
                let offset = (m.log_start + pick % (m.log_end - m.log_start + 3)).saturating_sub(1);
                match l.read(offset, max_bytes) {
                    Ok(r) => {
                        assert!(offset >= m.log_start && offset <= m.log_end);
                        assert_eq!(
                            (r.log_start_offset, r.log_end_offset),
                            (m.log_start, m.log_end)
                        );
                        let i = m.batches.partition_point(|b| b.last < offset);
                        let mut expected = Vec::new();
                        let mut next = offset;
                        for b in &m.batches[i..] {
                            if expected.len() >= r.bytes.len() {
                                break;
                            }
                            expected.extend_from_slice(&b.bytes);
                            next = b.last + 1;
                        }
                        assert_eq!(&r.bytes[..], &expected[..]);
                        assert_eq!(r.next_offset, next);
                        if offset < m.log_end {
                            assert!(!r.bytes.is_empty());
                            assert!(r.bytes.len() <= max_bytes.max(m.batches[i].bytes.len()));
                        }
                    }
                    Err(LogError::OffsetOutOfRange {
                        requested,
                        log_start,
                        log_end,
                    }) => {
                        assert_eq!(
                            (requested, log_start, log_end),
                            (offset, m.log_start, m.log_end)
                        );
                        assert!(offset < m.log_start || offset > m.log_end);
                    }
                    Err(e) => panic!("read {offset}: {e}"),
                }
            }
            Op::ReadEntry { pick } => {
                let ordinal = m.first_ordinal() + pick % (m.batches.len() as u64 + 1);
                match m.batches.get((ordinal - m.first_ordinal()) as usize) {
                    Some(b) => assert_eq!(l.read_entry(ordinal).unwrap(), b.bytes),
                    None => assert!(matches!(
                        l.read_entry(ordinal),
                        Err(LogError::OrdinalOutOfRange { .. })
                    )),
                }
            }
            Op::ForTimestamp { ts } => {
                let expected = m
                    .batches
                    .iter()
                    .find(|b| b.ts >= ts)
                    .map(|b| (b.base.max(m.log_start), b.ts));
                assert_eq!(l.offset_for_timestamp(ts).unwrap(), expected);
            }
            Op::RollIfDue => {
                let before = l.segments();
                let rolled = l.roll_if_due(now + 10_000).unwrap();
                let active = before.last().unwrap();
                assert_eq!(rolled, active.batch_count > 0, "{active:?}");
                assert_eq!(l.segments().len(), before.len() + usize::from(rolled));
            }
            Op::RetainBytes { bytes } => {
                let mut c = config();
                c.retention_bytes = Some(bytes);
                l.set_config(c);
                let before = l.segments();
                let out = l.apply_retention(now).unwrap();
                l.set_config(config());
                let after = l.segments();
                assert_eq!(before.len() - after.len(), out.deleted.len());
                assert_eq!(&before[..out.deleted.len()], &out.deleted[..]);
                let total = l.size_bytes();
                let below_start = before[..before.len() - 1]
                    .iter()
                    .take_while(|s| s.next_offset <= m.log_start)
                    .count();
                if out.deleted.len() > below_start {
                    assert!(
                        total >= bytes as u64,
                        "deleted by size only down to retention.bytes"
                    );
                }
                if after.len() > 1 {
                    assert!(
                        total - after[0].size_bytes < bytes as u64
                            || after[0].next_offset > m.log_start
                    );
                }
                m.log_start = m.log_start.max(after[0].base_offset);
                assert_eq!(out.log_start_offset, m.log_start);
                m.drop_below_start();
            }
            Op::DeleteRecords { pick } => {
                let offset = m.log_start + pick % (m.log_end - m.log_start + 2);
                match l.delete_records_before(offset) {
                    Ok(start) => {
                        assert!(offset <= m.log_end);
                        m.log_start = m.log_start.max(offset);
                        assert_eq!(start, m.log_start);
                        m.drop_below_start();
                    }
                    Err(LogError::OffsetOutOfRange { .. }) => assert!(offset > m.log_end),
                    Err(e) => panic!("delete_records_before {offset}: {e}"),
                }
            }
            Op::TruncateAfter { pick, mid } => {
                if m.batches.is_empty() {
                    continue;
                }
                let k = pick % m.batches.len();
                let b = m.batches[k].clone();
                if mid {
                    if b.last > b.base {
                        assert!(matches!(
                            l.truncate_after(b.base),
                            Err(LogError::TruncateMidBatch { .. })
                        ));
                    }
                    continue;
                }
                // Keep batches before k.
                match b.base.checked_sub(1) {
                    Some(offset) => l.truncate_after(offset).unwrap(),
                    None => l.truncate_from_ordinal(b.ordinal).unwrap(),
                }
                m.truncate_to_ordinal(k);
                m.log_end = b.base;
                m.next_ordinal = b.ordinal;
                m.log_start = m.log_start.min(b.base);
            }
            Op::TruncateAfterOrdinal { pick } => {
                if m.batches.is_empty() {
                    continue;
                }
                let k = (pick % m.batches.len() as u64) as usize;
                let b = m.batches[k].clone();
                l.truncate_after_ordinal(b.ordinal).unwrap();
                m.truncate_to_ordinal(k + 1);
                m.log_end = b.last + 1;
                m.next_ordinal = b.ordinal + 1;
            }
            Op::CloseReopen => {
                log.take().unwrap().close().unwrap();
                log = Some(Log::open(dir.path(), config()).unwrap());
            }
            Op::DropReopen => {
                drop(log.take());
                log = Some(Log::open(dir.path(), config()).unwrap());
            }
        }
        check(log.as_ref().unwrap(), &m);
    }
    let l = log.take().unwrap();
    let all: Vec<Bytes> = m.batches.iter().map(|b| b.bytes.clone()).collect();
    assert_eq!(super::tests_log::read_all(&l), all);
    l.close().unwrap();
    let l = Log::open(dir.path(), config()).unwrap();
    check(&l, &m);
    assert_eq!(super::tests_log::read_all(&l), all);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn log_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
