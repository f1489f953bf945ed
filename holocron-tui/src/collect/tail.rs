//! The tail: reads the newest records of one topic from every partition's
//! leader with long-polling Fetch requests, and sends them as previews
//! (the app keeps a bounded buffer). It starts a few records before the high
//! watermark so the screen is not empty, and follows until told to stop.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use holocron_proto::client::{Client, ClientError, OffsetSpec, TopicInfo};
use holocron_proto::errors::{from_code, ErrorCode};
use holocron_proto::kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use holocron_proto::kafka_protocol::messages::{FetchRequest, TopicName};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use holocron_proto::kafka_protocol::records::{Record, RecordBatchDecoder};
use tokio::sync::mpsc;

use super::{status, Shared, Source, Update};
use crate::model::TailRecord;

/// Records shown from before the high watermark when a tail starts, per partition.
const BACKLOG: i64 = 20;
/// Longest a Fetch waits for new data.
const MAX_WAIT: Duration = Duration::from_millis(500);
/// Most bytes per partition per Fetch.
const PARTITION_MAX_BYTES: i32 = 256 << 10;
/// Characters kept of a key, value or header preview.
pub const PREVIEW_CHARS: usize = 240;

/// What the tail is reading.
struct Tailing {
    info: TopicInfo,
    positions: BTreeMap<i32, i64>,
}

/// Runs until the app goes away; `commands` starts (Some) and stops (None).
pub async fn run(
    shared: Shared,
    tx: mpsc::Sender<Update>,
    mut commands: mpsc::Receiver<Option<String>>,
) {
    let mut slot = None;
    let mut topic: Option<String> = None;
    let mut tailing: Option<Tailing> = None;
    let mut failing = false;
    loop {
        // Take the newest command; wait for one while idle.
        let next = if topic.is_none() {
            match commands.recv().await {
                Some(c) => Some(c),
                None => return,
            }
        } else {
            match commands.try_recv() {
                Ok(c) => Some(c),
                Err(mpsc::error::TryRecvError::Empty) => None,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        };
        if let Some(c) = next {
            topic = c;
            tailing = None;
            if failing {
                failing = false;
                if !status(&tx, Source::Tail, None).await {
                    return;
                }
            }
            continue;
        }
        let Some(name) = topic.clone() else { continue };
        let result = async {
            let client = shared.client(&mut slot).await?;
            if tailing.is_none() {
                tailing = Some(start(client, &name).await.map_err(|e| e.to_string())?);
            }
            let t = tailing.as_mut().ok_or("not tailing")?;
            round(client, t).await.map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok(records) => {
                if failing {
                    failing = false;
                    if !status(&tx, Source::Tail, None).await {
                        return;
                    }
                }
                if !records.is_empty()
                    && tx
                        .send(Update::Tail {
                            topic: name,
                            records,
                        })
                        .await
                        .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                failing = true;
                tailing = None;
                if !status(&tx, Source::Tail, Some(e)).await {
                    return;
                }
                tokio::time::sleep(shared.interval).await;
            }
        }
    }
}

async fn start(client: &Client, topic: &str) -> Result<Tailing, ClientError> {
    let view = client.metadata(Some(&[topic.to_owned()])).await?;
    let info = view
        .topics
        .iter()
        .find(|t| t.name == topic)
        .cloned()
        .ok_or_else(|| ClientError::kafka(ErrorCode::UnknownTopicOrPartition, topic))?;
    if let Some(code) = info.error {
        return Err(ClientError::kafka(code, format!("topic {topic:?}")));
    }
    let keys: Vec<(String, i32)> = info
        .partitions
        .iter()
        .map(|p| (topic.to_owned(), p.partition))
        .collect();
    let starts = client
        .list_offsets(&view, &keys, OffsetSpec::Earliest)
        .await?;
    let ends = client
        .list_offsets(&view, &keys, OffsetSpec::Latest)
        .await?;
    let mut positions = BTreeMap::new();
    for k in &keys {
        let get = |m: &holocron_proto::client::OffsetAnswers| {
            m.get(k).and_then(|r| r.ok()).map_or(0, |o| o.offset)
        };
        positions.insert(k.1, (get(&ends) - BACKLOG).max(get(&starts)));
    }
    Ok(Tailing { info, positions })
}

/// One Fetch per leader; returns the new records, oldest first by timestamp.
async fn round(client: &Client, t: &mut Tailing) -> Result<Vec<TailRecord>, ClientError> {
    let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for p in &t.info.partitions {
        if p.leader < 0 {
            return Err(ClientError::kafka(
                ErrorCode::LeaderNotAvailable,
                format!("{}-{}", t.info.name, p.partition),
            ));
        }
        by_leader.entry(p.leader).or_default().push(p.partition);
    }
    let mut out = Vec::new();
    for (leader, ps) in by_leader {
        let req = FetchRequest::default()
            .with_max_wait_ms(MAX_WAIT.as_millis() as i32)
            .with_min_bytes(1)
            .with_max_bytes(8 << 20)
            .with_topics(vec![FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(t.info.name.clone())))
                .with_topic_id(t.info.id)
                .with_partitions(
                    ps.iter()
                        .map(|p| {
                            FetchPartition::default()
                                .with_partition(*p)
                                .with_fetch_offset(t.positions.get(p).copied().unwrap_or(0))
                                .with_partition_max_bytes(PARTITION_MAX_BYTES)
                        })
                        .collect(),
                )]);
        let resp = client.send_to(leader, req).await?;
        if let Some(code) = from_code(resp.error_code) {
            return Err(ClientError::kafka(code, "fetch"));
        }
        for topic in resp.responses {
            for p in topic.partitions {
                let pos = t.positions.get(&p.partition_index).copied().unwrap_or(0);
                match from_code(p.error_code) {
                    None => {}
                    Some(ErrorCode::OffsetOutOfRange) => {
                        let to = if pos < p.log_start_offset {
                            p.log_start_offset
                        } else {
                            p.high_watermark
                        };
                        t.positions.insert(p.partition_index, to.max(0));
                        continue;
                    }
                    Some(code) => {
                        return Err(ClientError::kafka(
                            code,
                            format!("fetching {}-{}", t.info.name, p.partition_index),
                        ))
                    }
                }
                let Some(records) = p.records else { continue };
                let (recs, next) = decode(records, pos)?;
                if next > pos {
                    t.positions.insert(p.partition_index, next);
                }
                out.extend(recs.iter().map(|r| preview(p.partition_index, r)));
            }
        }
    }
    out.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
    Ok(out)
}

