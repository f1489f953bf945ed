//! Property test: random interleavings of appends (data and internal
//! entries), reads by offset and by ordinal, rolls, retention, purging,
//! DeleteRecords, truncation by offset and by ordinal, resets and
//! clean/unclean reopen, checked against a simple in-memory model of the
//! log.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use proptest::prelude::*;

use super::batch::{self, testing::make_batch};
use super::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        records: u32,
        payload: usize,
        ts: i64,
    },
    AppendInternal {
        len: usize,
        term: i32,
    },
    Read {
        pick: u64,
        max_bytes: usize,
    },
    ReadEntry {
        pick: u64,
    },
    ReadEntries {
        pick: u64,
        max_entries: usize,
        max_bytes: usize,
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
    TruncateFromOrdinal {
        pick: u64,
    },
    Purge {
        pick: u64,
    },
    Reset {
        pick: u64,
    },
    CloseReopen,
    DropReopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (1u32..4, 0usize..300, 0i64..1000)
            .prop_map(|(records, payload, ts)| Op::Append { records, payload, ts }),
        4 => (0usize..120, 0i32..5).prop_map(|(len, term)| Op::AppendInternal { len, term }),
        4 => (any::<u64>(), 0usize..1200).prop_map(|(pick, max_bytes)| Op::Read { pick, max_bytes }),
        2 => any::<u64>().prop_map(|pick| Op::ReadEntry { pick }),
        2 => (any::<u64>(), 0usize..6, 0usize..800)
            .prop_map(|(pick, max_entries, max_bytes)| Op::ReadEntries { pick, max_entries, max_bytes }),
        2 => (0i64..1100).prop_map(|ts| Op::ForTimestamp { ts }),
        1 => Just(Op::RollIfDue),
        1 => (0i64..3000).prop_map(|bytes| Op::RetainBytes { bytes }),
        1 => any::<u64>().prop_map(|pick| Op::DeleteRecords { pick }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, mid)| Op::TruncateAfter { pick, mid }),
        1 => any::<u64>().prop_map(|pick| Op::TruncateAfterOrdinal { pick }),
        1 => any::<u64>().prop_map(|pick| Op::TruncateFromOrdinal { pick }),
        1 => any::<u64>().prop_map(|pick| Op::Purge { pick }),
        1 => any::<u64>().prop_map(|pick| Op::Reset { pick }),
        1 => Just(Op::CloseReopen),
        1 => Just(Op::DropReopen),
    ]
}

/// One stored entry: a data batch, or an internal entry (`records` 0).
#[derive(Debug, Clone)]
struct MEntry {
    base: u64,
    records: u32,
    ordinal: u64,
    ts: i64,
    bytes: Bytes,
    /// `(payload, term)` of an internal entry.
    internal: Option<(Vec<u8>, i32)>,
}

impl MEntry {
    fn next(&self) -> u64 {
        self.base + u64::from(self.records)
    }
    fn is_data(&self) -> bool {
        self.internal.is_none()
    }
}

/// The model: the readable entries, from the first ordinal on.
#[derive(Debug, Default)]
struct Model {
    entries: Vec<MEntry>,
    log_start: u64,
    log_end: u64,
    next_ordinal: u64,
}

impl Model {
    fn first_ordinal(&self) -> u64 {
        self.entries
            .first()
            .map_or(self.next_ordinal, |e| e.ordinal)
    }
    fn data(&self) -> Vec<&MEntry> {
        self.entries.iter().filter(|e| e.is_data()).collect()
    }
    /// A log start moved by offset: entries wholly below it go, and so do
    /// internal entries at it (they precede the data batch holding it).
    fn move_start_to(&mut self, offset: u64) {
        if offset > self.log_start {
            self.log_start = offset;
            self.entries.retain(|e| e.next() > offset);
        }
    }
    /// Whole segments went: the log start moves to the first remaining one.
    fn drop_segments_before(&mut self, first: &SegmentInfo) {
        self.log_start = self.log_start.max(first.base_offset);
        self.entries.retain(|e| e.ordinal >= first.base_ordinal);
    }
    /// Keeps the entries before `k`; the first removed one is `cut`.
    fn truncate(&mut self, k: usize, cut: &MEntry) {
        self.entries.truncate(k);
        self.log_end = cut.base;
        self.next_ordinal = cut.ordinal;
        self.log_start = self.log_start.min(cut.base);
    }
    fn pick(&self, pick: u64) -> Option<(usize, MEntry)> {
        let k = (pick % self.entries.len().max(1) as u64) as usize;
        self.entries.get(k).map(|e| (k, e.clone()))
    }
}

