//! The metadata store on a standalone node (a 1-voter metadata group):
//! rules hold, changes survive a restart.

use std::collections::BTreeMap;
use std::path::Path;

use openraft::impls::BasicNode;

use super::*;
use crate::replication::node::{RaftNode, Transport};
use crate::replication::service::Groups;

/// A standalone node's metadata store over `dir`, ready for changes.
pub(crate) async fn standalone(dir: &Path) -> MetadataStore {
    let config = crate::replication::raft_config(100, 300, 600).expect("raft config");
    let node = RaftNode::new(0, Transport::Local, Groups::default(), config);
    let nodes = Nodes {
        ids: vec![0],
        default_replication_factor: 3,
    };
    let voters = BTreeMap::from([(0, BasicNode::new("local"))]);
    let store = MetadataStore::open(dir, node, voters, nodes)
        .await
        .expect("open");
    store
        .wait_ready(Duration::from_secs(10))
        .await
        .expect("ready");
    store
}

fn one() -> Placement {
    Placement::Factor(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_survive_reopen_and_rules_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id;
    {
        let store = standalone(dir.path()).await;
        id = store.cluster_id();
        assert_eq!(id.len(), 22);
        let t = store
            .create_topic("a.b", 3, one(), BTreeMap::new(), 1)
            .await
            .expect("create");
        assert_eq!(
            t.replicas,
            vec![vec![0]; 3],
            "factor -1 is capped at the node count"
        );
        assert!(matches!(
            store
                .create_topic("a.b", 1, one(), BTreeMap::new(), 1)
                .await,
            Err(TopicError::AlreadyExists(_))
        ));
        assert!(matches!(
            store
                .create_topic("a_b", 1, one(), BTreeMap::new(), 1)
                .await,
            Err(TopicError::Collides { .. })
        ));
        assert!(matches!(
            store.create_topic("z", 0, one(), BTreeMap::new(), 1).await,
            Err(TopicError::InvalidPartitions(_))
        ));
        assert!(matches!(
            store
                .create_topic("z", 1, Placement::Factor(2), BTreeMap::new(), 1)
                .await,
            Err(TopicError::InvalidReplicationFactor(_))
        ));
        assert!(matches!(
            store
                .create_topic(
                    "z",
                    1,
                    Placement::Explicit(vec![vec![7]]),
                    BTreeMap::new(),
                    1
                )
                .await,
            Err(TopicError::InvalidReplicaAssignment(_))
        ));
        assert_eq!(
            store
                .set_partition_count("a.b", 5, one())
                .await
                .expect("grow"),
            3
        );
        assert!(store.set_partition_count("a.b", 5, one()).await.is_err());
        let cfg = store
            .alter_configs(
                "a.b",
                &[
                    ConfigOp::Set("retention.ms".into(), "10".into()),
                    ConfigOp::Append("cleanup.policy".into(), "compact".into()),
                ],
            )
            .await
            .expect("alter");
        assert_eq!(
            cfg.get("cleanup.policy").map(String::as_str),
            Some("delete,compact")
        );
        store
            .create_topic("gone", 1, one(), BTreeMap::new(), 1)
            .await
            .expect("create");
        store.delete_topic("gone").await.expect("delete");
        store.shutdown().await;
    }
    let store = standalone(dir.path()).await;
    let s = store.snapshot();
    assert_eq!(store.cluster_id(), id);
    assert_eq!(s.topics.len(), 1);
    assert_eq!(s.topics["a.b"].partitions, 5);
    assert_eq!(s.topics["a.b"].replicas.len(), 5);
    assert_eq!(
        s.topics["a.b"]
            .configs
            .get("retention.ms")
            .map(String::as_str),
        Some("10")
    );
    store.shutdown().await;
}

#[test]
fn placement_spreads_replicas_and_leaders() {
    let nodes = Nodes {
        ids: vec![1, 2, 3],
        default_replication_factor: 3,
    };
    let r = plan::place("orders", 0, 6, &Placement::Factor(2), &nodes).expect("place");
    assert_eq!(r.len(), 6);
    for replicas in &r {
        assert_eq!(replicas.len(), 2);
        assert_ne!(replicas[0], replicas[1]);
    }
    let mut firsts: Vec<i32> = r.iter().map(|x| x[0]).collect();
    firsts.sort_unstable();
    assert_eq!(
        firsts,
        vec![1, 1, 2, 2, 3, 3],
        "preferred leaders are spread"
    );
    assert!(plan::place("t", 0, 1, &Placement::Factor(4), &nodes).is_err());
    assert_eq!(
        plan::place("t", 0, 1, &Placement::Factor(-1), &nodes).expect("default")[0].len(),
        3
    );
}
