//! kcat (librdkafka's command-line client) against a real broker: metadata
//! listing, produce then consume with keys, headers and every compression
//! codec, keyed partitioning, relative and absolute start offsets, offset
//! lookup by timestamp, and null values.

use std::collections::BTreeMap;
use std::time::Duration;

use holocron_tests::process::{run_ok, run_ok_with_input};
use holocron_tests::tools::{kcat, require_tool};
use holocron_tests::{run_python, Broker};

const TIMEOUT: Duration = Duration::from_secs(60);

fn create_topic(broker: &Broker, topic: &str, partitions: u32) {
    run_python(
        "create_topic.py",
        &broker.bootstrap(),
        &["--topic", topic, "--partitions", &partitions.to_string()],
        TIMEOUT,
    );
}

/// `kcat -P` of `input` (one message per line) with extra arguments.
fn produce(broker: &Broker, topic: &str, args: &[&str], input: &str) {
    run_ok_with_input(
        kcat(&broker.bootstrap())
            .args(["-P", "-t", topic, "-m", "10"])
            .args(args)
            // Fail instead of retrying forever if the broker rejects a batch.
            .args(["-X", "message.timeout.ms=30000"]),
        input.as_bytes(),
        TIMEOUT,
    );
}

/// `kcat -C … -e` with a format string; returns stdout's lines.
fn consume(broker: &Broker, topic: &str, args: &[&str]) -> Vec<String> {
    let output = run_ok(
        kcat(&broker.bootstrap())
            .args(["-C", "-t", topic, "-e", "-m", "10"])
            .args(args),
        TIMEOUT,
    );
    output.stdout_str().lines().map(str::to_owned).collect()
}

#[test]
fn metadata_lists_the_broker_and_topics() {
    require_tool("kcat", "-V");
    let broker = Broker::start();
    create_topic(&broker, "meta-a", 3);
    create_topic(&broker, "meta-b", 1);
    let output = run_ok(
        kcat(&broker.bootstrap()).args(["-L", "-J", "-m", "10"]),
        TIMEOUT,
    );
    let md: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("kcat -L -J is not JSON ({e}): {}", output.stdout_str()));
    let brokers = md["brokers"].as_array().expect("brokers");
    assert_eq!(brokers.len(), 1, "{md}");
    assert_eq!(brokers[0]["name"], broker.bootstrap().as_str(), "{md}");
    let broker_id = brokers[0]["id"].clone();
    let topics: BTreeMap<String, &serde_json::Value> = md["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| (t["topic"].as_str().unwrap_or_default().to_owned(), t))
        .collect();
    for (name, partitions) in [("meta-a", 3), ("meta-b", 1)] {
        let t = topics
            .get(name)
            .unwrap_or_else(|| panic!("{name} not listed: {md}"));
        let parts = t["partitions"].as_array().expect("partitions");
        assert_eq!(parts.len(), partitions, "{t}");
        for p in parts {
            assert_eq!(p["leader"], broker_id, "{t}");
        }
    }

    // -L -t: one topic only.
    let output = run_ok(
        kcat(&broker.bootstrap()).args(["-L", "-J", "-m", "10", "-t", "meta-b"]),
        TIMEOUT,
    );
    let md: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let names: Vec<&str> = md["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .filter_map(|t| t["topic"].as_str())
        .collect();
    assert_eq!(names, ["meta-b"], "{md}");
}

/// 300 keyed messages with two headers to partition 0 with `codec`, read
/// back with every field in the format string.
fn keys_headers_round_trip(codec: &str) {
    require_tool("kcat", "-V");
    let broker = Broker::start();
    let topic = format!("kcat-{codec}");
    create_topic(&broker, &topic, 1);
    let n = 300;
    let input: String = (0..n)
        .map(|i| format!("key-{i}:value-{i}-{}\n", "abc".repeat(i % 40)))
        .collect();
    produce(
        &broker,
        &topic,
        &[
            "-p",
            "0",
            "-K:",
            "-H",
            "h1=v1",
            "-H",
            "trace=id 42",
            "-z",
            codec,
        ],
        &input,
    );
    let lines = consume(
        &broker,
        &topic,
        &["-p", "0", "-o", "beginning", "-f", "%k|%s|%h|%p|%o\\n"],
    );
    let expected: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "key-{i}|value-{i}-{}|h1=v1,trace=id 42|0|{i}",
                "abc".repeat(i % 40)
            )
        })
        .collect();
    assert_eq!(lines.len(), n, "read {} of {n} messages", lines.len());
    for (got, want) in lines.iter().zip(&expected) {
        assert_eq!(got, want, "codec {codec}");
    }
}

#[test]
fn keys_and_headers_round_trip_uncompressed() {
    keys_headers_round_trip("none");
}

#[test]
fn keys_and_headers_round_trip_gzip() {
    keys_headers_round_trip("gzip");
}

#[test]
fn keys_and_headers_round_trip_snappy() {
    keys_headers_round_trip("snappy");
}

#[test]
fn keys_and_headers_round_trip_lz4() {
    keys_headers_round_trip("lz4");
}

#[test]
fn keys_and_headers_round_trip_zstd() {
    keys_headers_round_trip("zstd");
}

