//! holocronctl against real holocrond processes: every command in both
//! output modes, JSON read back into the documented types, each exit code
//! class, and `--json | jq` in a shell.
//!
//! Each test gets its own broker (free ports, temp dir, killed on drop) and
//! its own config directory. `HOLOCROND_BIN` names the broker binary; by
//! default it is the `holocrond` next to this test's target directory
//! (`scripts/test` builds every binary first).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use holocronctl::cmd::bench::BenchResult;
use holocronctl::cmd::broker::{BrokerDescribe, BrokerList};
use holocronctl::cmd::cluster::{ClusterHealth, ClusterInfo};
use holocronctl::cmd::consume::ConsumedRecord;
use holocronctl::cmd::group::{GroupDelete, GroupDescribe, GroupLag, GroupList, GroupReset};
use holocronctl::cmd::offsets::Offsets;
use holocronctl::cmd::partition::PartitionDescribe;
use holocronctl::cmd::produce::ProduceSummary;
use holocronctl::cmd::profile::{ProfileChange, ProfileList};
use holocronctl::cmd::topic::{
    TopicAddPartitions, TopicAlterConfig, TopicDescribe, TopicList, TopicOps,
};
use holocronctl::exit::{ErrorClass, ErrorDoc};
use holocronctl::output::Doc;
use predicates::prelude::*;
use serde::de::DeserializeOwned;

#[path = "cli/certs.rs"]
mod certs;

fn holocrond_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HOLOCROND_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test exe");
    // target/debug/deps/cli-… → target/debug/holocrond
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("holocrond")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A holocrond process with its own ports and data dir, killed on drop.
struct Broker {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Broker {
        // A free port can be taken by another test's process before this
        // broker binds it: the broker then exits, and the port answers for
        // someone else. Start again on new ports when that happens.
        for _ in 0..3 {
            if let Some(b) = Broker::try_start() {
                return b;
            }
        }
        panic!("holocrond did not start (its ports were taken three times)");
    }

