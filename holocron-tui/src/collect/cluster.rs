//! The cluster poller: one round is Metadata, ListOffsets (earliest and
//! latest, one request per leader), DescribeLogDirs per broker for sizes,
//! DescribeQuorum per partition when the broker serves it (replica log end
//! offsets; Raft term of the metadata quorum), and the optional Prometheus
//! counters. A round either completes into a whole [`ClusterSnapshot`] or
//! reports an error: the screen never shows half a poll.

use std::collections::{BTreeMap, HashMap};

use holocron_proto::client::{Client, ClientError, ClusterView, OffsetSpec};
use holocron_proto::errors::from_code;
use holocron_proto::kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use holocron_proto::kafka_protocol::messages::{ApiKey, DescribeQuorumRequest, TopicName};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use holocronctl::cmd::common;
use tokio::sync::{mpsc, watch};

use super::{metrics, pause, status, Shared, Source, Update};
use crate::model::{BrokerRow, ClusterSnapshot, MetaQuorum, PartitionRow, ReplicaRow, TopicRow};

/// The metadata log, as KRaft names it in DescribeQuorum.
const METADATA_TOPIC: &str = "__cluster_metadata";

/// Polls until the app goes away.
pub async fn run(shared: Shared, tx: mpsc::Sender<Update>, mut refresh: watch::Receiver<u64>) {
    let mut slot = None;
    let mut failing: [bool; 2] = [false, false];
    loop {
        let result = match shared.client(&mut slot).await {
            Ok(client) => poll(client, &shared).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let (cluster_err, metrics_err) = match result {
            Ok((snap, metrics_err)) => {
                if tx.send(Update::Cluster(Box::new(snap))).await.is_err() {
                    return;
                }
                (None, metrics_err)
            }
            Err(e) => (Some(e), None),
        };
        for (i, (source, err)) in [
            (Source::Cluster, cluster_err),
            (Source::Metrics, metrics_err),
        ]
        .into_iter()
        .enumerate()
        {
            if err.is_some() || failing[i] {
                failing[i] = err.is_some();
                if !status(&tx, source, err).await {
                    return;
                }
            }
        }
        pause(shared.interval, &mut refresh).await;
    }
}

/// One round; the second value is a failed metrics scrape.
async fn poll(
    client: &Client,
    shared: &Shared,
) -> Result<(ClusterSnapshot, Option<String>), ClientError> {
    let view = client.metadata(None).await?;
    let keys: Vec<(String, i32)> = view
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.partition)))
        .collect();
    let starts = client
        .list_offsets(&view, &keys, OffsetSpec::Earliest)
        .await?;
    let ends = client
        .list_offsets(&view, &keys, OffsetSpec::Latest)
        .await?;

    let mut sizes: HashMap<i32, BTreeMap<(String, i32), u64>> = HashMap::new();
    let mut brokers = Vec::new();
    for b in &view.brokers {
        let stored = match common::log_dirs(client, b.node_id, None).await {
            Ok((dirs, per_partition)) => {
                sizes.insert(b.node_id, per_partition);
                Some(dirs.iter().map(|d| d.size_bytes).sum())
            }
            Err(_) => None,
        };
        brokers.push(BrokerRow {
            node_id: b.node_id,
            address: b.addr(),
            rack: b.rack.clone(),
            stored_bytes: stored,
        });
    }
    brokers.sort_by_key(|b| b.node_id);

    let quorum_served = client
        .broker_versions(ApiKey::DescribeQuorum)
        .await?
        .is_some();
    let metadata_quorum = if quorum_served {
        metadata_quorum(client, &view).await
    } else {
        None
    };

    let (counters, log_ends, metrics_err) = match &shared.metrics {
        Some(addr) => match metrics::scrape(addr, shared.settings.timeout).await {
            Ok(m) => (Some(m.counters), m.log_end, None),
            Err(e) => (None, HashMap::new(), Some(e)),
        },
        None => (None, HashMap::new(), None),
    };

    let mut topics = Vec::new();
    for t in &view.topics {
        let partitions: Vec<i32> = t.partitions.iter().map(|p| p.partition).collect();
        let quorum = if quorum_served && !partitions.is_empty() {
            common::quorum(client, t, &partitions).await.ok()
        } else {
            None
        };
        let rows =
            t.partitions
                .iter()
                .map(|p| {
                    let key = (t.name.clone(), p.partition);
                    let offset = |m: &holocron_proto::client::OffsetAnswers| {
                        m.get(&key).and_then(|r| r.ok()).map(|o| o.offset)
                    };
                    let size = sizes
                        .get(&p.leader)
                        .and_then(|s| s.get(&key))
                        .or_else(|| sizes.values().filter_map(|s| s.get(&key)).max())
                        .copied();
                    let q = quorum.as_ref().and_then(|q| q.get(&p.partition));
                    let replica_state = q.map(|q| {
                        q.replicas
                            .iter()
                            .map(|r| ReplicaRow {
                                node_id: r.node_id,
                                log_end_offset: (r.log_end_offset >= 0).then_some(r.log_end_offset),
                            })
                            .collect()
                    });
                    let leader_leo = q.and_then(|q| {
                        q.replicas
                            .iter()
                            .find(|r| r.node_id == q.leader_id && r.log_end_offset >= 0)
                            .map(|r| r.log_end_offset)
                    });
                    let error = p.error.map(holocronctl::exit::kafka_name).or_else(|| {
                        match ends.get(&key) {
                            Some(Err(code)) => Some(holocronctl::exit::kafka_name(*code)),
                            _ => None,
                        }
                    });
                    PartitionRow {
                        partition: p.partition,
                        leader: p.leader,
                        leader_epoch: p.leader_epoch,
                        replicas: p.replicas.clone(),
                        isr: p.isr.clone(),
                        log_start: offset(&starts),
                        high_watermark: offset(&ends),
                        log_end: leader_leo.or_else(|| log_ends.get(&key).copied()),
                        size,
                        replica_state,
                        error,
                    }
                })
                .collect();
        topics.push(TopicRow {
            name: t.name.clone(),
            internal: t.internal,
            partitions: rows,
        });
    }
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((
        ClusterSnapshot {
            at_ms: shared.now_ms(),
            cluster_id: view.cluster_id.clone(),
            controller: view.controller,
            brokers,
            metadata_quorum,
            topics,
            metrics: counters,
        },
        metrics_err,
    ))
}

/// The metadata quorum's leader and term, asked of the controller.
async fn metadata_quorum(client: &Client, view: &ClusterView) -> Option<MetaQuorum> {
    let req = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str(METADATA_TOPIC)))
        .with_partitions(vec![PartitionData::default().with_partition_index(0)])]);
    let resp = if view.controller >= 0 {
        client.send_to(view.controller, req).await.ok()?
    } else {
        client.send_any(req).await.ok()?
    };
    if from_code(resp.error_code).is_some() {
        return None;
    }
    let p = resp
        .topics
        .into_iter()
        .next()?
        .partitions
        .into_iter()
        .next()?;
    if from_code(p.error_code).is_some() {
        return None;
    }
    Some(MetaQuorum {
        leader: p.leader_id.0,
        term: p.leader_epoch,
        high_watermark: p.high_watermark,
    })
}
