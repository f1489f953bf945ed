//! A real network partition: the test builds its own Linux network
//! namespaces (one per node and one for the clients, with a bridge in the
//! clients' namespace and a veth pair to each node), starts a 3-node cluster
//! in them, cuts a node that leads partitions off the bridge while an
//! idempotent acks=all load runs, and reconnects it 8 s later.
//!
//! Invariants checked: the majority elects new leaders (in a higher term)
//! for everything the isolated node led; every acknowledged record is stored
//! exactly once, at its offset, in produce order; one leader per partition
//! per term; the isolated node rejoins (answers for the topic with a leader
//! for every partition, ends with the same log bytes as the others); no node
//! panics, and every node exits 0 on SIGTERM.
//!
//! Without root, `ip` or namespace support the test prints
//! `skipping: network namespaces not available: <reason>` and passes. All
//! traffic stays inside the namespaces it creates (named `hn-<test pid>-*`).
//! The guards stop every process by PID and then delete every namespace,
//! which deletes the bridge and veth pairs in them, also when the test
//! panics; only a killed test run leaves them (`ip netns list`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use holocron_tests::process::{
    check_ok, describe, output_tail, run, run_ok, tail_lines, Background,
};
use holocron_tests::records::{check_acked_durable, read_acks, read_dump};
use holocron_tests::tools::{holocronctl_bin, holocrond_bin, json_summary, python_command};

const TOPIC: &str = "netsplit";
const TIMEOUT: Duration = Duration::from_secs(180);
/// How long the isolated node stays cut off at least…
const PARTITION: Duration = Duration::from_secs(8);
/// …and at most, while the majority has not replaced it as a leader.
const LONGEST_PARTITION: Duration = Duration::from_secs(30);
const KAFKA_PORT: u16 = 9092;
const PEER_PORT: u16 = 9093;
/// The clients' address on the bridge; node `i` is `10.77.0.<i>`.
const CLIENT_IP: &str = "10.77.0.100";

fn node_ip(id: u32) -> String {
    format!("10.77.0.{id}")
}

/// Runs `ip` with whitespace-separated `args` (bounded); panics on failure.
#[track_caller]
fn ip(args: &str) {
    run_ok(
        Command::new("ip").args(args.split_whitespace()),
        Duration::from_secs(30),
    );
}

/// `inner` run inside namespace `ns`. `ip netns exec` execs it, so the PID
/// of the returned command's child is `inner`'s own.
fn in_ns(ns: &str, inner: &Command) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns])
        .arg(inner.get_program())
        .args(inner.get_args());
    for (key, value) in inner.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

/// The namespaces this test created; dropping it deletes them, and with
/// them the bridge and veth pairs that live in them.
struct Net {
    prefix: String,
    created: Vec<String>,
}

impl Net {
    /// Creates the clients' namespace, or says why namespaces cannot be used.
    fn probe() -> Result<Net, String> {
        if let Err(e) = Command::new("ip").arg("-V").output() {
            return Err(format!("cannot run `ip`: {e}"));
        }
        let mut net = Net {
            prefix: format!("hn-{}", std::process::id()),
            created: Vec::new(),
        };
        let client = net.client();
        // Left by a killed run with our PID: a failure, not a skip.
        assert!(
            !Path::new("/run/netns").join(&client).exists(),
            "namespace {client} already exists; delete it with `ip netns del {client}`"
        );
        let out = run(
            Command::new("ip").args(["netns", "add", &client]),
            Duration::from_secs(30),
        );
        if !out.status.success() {
            return Err(format!(
                "`ip netns add {client}` failed ({}): {}",
                out.status,
                out.stderr_str().trim()
            ));
        }
        net.created.push(client);
        Ok(net)
    }

    fn client(&self) -> String {
        format!("{}-c", self.prefix)
    }

    fn node(&self, id: u32) -> String {
        format!("{}-{id}", self.prefix)
    }

