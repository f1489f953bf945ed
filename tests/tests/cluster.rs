//! A real 3-node cluster on 127.0.0.1 with node-to-node mTLS (certificates
//! from `holocronctl certs`): replication, failover under an idempotent
//! acks=all load with kill -9 of nodes, catch-up of a node that was down,
//! one leader per term, and refusals of bad cluster settings.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use holocron_tests::process::{check_ok, describe, run, Background, Output};
use holocron_tests::records::{check_acked_durable, read_acks, read_dump, Stored};
use holocron_tests::tools::{holocronctl_bin, holocrond_bin, json_summary, python_command};
use holocron_tests::{run_python, Broker, BrokerOpts};

const TIMEOUT: Duration = Duration::from_secs(180);

/// One cluster at a time: three nodes per test on a 2-core machine are
/// already plenty, and starved nodes miss heartbeats.
static ONE_CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Three nodes and the certificates they share.
struct Cluster {
    nodes: Vec<Broker>,
    _certs: tempfile::TempDir,
    _one: std::sync::MutexGuard<'static, ()>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn ctl(args: &[&str]) -> Output {
    let mut cmd = Command::new(holocronctl_bin());
    cmd.args(args);
    check_ok(&describe(&cmd), run(&mut cmd, Duration::from_secs(60)))
}

/// Makes a CA and node certificates 1..=n in `dir`.
fn make_certs(dir: &Path, n: u32) {
    let d = dir.to_str().expect("utf-8");
    ctl(&["certs", "init", "--dir", d]);
    for i in 1..=n {
        ctl(&[
            "certs",
            "issue",
            "node",
            "--ca-dir",
            d,
            "--id",
            &i.to_string(),
            "--host",
            "127.0.0.1",
        ]);
    }
}

fn node_args(certs: &Path, id: u32, peers: &str) -> Vec<String> {
    let c = |f: String| certs.join(f).to_string_lossy().into_owned();
    vec![
        "--node-id".into(),
        id.to_string(),
        "--peers".into(),
        peers.into(),
        "--node-ca".into(),
        c("ca.crt".into()),
        "--node-cert".into(),
        c(format!("node-{id}.crt")),
        "--node-key".into(),
        c(format!("node-{id}.key")),
        "--raft-heartbeat-ms".into(),
        "250".into(),
        "--raft-election-timeout-ms".into(),
        "1500".into(),
        "--offsets-topic-partitions".into(),
        "3".into(),
    ]
}

impl Cluster {
    fn start(n: u32) -> Cluster {
        Cluster::start_with(n, &[])
    }

    /// Starts `n` nodes, each also given `extra` flags.
    fn start_with(n: u32, extra: &[&str]) -> Cluster {
        let guard = ONE_CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
        let certs = tempfile::tempdir().expect("tempdir");
        make_certs(certs.path(), n);
        let peers: Vec<String> = (1..=n)
            .map(|i| format!("{i}=127.0.0.1:{}", free_port()))
            .collect();
        let peers = peers.join(",");
        // A node answers Kafka requests only once the metadata group has a
        // leader, which needs a quorum: start them all at once.
        let handles: Vec<_> = (1..=n)
            .map(|i| {
                let mut extra_args = node_args(certs.path(), i, &peers);
                extra_args.extend(extra.iter().map(|a| (*a).to_owned()));
                let opts = BrokerOpts {
                    extra_args,
                    start_timeout: Duration::from_secs(120),
                    ..BrokerOpts::default()
                };
                thread::spawn(move || Broker::start_with(opts))
            })
            .collect();
        let nodes = handles
            .into_iter()
            .map(|h| h.join().expect("node start"))
            .collect();
        Cluster {
            nodes,
            _certs: certs,
            _one: guard,
        }
    }

    fn bootstrap(&self) -> String {
        self.bootstrap_of(&(1..=self.nodes.len()).collect::<Vec<_>>())
    }

