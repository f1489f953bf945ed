//! `consume`: read partitions from their leaders with Fetch, from a start
//! spec to the high watermark seen at start (or forever with `--follow`),
//! printing each record through a format string or as NDJSON.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use holocron_proto::client::{Client, TopicInfo};
use holocron_proto::errors::{from_code, ErrorCode};
use holocron_proto::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use holocron_proto::kafka_protocol::messages::{FetchRequest, TopicName};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use holocron_proto::kafka_protocol::records::{Record, RecordBatchDecoder, TimestampType};
use serde::{Deserialize, Serialize};

use super::common;
use super::{interrupted, Ctx};
use crate::cli::ConsumeArgs;
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, json_line, write_stdout, Document, Out};
use crate::timespec::{parse_start, unescape, StartSpec};

/// `holocron.consume/v1`: one record (one JSON line each, NDJSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumedRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp, ms since the epoch.
    pub timestamp_ms: i64,
    /// `create` or `log_append`.
    pub timestamp_type: String,
    /// Key (null: none), encoded as `key_encoding` says.
    pub key: Option<String>,
    /// `utf8` or `base64` (null when the key is null).
    pub key_encoding: Option<String>,
    /// Value (null: a tombstone), encoded as `value_encoding` says.
    pub value: Option<String>,
    /// `utf8` or `base64` (null when the value is null).
    pub value_encoding: Option<String>,
    /// Headers, in record order.
    pub headers: Vec<ConsumedHeader>,
    /// Leader epoch of the batch (-1: unknown).
    pub leader_epoch: i32,
}

/// One record header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumedHeader {
    /// Header key.
    pub key: String,
    /// Value (null: none), encoded as `value_encoding` says.
    pub value: Option<String>,
    /// `utf8` or `base64` (null when the value is null).
    pub value_encoding: Option<String>,
}

impl Document for ConsumedRecord {
    fn schema(&self) -> &'static str {
        "holocron.consume/v1"
    }
    fn human(&self, _out: &Out) -> String {
        format!("{}\n", self.value.as_deref().unwrap_or(""))
    }
}

/// Text as UTF-8 when it is, else base64: (text, encoding).
pub fn encode_bytes(b: &[u8]) -> (String, String) {
    match std::str::from_utf8(b) {
        Ok(s) => (s.to_owned(), "utf8".into()),
        Err(_) => (base64(b), "base64".into()),
    }
}

/// Standard base64 with padding.
pub fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    s
}

impl ConsumedRecord {
    fn new(topic: &str, partition: i32, r: &Record) -> Self {
        let split = |b: &Option<Bytes>| match b {
            Some(b) => {
                let (v, e) = encode_bytes(b);
                (Some(v), Some(e))
            }
            None => (None, None),
        };
        let (key, key_encoding) = split(&r.key);
        let (value, value_encoding) = split(&r.value);
        ConsumedRecord {
            topic: topic.to_owned(),
            partition,
            offset: r.offset,
            timestamp_ms: r.timestamp,
            timestamp_type: match r.timestamp_type {
                TimestampType::Creation => "create".into(),
                TimestampType::LogAppend => "log_append".into(),
            },
            key,
            key_encoding,
            value,
            value_encoding,
            headers: r
                .headers
                .iter()
                .map(|(k, v)| {
                    let (value, value_encoding) = split(v);
                    ConsumedHeader {
                        key: k.to_string(),
                        value,
                        value_encoding,
                    }
                })
                .collect(),
            leader_epoch: r.partition_leader_epoch,
        }
    }
}

/// A piece of a `--format` string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(String),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    TimestampMs,
    Date,
    Headers,
}

fn parse_format(f: &str) -> CtlResult<Vec<Tok>> {
    let f = unescape(f);
    let mut toks = Vec::new();
    let mut lit = String::new();
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        let tok = match chars.next() {
            Some('%') => {
                lit.push('%');
                continue;
            }
            Some('t') => Tok::Topic,
            Some('p') => Tok::Partition,
            Some('o') => Tok::Offset,
            Some('k') => Tok::Key,
            Some('v') => Tok::Value,
            Some('T') => Tok::TimestampMs,
            Some('d') => Tok::Date,
            Some('h') => Tok::Headers,
            Some(other) => {
                return Err(CtlError::usage(format!(
                    "unknown placeholder %{other} in --format (see consume --help)"
                )))
            }
            None => return Err(CtlError::usage("--format ends with a lone %")),
        };
        if !lit.is_empty() {
            toks.push(Tok::Lit(std::mem::take(&mut lit)));
        }
        toks.push(tok);
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit));
    }
    Ok(toks)
}