    /// A bridge `br0` in the clients' namespace and, per node, a veth pair:
    /// `v<id>` on the bridge, `eth0` with `10.77.0.<id>/24` in the node's
    /// namespace. Nothing is created in the test's own namespace.
    fn build(&mut self, nodes: u32) {
        let c = self.client();
        ip(&format!("-n {c} link set lo up"));
        ip(&format!("-n {c} link add br0 type bridge"));
        ip(&format!("-n {c} addr add {CLIENT_IP}/24 dev br0"));
        ip(&format!("-n {c} link set br0 up"));
        for id in 1..=nodes {
            let ns = self.node(id);
            ip(&format!("netns add {ns}"));
            self.created.push(ns.clone());
            ip(&format!(
                "-n {c} link add v{id} type veth peer name eth0 netns {ns}"
            ));
            ip(&format!("-n {c} link set v{id} master br0 up"));
            ip(&format!("-n {ns} link set lo up"));
            ip(&format!("-n {ns} addr add {}/24 dev eth0", node_ip(id)));
            ip(&format!("-n {ns} link set eth0 up"));
        }
    }

    /// Connects (`up`) or cuts off node `id` at its bridge port.
    fn set_link(&self, id: u32, up: bool) {
        let state = if up { "up" } else { "down" };
        ip(&format!("-n {} link set v{id} {state}", self.client()));
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            let out = run(
                Command::new("ip").args(["netns", "del", ns]),
                Duration::from_secs(30),
            );
            if !out.status.success() {
                eprintln!("netns: cannot delete {ns}: {}", out.stderr_str().trim());
            }
        }
    }
}

/// The test's directory (certificates, node data and logs, acks, dump);
/// kept when the test fails with `HOLOCRON_TEST_KEEP_DIR` set.
struct Work(tempfile::TempDir);

impl Work {
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        if thread::panicking() && std::env::var_os("HOLOCRON_TEST_KEEP_DIR").is_some() {
            self.0.disable_cleanup(true);
            eprintln!("netns: kept {}", self.0.path().display());
        }
    }
}