    /// The bootstrap list of some nodes (1-based).
    fn bootstrap_of(&self, nodes: &[usize]) -> String {
        nodes
            .iter()
            .map(|&n| self.nodes[n - 1].bootstrap())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every (partition, term) → the nodes that logged leading it.
    fn leaderships(&self) -> BTreeMap<(String, u64), BTreeSet<usize>> {
        let mut out: BTreeMap<(String, u64), BTreeSet<usize>> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            for line in n.log().lines().filter(|l| l.contains(" leading")) {
                let field = |name: &str| {
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix(name).map(str::to_owned))
                };
                if let (Some(p), Some(t)) = (field("partition="), field("term=")) {
                    if let Ok(t) = t.parse() {
                        out.entry((p, t)).or_default().insert(i + 1);
                    }
                }
            }
        }
        out
    }
}

fn line_count(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Waits (bounded) for `more` acknowledgements; false if the producer ended.
#[track_caller]
fn wait_for_acks(acks: &Path, more: usize, load: &mut Background) -> bool {
    let target = line_count(acks) + more;
    let deadline = Instant::now() + Duration::from_secs(60);
    while line_count(acks) < target {
        if !load.is_running() {
            return false;
        }
        assert!(
            Instant::now() < deadline,
            "no {more} new acknowledgements within 60 s ({} in all)",
            line_count(acks)
        );
        thread::sleep(Duration::from_millis(50));
    }
    true
}

#[test]
fn kill9_nodes_under_idempotent_acks_all_load_loses_nothing() {
    const TOPIC: &str = "replicated";
    let mut cluster = Cluster::start(3);
    let work: PathBuf = cluster.nodes[0].work_dir().to_path_buf();
    let bootstrap = cluster.bootstrap();
    run_python(
        "create_topic.py",
        &bootstrap,
        &[
            "--topic",
            TOPIC,
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ],
        TIMEOUT,
    );
    let acks = work.join("cluster-acks.txt");
    let mut cmd = python_command("idempotent_load.py");
    cmd.arg("--bootstrap").arg(&bootstrap).args([
        "--topic",
        TOPIC,
        "--records",
        "40000",
        "--rate",
        "1500",
        "--max-seconds",
        "40",
        "--flush-seconds",
        "90",
        "--acks-file",
        acks.to_str().expect("utf-8 path"),
    ]);
    let description = describe(&cmd);
    let mut load = Background::spawn(&mut cmd);
    for round in 0..3 {
        if !wait_for_acks(&acks, 1000, &mut load) {
            let out = load.wait(TIMEOUT);
            panic!(
                "the producer ended early (round {round}):\n{}",
                holocron_tests::process::output_tail(&out)
            );
        }
        let victim = round % 3;
        cluster.nodes[victim].kill9();
        // Long enough for the survivors to elect new leaders and take writes.
        thread::sleep(Duration::from_secs(3));
        cluster.nodes[victim].restart();
        eprintln!(
            "cluster: kill -9 and restart of node {} done, {} acknowledged so far",
            victim + 1,
            line_count(&acks)
        );
    }
    let output = load.wait(TIMEOUT);
    let output = check_ok(&description, output);
    let summary = json_summary("idempotent_load.py", &output);
    assert_eq!(
        summary["fatal_error"],
        serde_json::Value::Null,
        "librdkafka raised a fatal error: {summary}"
    );
    assert_eq!(summary["errors"], 0, "delivery errors: {summary}");
    let acked = read_acks(&acks);
    let sent = summary["sent"].as_u64().expect("sent");
    assert_eq!(acked.len() as u64, sent, "{summary}");

    let dump = work.join("cluster-dump.jsonl");
    run_python(
        "dump.py",
        &bootstrap,
        &[
            "--topic",
            TOPIC,
            "--out",
            dump.to_str().expect("utf-8 path"),
        ],
        TIMEOUT,
    );
    let stored = read_dump(&dump);
    let problems = check_acked_durable(&acked, &stored);
    assert!(
        problems.is_empty(),
        "after three kill -9s of cluster nodes:\n{}",
        problems.join("\n")
    );
    assert_eq!(
        stored.len() as u64,
        sent,
        "every record sent was acknowledged"
    );

    let leaderships = cluster.leaderships();
    assert!(!leaderships.is_empty(), "no node logged a leadership");
    for ((partition, term), nodes) in &leaderships {
        assert_eq!(
            nodes.len(),
            1,
            "partition {partition} had leaders {nodes:?} in term {term}"
        );
    }
    for n in &cluster.nodes {
        n.assert_no_panics();
    }
}

#[test]
fn a_node_that_was_down_catches_up_and_every_node_answers_metadata() {
    const TOPIC: &str = "catch-up";
    let mut cluster = Cluster::start(3);
    let bootstrap = cluster.bootstrap();
    run_python(
        "create_topic.py",
        &bootstrap,
        &[
            "--topic",
            TOPIC,
            "--partitions",
            "2",
            "--replication-factor",
            "3",
        ],
        TIMEOUT,
    );
    // Node 3 is down while records are written, then comes back.
    cluster.nodes[2].stop();
    let live = cluster.bootstrap_of(&[1, 2]);
    produce(&live, TOPIC, 2000, &[]);
    cluster.nodes[2].restart();
    // Now stop node 1: node 3 must hold everything for the cluster to keep
    // serving all 2,000 records from nodes 2 and 3.
    thread::sleep(Duration::from_secs(3));
    cluster.nodes[0].stop();
    // The survivors elect new leaders for what node 1 led (bounded wait).
    wait_for_leaders(&cluster.nodes[1], TOPIC, &[2, 3]);
    assert_eq!(dump_from(&cluster, &[2, 3], TOPIC).len(), 2000);
    // Every live node names the brokers and a leader for each partition.
    for n in &cluster.nodes[1..] {
        let out = ctl(&[
            "--brokers",
            &n.bootstrap(),
            "topic",
            "describe",
            TOPIC,
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let parts = v["topics"][0]["partitions"].as_array().expect("partitions");
        assert_eq!(parts.len(), 2, "{v}");
        for p in parts {
            assert!(
                p["leader"].as_i64().is_some_and(|l| l == 2 || l == 3),
                "{v}"
            );
            assert_eq!(p["replicas"].as_array().map(Vec::len), Some(3), "{v}");
        }
    }
}

/// Writes `records` records to `topic` through `bootstrap`; every one
/// must be acknowledged.
#[track_caller]
fn produce(bootstrap: &str, topic: &str, records: u32, extra: &[&str]) {
    let records = records.to_string();
    let args = [&["--topic", topic, "--records", &records][..], extra].concat();
    let summary = run_python("produce.py", bootstrap, &args, TIMEOUT);
    assert_eq!(summary["errors"], 0, "{summary}");
}

/// Polls `done` every 200 ms for at most `secs` seconds; panics with
/// `what()` if it never holds.
#[track_caller]
fn wait_until(secs: u64, what: impl Fn() -> String, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "after {secs} s: {}", what());
        thread::sleep(Duration::from_millis(200));
    }
}

/// Every record of `topic`, read through `nodes` (1-based) only.
fn dump_from(cluster: &Cluster, nodes: &[usize], topic: &str) -> Vec<Stored> {
    let via = &cluster.nodes[nodes[0] - 1];
    let dump = via.work_dir().join(format!("{topic}.jsonl"));
    run_python(
        "dump.py",
        &cluster.bootstrap_of(nodes),
        &[
            "--topic",
            topic,
            "--out",
            dump.to_str().expect("utf-8 path"),
        ],
        TIMEOUT,
    );
    read_dump(&dump)
}

/// Bytes in the `.log` segments of a topic's partitions on one node.
fn topic_log_bytes(node: &Broker, topic: &str) -> u64 {
    let Ok(dirs) = fs::read_dir(node.data_dir()) else {
        return 0;
    };
    dirs.flatten()
        .filter(|d| {
            d.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix(topic))
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|p| p.parse::<u32>().is_ok())
        })
        .flat_map(|d| fs::read_dir(d.path()).into_iter().flatten().flatten())
        .filter(|f| f.path().extension().is_some_and(|e| e == "log"))
        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// Waits (bounded) until every partition of `topic` is led by one of `nodes`.
