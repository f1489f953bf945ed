//! Consumer groups end to end: a real broker (in this process, on its own
//! port and temp dir) spoken to over the wire, and real clients
//! (confluent-kafka, kafka-python) driven by the scripts in `tests/python/`.
//!
//! Every broker runs with group.min.session.timeout.ms lowered to 1 s and
//! no initial rebalance delay, so rebalances are quick.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use holocron_proto::client::Connection;
use holocrond::config::{Args, Config};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use tokio_util::sync::CancellationToken;

// Kafka error codes checked here.
const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const ILLEGAL_GENERATION: i16 = 22;
const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const UNKNOWN_MEMBER_ID: i16 = 25;
const INVALID_SESSION_TIMEOUT: i16 = 26;
const REBALANCE_IN_PROGRESS: i16 = 27;
const INVALID_REQUEST: i16 = 42;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const MEMBER_ID_REQUIRED: i16 = 79;
const FENCED_INSTANCE_ID: i16 = 82;

/// A broker running in a thread of this process until dropped.
struct TestBroker {
    addr: String,
    dir: PathBuf,
    token: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl TestBroker {
    fn start(dir: &Path) -> TestBroker {
        let port = free_port();
        let args = Args {
            data_dir: Some(dir.to_owned()),
            listen: vec![format!("plaintext://127.0.0.1:{port}")],
            metrics_listen: Some("off".into()),
            offsets_topic_partitions: Some(4),
            group_min_session_timeout_ms: Some(1000),
            group_initial_rebalance_delay_ms: Some(0),
            ..Args::default()
        };
        let config = Config::from_args(args).expect("valid config");
        let token = CancellationToken::new();
        let t = token.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(holocrond::run(config, t)).expect("broker runs");
        });
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "broker did not start on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        TestBroker {
            addr,
            dir: dir.to_owned(),
            token,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.token.cancel();
        if let Some(t) = self.thread.take() {
            t.join().expect("broker thread");
        }
    }

    fn restart(&mut self) {
        self.stop();
        *self = TestBroker::start(&self.dir.clone());
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn connect(addr: &str) -> Connection {
    Connection::connect(addr, "groups-test", Duration::from_secs(30))
        .await
        .expect("connect")
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_owned())
}

fn gid(v: &str) -> GroupId {
    GroupId(s(v))
}

fn join_req(group: &str, member: &str, protocol_type: &str, protocol: &str) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(6000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member))
        .with_protocol_type(s(protocol_type))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s(protocol))
            .with_metadata(Bytes::from_static(b"meta"))])
}

/// Joins as a new dynamic member (KIP-394: two round trips).
async fn join_new(conn: &mut Connection, group: &str) -> JoinGroupResponse {
    let first = conn
        .send_version(join_req(group, "", "consumer", "range"), 5)
        .await
        .expect("join");
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    assert!(!first.member_id.is_empty());
    let id = first.member_id.to_string();
    conn.send_version(join_req(group, &id, "consumer", "range"), 5)
        .await
        .expect("join")
}

async fn sync(
    conn: &mut Connection,
    group: &str,
    member: &str,
    generation: i32,
    assignments: &[(&str, &'static [u8])],
) -> SyncGroupResponse {
    let req = SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::from_static(a))
                })
                .collect(),
        );
    conn.send_version(req, 3).await.expect("sync")
}

async fn heartbeat(conn: &mut Connection, group: &str, member: &str, generation: i32) -> i16 {
    conn.send_version(
        HeartbeatRequest::default()
            .with_group_id(gid(group))
            .with_member_id(s(member))
            .with_generation_id(generation),
        3,
    )
    .await
    .expect("heartbeat")
    .error_code
}

async fn commit(
    conn: &mut Connection,
    group: &str,
    member: &str,
    generation: i32,
    topic: &str,
    offset: i64,
) -> i16 {
    let req = OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(-1)
                .with_committed_metadata(Some(s("m")))])]);
    let resp = conn.send_version(req, 8).await.expect("commit");
    resp.topics[0].partitions[0].error_code
}

async fn fetch_offset(conn: &mut Connection, group: &str, topic: &str) -> i64 {
    let req = OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
        .with_group_id(gid(group))
        .with_topics(None)]);
    let resp = conn.send_version(req, 8).await.expect("fetch");
    resp.groups[0]
        .topics
        .iter()
        .find(|t| t.name.0.as_str() == topic)
        .map_or(-1, |t| t.partitions[0].committed_offset)
}

