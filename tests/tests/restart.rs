//! A graceful restart (SIGTERM, exit 0, start on the same data dir) keeps
//! every record exactly: the topic read back after the restart is identical
//! (partitions, offsets, keys, values, timestamps, headers) to the topic read
//! before it, every acknowledged record is where the broker said, and new
//! records continue at the old end offsets.

use std::path::Path;
use std::time::Duration;

use holocron_tests::records::{by_partition, check_acked_durable, read_acks, read_dump};
use holocron_tests::{run_python, Broker};

const TOPIC: &str = "restart-topic";
const TIMEOUT: Duration = Duration::from_secs(180);

fn dump(broker: &Broker, out: &Path) -> serde_json::Value {
    run_python(
        "dump.py",
        &broker.bootstrap(),
        &["--topic", TOPIC, "--out", out.to_str().expect("utf-8 path")],
        TIMEOUT,
    )
}

fn produce(broker: &Broker, run: &str, records: u32, acks: &Path) -> serde_json::Value {
    run_python(
        "produce.py",
        &broker.bootstrap(),
        &[
            "--topic",
            TOPIC,
            "--run",
            run,
            "--records",
            &records.to_string(),
            "--acks-file",
            acks.to_str().expect("utf-8 path"),
        ],
        TIMEOUT,
    )
}

#[test]
fn graceful_restart_keeps_every_record_identical() {
    let mut broker = Broker::start();
    let work = broker.work_dir().to_path_buf();
    let (acks, before, after, after_more) = (
        work.join("acks.txt"),
        work.join("before.jsonl"),
        work.join("after.jsonl"),
        work.join("after-more.jsonl"),
    );
    run_python(
        "create_topic.py",
        &broker.bootstrap(),
        &["--topic", TOPIC, "--partitions", "4"],
        TIMEOUT,
    );
    let produced = produce(&broker, "before", 30_000, &acks);
    assert_eq!(produced["acked"], 30_000, "{produced}");
    dump(&broker, &before);

    broker.restart();

    let summary = dump(&broker, &after);
    assert_eq!(summary["records"], 30_000, "{summary}");
    let (dump_before, dump_after) = (read_dump(&before), read_dump(&after));
    assert_eq!(dump_before.len(), 30_000);
    if let Some(i) = (0..dump_before.len()).find(|&i| dump_before[i] != dump_after[i]) {
        panic!(
            "record {i} differs after the restart:\nbefore: {}\nafter:  {}",
            dump_before[i].raw, dump_after[i].raw
        );
    }
    let problems = check_acked_durable(&read_acks(&acks), &dump_after);
    assert!(
        problems.is_empty(),
        "after restart:\n{}",
        problems.join("\n")
    );

    // Appends continue at the old end offsets.
    let ends: Vec<(i32, i64)> = by_partition(&dump_after)
        .iter()
        .map(|(p, records)| (*p, records.len() as i64))
        .collect();
    let produced = produce(&broker, "after", 2_000, &acks);
    assert_eq!(produced["acked"], 2_000, "{produced}");
    let acks_all = read_acks(&acks);
    for ack in acks_all.iter().filter(|a| a.value.starts_with("after:")) {
        let (_, end) = ends
            .iter()
            .find(|(p, _)| *p == ack.partition)
            .expect("known partition");
        assert!(
            ack.offset >= *end,
            "{ack:?}: a new record got an offset below the pre-restart end {end}"
        );
    }
    dump(&broker, &after_more);
    let problems = check_acked_durable(&acks_all, &read_dump(&after_more));
    assert!(
        problems.is_empty(),
        "after more produce:\n{}",
        problems.join("\n")
    );
    broker.assert_no_panics();
}
