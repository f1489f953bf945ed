//! Fixed app states for the key and snapshot tests: a one-broker cluster
//! polled twice (so rates and sparklines have values), two groups, and a
//! tail of `orders`. Everything is deterministic: the app's clock is set.

use std::time::Duration;

use crate::app::App;
use crate::collect::Update;
use crate::model::{
    BrokerRow, ClusterSnapshot, GroupOffsetRow, GroupRow, GroupsData, MemberRow, PartitionRow,
    ReplicaRow, TailRecord, TopicRow,
};

fn partition(p: i32, start: i64, hw: i64, size: u64) -> PartitionRow {
    PartitionRow {
        partition: p,
        leader: 1,
        leader_epoch: 3,
        replicas: vec![1],
        isr: vec![1],
        log_start: Some(start),
        high_watermark: Some(hw),
        log_end: None,
        size: Some(size),
        replica_state: None,
        error: None,
    }
}

/// A poll at `at_ms` after `step` polls of steady produce traffic.
pub fn snapshot(at_ms: u64, step: i64) -> ClusterSnapshot {
    // Uneven traffic, so rates and sparklines vary between polls.
    let cum = [0, 2, 3, 6, 8, 9][step.clamp(0, 5) as usize];
    let grow = |base: i64, per: i64| base + per * cum;
    ClusterSnapshot {
        at_ms,
        cluster_id: Some("hc-7f3a9e".into()),
        controller: 1,
        brokers: vec![BrokerRow {
            node_id: 1,
            address: "127.0.0.1:9092".into(),
            rack: None,
            stored_bytes: Some(48_500_000 + 90_000 * step as u64),
        }],
        metadata_quorum: None,
        topics: vec![
            TopicRow {
                name: "__consumer_offsets".into(),
                internal: true,
                partitions: vec![partition(0, 0, grow(120, 2), 20_480)],
            },
            TopicRow {
                name: "orders".into(),
                internal: false,
                partitions: (0..3)
                    .map(|p| {
                        partition(
                            p,
                            100 * i64::from(p),
                            grow(10_000 + 1_000 * i64::from(p), 300 + 100 * i64::from(p)),
                            16_000_000 + 30_000 * step as u64,
                        )
                    })
                    .collect(),
            },
            TopicRow {
                name: "payments".into(),
                internal: false,
                partitions: vec![
                    partition(0, 0, grow(5_000, 40), 310_000),
                    PartitionRow {
                        leader: -1,
                        error: Some("LEADER_NOT_AVAILABLE".into()),
                        high_watermark: None,
                        log_start: None,
                        size: None,
                        ..partition(1, 0, 0, 0)
                    },
                ],
            },
        ],
        metrics: None,
    }
}

/// Two groups: `billing` (stable, two members, lagging) and `audit` (empty).
pub fn groups(step: i64) -> GroupsData {
    let offsets = (0..3)
        .map(|p| {
            let hw = 10_000 + 1_000 * p + (300 + 100 * p) * step;
            let committed = hw - 40 * (p + 1) - 5 * step;
            GroupOffsetRow {
                topic: "orders".into(),
                partition: p as i32,
                committed: Some(committed),
                high_watermark: Some(hw),
                lag: Some(hw - committed),
                member: Some(if p < 2 { "billing-1" } else { "billing-2" }.into()),
            }
        })
        .collect();
    GroupsData::Groups(vec![
        GroupRow {
            group_id: "audit".into(),
            state: "Empty".into(),
            protocol_type: "consumer".into(),
            protocol: String::new(),
            coordinator: 1,
            members: vec![],
            offsets: vec![],
            error: None,
        },
        GroupRow {
            group_id: "billing".into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            coordinator: 1,
            members: vec![
                MemberRow {
                    member_id: "billing-1-6c1d".into(),
                    client_id: "billing-1".into(),
                    client_host: "/127.0.0.1".into(),
                    assignments: vec![("orders".into(), vec![0, 1])],
                },
                MemberRow {
                    member_id: "billing-2-93fe".into(),
                    client_id: "billing-2".into(),
                    client_host: "/127.0.0.1".into(),
                    assignments: vec![("orders".into(), vec![2])],
                },
            ],
            offsets,
            error: None,
        },
    ])
}

/// Records of `orders`, oldest first.
pub fn records() -> Vec<TailRecord> {
    (0..6)
        .map(|i| TailRecord {
            partition: (i % 3) as i32,
            offset: 10_400 + i,
            timestamp_ms: 1_700_000_000_000 + 250 * i,
            key: (i != 4).then(|| format!("customer-{}", 40 + i)),
            value: (i != 5).then(|| {
                format!(
                    "{{\"order\":{},\"amount\":{}.50,\"currency\":\"EUR\"}}",
                    9000 + i,
                    10 * i + 3
                )
            }),
            value_len: 48,
            headers: if i % 2 == 0 {
                vec![("source".into(), "web".into())]
            } else {
                vec![]
            },
        })
        .collect()
}

/// The app after three polls of everything, 2 s apart, and a tail of `orders`.
pub fn app() -> App {
    let mut app = App::new("127.0.0.1:9092", Duration::from_secs(2));
    for step in 0..4 {
        app.apply(Update::Cluster(Box::new(snapshot(
            1_000 + 2_000 * step as u64,
            step,
        ))));
        app.apply(Update::Groups(groups(step)));
    }
    let _ = app.tail_topic("orders".into());
    app.apply(Update::Tail {
        topic: "orders".into(),
        records: records(),
    });
    app.tab = crate::app::Tab::Overview;
    app.tick(7_400);
    app
}

/// The same cluster once DescribeQuorum is served: three replicas with
/// per-replica log end offsets, and the metadata quorum's leader and term.
pub fn app_with_quorum() -> App {
    let mut app = App::new("127.0.0.1:9092", Duration::from_secs(2));
    for step in 0..3 {
        let mut s = snapshot(1_000 + 2_000 * step as u64, step);
        s.metadata_quorum = Some(crate::model::MetaQuorum {
            leader: 1,
            term: 7,
            high_watermark: 812,
        });
        for t in &mut s.topics {
            for p in &mut t.partitions {
                p.replicas = vec![1, 2, 3];
                p.isr = if p.partition == 2 {
                    vec![1, 2]
                } else {
                    vec![1, 2, 3]
                };
                if let Some(hw) = p.high_watermark {
                    p.log_end = Some(hw + 5);
                    p.replica_state = Some(vec![
                        ReplicaRow {
                            node_id: 1,
                            log_end_offset: Some(hw + 5),
                        },
                        ReplicaRow {
                            node_id: 2,
                            log_end_offset: Some(hw),
                        },
                        ReplicaRow {
                            node_id: 3,
                            log_end_offset: Some(hw - 40 * i64::from(p.partition)),
                        },
                    ]);
                }
            }
        }
        app.apply(Update::Cluster(Box::new(s)));
    }
    app.tick(5_000);
    app
}