#[track_caller]
fn wait_for_leaders(via: &Broker, topic: &str, nodes: &[i64]) {
    // holocronctl exits non-zero while a partition has no leader.
    wait_json(
        &via.bootstrap(),
        &["topic", "describe", topic],
        &format!("no leaders among {nodes:?}"),
        |v| {
            v["topics"][0]["partitions"].as_array().is_some_and(|ps| {
                ps.iter()
                    .all(|p| p["leader"].as_i64().is_some_and(|l| nodes.contains(&l)))
            })
        },
    );
}

#[test]
fn a_node_whose_data_directory_was_wiped_rejoins_and_is_refilled() {
    const TOPIC: &str = "wiped";
    let mut cluster = Cluster::start(3);
    let bootstrap = cluster.bootstrap();
    run_python(
        "create_topic.py",
        &bootstrap,
        &[
            "--topic",
            TOPIC,
            "--partitions",
            "2",
            "--replication-factor",
            "3",
        ],
        TIMEOUT,
    );
    produce(&bootstrap, TOPIC, 2000, &[]);
    // Node 3 loses its whole data directory and comes back empty.
    cluster.nodes[2].stop();
    fs::remove_dir_all(cluster.nodes[2].data_dir()).expect("wipe node 3");
    cluster.nodes[2].restart();
    assert!(
        cluster.nodes[2].log().contains("rejoining"),
        "node 3 did not notice it rejoins:\n{}",
        cluster.nodes[2].log_tail()
    );
    // The leaders refill it (bounded wait): its copy of the topic becomes
    // as large as node 2's.
    let want = topic_log_bytes(&cluster.nodes[1], TOPIC);
    assert!(want > 0, "node 2 holds no data for {TOPIC}");
    let held = || topic_log_bytes(&cluster.nodes[2], TOPIC);
    wait_until(
        90,
        || format!("node 3 holds {} of {want} bytes", held()),
        || held() >= want,
    );
    // With node 1 gone, nodes 2 and 3 must elect leaders (node 3 votes
    // again once caught up) and serve every record.
    cluster.nodes[0].stop();
    wait_for_leaders(&cluster.nodes[1], TOPIC, &[2, 3]);
    let dump = dump_from(&cluster, &[2, 3], TOPIC);
    assert_eq!(dump.len(), 2000);
    // Node 3 granted no votes until each of its groups had caught up, and
    // every one of them has by now (it was refilled).
    let log = cluster.nodes[2].log();
    let caught_up = log.matches("caught up after rejoining").count();
    assert!(
        caught_up > 0,
        "node 3 never caught up:\n{}",
        cluster.nodes[2].log_tail()
    );
    for n in &cluster.nodes {
        n.assert_no_panics();
    }
}

