//! `produce`: records from stdin or a file, partitioned like Kafka's Java
//! client (murmur2 of the key; round robin without a key), one batch per
//! partition per request, and a summary of where they landed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use holocron_proto::client::{Client, ClientError, TopicInfo};
use holocron_proto::errors::from_code;
use holocron_proto::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use holocron_proto::kafka_protocol::messages::{ProduceRequest, TopicName};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use holocron_proto::kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::common;
use super::Ctx;
use crate::cli::{Acks, CompressionArg, ProduceArgs};
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, Document, Out};
use crate::timespec::{ms_since_epoch, parse_kv, unescape};

/// `holocron.produce/v1`: what was written where.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProduceSummary {
    /// Topic.
    pub topic: String,
    /// Records sent.
    pub records: u64,
    /// Key and value bytes sent (before compression).
    pub bytes: u64,
    /// `all`, `leader` or `none`.
    pub acks: String,
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub compression: String,
    /// Per partition written to, by index.
    pub partitions: Vec<ProducedPartition>,
}

/// Records written to one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducedPartition {
    /// Index.
    pub partition: i32,
    /// Records written.
    pub records: u64,
    /// Offset of the first (null with acks=none).
    pub first_offset: Option<i64>,
    /// Offset of the last (null with acks=none).
    pub last_offset: Option<i64>,
}

impl Document for ProduceSummary {
    fn schema(&self) -> &'static str {
        "holocron.produce/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&["partition", "records", "first-offset", "last-offset"]);
        for p in &self.partitions {
            t.add_row(vec![
                p.partition.to_string(),
                p.records.to_string(),
                output::opt(p.first_offset),
                output::opt(p.last_offset),
            ]);
        }
        format!(
            "produced {} records ({}) to {:?}\n{}",
            self.records,
            output::size(self.bytes),
            self.topic,
            output::render(&t)
        )
    }
}

/// The validated plan.
#[derive(Debug)]
struct Plan {
    topic: String,
    file: Option<PathBuf>,
    partition: Option<i32>,
    key: Option<Bytes>,
    key_separator: Option<String>,
    delimiter: String,
    headers: IndexMap<StrBytes, Option<Bytes>>,
    acks: Acks,
    compression: CompressionArg,
    batch_records: usize,
}

impl Plan {
    fn new(a: ProduceArgs) -> CtlResult<Plan> {
        if a.batch_records == 0 {
            return Err(CtlError::usage("--batch-records must be at least 1"));
        }
        if a.partition.is_some_and(|p| p < 0) {
            return Err(CtlError::usage("--partition must not be negative"));
        }
        let key_separator = a.key_separator.map(|s| unescape(&s));
        if key_separator.as_deref() == Some("") {
            return Err(CtlError::usage("--key-separator must not be empty"));
        }
        let mut headers = IndexMap::new();
        for h in &a.headers {
            let (k, v) = parse_kv(h, "header")?;
            headers.insert(StrBytes::from_string(k), Some(Bytes::from(v)));
        }
        Ok(Plan {
            topic: a.topic,
            file: a.file,
            partition: a.partition,
            key: a.key.map(Bytes::from),
            key_separator,
            delimiter: unescape(&a.delimiter),
            headers,
            acks: a.acks,
            compression: a.compression,
            batch_records: a.batch_records,
        })
    }

    fn read_input(&self) -> CtlResult<Vec<u8>> {
        let mut buf = Vec::new();
        match &self.file {
            Some(f) => {
                buf = std::fs::read(f).map_err(|e| {
                    let class = if e.kind() == std::io::ErrorKind::NotFound {
                        ErrorClass::NotFound
                    } else {
                        ErrorClass::Failure
                    };
                    CtlError::new(class, format!("{}: {e}", f.display()))
                })?;
            }
            None => {
                std::io::stdin().lock().read_to_end(&mut buf)?;
            }
        }
        Ok(buf)
    }

    /// Splits the input into (key, value) pairs.
    fn records(&self, input: &[u8]) -> Vec<(Option<Bytes>, Bytes)> {
        let delim = self.delimiter.as_bytes();
        let mut pieces: Vec<&[u8]> = if delim.is_empty() {
            vec![input]
        } else {
            split(input, delim)
        };
        if !delim.is_empty() && pieces.last().is_some_and(|p| p.is_empty()) {
            pieces.pop();
        }
        pieces
            .into_iter()
            .map(|piece| match &self.key_separator {
                Some(sep) => match find(piece, sep.as_bytes()) {
                    Some(i) => (
                        Some(Bytes::copy_from_slice(&piece[..i])),
                        Bytes::copy_from_slice(&piece[i + sep.len()..]),
                    ),
                    None => (None, Bytes::copy_from_slice(piece)),
                },
                None => (self.key.clone(), Bytes::copy_from_slice(piece)),
            })
            .collect()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut input: &'a [u8], delim: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = find(input, delim) {
        out.push(&input[..i]);
        input = &input[i + delim.len()..];
    }
    out.push(input);
    out
}

