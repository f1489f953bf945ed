//! Rates and sparklines: the dashboard derives throughput from successive
//! polls (deltas of high watermarks and of sizes over the poll clock), and
//! keeps a short ring of samples per series for the sparklines.

use std::collections::{HashMap, VecDeque};

use crate::model::{ClusterSnapshot, GroupsData};

/// Samples kept per series (one per poll).
pub const SAMPLES: usize = 120;

/// A bounded series of samples, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    samples: VecDeque<u64>,
}

impl Series {
    /// Appends a sample, dropping the oldest past [`SAMPLES`].
    pub fn push(&mut self, v: u64) {
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(v);
    }

    /// The newest `n` samples, oldest first.
    pub fn last(&self, n: usize) -> Vec<u64> {
        let skip = self.samples.len().saturating_sub(n);
        self.samples.iter().skip(skip).copied().collect()
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<u64> {
        self.samples.back().copied()
    }
}

/// Rates of one series at the latest poll.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rate {
    /// Records per second.
    pub records: f64,
    /// Bytes per second (None: sizes unknown).
    pub bytes: Option<f64>,
}

/// Rates and samples derived from the polls so far.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Per partition `(topic, partition)`.
    pub partitions: HashMap<(String, i32), (Rate, Series)>,
    /// Per topic.
    pub topics: HashMap<String, (Rate, Series)>,
    /// Cluster-wide produce rate (records/s samples).
    pub produce: (Rate, Series),
    /// Cluster-wide produce bytes/s samples (metrics endpoint, else sizes).
    pub produce_bytes: Series,
    /// Cluster-wide fetch bytes/s (metrics endpoint only).
    pub fetch_bytes: Option<f64>,
    /// Fetch bytes/s samples.
    pub fetch_series: Series,
    /// Total lag samples per group.
    pub group_lag: HashMap<String, Series>,
}

fn per_sec(delta: i64, dt_ms: u64) -> f64 {
    if dt_ms == 0 {
        return 0.0;
    }
    delta.max(0) as f64 * 1000.0 / dt_ms as f64
}

impl History {
    /// Folds in a new snapshot, given the previous one.
    pub fn observe(&mut self, prev: Option<&ClusterSnapshot>, next: &ClusterSnapshot) {
        let Some(prev) = prev else { return };
        let dt = next.at_ms.saturating_sub(prev.at_ms);
        if dt == 0 {
            return;
        }
        // (high watermark, size) at the previous poll.
        type Before = (Option<i64>, Option<u64>);
        let mut old: HashMap<(&str, i32), Before> = HashMap::new();
        for t in &prev.topics {
            for p in &t.partitions {
                old.insert((&t.name, p.partition), (p.high_watermark, p.size));
            }
        }
        let mut total = Rate {
            records: 0.0,
            bytes: None,
        };
        let mut live = std::collections::HashSet::new();
        for t in &next.topics {
            let mut topic_rate = Rate::default();
            for p in &t.partitions {
                let key = (t.name.clone(), p.partition);
                let (old_hw, old_size) = old
                    .get(&(t.name.as_str(), p.partition))
                    .copied()
                    .unwrap_or((None, None));
                let records = match (old_hw, p.high_watermark) {
                    (Some(a), Some(b)) => per_sec(b - a, dt),
                    _ => 0.0,
                };
                let bytes = match (old_size, p.size) {
                    (Some(a), Some(b)) => Some(per_sec(b as i64 - a as i64, dt)),
                    _ => None,
                };
                let rate = Rate { records, bytes };
                let entry = self.partitions.entry(key.clone()).or_default();
                entry.0 = rate;
                entry.1.push(records.round() as u64);
                live.insert(key);
                topic_rate.records += records;
                if let Some(b) = bytes {
                    *topic_rate.bytes.get_or_insert(0.0) += b;
                }
            }
            let entry = self.topics.entry(t.name.clone()).or_default();
            entry.0 = topic_rate;
            entry.1.push(topic_rate.records.round() as u64);
            total.records += topic_rate.records;
            if let Some(b) = topic_rate.bytes {
                *total.bytes.get_or_insert(0.0) += b;
            }
        }
        self.partitions.retain(|k, _| live.contains(k));
        self.topics
            .retain(|name, _| next.topics.iter().any(|t| &t.name == name));
        if let (Some(a), Some(b)) = (prev.metrics, next.metrics) {
            total.bytes = Some(per_sec(b.produce_bytes as i64 - a.produce_bytes as i64, dt));
            let fetch = per_sec(b.fetch_bytes as i64 - a.fetch_bytes as i64, dt);
            self.fetch_bytes = Some(fetch);
            self.fetch_series.push(fetch.round() as u64);
        }
        self.produce.0 = total;
        self.produce.1.push(total.records.round() as u64);
        self.produce_bytes
            .push(total.bytes.unwrap_or(0.0).round() as u64);
    }

    /// Folds in a groups poll (total lag per group).
    pub fn observe_groups(&mut self, data: &GroupsData) {
        let GroupsData::Groups(groups) = data else {
            return;
        };
        for g in groups {
            let lag = g.total_lag().unwrap_or(0).max(0) as u64;
            self.group_lag
                .entry(g.group_id.clone())
                .or_default()
                .push(lag);
        }
        self.group_lag
            .retain(|id, _| groups.iter().any(|g| &g.group_id == id));
    }

    /// The rate and samples of a partition.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&(Rate, Series)> {
        self.partitions.get(&(topic.to_owned(), partition))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PartitionRow, TopicRow};

    fn snap(at_ms: u64, hw: i64, size: u64) -> ClusterSnapshot {
        ClusterSnapshot {
            at_ms,
            topics: vec![TopicRow {
                name: "t".into(),
                internal: false,
                partitions: vec![PartitionRow {
                    partition: 0,
                    high_watermark: Some(hw),
                    log_start: Some(0),
                    size: Some(size),
                    ..Default::default()
                }],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn rates_are_deltas_over_the_poll_clock() {
        let mut h = History::default();
        let a = snap(1000, 100, 1000);
        let b = snap(3000, 300, 5000);
        h.observe(None, &a);
        h.observe(Some(&a), &b);
        let (rate, series) = h.partition("t", 0).expect("partition tracked");
        assert_eq!(rate.records, 100.0);
        assert_eq!(rate.bytes, Some(2000.0));
        assert_eq!(series.last(10), vec![100]);
        assert_eq!(h.produce.0.records, 100.0);
        assert_eq!(h.topics["t"].0.bytes, Some(2000.0));
    }

    #[test]
    fn a_shrinking_log_is_not_a_negative_rate() {
        let mut h = History::default();
        let a = snap(0, 300, 5000);
        let b = snap(1000, 100, 100);
        h.observe(Some(&a), &b);
        assert_eq!(h.produce.0.records, 0.0);
    }

    #[test]
    fn series_keep_the_newest_samples() {
        let mut s = Series::default();
        for i in 0..(SAMPLES as u64 + 5) {
            s.push(i);
        }
        assert_eq!(s.last(2), vec![SAMPLES as u64 + 3, SAMPLES as u64 + 4]);
        assert_eq!(s.last(1000).len(), SAMPLES);
    }
}