    fn try_start() -> Option<Broker> {
        let bin = holocrond_bin();
        assert!(
            bin.exists(),
            "{} is missing: build it (cargo build --workspace --bins) or set HOLOCROND_BIN",
            bin.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let child = Proc::new(&bin)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--listen")
            .arg(format!("plaintext://{addr}"))
            .arg("--metrics-listen")
            .arg(format!("127.0.0.1:{}", free_port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn holocrond");
        let mut b = Broker { child, addr, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if matches!(b.child.try_wait(), Ok(Some(_))) {
                return None;
            }
            if TcpStream::connect(&b.addr).is_ok() {
                // Still ours a moment later (a broker that lost its port
                // exits at once).
                std::thread::sleep(Duration::from_millis(200));
                if matches!(b.child.try_wait(), Ok(Some(_))) {
                    return None;
                }
                return Some(b);
            }
            assert!(
                Instant::now() < deadline,
                "holocrond did not start on {}",
                b.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// holocronctl aimed at this broker, with a private config dir.
    fn ctl(&self) -> Command {
        let mut c = Command::cargo_bin("holocronctl").expect("holocronctl binary");
        c.env("HOLOCRON_BROKERS", &self.addr)
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env_remove("HOLOCRON_PROFILE")
            .env_remove("HOLOCRON_CONFIG")
            .env_remove("HOLOCRON_TLS")
            .timeout(Duration::from_secs(60));
        c
    }

    /// Runs holocronctl with `--json`, expects exit 0, reads stdout as `T`.
    fn json<T: DeserializeOwned>(&self, args: &[&str], schema: &str) -> T {
        let out = self.ctl().args(args).arg("--json").output().expect("run");
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        parse(&out.stdout, schema)
    }

    /// Runs holocronctl for humans, expects exit 0, returns stdout.
    fn human(&self, args: &[&str]) -> String {
        let out = self.ctl().args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty() || !out.stdout.is_empty());
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// Expects `args` to fail with `class`, in both output modes: one line on
    /// stderr, or one JSON error object with --json; nothing on stdout.
    fn fails(&self, args: &[&str], class: ErrorClass) {
        let code = i32::from(class.code());
        let out = self.ctl().args(args).output().expect("run");
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line on stderr: {err}");
        assert!(err.starts_with("holocronctl: error: "), "{err}");
        let out = self.ctl().args(args).arg("--json").output().expect("run");
        assert_eq!(out.status.code(), Some(code));
        let doc: Doc<ErrorDoc> = serde_json::from_slice(&out.stderr).expect("JSON error on stderr");
        assert_eq!(doc.schema, "holocron.error/v1");
        assert_eq!(doc.data.class, class);
        assert_eq!(i32::from(doc.data.exit_code), code);
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8], schema: &str) -> T {
    let text = std::str::from_utf8(bytes).expect("utf8");
    assert_eq!(text.lines().count(), 1, "one JSON document: {text}");
    let doc: Doc<T> = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(doc.schema, schema);
    doc.data
}

fn ndjson<T: DeserializeOwned>(bytes: &[u8], schema: &str) -> Vec<T> {
    std::str::from_utf8(bytes)
        .expect("utf8")
        .lines()
        .map(|l| {
            let doc: Doc<T> = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            assert_eq!(doc.schema, schema);
            doc.data
        })
        .collect()
}

#[test]
fn cluster_info_and_health() {
    let b = Broker::start();
    let info: ClusterInfo = b.json(&["cluster", "info"], "holocron.cluster.info/v1");
    assert_eq!(info.brokers.len(), 1);
    assert_eq!(info.brokers[0].address, b.addr);
    assert!(info.api_versions.iter().any(|a| a.name == "Produce"));
    let text = b.human(&["cluster", "info"]);
    assert!(
        text.contains("Cluster id") && text.contains(&b.addr),
        "{text}"
    );
    let h: ClusterHealth = b.json(&["cluster", "health"], "holocron.cluster.health/v1");
    assert!(h.healthy, "{h:?}");
    assert!(b.human(&["cluster", "health"]).contains("Healthy"));
    let out = b
        .ctl()
        .args([
            "cluster",
            "health",
            "--watch",
            "--exit-when-healthy",
            "--json",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let docs: Vec<ClusterHealth> = ndjson(&out.stdout, "holocron.cluster.health/v1");
    assert!(docs.last().is_some_and(|h| h.healthy));
}

#[test]
fn brokers() {
    let b = Broker::start();
    let list: BrokerList = b.json(&["broker", "list"], "holocron.broker.list/v1");
    assert_eq!(list.brokers.len(), 1);
    let id = list.brokers[0].node_id.to_string();
    assert!(b.human(&["broker", "list"]).contains(&b.addr));
    let d: BrokerDescribe = b.json(&["broker", "describe", &id], "holocron.broker.describe/v1");
    assert_eq!(d.log_dirs.len(), 1);
    assert!(!d.configs.is_empty());
    assert!(b
        .human(&["broker", "describe", &id])
        .contains("Log directories"));
    b.fails(&["broker", "describe", "4242"], ErrorClass::NotFound);
}

#[test]
fn topic_lifecycle() {
    let b = Broker::start();
    let c: TopicOps = b.json(
        &["topic", "create", "t1", "-p", "3"],
        "holocron.topic.create/v1",
    );
    assert_eq!(c.topics[0].status, "created");
    assert_eq!(c.topics[0].partitions, Some(3));
    assert!(b
        .human(&["topic", "create", "t2", "-c", "retention.ms=60000"])
        .contains("created"));
    b.fails(&["topic", "create", "t1"], ErrorClass::AlreadyExists);
    let c: TopicOps = b.json(
        &["topic", "create", "t1", "--if-not-exists"],
        "holocron.topic.create/v1",
    );
    assert_eq!(c.topics[0].status, "exists");
    // One new, one existing: partial failure, and the output says which.
    let out = b
        .ctl()
        .args(["topic", "create", "t3", "t1", "--json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(7));
    let c: TopicOps = parse(&out.stdout, "holocron.topic.create/v1");
    assert_eq!(c.topics[0].status, "created");
    assert_eq!(c.topics[1].status, "failed");
    let dry: TopicOps = b.json(
        &["topic", "create", "t9", "--dry-run"],
        "holocron.topic.create/v1",
    );
    assert!(dry.dry_run);

    let list: TopicList = b.json(&["topic", "list"], "holocron.topic.list/v1");
    let names: Vec<&str> = list.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["t1", "t2", "t3"]);
    assert!(b.human(&["topic", "list"]).contains("t3"));

    let d: TopicDescribe = b.json(
        &["topic", "describe", "t1", "t2"],
        "holocron.topic.describe/v1",
    );
    assert_eq!(d.topics[0].partitions.len(), 3);
    let p = &d.topics[0].partitions[0];
    assert_eq!((p.log_start_offset, p.high_watermark), (Some(0), Some(0)));
    assert!(p.size_bytes.is_some());
    assert_eq!(p.segments, None);
    let r = d.topics[1]
        .configs
        .iter()
        .find(|c| c.name == "retention.ms")
        .expect("retention.ms");
    assert_eq!(
        (r.value.as_deref(), r.source.as_str()),
        (Some("60000"), "topic")
    );
    let text = b.human(&["topic", "describe", "t2"]);
    assert!(
        text.contains("HIGH-WATERMARK") && text.contains("retention.ms=60000"),
        "{text}"
    );
    b.fails(&["topic", "describe", "nope"], ErrorClass::NotFound);

    let a: TopicAlterConfig = b.json(
        &["topic", "alter-config", "t1", "--set", "retention.ms=1000"],
        "holocron.topic.alter-config/v1",
    );
    assert_eq!(a.set.get("retention.ms").map(String::as_str), Some("1000"));
    assert!(b
        .human(&["topic", "alter-config", "t1", "--delete", "retention.ms"])
        .contains("reset to default"));
    b.fails(
        &["topic", "alter-config", "nope", "--set", "a=b"],
        ErrorClass::NotFound,
    );

    let g: TopicAddPartitions = b.json(
        &["topic", "add-partitions", "t1", "--count", "4"],
        "holocron.topic.add-partitions/v1",
    );
    assert_eq!((g.previous_count, g.count), (3, 4));
    assert!(b
        .human(&["topic", "add-partitions", "t1", "--count", "5"])
        .contains("to 5"));

    let del: TopicOps = b.json(&["topic", "delete", "t1"], "holocron.topic.delete/v1");
    assert_eq!(del.topics[0].status, "deleted");
    assert!(b.human(&["topic", "delete", "t2"]).contains("deleted"));
    b.fails(&["topic", "delete", "t1"], ErrorClass::NotFound);
    let del: TopicOps = b.json(
        &["topic", "delete", "t1", "--if-exists"],
        "holocron.topic.delete/v1",
    );
    assert_eq!(del.topics[0].status, "absent");
}

#[test]
fn produce_consume_offsets_partitions() {
    let b = Broker::start();
    b.human(&["topic", "create", "events", "-p", "2"]);
    let input = "a:1\nb:2\nc:3\nd:4\n";
    let out = b
        .ctl()
        .args(["produce", "events", "-K", ":", "-H", "src=test", "--json"])
        .write_stdin(input)
        .output()
        .expect("run");
    assert!(out.status.success());
    let s: ProduceSummary = parse(&out.stdout, "holocron.produce/v1");
    assert_eq!(s.records, 4);
    assert_eq!(s.partitions.iter().map(|p| p.records).sum::<u64>(), 4);

    let file = b.dir.path().join("in.txt");
    std::fs::write(&file, "x|y|z").expect("write");
    let text = b.human(&[
        "produce",
        "events",
        "-f",
        file.to_str().expect("path"),
        "-D",
        "|",
        "-p",
        "1",
        "-z",
        "zstd",
        "--acks",
        "leader",
    ]);
    assert!(text.contains("produced 3 records"), "{text}");
    let s: ProduceSummary = b.json(
        &[
            "produce",
            "events",
            "-f",
            file.to_str().expect("path"),
            "-p",
            "0",
            "--acks",
            "none",
            "-z",
            "gzip",
        ],
        "holocron.produce/v1",
    );
    assert_eq!(s.partitions[0].first_offset, None);

    // Records with the same key land on the same partition (murmur2).
    let out = b
        .ctl()
        .args(["consume", "events", "--json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let recs: Vec<ConsumedRecord> = ndjson(&out.stdout, "holocron.consume/v1");
    assert!(recs.len() >= 7, "{recs:?}");
    let a = recs
        .iter()
        .find(|r| r.key.as_deref() == Some("a"))
        .expect("a");
    assert_eq!(a.value.as_deref(), Some("1"));
    assert_eq!(a.headers[0].key, "src");
    let text = b.human(&[
        "consume",
        "events",
        "-p",
        "1",
        "--format",
        "%p:%o:%v\\n",
        "-n",
        "2",
    ]);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.starts_with("1:"), "{text}");
    let last = b.human(&["consume", "events", "-p", "1", "-o", "-1"]);
    assert_eq!(last.lines().count(), 1, "{last}");
    let none = b.human(&["consume", "events", "-o", "end"]);
    assert!(none.is_empty());
    let from_time = b.human(&["consume", "events", "-o", "@1h ago", "-n", "1"]);
    assert_eq!(from_time.lines().count(), 1);
    b.fails(&["consume", "events", "-o", "soon"], ErrorClass::Usage);
    b.fails(&["consume", "events", "-p", "7"], ErrorClass::NotFound);
    b.fails(&["consume", "missing"], ErrorClass::NotFound);
    b.fails(&["produce", "missing"], ErrorClass::NotFound);

    let o: Offsets = b.json(
        &["offsets", "events", "--timestamp", "1h ago"],
        "holocron.offsets/v1",
    );
    assert_eq!(o.partitions.len(), 2);
    assert_eq!(
        o.partitions.iter().map(|p| p.records).sum::<i64>() as usize,
        recs.len()
    );
    assert!(o.partitions.iter().all(|p| p.at_timestamp == Some(0)));
    assert!(b.human(&["offsets", "events"]).contains("EARLIEST"));

    let p: PartitionDescribe = b.json(
        &["partition", "describe", "events"],
        "holocron.partition.describe/v1",
    );
    assert_eq!(p.partitions.len(), 2);
    let r = &p.partitions[0].replicas[0];
    assert!(r.leader && r.in_sync);
    assert!(b
        .human(&["partition", "describe", "events", "-p", "1"])
        .contains("leader"));
}

#[test]
fn bench_produce_and_consume() {
    let b = Broker::start();
    let r: BenchResult = b.json(
        &[
            "bench",
            "produce",
            "bench",
            "-d",
            "1s",
            "-s",
            "64",
            "-p",
            "2",
            "--concurrency",
            "2",
        ],
        "holocron.bench.produce/v1",
    );
    assert!(r.records > 0 && r.records_per_sec > 0.0, "{r:?}");
    assert!(r.latency_ms.p50 <= r.latency_ms.max);
    let text = b.human(&["bench", "produce", "bench", "-n", "200", "--rate", "1000"]);
    assert!(text.contains("MSGS/S"), "{text}");
    let c: BenchResult = b.json(
        &["bench", "consume", "bench", "-d", "5s"],
        "holocron.bench.consume/v1",
    );
    assert!(c.records >= r.records, "{c:?}");
    assert!(b
        .human(&["bench", "consume", "bench", "-n", "10"])
        .contains("MB/S"));
}

#[test]
fn exit_codes_for_usage_unreachable_and_tls() {
    let b = Broker::start();
    b.fails(&["topic", "create"], ErrorClass::Usage);
    b.fails(&["topic", "frobnicate"], ErrorClass::Usage);
    b.fails(
        &["topic", "create", "x", "-c", "novalue"],
        ErrorClass::Usage,
    );
    b.fails(
        &["--brokers", "nonsense", "topic", "list"],
        ErrorClass::Usage,
    );
    b.fails(
        &[
            "--brokers",
            &format!("127.0.0.1:{}", free_port()),
            "topic",
            "list",
        ],
        ErrorClass::Unreachable,
    );
    b.fails(
        &["--tls-ca", "/nonexistent/ca.pem", "topic", "list"],
        ErrorClass::Usage,
    );
    // TLS needs a CA to trust (there is no system trust store).
    b.fails(&["--tls", "topic", "list"], ErrorClass::Usage);
    // No subcommand: usage, not success.
    b.ctl().assert().code(2);
    b.ctl()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
    b.ctl().arg("--version").assert().success();
}

#[test]
fn groups_end_to_end() {
    let b = Broker::start();
    b.human(&["topic", "create", "g", "-p", "2"]);
    b.ctl()
        .args(["produce", "g"])
        .write_stdin("1\n2\n3\n4\n")
        .assert()
        .success();
    let plan: GroupReset = b.json(
        &[
            "group",
            "reset-offsets",
            "billing",
            "--topic",
            "g",
            "--to-offset",
            "1",
        ],
        "holocron.group.reset-offsets/v1",
    );
    assert!(!plan.executed);
    let done: GroupReset = b.json(
        &[
            "group",
            "reset-offsets",
            "billing",
            "--topic",
            "g",
            "--to-earliest",
            "--execute",
        ],
        "holocron.group.reset-offsets/v1",
    );
    assert!(done.executed);
    let list: GroupList = b.json(&["group", "list"], "holocron.group.list/v1");
    assert!(list.groups.iter().any(|g| g.group_id == "billing"));
    assert!(b.human(&["group", "list"]).contains("billing"));
    let lag: GroupLag = b.json(&["group", "lag", "billing"], "holocron.group.lag/v1");
    assert_eq!(lag.total_lag, 4);
    assert!(b
        .human(&["group", "lag", "billing"])
        .contains("total lag 4"));
    let d: GroupDescribe = b.json(
        &["group", "describe", "billing"],
        "holocron.group.describe/v1",
    );
    assert_eq!(d.offsets.len(), 2);
    assert!(b
        .human(&["group", "describe", "billing"])
        .contains("Offsets"));
    let del: GroupDelete = b.json(&["group", "delete", "billing"], "holocron.group.delete/v1");
    assert_eq!(del.groups[0].status, "deleted");
    b.fails(&["group", "describe", "billing"], ErrorClass::NotFound);
}

#[test]
fn profiles() {
    let b = Broker::start();
    let c: ProfileChange = b.json(
        &["profile", "create", "local", "--brokers", &b.addr],
        "holocron.profile.create/v1",
    );
    assert_eq!(c.current.as_deref(), Some("local"));
    b.fails(
        &["profile", "create", "local", "--brokers", &b.addr],
        ErrorClass::AlreadyExists,
    );
    assert!(b
        .human(&["profile", "create", "other", "--brokers", "127.0.0.1:1"])
        .contains("created"));
    let u: ProfileChange = b.json(&["profile", "use", "local"], "holocron.profile.use/v1");
    assert_eq!(u.current.as_deref(), Some("local"));
    b.fails(&["profile", "use", "ghost"], ErrorClass::NotFound);
    let l: ProfileList = b.json(&["profile", "list"], "holocron.profile.list/v1");
    assert_eq!(l.profiles.len(), 2);
    assert!(l.profiles.iter().any(|p| p.name == "local" && p.current));
    assert!(b.human(&["profile", "list"]).contains("other"));
    // The current profile supplies the brokers when neither flag nor env does.
    b.ctl()
        .env_remove("HOLOCRON_BROKERS")
        .args(["broker", "list"])
        .assert()
        .success();
    b.ctl()
        .env_remove("HOLOCRON_BROKERS")
        .args(["--profile", "other", "--timeout", "2s", "broker", "list"])
        .assert()
        .code(5);
    let d: ProfileChange = b.json(
        &["profile", "delete", "other"],
        "holocron.profile.delete/v1",
    );
    assert_eq!(d.action, "deleted");
}

#[test]
fn help_examples_completions_and_man_pages() {
    use clap::CommandFactory;
    let cmd = holocronctl::cli::Cli::command();
    let mut paths = Vec::new();
    for sub in cmd.get_subcommands() {
        if sub.has_subcommands() {
            for s in sub.get_subcommands() {
                paths.push(vec![sub.get_name().to_owned(), s.get_name().to_owned()]);
            }
        } else {
            paths.push(vec![sub.get_name().to_owned()]);
        }
    }
    assert!(paths.len() >= 25, "{paths:?}");
    for p in paths
        .iter()
        .filter(|p| p[0] != "help" && p.last().is_some_and(|l| l != "help"))
    {
        let mut c = Command::cargo_bin("holocronctl").expect("bin");
        c.args(p)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples"));
    }
    for shell in ["bash", "zsh", "fish"] {
        Command::cargo_bin("holocronctl")
            .expect("bin")
            .args(["completion", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("holocronctl"));
    }
}

#[test]
fn man_pages_are_up_to_date() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../man");
    let pages = holocronctl::man::render_all();
    if std::env::var_os("HOLOCRON_UPDATE_MAN").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("man dir");
        for (name, text) in &pages {
            std::fs::write(dir.join(name), text).expect("write page");
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    on_disk.sort();
    let names: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        on_disk, names,
        "man/ is stale: run HOLOCRON_UPDATE_MAN=1 cargo test -p holocronctl --test cli man_pages"
    );
    for (name, text) in &pages {
        let disk = std::fs::read(dir.join(name)).expect("read page");
        assert!(&disk == text, "man/{name} is stale: run HOLOCRON_UPDATE_MAN=1 cargo test -p holocronctl --test cli man_pages");
    }
}

#[test]
fn json_pipes_into_jq_and_broken_pipes_succeed() {
    let b = Broker::start();
    b.human(&["topic", "create", "jq1", "-p", "2"]);
    b.ctl()
        .args(["produce", "jq1"])
        .write_stdin((0..500).map(|i| format!("v{i}\n")).collect::<String>())
        .assert()
        .success();
    let ctl = assert_cmd::cargo::cargo_bin("holocronctl");
    let script = format!(
        r#"set -euo pipefail
c="{ctl}"
[ "$("$c" topic list --json | jq -r '.topics[].name')" = jq1 ]
[ "$("$c" topic describe jq1 --json | jq '.topics[0].partitions | length')" = 2 ]
[ "$("$c" consume jq1 --json | jq -s 'length')" = 500 ]
[ "$("$c" offsets jq1 --json | jq '[.partitions[].records] | add')" = 500 ]
"$c" cluster info --json | jq -e '.schema == "holocron.cluster.info/v1"' >/dev/null
# stdout's reader closing early is success
"$c" consume jq1 | head -n 1 >/dev/null
"$c" consume jq1 --json | head -c 10 >/dev/null
# errors are JSON on stderr with --json, and the exit code survives
set +e
"$c" topic describe nope --json 2>err.json >/dev/null
code=$?
set -e
[ "$code" = 3 ]
jq -e '.class == "not_found" and .exit_code == 3' err.json >/dev/null
"#,
        ctl = ctl.display()
    );
    let out = Proc::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(b.dir.path())
        .env("HOLOCRON_BROKERS", &b.addr)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "shell test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