fn render(toks: &[Tok], topic: &str, partition: i32, r: &Record, out: &mut Vec<u8>) {
    for t in toks {
        match t {
            Tok::Lit(s) => out.extend_from_slice(s.as_bytes()),
            Tok::Topic => out.extend_from_slice(topic.as_bytes()),
            Tok::Partition => out.extend_from_slice(partition.to_string().as_bytes()),
            Tok::Offset => out.extend_from_slice(r.offset.to_string().as_bytes()),
            Tok::Key => out.extend_from_slice(r.key.as_deref().unwrap_or_default()),
            Tok::Value => out.extend_from_slice(r.value.as_deref().unwrap_or_default()),
            Tok::TimestampMs => out.extend_from_slice(r.timestamp.to_string().as_bytes()),
            Tok::Date => out.extend_from_slice(output::time_ms(r.timestamp).as_bytes()),
            Tok::Headers => {
                let hs: Vec<String> = r
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            String::from_utf8_lossy(v.as_deref().unwrap_or_default())
                        )
                    })
                    .collect();
                out.extend_from_slice(hs.join(",").as_bytes());
            }
        }
    }
}

/// Records fetched from one partition in one round.
#[derive(Debug)]
pub struct Fetched {
    /// Partition.
    pub partition: i32,
    /// Data records at or after the position asked for (control records
    /// are skipped).
    pub records: Vec<Record>,
    /// Bytes of record batches received.
    pub bytes: usize,
}

/// Reads partitions of one topic from their leaders, keeping positions.
#[derive(Debug)]
pub struct Fetcher<'a> {
    client: &'a Client,
    /// The topic, as metadata last described it.
    pub info: TopicInfo,
    /// The next offset to read, by partition.
    pub positions: BTreeMap<i32, i64>,
    partition_max_bytes: i32,
    max_wait: Duration,
    stale: bool,
}

impl<'a> Fetcher<'a> {
    /// A fetcher starting at `positions`.
    pub fn new(
        client: &'a Client,
        info: TopicInfo,
        positions: BTreeMap<i32, i64>,
        partition_max_bytes: i32,
        max_wait: Duration,
    ) -> Self {
        Fetcher {
            client,
            info,
            positions,
            partition_max_bytes,
            max_wait,
            stale: false,
        }
    }