/// Decodes the complete batches in `data`, keeping data records at or after
/// `from`; returns them and the offset after the last complete batch.
fn decode(mut data: Bytes, from: i64) -> Result<(Vec<Record>, i64), ClientError> {
    let mut records = Vec::new();
    let mut next = from;
    while data.len() >= 27 {
        let word = |r: std::ops::Range<usize>| -> [u8; 8] {
            let mut b = [0u8; 8];
            b[8 - r.len()..].copy_from_slice(&data[r]);
            b
        };
        let base = i64::from_be_bytes(word(0..8));
        let len = i64::from_be_bytes(word(8..12)) as i32;
        let last_delta = i64::from_be_bytes(word(23..27)) as i32;
        let total = 12 + len.max(0) as usize;
        if len < 0 || data.len() < total {
            break;
        }
        let mut batch = data.split_to(total);
        let set = RecordBatchDecoder::decode(&mut batch)
            .map_err(|e| ClientError::Protocol(format!("batch at offset {base}: {e}")))?;
        records.extend(
            set.records
                .into_iter()
                .filter(|r| r.offset >= from && !r.control),
        );
        next = next.max(base + i64::from(last_delta) + 1);
    }
    Ok((records, next))
}

/// A record as the screen shows it.
pub fn preview(partition: i32, r: &Record) -> TailRecord {
    TailRecord {
        partition,
        offset: r.offset,
        timestamp_ms: r.timestamp,
        key: r.key.as_deref().map(text),
        value: r.value.as_deref().map(text),
        value_len: r.value.as_ref().map_or(0, |v| v.len()),
        headers: r
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    clip(k.as_str()),
                    v.as_deref().map_or_else(|| "null".into(), text),
                )
            })
            .collect(),
    }
}

/// UTF-8 as text with control characters shown as `·`; other bytes as hex.
pub fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => clip(s),
        Err(_) => {
            let mut s = String::from("0x");
            for byte in b.iter().take(PREVIEW_CHARS / 2) {
                s.push_str(&format!("{byte:02x}"));
            }
            s
        }
    }
}

fn clip(s: &str) -> String {
    s.chars()
        .take(PREVIEW_CHARS)
        .map(|c| if c.is_control() { '·' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_printable() {
        assert_eq!(text(b"a\nb"), "a·b");
        assert_eq!(text(&[0xff, 0x00]), "0xff00");
        assert_eq!(text("x".repeat(1000).as_bytes()).len(), PREVIEW_CHARS);
    }
}