#[test]
fn a_group_resumes_at_its_committed_offsets_after_its_coordinator_is_killed() {
    const TOPIC: &str = "group-failover";
    const GROUP: &str = "failover-group";
    let mut cluster = Cluster::start(3);
    let names = ["--topic", TOPIC, "--group", GROUP];
    let before = run_python(
        "groups_restart.py",
        &cluster.bootstrap(),
        &[&["before", "--replication-factor", "3"], &names[..]].concat(),
        TIMEOUT,
    );
    // The coordinator leads the group's offsets partition: kill it.
    let coordinator = before["coordinator"]
        .as_u64()
        .and_then(|c| usize::try_from(c).ok())
        .filter(|c| (1..=3).contains(c))
        .unwrap_or_else(|| panic!("no coordinator node in {before}"));
    cluster.nodes[coordinator - 1].kill9();
    let live: Vec<String> = (1..=3)
        .filter(|&i| i != coordinator)
        .map(|i| cluster.nodes[i - 1].bootstrap())
        .collect();
    // The new coordinator has the group, Empty, with its offsets; a new
    // member starts exactly at them and reads each other record once.
    let (committed, consumed) = (
        before["committed"].to_string(),
        before["consumed"].to_string(),
    );
    run_python(
        "groups_restart.py",
        &live.join(","),
        &[
            &["after", "--committed", &committed, "--consumed", &consumed],
            &names[..],
        ]
        .concat(),
        TIMEOUT,
    );
    for n in &cluster.nodes {
        n.assert_no_panics();
    }
}

/// The smallest base offset among a topic partition's segment files on
/// one node (None: no segment yet).
fn first_segment_base(node: &Broker, dir: &str) -> Option<u64> {
    fs::read_dir(node.data_dir().join(dir))
        .ok()?
        .flatten()
        .filter_map(|f| {
            let name = f.file_name().into_string().ok()?;
            name.strip_suffix(".log")?.parse::<u64>().ok()
        })
        .min()
}