/// Kafka's murmur2 (the Java client's `Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    match tail.len() {
        3 => {
            h ^= u32::from(tail[2]) << 16;
            h ^= u32::from(tail[1]) << 8;
            h ^= u32::from(tail[0]);
            h = h.wrapping_mul(M);
        }
        2 => {
            h ^= u32::from(tail[1]) << 8;
            h ^= u32::from(tail[0]);
            h = h.wrapping_mul(M);
        }
        1 => {
            h ^= u32::from(tail[0]);
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition for a key, as the Java client's default partitioner picks it.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// The wire value of `--acks`.
pub fn acks_wire(a: Acks) -> i16 {
    match a {
        Acks::All => -1,
        Acks::Leader => 1,
        Acks::None => 0,
    }
}

/// The codec for `--compression`.
pub fn compression(c: CompressionArg) -> Compression {
    match c {
        CompressionArg::None => Compression::None,
        CompressionArg::Gzip => Compression::Gzip,
        CompressionArg::Snappy => Compression::Snappy,
        CompressionArg::Lz4 => Compression::Lz4,
        CompressionArg::Zstd => Compression::Zstd,
    }
}

/// A record to put in a batch.
pub fn record(
    index: usize,
    timestamp: i64,
    key: Option<Bytes>,
    value: Bytes,
    headers: IndexMap<StrBytes, Option<Bytes>>,
) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: index as i64,
        // kafka-protocol starts a new batch whenever `offset - sequence`
        // changes, and derives the base sequence from the first record:
        // offset-1 keeps one batch with base sequence -1 (no idempotence).
        sequence: index as i32 - 1,
        timestamp,
        key,
        value: Some(value),
        headers,
    }
}

/// Encodes records as one RecordBatch v2.
pub fn encode_batch(records: &[Record], codec: Compression) -> CtlResult<Bytes> {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: codec,
        },
    )
    .map_err(|e| CtlError::new(ErrorClass::Failure, format!("encoding a batch: {e}")))?;
    Ok(buf.freeze())
}

/// A Produce request carrying one batch for each of these partitions.
pub fn produce_request(
    t: &TopicInfo,
    acks: i16,
    timeout: Duration,
    batches: Vec<(i32, Bytes)>,
) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(timeout.as_millis().min(i32::MAX as u128) as i32)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(t.name.clone())))
            .with_topic_id(t.id)
            .with_partition_data(
                batches
                    .into_iter()
                    .map(|(p, b)| {
                        PartitionProduceData::default()
                            .with_index(p)
                            .with_records(Some(b))
                    })
                    .collect(),
            )])
}

/// Sends one Produce request to `leader`; returns base offsets by partition
/// (empty with acks=0). A partition error fails the call.
pub async fn send_produce(
    client: &Client,
    leader: i32,
    req: ProduceRequest,
) -> Result<BTreeMap<i32, i64>, ClientError> {
    if req.acks == 0 {
        client.send_oneway_to(leader, req).await?;
        return Ok(BTreeMap::new());
    }
    let resp = client.send_to(leader, req).await?;
    let mut out = BTreeMap::new();
    for t in resp.responses {
        for p in t.partition_responses {
            if let Some(code) = from_code(p.error_code) {
                let msg = p.error_message.map(|m| m.to_string()).unwrap_or_default();
                return Err(ClientError::kafka(
                    code,
                    format!(
                        "producing to partition {}{}{msg}",
                        p.index,
                        if msg.is_empty() { "" } else { ": " }
                    ),
                ));
            }
            out.insert(p.index, p.base_offset);
        }
    }
    Ok(out)
}

