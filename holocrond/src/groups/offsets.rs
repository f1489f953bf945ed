//! Committed offsets: the cached form, the rule that keeps the cache in log
//! order when writes commit out of order, and expiry (KIP-211).
//!
//! A commit is cached only after its record is committed in the offsets
//! partition, and only if no later record (commit or tombstone) for the same
//! partition got there first; the record's log offset decides.

use std::collections::{BTreeMap, HashMap};

use super::codec::OffsetValue;
use super::group::{Group, GroupState};

/// A committed offset in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The next offset to consume.
    pub offset: i64,
    /// Leader epoch, -1 if unknown.
    pub leader_epoch: i32,
    /// Client metadata.
    pub metadata: String,
    /// Commit time (ms since the epoch).
    pub commit_timestamp: i64,
    /// Explicit expiry from OffsetCommit v2–v4.
    pub expire_timestamp: Option<i64>,
    /// Where the record sits in the offsets partition.
    pub record_offset: u64,
}

impl Committed {
    /// From a stored value at log offset `at`.
    pub fn from_value(v: OffsetValue, at: u64) -> Committed {
        Committed {
            offset: v.offset,
            leader_epoch: v.leader_epoch,
            metadata: v.metadata,
            commit_timestamp: v.commit_timestamp,
            expire_timestamp: v.expire_timestamp,
            record_offset: at,
        }
    }

    /// The stored value.
    pub fn to_value(&self) -> OffsetValue {
        OffsetValue {
            offset: self.offset,
            leader_epoch: self.leader_epoch,
            metadata: self.metadata.clone(),
            commit_timestamp: self.commit_timestamp,
            expire_timestamp: self.expire_timestamp,
        }
    }
}

/// The offsets side of a group: tombstones of writes in flight.
#[derive(Debug, Default)]
pub struct OffsetWrites {
    /// Commits appended but not yet committed.
    pub in_flight: usize,
    /// Log offset of the latest tombstone per partition, while commits are in flight.
    pub tombstones: HashMap<(String, i32), u64>,
}

impl OffsetWrites {
    /// Applies a committed commit record unless a later record already won.
    pub fn apply(
        &self,
        offsets: &mut BTreeMap<(String, i32), Committed>,
        key: (String, i32),
        c: Committed,
    ) {
        if self
            .tombstones
            .get(&key)
            .is_some_and(|t| *t > c.record_offset)
        {
            return;
        }
        match offsets.get(&key) {
            Some(old) if old.record_offset > c.record_offset => {}
            _ => {
                offsets.insert(key, c);
            }
        }
    }

    /// Removes offsets now; in-flight commits older than `at` will not bring them back.
    pub fn delete(
        &mut self,
        offsets: &mut BTreeMap<(String, i32), Committed>,
        key: &(String, i32),
        at: u64,
    ) {
        offsets.remove(key);
        if self.in_flight > 0 {
            self.tombstones.insert(key.clone(), at);
        }
    }

    /// A commit finished (either way).
    pub fn finished(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0 {
            self.tombstones.clear();
        }
    }
}

/// The offsets of a group that have expired at `now_ms` (KIP-211):
/// - a group with a protocol type: only while Empty, `retention_ms` after it
///   became Empty;
/// - a group that only commits (no protocol type): `retention_ms` after each commit;
/// - an offset committed with an explicit retention (OffsetCommit v2–v4):
///   at its expire timestamp, under the same conditions.
pub fn expired(group: &Group, now_ms: i64, retention_ms: i64) -> Vec<(String, i32)> {
    let base: Box<dyn Fn(&Committed) -> i64> = match (&group.protocol_type, group.state) {
        (Some(_), GroupState::Empty) => {
            let since = group.state_since_ms;
            Box::new(move |_| since)
        }
        (None, _) => Box::new(|c: &Committed| c.commit_timestamp),
        _ => return Vec::new(),
    };
    group
        .offsets
        .iter()
        .filter(|(_, c)| match c.expire_timestamp {
            Some(at) => now_ms >= at,
            None => now_ms.saturating_sub(base(c)) >= retention_ms,
        })
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn committed(offset: i64, at: u64, ts: i64) -> Committed {
        Committed {
            offset,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: ts,
            expire_timestamp: None,
            record_offset: at,
        }
    }

    #[test]
    fn later_records_win_whatever_order_they_commit_in() {
        let mut w = OffsetWrites {
            in_flight: 2,
            ..OffsetWrites::default()
        };
        let mut offsets = BTreeMap::new();
        let key = ("t".to_owned(), 0);
        w.apply(&mut offsets, key.clone(), committed(20, 11, 0));
        w.apply(&mut offsets, key.clone(), committed(10, 10, 0));
        assert_eq!(offsets[&key].offset, 20);
        w.delete(&mut offsets, &key, 12);
        w.apply(&mut offsets, key.clone(), committed(5, 9, 0));
        assert!(offsets.is_empty());
        w.finished();
        w.finished();
        assert!(w.tombstones.is_empty());
    }

    #[test]
    fn offsets_expire_as_kip_211_says() {
        let day = 86_400_000;
        let mut simple = Group::new("s", Duration::ZERO, 0);
        simple
            .offsets
            .insert(("t".into(), 0), committed(1, 0, 1_000));
        simple
            .offsets
            .insert(("t".into(), 1), committed(1, 1, 5 * day));
        assert_eq!(expired(&simple, 2 * day, day), vec![("t".to_owned(), 0)]);

        let mut consumer = Group::new("c", Duration::ZERO, 0);
        consumer.protocol_type = Some("consumer".into());
        consumer.state_since_ms = 3 * day;
        consumer
            .offsets
            .insert(("t".into(), 0), committed(1, 0, 1_000));
        assert!(expired(&consumer, 3 * day + 10, day).is_empty());
        assert_eq!(expired(&consumer, 4 * day, day).len(), 1);
        consumer.state = GroupState::Stable;
        assert!(expired(&consumer, 40 * day, day).is_empty());
    }
}
