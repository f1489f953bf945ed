//! DescribeLogDirs: the data directory and each partition's size in it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{
    DescribeLogDirsRequest, DescribeLogDirsResponse, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (1, 4);

pub(super) fn handle(
    broker: &Arc<Broker>,
    req: DescribeLogDirsRequest,
    _version: i16,
) -> ResponseKind {
    let wanted: Option<BTreeMap<String, Vec<i32>>> = req.topics.map(|topics| {
        topics
            .into_iter()
            .map(|t| (t.topic.0.to_string(), t.partitions))
            .collect()
    });
    let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for p in broker.partitions.all() {
        let id = p.id();
        let included = wanted.as_ref().is_none_or(|w| {
            w.get(&id.topic)
                .is_some_and(|ps| ps.contains(&id.partition))
        });
        if included {
            by_topic.entry(id.topic.clone()).or_default().push(
                DescribeLogDirsPartition::default()
                    .with_partition_index(id.partition)
                    .with_partition_size(p.size_bytes() as i64)
                    .with_offset_lag(0),
            );
        }
    }
    let dir = std::fs::canonicalize(&broker.config.data_dir)
        .unwrap_or_else(|_| broker.config.data_dir.clone());
    let result = DescribeLogDirsResult::default()
        .with_log_dir(StrBytes::from_string(dir.display().to_string()))
        .with_topics(
            by_topic
                .into_iter()
                .map(|(name, partitions)| {
                    DescribeLogDirsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(name)))
                        .with_partitions(partitions)
                })
                .collect(),
        )
        .with_total_bytes(-1)
        .with_usable_bytes(-1);
    ResponseKind::DescribeLogDirs(DescribeLogDirsResponse::default().with_results(vec![result]))
}
