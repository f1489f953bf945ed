//! Reading what the Python scripts write: the producer's acknowledgement log
//! (`produce.py --acks-file`) and a topic dump (`dump.py --out`), plus the
//! checks the restart and crash tests make on them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::Path;

use serde_json::Value;

/// One acknowledged record: the broker answered acks=all with this
/// partition and offset for this value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ack {
    /// The partition the record went to.
    pub partition: i32,
    /// The offset the broker assigned.
    pub offset: i64,
    /// The record's value (`<run>:<number>`).
    pub value: String,
}

/// One record as read back from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key bytes, `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// Value bytes, `None` for a null value.
    pub value: Option<Vec<u8>>,
    /// The whole JSON line, for exact comparisons (timestamps, headers).
    pub raw: String,
}

impl Stored {
    /// The value as UTF-8 (lossy); empty for a null value.
    pub fn value_str(&self) -> String {
        String::from_utf8_lossy(self.value.as_deref().unwrap_or_default()).into_owned()
    }
}

/// Reads an acks file: one `<partition> <offset> <value>` per line.
#[track_caller]
pub fn read_acks(path: &Path) -> Vec<Ack> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read acks file {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut parts = line.splitn(3, ' ');
            let parsed = (|| {
                Some(Ack {
                    partition: parts.next()?.parse().ok()?,
                    // librdkafka acknowledges a retried batch that the
                    // broker already stored, but which is older than the
                    // batches it remembers per producer, without an offset
                    // (confluent-kafka prints None): -1 here.
                    offset: match parts.next()? {
                        "None" => -1,
                        o => o.parse().ok()?,
                    },
                    value: parts.next()?.to_owned(),
                })
            })();
            parsed.unwrap_or_else(|| {
                panic!("{}:{}: malformed ack line {line:?}", path.display(), i + 1)
            })
        })
        .collect()
}

/// Reads a dump written by `dump.py`: one JSON object per line.
#[track_caller]
pub fn read_dump(path: &Path) -> Vec<Stored> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read dump {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}: {line}", path.display(), i + 1));
            let int = |name: &str| {
                v[name]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{}:{}: no {name}: {line}", path.display(), i + 1))
            };
            Stored {
                partition: int("p") as i32,
                offset: int("o"),
                key: v["k"].as_str().map(unhex),
                value: v["v"].as_str().map(unhex),
                raw: line.to_owned(),
            }
        })
        .collect()
}

/// Decodes lowercase hex as written by Python's `bytes.hex()`.
#[track_caller]
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("hex {s:?}: {e}")))
        .collect()
}

/// The records of a dump grouped by partition, in offset order.
pub fn by_partition(dump: &[Stored]) -> BTreeMap<i32, Vec<&Stored>> {
    let mut map: BTreeMap<i32, Vec<&Stored>> = BTreeMap::new();
    for r in dump {
        map.entry(r.partition).or_default().push(r);
    }
    for records in map.values_mut() {
        records.sort_by_key(|r| r.offset);
    }
    map
}

/// The checks after a crash or restart, returning every violation found
/// (empty when all hold):
/// - each partition's offsets are contiguous from 0 (nothing lost in the
///   middle, no gaps from recovery);
/// - no value appears twice in the topic (no duplicates);
/// - per partition, values of one run are in produce order (the numbers
///   increase with the offset: no reordering);
/// - every acknowledged record is stored exactly at its acknowledged
///   partition and offset (in its partition, when acknowledged without an
///   offset).
pub fn check_acked_durable(acks: &[Ack], dump: &[Stored]) -> Vec<String> {
    let mut problems = Vec::new();
    let parts = by_partition(dump);
    let mut at: HashMap<(i32, i64), String> = HashMap::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (p, records) in &parts {
        let mut last_of_run: HashMap<String, (u64, i64)> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if r.offset != i as i64 {
                problems.push(format!(
                    "partition {p}: offset {} at position {i}: offsets are not contiguous from 0",
                    r.offset
                ));
                break;
            }
            let value = r.value_str();
            if !seen.insert(value.clone()) {
                problems.push(format!(
                    "duplicate value {value:?} (again at {p}/{})",
                    r.offset
                ));
            }
            if let Some((run, n)) = value
                .split_once(':')
                .and_then(|(run, n)| Some((run.to_owned(), n.parse::<u64>().ok()?)))
            {
                if let Some(&(prev, prev_offset)) = last_of_run.get(&run) {
                    if n <= prev {
                        problems.push(format!(
                            "partition {p}: {value:?} at offset {} after {run}:{prev} at offset \
                             {prev_offset}: out of produce order",
                            r.offset
                        ));
                    }
                }
                last_of_run.insert(run, (n, r.offset));
            }
            at.insert((*p, r.offset), value);
        }
    }
    let mut missing = 0;
    let stored_in: HashMap<&str, i32> = at.iter().map(|((p, _), v)| (v.as_str(), *p)).collect();
    for ack in acks {
        if ack.offset < 0 {
            // Acknowledged without an offset: stored once, in its partition.
            if stored_in.get(ack.value.as_str()) != Some(&ack.partition) {
                missing += 1;
                problems.push(format!(
                    "acknowledged {:?} (offset unknown) in partition {} but it is not there",
                    ack.value, ack.partition
                ));
            }
            continue;
        }
        match at.get(&(ack.partition, ack.offset)) {
            Some(v) if *v == ack.value => {}
            found => {
                missing += 1;
                if missing <= 10 {
                    problems.push(format!(
                        "acknowledged {:?} at {}/{} but found {found:?} there",
                        ack.value, ack.partition, ack.offset
                    ));
                }
            }
        }
    }
    if missing > 10 {
        problems.push(format!(
            "… {missing} acknowledged records missing or different in all"
        ));
    }
    let mut acked_values = HashSet::new();
    for ack in acks {
        if !acked_values.insert(&ack.value) {
            problems.push(format!(
                "the producer logged {:?} acknowledged twice",
                ack.value
            ));
        }
    }
    const SHOWN: usize = 40;
    if problems.len() > SHOWN {
        let more = problems.len() - SHOWN;
        problems.truncate(SHOWN);
        problems.push(format!("… and {more} more problems"));
    }
    problems
}
