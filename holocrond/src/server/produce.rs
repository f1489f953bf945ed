//! Produce: validate and append each partition's batch *now* (in request
//! order on this connection), then wait as `acks` says: nothing for 0, the
//! local append for 1, the commit (group fsync) for -1.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use holocron_proto::batch::BatchView;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use super::errors::{append_error, ErrorCode};
use super::Reply;
use crate::broker::{now_ms, Broker};
use crate::cluster::topic_name;
use crate::partition::replica::CommitTicket;
use crate::partition::Partition;

/// Versions served (v13 names topics by id).
pub const VERSIONS: (i16, i16) = (3, 13);

/// An appended batch waiting for its commit.
struct Pending {
    topic: usize,
    partition: usize,
    end: u64,
    target: Arc<Partition>,
    /// A replicated partition's commit answer for this batch.
    ticket: Option<CommitTicket>,
}

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: ProduceRequest,
    version: i16,
) -> BoxFuture<'static, Reply> {
    let acks = req.acks;
    let timeout = Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    let now = now_ms();
    let snapshot = broker.metadata.snapshot();
    let mut pending = Vec::new();
    let mut any_error = false;
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for (ti, topic) in req.topic_data.into_iter().enumerate() {
        let name: Option<String> = if version >= 13 {
            snapshot.topic_by_id(topic.topic_id).map(|t| t.name.clone())
        } else {
            Some(topic.name.0.to_string())
        };
        let mut parts = Vec::with_capacity(topic.partition_data.len());
        for (pi, data) in topic.partition_data.into_iter().enumerate() {
            let mut resp = PartitionProduceResponse::default()
                .with_index(data.index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            let partition = name
                .as_deref()
                .and_then(|n| broker.partitions.get(n, data.index));
            let outcome = if req.transactional_id.is_some() {
                Err((
                    ErrorCode::TransactionalIdAuthorizationFailed,
                    "transactions are not supported yet".to_owned(),
                ))
            } else if !matches!(acks, -1..=1) {
                Err((
                    ErrorCode::InvalidRequiredAcks,
                    format!("acks must be -1, 0 or 1, got {acks}"),
                ))
            } else {
                match (&partition, data.records) {
                    (Some(_), _) if name.as_deref().is_some_and(topic_name::is_internal) => Err((
                        ErrorCode::InvalidTopicException,
                        "clients cannot write to internal topics".to_owned(),
                    )),
                    (None, _) => Err((
                        if version >= 13 && name.is_none() {
                            ErrorCode::UnknownTopicId
                        } else {
                            ErrorCode::UnknownTopicOrPartition
                        },
                        "this broker has no such topic partition".to_owned(),
                    )),
                    (Some(p), records) => append(broker, p, records, now),
                }
            };
            match outcome {
                Ok(info) => {
                    resp.base_offset = info.base_offset as i64;
                    resp.log_start_offset = info.log_start as i64;
                    if let Some(p) = partition {
                        pending.push(Pending {
                            topic: ti,
                            partition: pi,
                            end: info.last_offset + 1,
                            target: p,
                            ticket: info.ticket,
                        });
                    }
                }
                Err((code, message)) => {
                    any_error = true;
                    broker.metrics.observe_error("Produce", code);
                    resp.error_code = code.code();
                    resp.error_message = Some(StrBytes::from_string(message));
                }
            }
            parts.push(resp);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_topic_id(topic.topic_id)
                .with_partition_responses(parts),
        );
    }
    if acks == 0 {
        // Kafka tells an acks=0 producer about errors by closing the connection.
        let reply = if any_error {
            Reply::Close
        } else {
            Reply::Nothing
        };
        return futures::future::ready(reply).boxed();
    }
    let broker = broker.clone();
    async move {
        if acks == -1 && !pending.is_empty() {
            wait_for_commits(&broker, &mut responses, pending, timeout, Wait::Commit).await;
        } else if acks == 1 && pending.iter().any(|p| p.ticket.is_some()) {
            // A replicated partition's leader answers once its own log holds
            // the batch (or Raft refused it).
            wait_for_commits(&broker, &mut responses, pending, timeout, Wait::Local).await;
        }
        Reply::response(ResponseKind::Produce(
            ProduceResponse::default().with_responses(responses),
        ))
    }
    .boxed()
}

struct Appended {
    base_offset: u64,
    last_offset: u64,
    log_start: u64,
    ticket: Option<CommitTicket>,
}

fn append(
    broker: &Broker,
    partition: &Partition,
    records: Option<Bytes>,
    now: i64,
) -> Result<Appended, (ErrorCode, String)> {
    let records = records.unwrap_or_default();
    let view = BatchView::new(&records).ok_or_else(|| {
        (
            ErrorCode::CorruptMessage,
            format!(
                "{} bytes of records cannot hold a record batch header",
                records.len()
            ),
        )
    })?;
    if view.magic() != 2 {
        return Err((
            ErrorCode::UnsupportedForMessageFormat,
            format!(
                "record batch magic {} is not supported; only v2 batches are",
                view.magic()
            ),
        ));
    }
    match view.total_len() {
        Some(len) if len == records.len() => {}
        Some(len) if len < records.len() => {
            return Err((
                ErrorCode::InvalidRecord,
                "produce requests of version 3 and above must contain exactly one record batch per partition".to_owned(),
            ))
        }
        _ => {
            return Err((
                ErrorCode::CorruptMessage,
                format!("batch length field does not match the {} bytes sent", records.len()),
            ))
        }
    }
    // The batch goes from the request frame to the segment file as it is;
    // the log writes a stamped copy of its first 16 bytes.
    let info = partition
        .append(&records, 0, now)
        .map_err(|e| (append_error(&e), e.to_string()))?;
    if !info.duplicate {
        broker.metrics.produce_bytes.inc_by(records.len() as u64);
    }
    Ok(Appended {
        base_offset: info.base_offset,
        last_offset: info.last_offset,
        log_start: partition.log_start_offset(),
        ticket: info.commit,
    })
}

/// What a produce waits for after the append.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// acks=-1: the commit.
    Commit,
    /// acks=1 on a replicated partition: the leader's own log.
    Local,
}

async fn wait_for_commits(
    broker: &Broker,
    responses: &mut [TopicProduceResponse],
    mut pending: Vec<Pending>,
    timeout: Duration,
    wait: Wait,
) {
    let waits: Vec<_> = pending
        .iter_mut()
        .map(|p| {
            let target = p.target.clone();
            let ticket = p.ticket.take();
            let end = p.end;
            async move {
                match wait {
                    Wait::Commit => target.wait_commit(end, ticket).await,
                    Wait::Local => target.wait_local(end, ticket).await,
                }
            }
        })
        .collect();
    let results = tokio::select! {
        r = futures::future::join_all(waits) => Some(r),
        () = tokio::time::sleep(timeout) => None,
        () = broker.shutdown.cancelled() => None,
    };
    for (i, p) in pending.iter().enumerate() {
        let error = match results.as_ref().map(|r| &r[i]) {
            Some(Ok(())) => continue,
            Some(Err(e)) => append_error(e),
            None => {
                // The commit did not happen in time (or the broker is stopping).
                if p.target.replica().is_none() && p.target.high_watermark() >= p.end {
                    continue;
                }
                ErrorCode::RequestTimedOut
            }
        };
        broker.metrics.observe_error("Produce", error);
        let resp = &mut responses[p.topic].partition_responses[p.partition];
        resp.error_code = error.code();
        resp.error_message = Some(StrBytes::from_static_str(
            "the batch was written but not committed in time",
        ));
    }
}