#[test]
fn retention_purges_replicated_logs_and_a_lagging_follower_installs_the_snapshot() {
    const TOPIC: &str = "retained";
    let mut cluster = Cluster::start_with(3, &["--retention-check-interval-ms", "300"]);
    run_python(
        "create_topic.py",
        &cluster.bootstrap(),
        &[
            "--topic",
            TOPIC,
            "--replication-factor",
            "3",
            "--config",
            "segment.bytes=8192",
            "--config",
            "retention.bytes=16384",
        ],
        TIMEOUT,
    );
    // Node 3 is down while retention deletes what it has not got yet.
    cluster.nodes[2].stop();
    let live = cluster.bootstrap_of(&[1, 2]);
    produce(&live, TOPIC, 3000, &[]);
    // Retention removes the oldest segments on the running replicas
    // (bounded wait): their first segment no longer starts at 0.
    let dir = format!("{TOPIC}-0");
    let bases = || -> Vec<Option<u64>> {
        cluster.nodes[..2]
            .iter()
            .map(|n| first_segment_base(n, &dir))
            .collect()
    };
    wait_until(
        60,
        || format!("retention deleted no segment: first bases {:?}", bases()),
        || bases().iter().all(|b| b.is_some_and(|b| b > 0)),
    );
    // Node 3 comes back behind the leader's log start: it gets the
    // snapshot, starts its log there and fetches the rest.
    cluster.nodes[2].restart();
    wait_until(
        60,
        || {
            format!(
                "node 3 did not install the snapshot (first base {:?})\n{}",
                first_segment_base(&cluster.nodes[2], &dir),
                cluster.nodes[2].log_tail()
            )
        },
        || {
            first_segment_base(&cluster.nodes[2], &dir).is_some_and(|b| b > 0)
                && topic_log_bytes(&cluster.nodes[2], TOPIC) > 0
        },
    );
    assert!(
        cluster.nodes[2]
            .log()
            .contains("installing the leader's snapshot"),
        "node 3 caught up without a snapshot:\n{}",
        cluster.nodes[2].log_tail()
    );
    // Without node 1, nodes 2 and 3 serve the retained records: every
    // offset from the log start to the end, once.
    thread::sleep(Duration::from_secs(2));
    cluster.nodes[0].stop();
    wait_for_leaders(&cluster.nodes[1], TOPIC, &[2, 3]);
    let dump = dump_from(&cluster, &[2, 3], TOPIC);
    let offsets: Vec<i64> = dump.iter().map(|r| r.offset).collect();
    let first = *offsets.first().expect("records after retention");
    assert!(first > 0, "nothing was deleted: the first offset is 0");
    assert_eq!(
        offsets,
        (first..3000).collect::<Vec<_>>(),
        "records from the log start to the end, each once"
    );
    for n in &cluster.nodes {
        n.assert_no_panics();
    }
}

/// `holocronctl --brokers <all> <args> --json`, parsed; None unless it exits 0.
fn ctl_json(cluster: &Cluster, args: &[&str]) -> Option<serde_json::Value> {
    ctl_json_at(&cluster.bootstrap(), args)
}