    /// One Fetch per leader for these partitions; advances positions.
    pub async fn round(&mut self, partitions: &[i32]) -> CtlResult<Vec<Fetched>> {
        if self.stale {
            self.info = common::topic_info(self.client, &self.info.name).await?.1;
            self.stale = false;
        }
        let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for p in partitions {
            let leader = self
                .info
                .partitions
                .iter()
                .find(|x| x.partition == *p)
                .map_or(-1, |x| x.leader);
            if leader < 0 {
                self.stale = true;
                continue;
            }
            by_leader.entry(leader).or_default().push(*p);
        }
        if by_leader.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (leader, ps) in by_leader {
            let req = FetchRequest::default()
                .with_max_wait_ms(self.max_wait.as_millis() as i32)
                .with_min_bytes(1)
                .with_max_bytes(64 << 20)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(self.info.name.clone())))
                    .with_topic_id(self.info.id)
                    .with_partitions(
                        ps.iter()
                            .map(|p| {
                                FetchPartition::default()
                                    .with_partition(*p)
                                    .with_fetch_offset(self.positions.get(p).copied().unwrap_or(0))
                                    .with_partition_max_bytes(self.partition_max_bytes)
                            })
                            .collect(),
                    )]);
            let resp = match self.client.send_to(leader, req).await {
                Ok(r) => r,
                Err(e) if e.is_retriable() => {
                    self.stale = true;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(code) = from_code(resp.error_code) {
                return Err(CtlError::kafka(code, "fetch"));
            }
            for t in resp.responses {
                for p in t.partitions {
                    let pos = self.positions.get(&p.partition_index).copied().unwrap_or(0);
                    match from_code(p.error_code) {
                        None => {}
                        Some(ErrorCode::OffsetOutOfRange) => {
                            let to = if pos < p.log_start_offset {
                                p.log_start_offset
                            } else {
                                p.high_watermark
                            };
                            eprintln!(
                                "holocronctl: note: offset {pos} of partition {} is out of range; moving to {to}",
                                p.partition_index
                            );
                            self.positions.insert(p.partition_index, to.max(0));
                            continue;
                        }
                        Some(code) if code.is_retriable() => {
                            self.stale = true;
                            continue;
                        }
                        Some(code) => {
                            return Err(CtlError::kafka(
                                code,
                                format!("fetching {}-{}", self.info.name, p.partition_index),
                            ))
                        }
                    }
                    let Some(records) = p.records else { continue };
                    let bytes = records.len();
                    let (recs, next) = decode(records, pos)?;
                    if next > pos {
                        self.positions.insert(p.partition_index, next);
                    }
                    out.push(Fetched {
                        partition: p.partition_index,
                        records: recs,
                        bytes,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Decodes the complete batches in `data` (a fetch may end in a partial
/// one), keeping data records at or after `from`; returns them and the
/// offset after the last complete batch.
fn decode(mut data: Bytes, from: i64) -> CtlResult<(Vec<Record>, i64)> {
    let mut records = Vec::new();
    let mut next = from;
    while data.len() >= 27 {
        let base = i64::from_be_bytes(data[0..8].try_into().unwrap_or_default());
        let len = i32::from_be_bytes(data[8..12].try_into().unwrap_or_default());
        let total = 12 + len.max(0) as usize;
        if len < 0 || data.len() < total {
            break;
        }
        let last_delta = i32::from_be_bytes(data[23..27].try_into().unwrap_or_default());
        let mut batch = data.split_to(total);
        let set = RecordBatchDecoder::decode(&mut batch).map_err(|e| {
            CtlError::new(
                ErrorClass::Failure,
                format!("decoding a batch at offset {base}: {e}"),
            )
        })?;
        records.extend(
            set.records
                .into_iter()
                .filter(|r| r.offset >= from && !r.control),
        );
        next = next.max(base + i64::from(last_delta) + 1);
    }
    Ok((records, next))
}

/// Where each partition starts, from a start spec.
pub async fn start_positions(
    client: &Client,
    info: &TopicInfo,
    partitions: &[i32],
    spec: StartSpec,
) -> CtlResult<(BTreeMap<i32, i64>, BTreeMap<i32, i64>)> {
    let view = client
        .metadata(Some(std::slice::from_ref(&info.name)))
        .await?;
    let keys: Vec<(String, i32)> = partitions.iter().map(|p| (info.name.clone(), *p)).collect();
    let time = match spec {
        StartSpec::Time(t) => Some(t),
        _ => None,
    };
    let bounds = common::OffsetBounds::fetch(client, &view, &keys, time).await?;
    let mut pos = BTreeMap::new();
    let mut end = BTreeMap::new();
    for p in partitions {
        let key = (info.name.clone(), *p);
        let (s, e) = bounds.range(&key)?;
        let at = match spec {
            StartSpec::Beginning => s,
            StartSpec::End => e,
            StartSpec::Offset(o) => o.clamp(s, e),
            StartSpec::AfterStart(n) => (s + n).min(e),
            StartSpec::BeforeEnd(n) => (e - n).max(s),
            StartSpec::Time(_) => bounds.at_time(&key)?,
        };
        pos.insert(*p, at);
        end.insert(*p, e);
    }
    Ok((pos, end))
}

/// Runs `consume`.
pub async fn run(ctx: &Ctx, args: ConsumeArgs) -> CtlResult {
    let spec = parse_start(&args.offset)?;
    let toks = parse_format(&args.format)?;
    if args.fetch_bytes < 1 {
        return Err(CtlError::usage("--fetch-bytes must be at least 1"));
    }
    if args.count == Some(0) {
        return Ok(());
    }
    let client = ctx.client().await?;
    let (_, info) = common::topic_info(client, &args.topic).await?;
    let partitions = common::pick_partitions(&info, &args.partitions)?;
    let (positions, ends) = start_positions(client, &info, &partitions, spec).await?;
    let mut fetcher = Fetcher::new(
        client,
        info,
        positions,
        args.fetch_bytes,
        Duration::from_millis(500),
    );
    let mut remaining = args.count;
    loop {
        let active: Vec<i32> = partitions
            .iter()
            .copied()
            .filter(|p| args.follow || fetcher.positions.get(p) < ends.get(p))
            .collect();
        if active.is_empty() {
            return Ok(());
        }
        let fetched = tokio::select! {
            r = fetcher.round(&active) => r?,
            () = interrupted() => return Ok(()),
        };
        let mut buf = Vec::new();
        for f in fetched {
            let end = ends.get(&f.partition).copied().unwrap_or(i64::MAX);
            for r in &f.records {
                if !args.follow && r.offset >= end {
                    break;
                }
                if ctx.out.json {
                    buf.extend_from_slice(
                        json_line(&ConsumedRecord::new(&fetcher.info.name, f.partition, r))?
                            .as_bytes(),
                    );
                    buf.push(b'\n');
                } else {
                    render(&toks, &fetcher.info.name, f.partition, r, &mut buf);
                }
                if let Some(n) = remaining.as_mut() {
                    *n -= 1;
                    if *n == 0 {
                        return write_stdout(&buf);
                    }
                }
            }
        }
        write_stdout(&buf)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn formats_parse() {
        assert_eq!(
            parse_format("%p:%o %v\\n").ok(),
            Some(vec![
                Tok::Partition,
                Tok::Lit(":".into()),
                Tok::Offset,
                Tok::Lit(" ".into()),
                Tok::Value,
                Tok::Lit("\n".into())
            ])
        );
        assert!(parse_format("%x").is_err());
    }
}
