//! Three in-process nodes replicating one partition group over an
//! in-memory transport: election, replication into the partition log,
//! failover, catch-up after a restart. Invariants checked by name: one
//! leader per term, committed offsets never change, every replica's log
//! holds the same data batches at the same offsets.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::async_runtime::watch::WatchReceiver;
use openraft::{Config, Raft, ServerState};
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use uuid::Uuid;

use super::group_id::GroupId;
use super::log_store::RaftLogStore;
use super::partition_sm::PartitionStateMachine;
use super::router::{CallError, PeerTransport, Router};
use super::service::{GroupRaft, Groups, PartitionRaft};
use super::types::{NodeId, RecordBatch};
use crate::log::{FlushPolicy, Log, LogConfig};

/// Delivers calls straight to the target node's groups, unless it is down.
#[derive(Clone, Default)]
pub(super) struct MemTransport {
    nodes: Arc<RwLock<HashMap<NodeId, Groups>>>,
    down: Arc<Mutex<HashSet<NodeId>>>,
}

impl PeerTransport for MemTransport {
    async fn call(
        &self,
        to: NodeId,
        group: Bytes,
        kind: u8,
        payload: Bytes,
        _timeout: Duration,
    ) -> Result<Bytes, CallError> {
        if self.down.lock().contains(&to) {
            return Err(CallError::Unreachable(to, "down".into()));
        }
        let groups = self.nodes.read().get(&to).cloned();
        match groups {
            Some(g) => Ok(g.handle(&group, kind, payload).await),
            None => Err(CallError::Unreachable(to, "unknown node".into())),
        }
    }
}

struct Node {
    raft: PartitionRaft,
    log: Arc<RwLock<Log>>,
    hwm: watch::Receiver<u64>,
}

fn config() -> Arc<Config> {
    super::raft_config(100, 1000, 2000).expect("valid raft config")
}

async fn start_raft<T: PeerTransport>(
    id: NodeId,
    dir: &Path,
    group: GroupId,
    router: &Router<T>,
    groups: &Groups,
) -> Node {
    let log = Log::open(
        dir,
        LogConfig {
            flush: FlushPolicy::Always,
            ..LogConfig::default()
        },
    )
    .expect("open log");
    let log = Arc::new(RwLock::new(log));
    let store = RaftLogStore::open(log.clone(), false).expect("store");
    let (hwm_tx, hwm) = watch::channel(0);
    let sm = PartitionStateMachine::open(log.clone(), hwm_tx).expect("sm");
    let raft = Raft::new(id, config(), router.network(group), store, sm)
        .await
        .expect("raft");
    groups.insert(group, GroupRaft::Partition(raft.clone()));
    Node { raft, log, hwm }
}

async fn start_node(id: NodeId, dir: &Path, group: GroupId, transport: &MemTransport) -> Node {
    let groups = Groups::default();
    let node = start_raft(id, dir, group, &Router::new(transport.clone()), &groups).await;
    transport.nodes.write().insert(id, groups);
    transport.down.lock().remove(&id);
    node
}

fn members(ids: impl IntoIterator<Item = NodeId>) -> BTreeMap<NodeId, openraft::impls::BasicNode> {
    ids.into_iter()
        .map(|id| (id, openraft::impls::BasicNode::new(format!("node-{id}"))))
        .collect()
}

