//! The expected contents of a log with internal entries, and a check of
//! everything the log answers against them: entries by ordinal (bytes and
//! [`classify`]), runs of entries, reads by offset from every offset, the
//! offsets and ordinals. Shared by the tests of internal entries, the
//! Raft-store operations and damage.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;

use super::batch::{self, testing::make_batch};
use super::tests_log::read_all;
use super::*;

/// One entry the test wrote, as it must be stored.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub ordinal: u64,
    pub base: u64,
    pub records: u32,
    pub bytes: Bytes,
    /// `(payload, term)` of an internal entry.
    pub internal: Option<(Vec<u8>, i32)>,
}

/// What a log must hold: every entry appended through it, in order.
#[derive(Debug, Default)]
pub(crate) struct Expected {
    pub entries: Vec<Entry>,
}

impl Expected {
    /// Appends a data batch of `records` records and `payload` filler bytes.
    pub(crate) fn data(
        &mut self,
        log: &mut Log,
        records: u32,
        payload: usize,
        ts: i64,
    ) -> AppendInfo {
        let mut b = make_batch(records, payload, ts);
        let info = log.append(&mut b, 3, ts).unwrap();
        assert_eq!(info.record_count, records);
        self.push(info, Bytes::from(b), None);
        info
    }

    /// Appends an internal entry with `len` payload bytes.
    pub(crate) fn internal(&mut self, log: &mut Log, len: usize, term: i32) -> AppendInfo {
        let payload: Vec<u8> = (0..len).map(|i| (i as u8) ^ (term as u8)).collect();
        let now = 5000 + self.entries.len() as i64;
        let end = log.log_end_offset();
        let info = log.append_internal(&payload, term, now).unwrap();
        assert_eq!(
            log.log_end_offset(),
            end,
            "an internal entry takes no offset"
        );
        assert_eq!(
            (info.base_offset, info.last_offset, info.record_count),
            (end, end, 0)
        );
        assert_eq!((info.max_timestamp, info.next_offset()), (-1, end));
        assert_eq!(info.bytes, batch::HEADER_LEN + len);
        let bytes = batch::encode_internal(&payload, end, term, now);
        self.push(info, Bytes::from(bytes), Some((payload, term)));
        info
    }

    fn push(&mut self, info: AppendInfo, bytes: Bytes, internal: Option<(Vec<u8>, i32)>) {
        if let Some(prev) = self.entries.last() {
            assert_eq!(info.ordinal, prev.ordinal + 1, "ordinals count every entry");
            assert_eq!(info.base_offset, prev.base + u64::from(prev.records));
        }
        self.entries.push(Entry {
            ordinal: info.ordinal,
            base: info.base_offset,
            records: info.record_count,
            bytes,
            internal,
        });
    }

    /// Keeps the entries before ordinal `ordinal`.
    pub(crate) fn truncate_from(&mut self, ordinal: u64) {
        self.entries.retain(|e| e.ordinal < ordinal);
    }

    /// The data batches from the log start on.
    pub(crate) fn data_batches(&self, log_start: u64) -> Vec<Bytes> {
        self.entries
            .iter()
            .filter(|e| e.internal.is_none() && e.base + u64::from(e.records) > log_start)
            .map(|e| e.bytes.clone())
            .collect()
    }

    /// Checks everything the log answers against the expected entries
    /// from `log.first_ordinal()` on.
    pub(crate) fn check(&self, log: &Log) {
        let first = log.first_ordinal();
        let kept: Vec<&Entry> = self.entries.iter().filter(|e| e.ordinal >= first).collect();
        let next = self.entries.last().map_or(first, |e| e.ordinal + 1);
        assert_eq!(log.next_ordinal(), next);
        if let Some(last) = self.entries.last() {
            assert_eq!(log.log_end_offset(), last.base + u64::from(last.records));
        }
        for e in &kept {
            let stored = log.read_entry(e.ordinal).unwrap();
            assert_eq!(stored, e.bytes, "entry {}", e.ordinal);
            match (classify(&stored).unwrap(), &e.internal) {
                (
                    StoredEntry::Internal {
                        base_offset,
                        leader_epoch,
                        payload,
                    },
                    Some((p, t)),
                ) => {
                    assert_eq!((base_offset, leader_epoch, payload), (e.base, *t, &p[..]));
                }
                (
                    StoredEntry::Data {
                        base_offset,
                        last_offset,
                        record_count,
                        leader_epoch,
                    },
                    None,
                ) => {
                    assert_eq!(
                        (base_offset, last_offset + 1, record_count, leader_epoch),
                        (e.base, e.base + u64::from(e.records), e.records, 3)
                    );
                }
                (got, _) => panic!("entry {} classified as {got:?}", e.ordinal),
            }
        }
        let mut run = vec![];
        let mut from = first;
        while from < log.next_ordinal() {
            let got = log.read_entries(from, 3, 450).unwrap();
            assert!(!got.is_empty() && got.len() <= 3);
            from += got.len() as u64;
            run.extend(got);
        }
        assert_eq!(
            run,
            kept.iter().map(|e| e.bytes.clone()).collect::<Vec<_>>()
        );
        let start = log.log_start_offset();
        let data = self.data_batches(start);
        assert_eq!(read_all(log), data);
        let holding: Vec<&Entry> = kept
            .iter()
            .copied()
            .filter(|e| e.internal.is_none())
            .collect();
        for offset in start..log.log_end_offset() {
            let i = holding
                .iter()
                .position(|e| e.base + u64::from(e.records) > offset)
                .unwrap();
            let r = log.read(offset, 0).unwrap();
            assert_eq!(r.bytes, holding[i].bytes, "read({offset})");
            assert_eq!(
                r.next_offset,
                holding[i].base + u64::from(holding[i].records)
            );
            let r = log.read(offset, 1 << 20).unwrap();
            let after: Vec<u8> = holding[i..].iter().flat_map(|e| e.bytes.to_vec()).collect();
            assert!(
                after.starts_with(&r.bytes),
                "read({offset}) returned data only"
            );
            let n = (i..holding.len())
                .take_while(|k| {
                    holding[i..=*k].iter().map(|e| e.bytes.len()).sum::<usize>() <= r.bytes.len()
                })
                .count();
            assert_eq!(
                r.next_offset,
                holding[i + n - 1].base + u64::from(holding[i + n - 1].records)
            );
        }
        assert!(log
            .read(log.log_end_offset(), 1 << 20)
            .unwrap()
            .bytes
            .is_empty());
    }
}

/// A log of 200-byte data batches and 81-byte internal entries, several
/// segments of 1000 bytes, with internal entries first in the log, at
/// segment starts, in runs, and last.
pub(crate) fn mixed(log: &mut Log) -> Expected {
    let mut x = Expected::default();
    x.internal(log, 20, 1);
    x.internal(log, 20, 1);
    for i in 0..14u32 {
        x.data(log, 1 + i % 3, 139, 1000 + i64::from(i));
        match i % 5 {
            1 => {
                x.internal(log, 20, 2 + i as i32);
            }
            3 => {
                x.internal(log, 20, 2 + i as i32);
                x.internal(log, 0, 2 + i as i32);
            }
            _ => {}
        }
    }
    x.internal(log, 20, 30);
    x
}