/// The entry read back is the one appended, and `classify` agrees.
fn check_entry(stored: &Bytes, e: &MEntry) {
    assert_eq!(stored, &e.bytes);
    match (classify(stored).unwrap(), &e.internal) {
        (
            StoredEntry::Internal {
                base_offset,
                leader_epoch,
                payload,
            },
            Some((p, t)),
        ) => assert_eq!((base_offset, leader_epoch, payload), (e.base, *t, &p[..])),
        (
            StoredEntry::Data {
                base_offset,
                record_count,
                ..
            },
            None,
        ) => assert_eq!((base_offset, record_count), (e.base, e.records)),
        (got, _) => panic!("entry {} classified as {got:?}", e.ordinal),
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
        assert!(w[0].sealed && w[0].next_offset > w[0].base_offset, "{w:?}");
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
                m.entries.push(MEntry {
                    base: info.base_offset,
                    records,
                    ordinal: info.ordinal,
                    ts,
                    bytes: Bytes::from(b),
                    internal: None,
                });
                m.log_end = info.last_offset + 1;
                m.next_ordinal += 1;
            }
            Op::AppendInternal { len, term } => {
                let payload: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5a).collect();
                let info = l.append_internal(&payload, term, now).unwrap();
                assert_eq!((info.base_offset, info.record_count), (m.log_end, 0));
                assert_eq!(info.ordinal, m.next_ordinal);
                let bytes = batch::encode_internal(&payload, m.log_end, term, now);
                m.entries.push(MEntry {
                    base: m.log_end,
                    records: 0,
                    ordinal: info.ordinal,
                    ts: -1,
                    bytes: Bytes::from(bytes),
                    internal: Some((payload, term)),
                });
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
                        let data = m.data();
                        let i = data.partition_point(|b| b.next() <= offset);
                        let mut expected = Vec::new();
                        let mut next = offset;
                        for b in &data[i..] {
                            if expected.len() >= r.bytes.len() {
                                break;
                            }
                            expected.extend_from_slice(&b.bytes);
                            next = b.next();
                        }
                        assert_eq!(&r.bytes[..], &expected[..]);
                        assert_eq!(r.next_offset, next);
                        if offset < m.log_end {
                            assert!(!r.bytes.is_empty());
                            assert!(r.bytes.len() <= max_bytes.max(data[i].bytes.len()));
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
                let ordinal = m.first_ordinal() + pick % (m.entries.len() as u64 + 1);
                match m.entries.get((ordinal - m.first_ordinal()) as usize) {
                    Some(e) => check_entry(&l.read_entry(ordinal).unwrap(), e),
                    None => assert!(matches!(
                        l.read_entry(ordinal),
                        Err(LogError::OrdinalOutOfRange { .. })
                    )),
                }
            }
            Op::ReadEntries {
                pick,
                max_entries,
                max_bytes,
            } => {
                let k = pick % (m.entries.len() as u64 + 2);
                let from = m.first_ordinal() + k;
                match l.read_entries(from, max_entries, max_bytes) {
                    Ok(got) if (k as usize) < m.entries.len() => {
                        assert!(!got.is_empty() && got.len() <= max_entries.max(1));
                        if got.len() > 1 {
                            assert!(got.iter().map(Bytes::len).sum::<usize>() <= max_bytes);
                        }
                        for (g, e) in got.iter().zip(&m.entries[k as usize..]) {
                            check_entry(g, e);
                        }
                    }
                    Ok(got) => {
                        assert_eq!(from, m.next_ordinal);
                        assert!(got.is_empty());
                    }
                    Err(LogError::OrdinalOutOfRange { .. }) => assert!(from > m.next_ordinal),
                    Err(e) => panic!("read_entries {from}: {e}"),
                }
            }
            Op::ForTimestamp { ts } => {
                let expected = m
                    .data()
                    .into_iter()
                    .find(|b| b.ts >= ts)
                    .map(|b| (b.base.max(m.log_start), b.ts));
                assert_eq!(l.offset_for_timestamp(ts).unwrap(), expected);
            }
            Op::RollIfDue => {
                let before = l.segments();
                let rolled = l.roll_if_due(now + 10_000).unwrap();
                let active = before.last().unwrap();
                assert_eq!(
                    rolled,
                    active.next_offset > active.base_offset,
                    "{active:?}"
                );
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
                // Segments below the start: all their entries are before
                // the first readable one.
                let first = m.first_ordinal();
                let below_start = before[..before.len() - 1]
                    .iter()
                    .take_while(|s| s.base_ordinal + s.batch_count <= first)
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
                            || after[0].base_ordinal + after[0].batch_count > first
                    );
                }
                m.drop_segments_before(&after[0]);
                assert_eq!(out.log_start_offset, m.log_start);
            }
            Op::Purge { pick } => {
                let upto =
                    m.first_ordinal().saturating_sub(1) + pick % (m.entries.len() as u64 + 2);
                let before = l.segments();
                let out = l.purge_through_ordinal(upto).unwrap();
                let after = l.segments();
                assert_eq!(&before[..out.deleted.len()], &out.deleted[..]);
                assert!(out
                    .deleted
                    .iter()
                    .all(|s| s.base_ordinal + s.batch_count <= upto + 1));
                let first = &after[0];
                assert!(
                    !first.sealed || first.base_ordinal + first.batch_count > upto + 1,
                    "stopped early: {first:?}"
                );
                m.drop_segments_before(first);
                assert_eq!(out.log_start_offset, m.log_start);
            }
            Op::DeleteRecords { pick } => {
                let offset = m.log_start + pick % (m.log_end - m.log_start + 2);
                match l.delete_records_before(offset) {
                    Ok(start) => {
                        assert!(offset <= m.log_end);
                        m.move_start_to(offset);
                        assert_eq!(start, m.log_start);
                    }
                    Err(LogError::OffsetOutOfRange { .. }) => assert!(offset > m.log_end),
                    Err(e) => panic!("delete_records_before {offset}: {e}"),
                }
            }
            Op::TruncateAfter { pick, mid } => {
                let data = m.data();
                if data.is_empty() {
                    continue;
                }
                let b = data[pick % data.len()].clone();
                if mid {
                    if b.records > 1 {
                        assert!(matches!(
                            l.truncate_after(b.base),
                            Err(LogError::TruncateMidBatch { .. })
                        ));
                    }
                    continue;
                }
                // Keep the entries before b (internal ones right before it
                // too).
                match b.base.checked_sub(1) {
                    Some(offset) => l.truncate_after(offset).unwrap(),
                    None => l.truncate_from_ordinal(b.ordinal).unwrap(),
                }
                let k = (b.ordinal - m.first_ordinal()) as usize;
                m.truncate(k, &b);
            }
            Op::TruncateAfterOrdinal { pick } => {
                let Some((k, e)) = m.pick(pick) else { continue };
                l.truncate_after_ordinal(e.ordinal).unwrap();
                if let Some(cut) = m.entries.get(k + 1).cloned() {
                    m.truncate(k + 1, &cut);
                }
                assert_eq!(l.log_end_offset(), e.next());
            }
            Op::TruncateFromOrdinal { pick } => {
                let Some((k, e)) = m.pick(pick) else { continue };
                l.truncate_from_ordinal(e.ordinal).unwrap();
                m.truncate(k, &e);
            }
            Op::Reset { pick } => {
                let first = pick % (m.next_ordinal + 10);
                let start = (pick >> 16) % (m.log_end + 10);
                l.reset(first, start, now).unwrap();
                m = Model {
                    entries: Vec::new(),
                    log_start: start,
                    log_end: start,
                    next_ordinal: first,
                };
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
    let data: Vec<Bytes> = m.data().iter().map(|b| b.bytes.clone()).collect();
    assert_eq!(super::tests_log::read_all(&l), data);
    l.close().unwrap();
    let l = Log::open(dir.path(), config()).unwrap();
    check(&l, &m);
    assert_eq!(super::tests_log::read_all(&l), data);
    for e in &m.entries {
        check_entry(&l.read_entry(e.ordinal).unwrap(), e);
    }
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