async fn create_topic(conn: &mut Connection, topic: &str) {
    let req = CreateTopicsRequest::default()
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(TopicName(s(topic)))
            .with_num_partitions(1)
            .with_replication_factor(1)])
        .with_timeout_ms(5000);
    let resp = conn.send_version(req, 5).await.expect("create topics");
    assert_eq!(resp.topics[0].error_code, NONE);
}

async fn describe(conn: &mut Connection, group: &str, version: i16) -> DescribedGroup {
    let resp = conn
        .send_version(
            DescribeGroupsRequest::default().with_groups(vec![gid(group)]),
            version,
        )
        .await
        .expect("describe");
    resp.groups.into_iter().next().expect("one group")
}

use kafka_protocol::messages::describe_groups_response::DescribedGroup;

#[test]
fn wrong_input_gets_kafkas_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = TestBroker::start(dir.path());
    runtime().block_on(async {
        let mut a = connect(&broker.addr).await;
        let mut b = connect(&broker.addr).await;
        create_topic(&mut a, "t").await;

        // INVALID_SESSION_TIMEOUT: below group.min.session.timeout.ms.
        let resp = a
            .send_version(
                join_req("g", "", "consumer", "range").with_session_timeout_ms(500),
                5,
            )
            .await
            .expect("join");
        assert_eq!(resp.error_code, INVALID_SESSION_TIMEOUT);

        // The first member joins and leads generation 1.
        let j1 = join_new(&mut a, "g").await;
        assert_eq!(j1.error_code, NONE);
        assert_eq!(j1.generation_id, 1);
        let m1 = j1.member_id.to_string();
        assert_eq!(j1.leader.as_str(), m1);
        assert_eq!(j1.members.len(), 1);

        // INCONSISTENT_GROUP_PROTOCOL: another protocol type, or no common protocol.
        for (ptype, proto) in [("connect", "range"), ("consumer", "roundrobin")] {
            let resp = b
                .send_version(join_req("g", "", ptype, proto), 5)
                .await
                .expect("join");
            assert_eq!(
                resp.error_code, INCONSISTENT_GROUP_PROTOCOL,
                "{ptype}/{proto}"
            );
        }

        // ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID on SyncGroup, Heartbeat, OffsetCommit.
        assert_eq!(
            sync(&mut a, "g", &m1, 7, &[]).await.error_code,
            ILLEGAL_GENERATION
        );
        assert_eq!(
            sync(&mut a, "g", "nobody", 1, &[]).await.error_code,
            UNKNOWN_MEMBER_ID
        );
        let s1 = sync(&mut a, "g", &m1, 1, &[(&m1, b"all")]).await;
        assert_eq!(s1.error_code, NONE);
        assert_eq!(&s1.assignment[..], b"all");
        assert_eq!(heartbeat(&mut a, "g", &m1, 1).await, NONE);
        assert_eq!(heartbeat(&mut a, "g", &m1, 2).await, ILLEGAL_GENERATION);
        assert_eq!(heartbeat(&mut a, "g", "nobody", 1).await, UNKNOWN_MEMBER_ID);
        assert_eq!(
            heartbeat(&mut a, "no-such-group", "x", 1).await,
            UNKNOWN_MEMBER_ID
        );
        assert_eq!(
            commit(&mut a, "g", &m1, 5, "t", 10).await,
            ILLEGAL_GENERATION
        );
        assert_eq!(
            commit(&mut a, "g", "nobody", 1, "t", 10).await,
            UNKNOWN_MEMBER_ID
        );
        assert_eq!(
            commit(&mut a, "g", "", -1, "t", 10).await,
            UNKNOWN_MEMBER_ID
        );
        // UNKNOWN_TOPIC_OR_PARTITION: commit to a topic that does not exist.
        assert_eq!(
            commit(&mut a, "g", &m1, 1, "no-such-topic", 10).await,
            UNKNOWN_TOPIC_OR_PARTITION
        );
        assert_eq!(commit(&mut a, "g", &m1, 1, "t", 10).await, NONE);
        assert_eq!(fetch_offset(&mut a, "g", "t").await, 10);

        // REBALANCE_IN_PROGRESS: a second member joins; until the first
        // rejoins, its heartbeats and syncs are told to rejoin.
        let first = b
            .send_version(join_req("g", "", "consumer", "range"), 5)
            .await
            .expect("join");
        assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
        let m2 = first.member_id.to_string();
        let addr = broker.addr.clone();
        let m2c = m2.clone();
        let joining = tokio::spawn(async move {
            let mut b = connect(&addr).await;
            b.send_version(join_req("g", &m2c, "consumer", "range"), 5)
                .await
                .expect("join")
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let code = heartbeat(&mut a, "g", &m1, 1).await;
            if code == REBALANCE_IN_PROGRESS {
                break;
            }
            assert_eq!(code, NONE);
            assert!(Instant::now() < deadline, "no rebalance started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            sync(&mut a, "g", &m1, 1, &[]).await.error_code,
            REBALANCE_IN_PROGRESS
        );
        let offsets_during = commit(&mut a, "g", &m1, 1, "t", 11).await;
        assert_eq!(offsets_during, NONE, "commits are allowed while preparing");
        let j1 = a
            .send_version(join_req("g", &m1, "consumer", "range"), 5)
            .await
            .expect("rejoin");
        let j2 = joining.await.expect("join task");
        assert_eq!((j1.error_code, j2.error_code), (NONE, NONE));
        assert_eq!((j1.generation_id, j2.generation_id), (2, 2));
        assert_eq!(j1.leader.as_str(), m1, "the leader keeps leading");
        assert_eq!(j1.members.len(), 2);
        assert!(j2.members.is_empty());
        // In CompletingRebalance, commits are refused until the group is stable.
        assert_eq!(
            commit(&mut a, "g", &m1, 2, "t", 12).await,
            REBALANCE_IN_PROGRESS
        );
        let addr = broker.addr.clone();
        let m2c = m2.clone();
        let follower = tokio::spawn(async move {
            let mut b = connect(&addr).await;
            sync(&mut b, "g", &m2c, 2, &[]).await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let s1 = sync(&mut a, "g", &m1, 2, &[(&m1, b"p0"), (&m2, b"p1")]).await;
        let s2 = follower.await.expect("follower");
        assert_eq!((s1.error_code, s2.error_code), (NONE, NONE));
        assert_eq!(
            (&s1.assignment[..], &s2.assignment[..]),
            (&b"p0"[..], &b"p1"[..])
        );

        // DescribeGroups shows both members and their assignments.
        let d = describe(&mut a, "g", 5).await;
        assert_eq!(d.group_state.as_str(), "Stable");
        assert_eq!(d.protocol_type.as_str(), "consumer");
        assert_eq!(d.protocol_data.as_str(), "range");
        let mut assigned: Vec<(String, Vec<u8>)> = d
            .members
            .iter()
            .map(|m| (m.member_id.to_string(), m.member_assignment.to_vec()))
            .collect();
        assigned.sort();
        let mut want = vec![(m1.clone(), b"p0".to_vec()), (m2.clone(), b"p1".to_vec())];
        want.sort();
        assert_eq!(assigned, want);

        // ListGroups with a state filter.
        let listed = a
            .send_version(
                ListGroupsRequest::default().with_states_filter(vec![s("stable")]),
                4,
            )
            .await
            .expect("list");
        assert!(listed.groups.iter().any(|g| g.group_id.0.as_str() == "g"));
        let listed = a
            .send_version(
                ListGroupsRequest::default().with_states_filter(vec![s("Empty")]),
                4,
            )
            .await
            .expect("list");
        assert!(!listed.groups.iter().any(|g| g.group_id.0.as_str() == "g"));

        // GROUP_ID_NOT_FOUND: describe (v6), delete and delete offsets of an unknown group.
        let d = describe(&mut a, "ghost", 6).await;
        assert_eq!(
            (d.error_code, d.group_state.as_str()),
            (GROUP_ID_NOT_FOUND, "Dead")
        );
        let d = describe(&mut a, "ghost", 5).await;
        assert_eq!((d.error_code, d.group_state.as_str()), (NONE, "Dead"));
        let del = a
            .send_version(
                DeleteGroupsRequest::default().with_groups_names(vec![gid("ghost"), gid("g")]),
                2,
            )
            .await
            .expect("delete groups");
        let codes: Vec<i16> = del.results.iter().map(|r| r.error_code).collect();
        assert_eq!(codes, vec![GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP]);
        let od = a
            .send_version(
                OffsetDeleteRequest::default()
                    .with_group_id(gid("ghost"))
                    .with_topics(vec![OffsetDeleteRequestTopic::default()
                        .with_name(TopicName(s("t")))
                        .with_partitions(vec![
                            OffsetDeleteRequestPartition::default().with_partition_index(0)
                        ])]),
                0,
            )
            .await
            .expect("offset delete");
        assert_eq!(od.error_code, GROUP_ID_NOT_FOUND);

        // Both leave in one batched LeaveGroup; the group is then Empty and can be deleted.
        let leave = a
            .send_version(
                LeaveGroupRequest::default()
                    .with_group_id(gid("g"))
                    .with_members(vec![
                        MemberIdentity::default().with_member_id(s(&m1)),
                        MemberIdentity::default().with_member_id(s(&m2)),
                        MemberIdentity::default().with_member_id(s("nobody")),
                    ]),
                4,
            )
            .await
            .expect("leave");
        let codes: Vec<i16> = leave.members.iter().map(|m| m.error_code).collect();
        assert_eq!(codes, vec![NONE, NONE, UNKNOWN_MEMBER_ID]);
        assert_eq!(describe(&mut a, "g", 5).await.group_state.as_str(), "Empty");
        assert_eq!(fetch_offset(&mut a, "g", "t").await, 11);
        let del = a
            .send_version(
                DeleteGroupsRequest::default().with_groups_names(vec![gid("g")]),
                2,
            )
            .await
            .expect("delete groups");
        assert_eq!(del.results[0].error_code, NONE);
        assert_eq!(fetch_offset(&mut a, "g", "t").await, -1);

        // FindCoordinator: batched keys (v4+) all point here; unknown key types are refused.
        let fc = a
            .send_version(
                FindCoordinatorRequest::default()
                    .with_key_type(0)
                    .with_coordinator_keys(vec![s("a"), s("b")]),
                4,
            )
            .await
            .expect("find coordinator");
        assert_eq!(fc.coordinators.len(), 2);
        let port: i32 = broker
            .addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        assert!(fc
            .coordinators
            .iter()
            .all(|c| c.error_code == NONE && c.port == port));
        let fc = a
            .send_version(
                FindCoordinatorRequest::default()
                    .with_key(s("a"))
                    .with_key_type(2),
                3,
            )
            .await
            .expect("find coordinator");
        assert_eq!(fc.error_code, INVALID_REQUEST);
    });
}

#[test]
fn static_members_rejoin_without_a_rebalance_and_state_survives_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = TestBroker::start(dir.path());
    let rt = runtime();
    let (old_id, generation) = rt.block_on(async {
        let mut a = connect(&broker.addr).await;
        create_topic(&mut a, "t").await;
        let static_join = |member: &str| {
            join_req("sg", member, "consumer", "range").with_group_instance_id(Some(s("i1")))
        };
        // Static members skip MEMBER_ID_REQUIRED.
        let j = a.send_version(static_join(""), 5).await.expect("join");
        assert_eq!((j.error_code, j.generation_id), (NONE, 1));
        let old = j.member_id.to_string();
        assert_eq!(
            sync(&mut a, "sg", &old, 1, &[(&old, b"mine")])
                .await
                .error_code,
            NONE
        );

        // The same instance comes back with no member id: it gets a new id,
        // the same generation and its assignment, without a rebalance.
        let j = a.send_version(static_join(""), 5).await.expect("rejoin");
        assert_eq!((j.error_code, j.generation_id), (NONE, 1));
        let new = j.member_id.to_string();
        assert_ne!(new, old);
        assert_eq!(
            j.leader.as_str(),
            old,
            "an old leader id keeps it from reassigning"
        );
        let s1 = sync(&mut a, "sg", &new, 1, &[]).await;
        assert_eq!((s1.error_code, &s1.assignment[..]), (NONE, &b"mine"[..]));
        let d = describe(&mut a, "sg", 5).await;
        assert_eq!((d.group_state.as_str(), d.members.len()), ("Stable", 1));
        assert_eq!(d.members[0].group_instance_id.as_deref(), Some("i1"));

        // The old member id is fenced.
        let hb = a
            .send_version(
                HeartbeatRequest::default()
                    .with_group_id(gid("sg"))
                    .with_member_id(s(&old))
                    .with_group_instance_id(Some(s("i1")))
                    .with_generation_id(1),
                3,
            )
            .await
            .expect("heartbeat");
        assert_eq!(hb.error_code, FENCED_INSTANCE_ID);

        // A simple consumer (no group management) commits with generation -1.
        assert_eq!(commit(&mut a, "simple", "", -1, "t", 42).await, NONE);
        assert_eq!(commit(&mut a, "sg", &new, 1, "t", 7).await, NONE);
        (new, 1)
    });

    broker.restart();
    rt.block_on(async {
        let mut a = connect(&broker.addr).await;
        // Offsets and the group's metadata come back from __consumer_offsets.
        assert_eq!(fetch_offset(&mut a, "simple", "t").await, 42);
        assert_eq!(fetch_offset(&mut a, "sg", "t").await, 7);
        let d = describe(&mut a, "sg", 5).await;
        assert_eq!(d.group_state.as_str(), "Stable");
        assert_eq!(d.members.len(), 1);
        assert_eq!(d.members[0].member_id.as_str(), old_id);
        assert_eq!(&d.members[0].member_assignment[..], b"mine");
        // The member carries on where it was.
        assert_eq!(heartbeat(&mut a, "sg", &old_id, generation).await, NONE);
        let leave = a
            .send_version(
                LeaveGroupRequest::default()
                    .with_group_id(gid("sg"))
                    .with_members(vec![MemberIdentity::default()
                        .with_member_id(s(""))
                        .with_group_instance_id(Some(s("i1")))]),
                4,
            )
            .await
            .expect("leave by instance id");
        assert_eq!(leave.members[0].error_code, NONE);
    });

    broker.restart();
    rt.block_on(async {
        let mut a = connect(&broker.addr).await;
        let d = describe(&mut a, "sg", 5).await;
        assert_eq!((d.group_state.as_str(), d.members.len()), ("Empty", 0));
        assert_eq!(d.protocol_type.as_str(), "consumer");
        assert_eq!(fetch_offset(&mut a, "sg", "t").await, 7);
        // Internal topics are marked internal in Metadata.
        let md = a
            .send_version(MetadataRequest::default().with_topics(None), 9)
            .await
            .expect("metadata");
        let internal: Vec<&str> = md
            .topics
            .iter()
            .filter(|t| t.is_internal)
            .filter_map(|t| t.name.as_ref().map(|n| n.0.as_str()))
            .collect();
        assert_eq!(internal, vec!["__consumer_offsets"]);
    });
}

// ----------------------------------------------------------- real clients

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python")
}

/// Runs a Python script to completion (at most `limit`) and returns its last
/// stdout line, which must be a JSON object with "ok": true.
fn run_python(script: &str, args: &[&str], limit: Duration) -> String {
    let mut child = Command::new("python3")
        .arg(python_dir().join(script))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/install-test-deps installs the clients)");
    let pid = child.id();
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{script} (pid {pid}) did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let last = stdout.lines().last().unwrap_or("").to_owned();
    assert!(
        out.status.success() && last.contains("\"ok\": true"),
        "{script} {args:?} failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    eprintln!("{script}: {last}");
    last
}

fn rebalance_scenario(client: &str, strategy: &str, members: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = TestBroker::start(dir.path());
    let topic = format!("rebalance-{client}-{strategy}");
    run_python(
        "groups_rebalance.py",
        &[
            "--bootstrap",
            &broker.addr,
            "--topic",
            &topic,
            "--group",
            &format!("group-{client}-{strategy}"),
            "--client",
            client,
            "--strategy",
            strategy,
            "--members",
            members,
        ],
        Duration::from_secs(150),
    );
}

#[test]
fn confluent_group_rebalances_on_join_leave_and_kill_exactly_once() {
    rebalance_scenario("confluent", "range", "4");
}

#[test]
fn confluent_cooperative_sticky_rebalances_incrementally() {
    rebalance_scenario("confluent", "cooperative-sticky", "4");
}

#[test]
fn kafka_python_group_rebalances_on_join_leave_and_kill_exactly_once() {
    rebalance_scenario("kafka-python", "range", "3");
}

#[test]
fn group_resumes_from_committed_offsets_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = TestBroker::start(dir.path());
    let common = |addr: &str| {
        vec![
            "--bootstrap".to_owned(),
            addr.to_owned(),
            "--topic".into(),
            "resume".into(),
            "--group".into(),
            "resume-group".into(),
        ]
    };
    let before_args = common(&broker.addr);
    let refs: Vec<&str> = before_args.iter().map(String::as_str).collect();
    let before = run_python(
        "groups_restart.py",
        &[&["before"], &refs[..]].concat(),
        Duration::from_secs(60),
    );
    let field = |name: &str| -> String {
        let at = before.find(&format!("\"{name}\": ")).expect("field") + name.len() + 4;
        let rest = &before[at..];
        let (open, close) = if rest.starts_with('[') {
            ('[', ']')
        } else {
            ('{', '}')
        };
        let mut depth = 0;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                if *c == open {
                    depth += 1;
                } else if *c == close {
                    depth -= 1;
                }
                depth == 0
            })
            .map(|(i, _)| i + 1)
            .expect("balanced");
        rest[..end].to_owned()
    };
    let (committed, consumed) = (field("committed"), field("consumed"));
    broker.restart();
    let after_args = common(&broker.addr);
    let refs: Vec<&str> = after_args.iter().map(String::as_str).collect();
    run_python(
        "groups_restart.py",
        &[
            &["after"],
            &refs[..],
            &["--committed", &committed, "--consumed", &consumed],
        ]
        .concat(),
        Duration::from_secs(60),
    );
}
