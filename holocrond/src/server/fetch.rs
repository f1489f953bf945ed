//! Fetch with long polling: answer as soon as `min_bytes` of committed data
//! is there, or when `max_wait_ms` runs out. Fetch sessions (KIP-227) are
//! answered sessionless (session id 0), which every client falls back to.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ResponseKind, TopicName};
use tokio::sync::watch;
use tokio::time::Instant;

use super::errors::{log_error, ErrorCode};
use super::Reply;
use crate::broker::Broker;
use crate::partition::Partition;

/// Versions served.
pub const VERSIONS: (i16, i16) = (4, 17);

/// The most a single fetch may wait, whatever the client asks.
const MAX_WAIT_CAP: Duration = Duration::from_secs(30);

/// The most one fetch response carries, whatever the client asks (Kafka's
/// broker-side `fetch.max.bytes`, KIP-541); the first batch still comes
/// whole even when larger (KIP-74).
const MAX_BYTES_CAP: usize = 55 << 20;

/// One requested partition, resolved.
struct Wanted {
    topic: usize,
    index: i32,
    offset: i64,
    max_bytes: usize,
    current_epoch: i32,
    partition: Option<Arc<Partition>>,
    unknown: ErrorCode,
}

pub(super) async fn handle(broker: Arc<Broker>, req: FetchRequest, version: i16) -> Reply {
    if req.session_id != 0 {
        // We never hand out sessions, so any session id is unknown to us.
        broker
            .metrics
            .observe_error("Fetch", ErrorCode::FetchSessionIdNotFound);
        return Reply::response(ResponseKind::Fetch(
            FetchResponse::default()
                .with_error_code(ErrorCode::FetchSessionIdNotFound.code())
                .with_session_id(0),
        ));
    }
    let snapshot = broker.metadata.snapshot();
    let mut topics: Vec<(TopicName, uuid::Uuid)> = Vec::with_capacity(req.topics.len());
    let mut wanted = Vec::new();
    for (
        ti,
        FetchTopic {
            topic,
            topic_id,
            partitions,
            ..
        },
    ) in req.topics.into_iter().enumerate()
    {
        let name = if version >= 13 {
            snapshot.topic_by_id(topic_id).map(|t| t.name.clone())
        } else {
            Some(topic.0.to_string())
        };
        let unknown = if version >= 13 && name.is_none() {
            ErrorCode::UnknownTopicId
        } else {
            ErrorCode::UnknownTopicOrPartition
        };
        for p in partitions {
            wanted.push(Wanted {
                topic: ti,
                index: p.partition,
                offset: p.fetch_offset,
                max_bytes: usize::try_from(p.partition_max_bytes)
                    .unwrap_or(0)
                    .min(MAX_BYTES_CAP),
                current_epoch: p.current_leader_epoch,
                partition: name
                    .as_deref()
                    .and_then(|n| broker.partitions.get(n, p.partition)),
                unknown,
            });
        }
        topics.push((topic, topic_id));
    }
    let max_wait =
        Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + max_wait;
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0);
    let max_bytes = usize::try_from(req.max_bytes)
        .unwrap_or(0)
        .min(MAX_BYTES_CAP);
    let mut watches: Vec<watch::Receiver<u64>> = wanted
        .iter()
        .filter_map(|w| w.partition.as_ref().map(|p| p.subscribe()))
        .collect();
    loop {
        for w in &mut watches {
            w.borrow_and_update();
        }
        let (parts, bytes, errors) = read_all(&broker, &wanted, max_bytes);
        let now = Instant::now();
        if bytes >= min_bytes || errors || now >= deadline || watches.is_empty() {
            broker.metrics.fetch_bytes.inc_by(bytes as u64);
            return Reply::response(ResponseKind::Fetch(build(topics, parts)));
        }
        let changed =
            futures::future::select_all(watches.iter_mut().map(|w| Box::pin(w.changed())));
        tokio::select! {
            _ = changed => {}
            () = tokio::time::sleep_until(deadline) => {}
            () = broker.shutdown.cancelled() => {
                return Reply::response(ResponseKind::Fetch(build(topics, read_all(&broker, &wanted, max_bytes).0)));
            }
        }
    }
}

/// Reads every wanted partition within the byte budgets. Returns the
/// partition answers, the bytes of records in them, and whether any carries
/// an error (errors are answered at once, as Kafka does).
fn read_all(
    broker: &Broker,
    wanted: &[Wanted],
    max_bytes: usize,
) -> (Vec<(usize, PartitionData)>, usize, bool) {
    let mut total = 0usize;
    let mut errors = false;
    let mut out = Vec::with_capacity(wanted.len());
    for w in wanted {
        let mut data = PartitionData::default()
            .with_partition_index(w.index)
            .with_high_watermark(-1)
            .with_last_stable_offset(-1)
            .with_log_start_offset(-1)
            .with_preferred_read_replica(BrokerId(-1))
            .with_records(Some(Bytes::new()));
        let error = match &w.partition {
            None => Some(w.unknown),
            Some(p) if p.check_read(w.current_epoch).is_err() => p
                .check_read(w.current_epoch)
                .err()
                .map(super::errors::epoch_error),
            Some(p) if p.is_poisoned() => Some(ErrorCode::KafkaStorageError),
            Some(_) if w.offset < 0 => Some(ErrorCode::OffsetOutOfRange),
            Some(p) => {
                // KIP-74: the first batch of the response is returned whole even
                // when it is larger than the limits.
                let budget = if total == 0 {
                    w.max_bytes.min(max_bytes).max(1)
                } else {
                    w.max_bytes.min(max_bytes.saturating_sub(total))
                };
                if budget == 0 {
                    data.high_watermark = p.high_watermark() as i64;
                    data.last_stable_offset = data.high_watermark;
                    data.log_start_offset = p.log_start_offset() as i64;
                    None
                } else {
                    match p.read(w.offset as u64, budget) {
                        Ok(fetched) => {
                            total += fetched.records.len();
                            data.high_watermark = fetched.high_watermark as i64;
                            data.last_stable_offset = fetched.high_watermark as i64;
                            data.log_start_offset = fetched.log_start_offset as i64;
                            data.records = Some(fetched.records);
                            None
                        }
                        Err(e) => {
                            data.high_watermark = p.high_watermark() as i64;
                            data.last_stable_offset = data.high_watermark;
                            data.log_start_offset = p.log_start_offset() as i64;
                            Some(log_error(&e))
                        }
                    }
                }
            }
        };
        if let Some(code) = error {
            if let Some(p) = &w.partition {
                data.high_watermark = p.high_watermark() as i64;
                data.last_stable_offset = data.high_watermark;
                data.log_start_offset = p.log_start_offset() as i64;
            }
            broker.metrics.observe_error("Fetch", code);
            data.error_code = code.code();
            errors = true;
        }
        out.push((w.topic, data));
    }
    (out, total, errors)
}

fn build(
    topics: Vec<(TopicName, uuid::Uuid)>,
    parts: Vec<(usize, PartitionData)>,
) -> FetchResponse {
    let mut responses: Vec<FetchableTopicResponse> = topics
        .into_iter()
        .map(|(name, id)| {
            FetchableTopicResponse::default()
                .with_topic(name)
                .with_topic_id(id)
        })
        .collect();
    for (ti, data) in parts {
        if let Some(t) = responses.get_mut(ti) {
            t.partitions.push(data);
        }
    }
    FetchResponse::default()
        .with_session_id(0)
        .with_responses(responses)
}