#[test]
fn keyed_messages_spread_over_partitions_in_order() {
    require_tool("kcat", "-V");
    let broker = Broker::start();
    create_topic(&broker, "kcat-keyed", 4);
    let n = 2000;
    let input: String = (0..n).map(|i| format!("k{}:{i}\n", i % 37)).collect();
    produce(&broker, "kcat-keyed", &["-K:", "-z", "lz4"], &input);
    let lines = consume(
        &broker,
        "kcat-keyed",
        &["-o", "beginning", "-f", "%p|%o|%k|%s\\n"],
    );
    assert_eq!(lines.len(), n);
    let mut per_partition: BTreeMap<i32, Vec<(i64, String, usize)>> = BTreeMap::new();
    let mut key_partition: BTreeMap<String, i32> = BTreeMap::new();
    for line in &lines {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f.len(), 4, "{line}");
        let (p, o): (i32, i64) = (f[0].parse().expect("p"), f[1].parse().expect("o"));
        let seq: usize = f[3].parse().expect("value");
        assert_eq!(f[2], format!("k{}", seq % 37), "{line}");
        let first = *key_partition.entry(f[2].to_owned()).or_insert(p);
        assert_eq!(first, p, "key {} in partitions {first} and {p}", f[2]);
        per_partition
            .entry(p)
            .or_default()
            .push((o, f[2].to_owned(), seq));
    }
    assert!(
        per_partition.len() > 1,
        "37 keys all went to one partition: {:?}",
        per_partition.keys()
    );
    for (p, mut records) in per_partition {
        records.sort();
        for (i, (o, _, _)) in records.iter().enumerate() {
            assert_eq!(*o, i as i64, "partition {p}: offsets not contiguous");
        }
        assert!(
            records.windows(2).all(|w| w[0].2 < w[1].2),
            "partition {p}: values not in produce order"
        );
    }
}

#[test]
fn relative_absolute_and_timestamp_offsets() {
    require_tool("kcat", "-V");
    let broker = Broker::start();
    create_topic(&broker, "kcat-offsets", 1);
    let input: String = (0..10).map(|i| format!("m{i}\n")).collect();
    produce(&broker, "kcat-offsets", &["-p", "0"], &input);

    let fmt = ["-p", "0", "-f", "%o:%s\\n"];
    let last3 = consume(&broker, "kcat-offsets", &[&["-o", "-3"][..], &fmt].concat());
    assert_eq!(last3, ["7:m7", "8:m8", "9:m9"]);
    let from5 = consume(
        &broker,
        "kcat-offsets",
        &[&["-o", "5", "-c", "2"][..], &fmt].concat(),
    );
    assert_eq!(from5, ["5:m5", "6:m6"]);
    let all = consume(
        &broker,
        "kcat-offsets",
        &[&["-o", "beginning"][..], &fmt].concat(),
    );
    assert_eq!(all.len(), 10);
    let at_end = consume(
        &broker,
        "kcat-offsets",
        &[&["-o", "end"][..], &fmt].concat(),
    );
    assert!(at_end.is_empty(), "{at_end:?}");

    // -Q: the earliest offset whose timestamp is at or after the given time.
    let stamped = consume(
        &broker,
        "kcat-offsets",
        &["-p", "0", "-o", "beginning", "-f", "%o %T\\n"],
    );
    let stamps: Vec<(i64, i64)> = stamped
        .iter()
        .map(|l| {
            let (o, t) = l.split_once(' ').expect("offset and timestamp");
            (o.parse().expect("offset"), t.parse().expect("timestamp"))
        })
        .collect();
    for probe in [stamps[0].1, stamps[4].1, stamps[9].1, stamps[9].1 + 60_000] {
        let want = stamps
            .iter()
            .find(|(_, t)| *t >= probe)
            .map_or(-1, |(o, _)| *o);
        let output = run_ok(
            kcat(&broker.bootstrap()).args([
                "-Q",
                "-m",
                "10",
                "-t",
                &format!("kcat-offsets:0:{probe}"),
            ]),
            TIMEOUT,
        );
        // "kcat-offsets [0] offset 4"
        let text = output.stdout_str();
        let got: i64 = text
            .split_whitespace()
            .last()
            .and_then(|o| o.parse().ok())
            .unwrap_or_else(|| panic!("unexpected kcat -Q output: {text:?}"));
        assert_eq!(got, want, "kcat -Q for timestamp {probe}: {text}");
    }
}

#[test]
fn null_values_and_empty_keys() {
    require_tool("kcat", "-V");
    let broker = Broker::start();
    create_topic(&broker, "kcat-nulls", 1);
    // -Z: an empty value is sent as NULL (a tombstone).
    produce(
        &broker,
        "kcat-nulls",
        &["-p", "0", "-K:", "-Z"],
        "a:1\nb:\n:3\n",
    );
    let lines = consume(
        &broker,
        "kcat-nulls",
        &["-p", "0", "-o", "beginning", "-Z", "-f", "%k|%s|%S|%K\\n"],
    );
    assert_eq!(lines, ["a|1|1|1", "b|NULL|-1|1", "NULL|3|1|-1"]);
}