/// Writes `count` five-record batches through whichever node leads,
/// checking each lands right after the previous one. A write refused with
/// ForwardToLeader (the leader lost its lease or stepped down — it happens
/// on a loaded 2-core machine) was never proposed, so it is sent again to
/// the current leader, as a Kafka client would after NOT_LEADER.
async fn write_batches(
    nodes: &BTreeMap<NodeId, Node>,
    seen: &mut BTreeMap<u64, NodeId>,
    count: usize,
    value: &mut u32,
    committed: &mut Vec<(u64, u64)>,
) {
    use openraft::error::{ClientWriteError, RaftError};
    for _ in 0..count {
        let mut attempts = 0;
        let applied = loop {
            let leader = wait_leader(nodes, seen).await;
            match nodes[&leader].raft.client_write(batch(*value, 5)).await {
                Ok(r) => break r.data,
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) if attempts < 50 => {
                    attempts += 1;
                    tracing::info!(?f, "write refused by a former leader; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("write on the leader: {e}"),
            }
        };
        let expected_base = committed.last().map_or(0, |c| c.1);
        assert_eq!(
            applied.base_offset, expected_base,
            "offsets are the running record count"
        );
        assert_eq!(applied.next_offset, expected_base + 5);
        committed.push((applied.base_offset, applied.next_offset));
        *value += 5;
    }
}

/// Waits until every node applied up to `end`, then checks that all hold
/// the same data batches at the committed offsets.
async fn check_replicas(nodes: &BTreeMap<NodeId, Node>, committed: &[(u64, u64)]) {
    let end = committed.last().expect("writes").1;
    for (id, n) in nodes {
        let mut hwm = n.hwm.clone();
        tokio::time::timeout(Duration::from_secs(30), hwm.wait_for(|h| *h >= end))
            .await
            .unwrap_or_else(|_| panic!("node {id} high watermark stuck below {end}"))
            .expect("hwm");
    }
    let first = nodes.values().next().expect("a node");
    let reference = data_batches(&first.log.read());
    let bases: Vec<u64> = reference.iter().map(|(b, _)| *b).collect();
    let expected: Vec<u64> = committed.iter().map(|c| c.0).collect();
    assert_eq!(bases, expected, "committed offsets never change");
    for (id, n) in nodes {
        assert_eq!(
            data_batches(&n.log.read()),
            reference,
            "node {id} holds the same batches at the same offsets"
        );
    }
}

fn batch(first_value: u32, records: u32) -> RecordBatch {
    let values: Vec<_> = (0..records)
        .map(|i| (None, Some(Bytes::from((first_value + i).to_string()))))
        .collect();
    RecordBatch(
        holocron_proto::batch::encode_plain_batch(&values, 1_700_000_000_000).expect("encode"),
    )
}

/// Every (term → leader) pair any node reported; panics on two leaders in
/// one term.
fn note_leaders(nodes: &BTreeMap<NodeId, Node>, seen: &mut BTreeMap<u64, NodeId>) {
    for (id, n) in nodes {
        let m = n.raft.metrics().borrow_watched().clone();
        if m.state == ServerState::Leader {
            let prev = seen.insert(m.current_term, *id);
            assert!(
                prev.is_none() || prev == Some(*id),
                "one leader per term: term {} led by {prev:?} and {id}",
                m.current_term
            );
        }
    }
}

async fn wait_leader(nodes: &BTreeMap<NodeId, Node>, seen: &mut BTreeMap<u64, NodeId>) -> NodeId {
    for _ in 0..600 {
        note_leaders(nodes, seen);
        for (id, n) in nodes {
            if n.raft.metrics().borrow_watched().state == ServerState::Leader {
                return *id;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no leader elected within 30 s");
}

/// The data batches of a log, read the way Fetch reads: (base offset, bytes
/// without the stamped prefix).
fn data_batches(log: &Log) -> Vec<(u64, Bytes)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20).expect("read");
        let mut pos = 0;
        while pos < r.bytes.len() {
            let base = u64::from_be_bytes(r.bytes[pos..pos + 8].try_into().expect("8 bytes"));
            let len =
                u32::from_be_bytes(r.bytes[pos + 8..pos + 12].try_into().expect("4")) as usize + 12;
            out.push((base, r.bytes.slice(pos + 16..pos + len)));
            pos += len;
        }
        offset = r.next_offset;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_elect_replicate_fail_over_and_catch_up() {
    let dirs: BTreeMap<NodeId, tempfile::TempDir> = (1..=3)
        .map(|id| (id, tempfile::tempdir().expect("tempdir")))
        .collect();
    let paths: BTreeMap<NodeId, PathBuf> = dirs
        .iter()
        .map(|(id, d)| (*id, d.path().to_owned()))
        .collect();
    let group = GroupId::Partition {
        topic_id: Uuid::new_v4(),
        partition: 0,
    };
    let transport = MemTransport::default();
    let mut nodes = BTreeMap::new();
    for (id, p) in &paths {
        nodes.insert(*id, start_node(*id, p, group, &transport).await);
    }
    nodes[&1]
        .raft
        .initialize(members(1..=3))
        .await
        .expect("initialize");
    let mut leaders = BTreeMap::new();
    let mut committed: Vec<(u64, u64)> = Vec::new();
    let mut value = 0u32;

    for round in 0..3 {
        write_batches(&nodes, &mut leaders, 20, &mut value, &mut committed).await;
        note_leaders(&nodes, &mut leaders);
        if round == 2 {
            break;
        }
        // Kill the leader; the others elect a new one and keep going.
        let leader = wait_leader(&nodes, &mut leaders).await;
        let old = nodes.remove(&leader).expect("leader node");
        transport.down.lock().insert(leader);
        old.raft.shutdown().await.expect("shutdown");
        drop(old);
        let next = wait_leader(&nodes, &mut leaders).await;
        assert_ne!(next, leader);
        write_batches(&nodes, &mut leaders, 10, &mut value, &mut committed).await;
        // The old leader comes back (same directory) and catches up.
        let back = start_node(leader, &paths[&leader], group, &transport).await;
        nodes.insert(leader, back);
    }
    check_replicas(&nodes, &committed).await;
    assert!(leaders.len() >= 3, "three terms had leaders: {leaders:?}");
    for n in nodes.values() {
        n.raft.shutdown().await.expect("shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_over_mtls_fail_over() {
    use super::rpc::{self, NodeTls, RpcConfig};
    use super::transport::RaftRpcHandler;
    use holocron_certs::{CertAuthority, KeyType};

    let ca = CertAuthority::create("test cluster CA", 30, KeyType::EcdsaP256).expect("ca");
    let mut listeners = BTreeMap::new();
    let mut peers = BTreeMap::new();
    for id in 1..=3u64 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        peers.insert(id, l.local_addr().expect("addr").to_string());
        listeners.insert(id, l);
    }
    let dirs: BTreeMap<NodeId, tempfile::TempDir> = (1..=3)
        .map(|id| (id, tempfile::tempdir().expect("tempdir")))
        .collect();
    let group = GroupId::Partition {
        topic_id: Uuid::new_v4(),
        partition: 3,
    };
    let mut nodes = BTreeMap::new();
    let mut handles = BTreeMap::new();
    for (id, listener) in listeners {
        let cert = ca
            .issue_node(id as i32, &["127.0.0.1".into()], 10, KeyType::EcdsaP256)
            .expect("node cert");
        let tls = NodeTls {
            ca_pem: ca.cert.cert_pem.clone(),
            cert_pem: cert.cert_pem,
            key_pem: cert.key_pem,
        };
        let addr = listener.local_addr().expect("addr");
        let groups = Groups::default();
        let handle = rpc::start_on(
            listener,
            RpcConfig::new(id, addr, peers.clone(), tls),
            RaftRpcHandler::new(groups.clone()),
        )
        .expect("rpc");
        let node = start_raft(
            id,
            dirs[&id].path(),
            group,
            &Router::new(handle.clone()),
            &groups,
        )
        .await;
        nodes.insert(id, node);
        handles.insert(id, handle);
    }
    for id in 2..=3 {
        assert!(
            handles[&1]
                .wait_connected(id, Duration::from_secs(10))
                .await
        );
    }
    nodes[&1]
        .raft
        .initialize(members(1..=3))
        .await
        .expect("initialize");
    let mut leaders = BTreeMap::new();
    let mut committed = Vec::new();
    let mut value = 0;
    write_batches(&nodes, &mut leaders, 30, &mut value, &mut committed).await;

    let leader = wait_leader(&nodes, &mut leaders).await;
    let old = nodes.remove(&leader).expect("leader");
    old.raft.shutdown().await.expect("shutdown");
    handles[&leader].shutdown().await;
    let next = wait_leader(&nodes, &mut leaders).await;
    assert_ne!(next, leader);
    write_batches(&nodes, &mut leaders, 10, &mut value, &mut committed).await;
    check_replicas(&nodes, &committed).await;
    for (id, n) in &nodes {
        n.raft.shutdown().await.expect("shutdown");
        handles[id].shutdown().await;
    }
}
