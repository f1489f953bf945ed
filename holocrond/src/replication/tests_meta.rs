//! The metadata group's state machine under a real (single-voter) Raft:
//! commands apply in order, and a restart rebuilds the metadata from the
//! log up to the persisted commit point.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::Raft;
use parking_lot::RwLock;
use uuid::Uuid;

use super::group_id::GroupId;
use super::log_store::RaftLogStore;
use super::meta_sm::{encode_command, MetaStateMachine};
use super::router::Router;
use super::tests_cluster::MemTransport;
use crate::cluster::{MetadataCommand, TopicMeta};
use crate::log::{Log, LogConfig};

async fn start(
    dir: &std::path::Path,
) -> (
    Raft<super::types::HoloRaft, MetaStateMachine>,
    MetaStateMachine,
) {
    let log = Arc::new(RwLock::new(
        Log::open(dir, LogConfig::default()).expect("log"),
    ));
    let store = RaftLogStore::open(log, true).expect("store");
    let sm = MetaStateMachine::open(dir.to_owned()).expect("sm");
    let router = Router::new(MemTransport::default());
    let raft = Raft::new(
        1,
        super::raft_config(100, 300, 600).expect("config"),
        router.network(GroupId::Metadata),
        store,
        sm.clone(),
    )
    .await
    .expect("raft");
    (raft, sm)
}

fn topic(name: &str) -> TopicMeta {
    TopicMeta {
        name: name.into(),
        id: Uuid::new_v4(),
        partitions: 3,
        configs: BTreeMap::new(),
        created_ms: 0,
        replicas: vec![vec![1]; 3],
        leaders: Vec::new(),
        elections: Vec::new(),
        voters: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_apply_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (raft, sm) = start(dir.path()).await;
    let members: BTreeMap<u64, openraft::impls::BasicNode> =
        [(1, openraft::impls::BasicNode::new("node-1"))].into();
    raft.initialize(members).await.expect("initialize");
    raft.wait(Some(Duration::from_secs(30)))
        .state(
            openraft::ServerState::Leader,
            "a single voter elects itself",
        )
        .await
        .expect("leader");
    let commands = [
        MetadataCommand::InitCluster {
            cluster_id: "c1".into(),
        },
        MetadataCommand::CreateTopic { topic: topic("a") },
        MetadataCommand::CreateTopic { topic: topic("b") },
        MetadataCommand::DeleteTopic { name: "a".into() },
        MetadataCommand::ReserveProducerIds {
            start: 0,
            count: 1000,
        },
    ];
    for cmd in &commands {
        raft.client_write(encode_command(cmd, 1).expect("encode"))
            .await
            .expect("committed");
    }
    let state = sm.state();
    assert_eq!(state.cluster_id.as_deref(), Some("c1"));
    assert_eq!(state.topics.keys().collect::<Vec<_>>(), vec!["b"]);
    assert_eq!(state.next_producer_id, 1000);
    let before = (*state).clone();
    raft.shutdown().await.expect("shutdown");
    drop(raft);

    let (raft, sm) = start(dir.path()).await;
    let mut changes = sm.subscribe();
    tokio::time::timeout(Duration::from_secs(30), changes.wait_for(|s| **s == before))
        .await
        .expect("metadata rebuilt after the restart")
        .expect("watch");
    raft.shutdown().await.expect("shutdown");
}