/// Runs `produce`.
pub async fn run(ctx: &Ctx, args: ProduceArgs) -> CtlResult {
    let plan = Plan::new(args)?;
    let input = plan.read_input()?;
    let records = plan.records(&input);
    drop(input);
    let client = ctx.client().await?;
    let (_, mut info) = common::topic_info(client, &plan.topic).await?;
    let n = info.partitions.len() as i32;
    if n == 0 {
        return Err(CtlError::new(
            ErrorClass::Failure,
            format!("topic {:?} has no partitions", plan.topic),
        ));
    }
    if let Some(p) = plan.partition {
        common::pick_partitions(&info, &[p])?;
    }
    let now = ms_since_epoch(SystemTime::now());
    let mut by_partition: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
    let mut bytes = 0u64;
    let total = records.len() as u64;
    for (i, (key, value)) in records.into_iter().enumerate() {
        let p = match (plan.partition, &key) {
            (Some(p), _) => p,
            (None, Some(k)) => partition_for_key(k, n),
            (None, None) => (i as i32) % n,
        };
        bytes += value.len() as u64 + key.as_ref().map_or(0, |k| k.len() as u64);
        let list = by_partition.entry(p).or_default();
        list.push(record(list.len(), now, key, value, plan.headers.clone()));
    }
    let codec = compression(plan.compression);
    let acks = acks_wire(plan.acks);
    // Batches per partition, at most batch_records records or ~1 MiB each.
    let mut queues: BTreeMap<i32, std::collections::VecDeque<(usize, Bytes)>> = BTreeMap::new();
    for (p, recs) in &by_partition {
        let mut start = 0;
        while start < recs.len() {
            let mut end = start;
            let mut size = 0;
            while end < recs.len()
                && end - start < plan.batch_records
                && (size < 1 << 20 || end == start)
            {
                size += recs[end].value.as_ref().map_or(0, Bytes::len)
                    + recs[end].key.as_ref().map_or(0, Bytes::len);
                end += 1;
            }
            let mut chunk: Vec<Record> = recs[start..end].to_vec();
            for (i, r) in chunk.iter_mut().enumerate() {
                r.offset = i as i64;
                r.sequence = i as i32 - 1;
            }
            queues
                .entry(*p)
                .or_default()
                .push_back((chunk.len(), encode_batch(&chunk, codec)?));
            start = end;
        }
    }
    let mut results: BTreeMap<i32, ProducedPartition> = BTreeMap::new();
    while queues.values().any(|q| !q.is_empty()) {
        let mut by_leader: BTreeMap<i32, Vec<(i32, usize, Bytes)>> = BTreeMap::new();
        for (p, q) in queues.iter_mut() {
            if let Some((count, batch)) = q.pop_front() {
                let leader = info
                    .partitions
                    .iter()
                    .find(|x| x.partition == *p)
                    .map_or(-1, |x| x.leader);
                by_leader
                    .entry(leader)
                    .or_default()
                    .push((*p, count, batch));
            }
        }
        for (leader, batches) in by_leader {
            let mut attempt = 0;
            let mut leader = leader;
            let offsets = loop {
                attempt += 1;
                let req = produce_request(
                    &info,
                    acks,
                    ctx.settings.timeout,
                    batches.iter().map(|(p, _, b)| (*p, b.clone())).collect(),
                );
                let result = if leader < 0 {
                    Err(ClientError::kafka(
                        holocron_proto::errors::ErrorCode::LeaderNotAvailable,
                        format!("topic {:?}", plan.topic),
                    ))
                } else {
                    send_produce(client, leader, req).await
                };
                match result {
                    Ok(o) => break o,
                    Err(e) if e.is_retriable() && attempt < 4 => {
                        tokio::time::sleep(Duration::from_millis(250 * attempt)).await;
                        info = common::topic_info(client, &plan.topic).await?.1;
                        let first = batches[0].0;
                        leader = info
                            .partitions
                            .iter()
                            .find(|x| x.partition == first)
                            .map_or(-1, |x| x.leader);
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            for (p, count, _) in &batches {
                let entry = results.entry(*p).or_insert(ProducedPartition {
                    partition: *p,
                    records: 0,
                    first_offset: None,
                    last_offset: None,
                });
                entry.records += *count as u64;
                if let Some(base) = offsets.get(p) {
                    entry.first_offset.get_or_insert(*base);
                    entry.last_offset = Some(base + *count as i64 - 1);
                }
            }
        }
    }
    ctx.out.emit(&ProduceSummary {
        topic: plan.topic,
        records: total,
        bytes,
        acks: format!("{:?}", plan.acks).to_lowercase(),
        compression: format!("{:?}", plan.compression).to_lowercase(),
        partitions: results.into_values().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_client() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }

    #[test]
    fn splits_records_and_keys() {
        let a = ProduceArgs {
            topic: "t".into(),
            file: None,
            partition: None,
            key: None,
            key_separator: Some(":".into()),
            delimiter: "\\n".into(),
            headers: vec![],
            acks: Acks::All,
            compression: CompressionArg::None,
            batch_records: 10,
        };
        let plan = Plan::new(a).expect("valid plan");
        let r = plan.records(b"k1:v1\nnokey\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].0.as_deref(), Some(&b"k1"[..]));
        assert_eq!(&r[0].1[..], b"v1");
        assert_eq!(r[1].0, None);
    }
}