/// `holocronctl --brokers <brokers> <args> --json`, parsed; None unless it
/// exits 0.
fn ctl_json_at(brokers: &str, args: &[&str]) -> Option<serde_json::Value> {
    let mut cmd = Command::new(holocronctl_bin());
    cmd.args(["--brokers", brokers]).args(args).arg("--json");
    let out = run(&mut cmd, Duration::from_secs(60));
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

/// Polls `holocronctl --brokers <brokers> <args> --json` (bounded) until
/// `done` holds; returns that answer.
#[track_caller]
fn wait_json(
    brokers: &str,
    args: &[&str],
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let last = std::cell::RefCell::new(None::<serde_json::Value>);
    wait_until(
        60,
        || {
            let last = last.borrow();
            let shown = last.as_ref().map_or("none".to_owned(), ToString::to_string);
            format!("{what}; last answer: {shown}")
        },
        || {
            let answer = ctl_json_at(brokers, args);
            let ok = answer.as_ref().is_some_and(&done);
            *last.borrow_mut() = answer;
            ok
        },
    );
    last.into_inner().expect("the answer that ended the wait")
}

#[test]
fn quorum_lag_roles_and_leader_transfer_are_visible_and_work() {
    const TOPIC: &str = "ops";
    let mut cluster = Cluster::start(3);
    run_python(
        "create_topic.py",
        &cluster.bootstrap(),
        &["--topic", TOPIC, "--replication-factor", "3"],
        TIMEOUT,
    );
    produce(&cluster.bootstrap(), TOPIC, 500, &[]);
    // DescribeQuorum per partition: every replica's log end reaches 500
    // and its lag 0 (followers learn the commit with the next heartbeat).
    let described = wait_json(
        &cluster.bootstrap(),
        &["partition", "describe", TOPIC],
        "every replica caught up",
        |v| {
            v["quorum_available"] == true
                && v["partitions"][0]["replicas"].as_array().is_some_and(|rs| {
                    rs.len() == 3
                        && rs.iter().all(|r| {
                            r["log_end_offset"].as_i64() == Some(500)
                                && r["lag"].as_i64() == Some(0)
                                && r["last_fetch_ms"].as_i64().is_some()
                        })
                })
        },
    );
    let leader = described["partitions"][0]["leader"]
        .as_i64()
        .expect("a leader");
    // Hand the leadership to another replica.
    let target = leader % 3 + 1;
    let to = target.to_string();
    let moved = ctl_json(
        &cluster,
        &["partition", "transfer-leader", TOPIC, "0", "--to", &to],
    )
    .expect("transfer-leader succeeds");
    assert_eq!(moved["to"].as_i64(), Some(target), "{moved}");
    assert_eq!(moved["from"].as_i64(), Some(leader), "{moved}");
    assert_eq!(moved["replicas"][0].as_i64(), Some(target), "{moved}");
    let v = ctl_json(&cluster, &["topic", "describe", TOPIC]).expect("describe");
    assert_eq!(
        v["topics"][0]["partitions"][0]["leader"].as_i64(),
        Some(target),
        "{v}"
    );
    // Bad input: a node without a replica, a partition that does not exist.
    for (args, code) in [
        (
            vec!["partition", "transfer-leader", TOPIC, "0", "--to", "9"],
            2,
        ),
        (
            vec!["partition", "transfer-leader", TOPIC, "7", "--to", "1"],
            3,
        ),
    ] {
        let mut cmd = Command::new(holocronctl_bin());
        cmd.args(["--brokers", &cluster.bootstrap()]).args(&args);
        let out = run(&mut cmd, Duration::from_secs(60));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            out.stderr_str()
        );
        assert!(out.stderr_str().contains("error:"), "{}", out.stderr_str());
    }
    // Records written before the transfer are all there, once.
    let dump = cluster.nodes[0].work_dir().join("ops.jsonl");
    run_python(
        "dump.py",
        &cluster.bootstrap(),
        &[
            "--topic",
            TOPIC,
            "--out",
            dump.to_str().expect("utf-8 path"),
        ],
        TIMEOUT,
    );
    assert_eq!(read_dump(&dump).len(), 500);
    // cluster info names each node's role; a stopped node shows offline.
    let info = ctl_json(&cluster, &["cluster", "info"]).expect("cluster info");
    let roles: Vec<&str> = info["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["role"].as_str())
        .collect();
    assert_eq!(
        roles.iter().filter(|r| **r == "leader").count(),
        1,
        "{info}"
    );
    assert_eq!(
        roles.iter().filter(|r| **r == "follower").count(),
        2,
        "{info}"
    );
    let stopped = if info["metadata_leader_id"].as_i64() == Some(3) {
        1
    } else {
        3
    };
    cluster.nodes[stopped - 1].stop();
    let survivor = if stopped == 1 { 2 } else { 1 };
    wait_json(
        &cluster.bootstrap_of(&[survivor]),
        &["cluster", "info"],
        &format!("node {stopped} not shown offline"),
        |v| {
            v["nodes"].as_array().is_some_and(|ns| {
                ns.iter().any(|n| {
                    n["node_id"].as_u64() == Some(stopped as u64) && n["role"] == "offline"
                })
            })
        },
    );
    for n in &cluster.nodes {
        n.assert_no_panics();
    }
}

#[test]
fn a_partition_moves_to_another_node_and_the_old_replica_goes() {
    const TOPIC: &str = "moving";
    let mut cluster = Cluster::start(3);
    run_python(
        "create_topic.py",
        &cluster.bootstrap(),
        &["--topic", TOPIC, "--replication-factor", "2"],
        TIMEOUT,
    );
    produce(&cluster.bootstrap(), TOPIC, 1000, &[]);
    let v = ctl_json(&cluster, &["topic", "describe", TOPIC]).expect("describe");
    let old: Vec<i64> = v["topics"][0]["partitions"][0]["replicas"]
        .as_array()
        .expect("replicas")
        .iter()
        .filter_map(serde_json::Value::as_i64)
        .collect();
    assert_eq!(old.len(), 2, "{v}");
    let newcomer = (1..=3)
        .find(|n| !old.contains(n))
        .expect("a node without a replica");
    let (kept, leaving) = (old[0], old[1]);
    let target = format!("{newcomer},{kept}");
    let moved = ctl_json(
        &cluster,
        &["partition", "move", TOPIC, "0", "--replicas", &target],
    )
    .expect("partition move succeeds");
    assert_eq!(moved["to"], serde_json::json!([newcomer, kept]), "{moved}");
    let idx = |n: i64| usize::try_from(n - 1).expect("node index");
    // The node moved away deletes its copy; the newcomer holds all of it
    // (bounded waits).
    let dir = format!("{TOPIC}-0");
    let old_copy = || cluster.nodes[idx(leaving)].data_dir().join(&dir).exists();
    let bytes = |n: i64| topic_log_bytes(&cluster.nodes[idx(n)], TOPIC);
    wait_until(
        60,
        || {
            format!(
                "move not finished on disk: node {leaving} still has {dir}: {}, \
                 node {newcomer} holds {} of {} bytes",
                old_copy(),
                bytes(newcomer),
                bytes(kept)
            )
        },
        || !old_copy() && bytes(newcomer) >= bytes(kept),
    );
    // Writes go on, and without the old replica's node every record is
    // served by the new replicas.
    produce(&cluster.bootstrap(), TOPIC, 500, &["--run", "r2"]);
    cluster.nodes[idx(leaving)].stop();
    let both = [idx(kept) + 1, idx(newcomer) + 1];
    let offsets: Vec<i64> = dump_from(&cluster, &both, TOPIC)
        .iter()
        .map(|r| r.offset)
        .collect();
    assert_eq!(offsets, (0..1500).collect::<Vec<_>>());
    // Bad input: an unknown node.
    let mut cmd = Command::new(holocronctl_bin());
    cmd.args(["--brokers", &cluster.bootstrap_of(&both)]).args([
        "partition",
        "move",
        TOPIC,
        "0",
        "--replicas",
        "9",
    ]);
    let out = run(&mut cmd, Duration::from_secs(60));
    assert!(!out.status.success(), "moving to node 9 succeeded");
    assert!(out.stderr_str().contains("node 9"), "{}", out.stderr_str());
    for n in &cluster.nodes {
        n.assert_no_panics();
    }
}

#[test]
fn cluster_mode_refuses_missing_certificates_and_bad_peers() {
    let bin = holocrond_bin();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--node-id", "1", "--peers", "1=127.0.0.1:1,2=127.0.0.1:2"],
            "inter-node mTLS cannot be turned off",
        ),
        (
            &["--node-id", "3", "--peers", "1=127.0.0.1:1,2=127.0.0.1:2"],
            "is not in the list",
        ),
        (&["--node-id", "1", "--peers", "1=nowhere"], "HOST:PORT"),
    ];
    for (args, expected) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(&bin);
        cmd.args(args).arg("--data-dir").arg(dir.path()).args([
            "--listen",
            "plaintext://127.0.0.1:0",
            "--metrics-listen",
            "off",
        ]);
        let out = run(&mut cmd, Duration::from_secs(30));
        assert!(!out.status.success(), "{args:?} started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