/// One `holocrond` running in its node's namespace, stopped by PID.
struct Node {
    id: u32,
    dir: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// Starts node `id` in `ns`, with its data and `broker.log` in `dir`.
    fn start(id: u32, ns: &str, dir: PathBuf, certs: &Path, peers: &str) -> Node {
        let mut inner = Command::new(holocrond_bin());
        inner
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--listen")
            .arg(format!("plaintext://{}:{KAFKA_PORT}", node_ip(id)))
            .args(["--metrics-listen", "off", "--node-id", &id.to_string()])
            .args(["--peers", peers, "--node-ca"])
            .arg(certs.join("ca.crt"))
            .arg("--node-cert")
            .arg(certs.join(format!("node-{id}.crt")))
            .arg("--node-key")
            .arg(certs.join(format!("node-{id}.key")))
            .args(["--raft-heartbeat-ms", "250"])
            .args(["--raft-election-timeout-ms", "1500"])
            .args(["--offsets-topic-partitions", "3"])
            // Plain log lines (tracing-subscriber honours NO_COLOR).
            .env("NO_COLOR", "1");
        // The test's own HOLOCRON_* settings must not leak into the broker.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HOLOCRON_") {
                inner.env_remove(key);
            }
        }
        fs::create_dir_all(&dir).expect("node dir");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("broker.log"))
            .expect("open the node log");
        let stdout = log.try_clone().expect("share the node log");
        let mut cmd = in_ns(ns, &inner);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(log));
        let description = describe(&cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{description}`: {e}"));
        Node {
            id,
            dir,
            child: Some(child),
        }
    }

    fn bootstrap(&self) -> String {
        format!("{}:{KAFKA_PORT}", node_ip(self.id))
    }

    fn log(&self) -> String {
        fs::read(self.dir.join("broker.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines = tail_lines(&log, 60).join("\n");
        let id = self.id;
        format!("--- node {id} log (last 60 lines) ---\n{lines}\n--- end of node {id} log ---")
    }

    /// Waits (bounded) until the node answers `cluster info` from
    /// `client_ns`, then checks that the PID held is holocrond's.
    #[track_caller]
    fn wait_ready(&mut self, client_ns: &str, deadline: Instant) {
        loop {
            let child = self.child.as_mut().expect("started");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("node {} exited: {status}\n{}", self.id, self.log_tail());
            }
            let info = ctl(&self.bootstrap(), &["cluster", "info", "--json"]);
            let out = run(&mut in_ns(client_ns, &info), Duration::from_secs(30));
            if out.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {} not ready: {}\n{}",
                self.id,
                out.stderr_str().trim(),
                self.log_tail()
            );
            thread::sleep(Duration::from_millis(200));
        }
        let pid = self.child.as_ref().expect("started").id();
        let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        assert!(
            exe.file_name().is_some_and(|n| n == "holocrond"),
            "PID {pid} of node {} is {}, not holocrond",
            self.id,
            exe.display()
        );
    }

    /// SIGTERM by PID, up to 15 s to exit, then SIGKILL. `None`: killed
    /// (or not running).
    fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let running = self.child.is_some();
        let stopped = self.stop();
        if thread::panicking() && running {
            eprintln!("node {} stopped: {stopped:?}\n{}", self.id, self.log_tail());
        }
    }
}

/// A holocronctl command against `brokers`.
fn ctl(brokers: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(holocronctl_bin());
    cmd.args(["--brokers", brokers, "--timeout", "5s"])
        .args(args);
    cmd
}

/// Makes a CA and, per node, a certificate for the node's address.
fn make_certs(dir: &Path, nodes: u32) {
    let d = dir.to_str().expect("utf-8 path");
    let ctl_ok = |args: &[&str]| {
        run_ok(
            Command::new(holocronctl_bin()).args(args),
            Duration::from_secs(60),
        )
    };
    ctl_ok(&["certs", "init", "--dir", d]);
    for id in 1..=nodes {
        let (id, host) = (id.to_string(), node_ip(id));
        ctl_ok(&[
            "certs", "issue", "node", "--ca-dir", d, "--id", &id, "--host", &host,
        ]);
    }
}

/// Runs a Python client script in `ns`; returns its JSON summary.
#[track_caller]
fn python_in(ns: &str, script: &str, bootstrap: &str, args: &[&str]) -> serde_json::Value {
    let mut inner = python_command(script);
    inner.arg("--bootstrap").arg(bootstrap).args(args);
    let output = run_ok(&mut in_ns(ns, &inner), TIMEOUT);
    json_summary(script, &output)
}

/// Every (partition, term) → the nodes that logged leading it.
fn leaderships(nodes: &[Node]) -> BTreeMap<(String, u64), BTreeSet<u32>> {
    let mut out: BTreeMap<(String, u64), BTreeSet<u32>> = BTreeMap::new();
    for n in nodes {
        for line in n.log().lines().filter(|l| l.contains(" leading")) {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name).map(str::to_owned))
            };
            if let (Some(p), Some(t)) = (field("partition="), field("term=")) {
                if let Ok(t) = t.parse() {
                    out.entry((p, t)).or_default().insert(n.id);
                }
            }
        }
    }
    out
}

/// Whether `name` is a partition of `topic` (`<topic>-<n>`).
fn of_topic(name: &str, topic: &str) -> bool {
    name.strip_prefix(topic)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// The last logged (leader, term) of each partition of `topic`.
fn topic_leaders(nodes: &[Node], topic: &str) -> BTreeMap<String, (u32, u64)> {
    let mut out = BTreeMap::new();
    // Terms ascend per partition: the last one wins.
    for ((p, term), ids) in leaderships(nodes) {
        if let (true, Some(&id)) = (of_topic(&p, topic), ids.first()) {
            out.insert(p, (id, term));
        }
    }
    out
}

/// Bytes in the `.log` segments of each partition of `topic` on a node.
fn topic_log_bytes(node: &Node, topic: &str) -> BTreeMap<String, u64> {
    let Ok(dirs) = fs::read_dir(node.dir.join("data")) else {
        return BTreeMap::new();
    };
    let files = |d: &Path| fs::read_dir(d).into_iter().flatten().flatten();
    dirs.flatten()
        .filter_map(|d| {
            let name = d.file_name().into_string().ok()?;
            of_topic(&name, topic).then(|| {
                let bytes = files(&d.path())
                    .filter(|f| f.path().extension().is_some_and(|e| e == "log"))
                    .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
                    .sum();
                (name, bytes)
            })
        })
        .collect()
}

fn line_count(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Waits (bounded) until `node` describes `topic` (3 partitions) with a
/// leader for every partition.
#[track_caller]
fn wait_describes_with_leaders(client_ns: &str, node: &Node, topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let cmd = ctl(&node.bootstrap(), &["topic", "describe", topic, "--json"]);
        let out = run(&mut in_ns(client_ns, &cmd), Duration::from_secs(30));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let parts = v["topics"][0]["partitions"].as_array();
        let led = parts.is_some_and(|ps| {
            ps.len() == 3
                && ps
                    .iter()
                    .all(|p| p["leader"].as_i64().is_some_and(|l| (1..=3).contains(&l)))
        });
        if out.status.success() && led {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {} does not describe {topic} with leaders after 60 s: {v}\n{}",
            node.id,
            output_tail(&out)
        );
        thread::sleep(Duration::from_millis(200));
    }
}

/// Waits (bounded) until every node holds the same bytes of each partition.
#[track_caller]
fn wait_same_logs(nodes: &[Node], topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sizes: Vec<_> = nodes.iter().map(|n| topic_log_bytes(n, topic)).collect();
        if sizes[0].len() == 3 && sizes.iter().all(|s| *s == sizes[0]) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes' logs of {topic} differ after 60 s (bytes per node): {sizes:?}"
        );
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_isolated_leader_is_replaced_and_rejoins_without_losing_acknowledged_records() {
    let mut net = match Net::probe() {
        Ok(net) => net,
        Err(reason) => {
            eprintln!("skipping: network namespaces not available: {reason}");
            return;
        }
    };
    net.build(3);
    let client = net.client();
    let work = Work(
        tempfile::Builder::new()
            .prefix("holocron-netns-")
            .tempdir()
            .expect("tempdir"),
    );
    let certs = work.path().join("certs");
    make_certs(&certs, 3);
    let peers: Vec<String> = (1..=3)
        .map(|i| format!("{i}={}:{PEER_PORT}", node_ip(i)))
        .collect();
    // Declared after `net` and `work`, so stopped before they are removed.
    // A node answers only once the metadata group has a quorum: start all.
    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| {
            let dir = work.path().join(format!("node-{i}"));
            Node::start(i, &net.node(i), dir, &certs, &peers.join(","))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    for n in &mut nodes {
        n.wait_ready(&client, deadline);
    }
    let bootstrap: Vec<String> = nodes.iter().map(Node::bootstrap).collect();
    let bootstrap = bootstrap.join(",");
    let create = [
        "--topic",
        TOPIC,
        "--partitions",
        "3",
        "--replication-factor",
        "3",
    ];
    python_in(&client, "create_topic.py", &bootstrap, &create);

    // 30,000 records at 1,000/s: the load runs before, during and after.
    let acks = work.path().join("acks.txt");
    let mut load = python_command("idempotent_load.py");
    load.arg("--bootstrap")
        .arg(&bootstrap)
        .args(["--topic", TOPIC, "--records", "30000", "--rate", "1000"])
        .args(["--max-seconds", "45", "--flush-seconds", "90"])
        .arg("--acks-file")
        .arg(&acks);
    let mut load_cmd = in_ns(&client, &load);
    let load_description = describe(&load_cmd);
    let mut load = Background::spawn(&mut load_cmd);
    let deadline = Instant::now() + Duration::from_secs(60);
    while line_count(&acks) < 2000 {
        if !load.is_running() {
            let out = load.wait(TIMEOUT);
            panic!("the producer ended early:\n{}", output_tail(&out));
        }
        assert!(Instant::now() < deadline, "no 2000 acks within 60 s");
        thread::sleep(Duration::from_millis(50));
    }

    // Cut off the node leading most of the topic's partitions.
    let leaders = topic_leaders(&nodes, TOPIC);
    assert_eq!(leaders.len(), 3, "leaders of {TOPIC}: {leaders:?}");
    let count = |id: u32| leaders.values().filter(|(l, _)| *l == id).count();
    let victim = (1..=3)
        .max_by_key(|&id| (count(id), 3 - id))
        .expect("three nodes");
    let led: BTreeMap<&String, u64> = leaders
        .iter()
        .filter(|(_, (l, _))| *l == victim)
        .map(|(p, (_, t))| (p, *t))
        .collect();
    let before = line_count(&acks);
    eprintln!("netns: cutting off node {victim}, leader of {led:?}; {before} acks so far");
    net.set_link(victim, false);
    let cut = Instant::now();
    // Invariant: the majority elects new leaders, in higher terms, for
    // everything the isolated node led.
    let mut replaced = BTreeMap::new();
    while cut.elapsed() < PARTITION
        || (replaced.len() < led.len() && cut.elapsed() < LONGEST_PARTITION)
    {
        for (p, (l, t)) in topic_leaders(&nodes, TOPIC) {
            if led.get(&p).is_some_and(|&old| l != victim && t > old) {
                replaced.entry(p).or_insert((l, t, cut.elapsed()));
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    let during = line_count(&acks) - before;
    net.set_link(victim, true);
    eprintln!(
        "netns: reconnected after {:?}; new (leader, term, after): {replaced:?}; \
         {during} acks while node {victim} was cut off",
        cut.elapsed()
    );
    assert_eq!(
        replaced.len(),
        led.len(),
        "node {victim} led {led:?}; replaced within {LONGEST_PARTITION:?}: {replaced:?}"
    );

    let output = check_ok(&load_description, load.wait(TIMEOUT));
    let summary = json_summary("idempotent_load.py", &output);
    eprintln!(
        "netns: load done: sent {}, acked {}, {} s, {} batches possibly persisted \
         before a retry, client errors {}",
        summary["sent"],
        summary["acked"],
        summary["seconds"],
        summary["possibly_persisted"].as_array().map_or(0, Vec::len),
        summary["client_errors"]
    );
    assert_eq!(summary["fatal_error"], serde_json::Value::Null, "{summary}");
    assert_eq!(summary["errors"], 0, "delivery errors: {summary}");
    let acked = read_acks(&acks);
    let sent = summary["sent"].as_u64().expect("sent");
    assert_eq!(acked.len() as u64, sent, "{summary}");

    // Invariant: the isolated node is back in the cluster.
    wait_describes_with_leaders(&client, &nodes[victim as usize - 1], TOPIC);
    wait_same_logs(&nodes, TOPIC);

    // Invariant: every acknowledged record is stored once, in order.
    let dump = work.path().join("dump.jsonl");
    let out = dump.to_str().expect("utf-8 path");
    python_in(
        &client,
        "dump.py",
        &bootstrap,
        &["--topic", TOPIC, "--out", out],
    );
    let stored = read_dump(&dump);
    let problems = check_acked_durable(&acked, &stored);
    assert!(
        problems.is_empty(),
        "after cutting off node {victim}:\n{}",
        problems.join("\n")
    );
    assert_eq!(stored.len() as u64, sent, "every record sent was acked");

    // Invariants: one leader per partition per term; no panics; clean stops.
    for ((partition, term), ids) in &leaderships(&nodes) {
        assert_eq!(
            ids.len(),
            1,
            "{partition} had leaders {ids:?} in term {term}"
        );
    }
    for n in &nodes {
        if let Some(line) = n.log().lines().find(|l| l.contains("panicked")) {
            panic!("node {} panicked: {line}\n{}", n.id, n.log_tail());
        }
    }
    for n in &mut nodes {
        let stopped = n.stop();
        assert!(
            stopped.is_some_and(|s| s.success()),
            "node {} did not exit 0 within 15 s of SIGTERM: {stopped:?}\n{}",
            n.id,
            n.log_tail()
        );
    }
}
