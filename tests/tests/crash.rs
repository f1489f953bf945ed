//! Acknowledged means durable: `kill -9` the broker under an acks=all load,
//! start it again on the same data dir, and read everything back. Every
//! acknowledged record is there exactly once, at its acknowledged offset, in
//! produce order per partition; records that were not acknowledged may or
//! may not be there, but nothing is duplicated or reordered, offsets are
//! contiguous, and the log takes new records after the crash.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use holocron_tests::process::{check_ok, describe, Background};
use holocron_tests::records::{check_acked_durable, read_acks, read_dump};
use holocron_tests::tools::{json_summary, python_command};
use holocron_tests::{run_python, Broker};

const TOPIC: &str = "crash-topic";
const TIMEOUT: Duration = Duration::from_secs(180);

fn line_count(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

fn dump(broker: &Broker, out: &Path) -> serde_json::Value {
    run_python(
        "dump.py",
        &broker.bootstrap(),
        &["--topic", TOPIC, "--out", out.to_str().expect("utf-8 path")],
        TIMEOUT,
    )
}

#[test]
fn kill9_under_acks_all_load_loses_no_acknowledged_record() {
    let mut broker = Broker::start();
    let work = broker.work_dir().to_path_buf();
    let acks = work.join("acks.txt");
    run_python(
        "create_topic.py",
        &broker.bootstrap(),
        &["--topic", TOPIC, "--partitions", "4"],
        TIMEOUT,
    );

    // The load: at most 200,000 records or 20 s, paced at 20,000 records/s
    // so that it is still running when the broker is killed; after the
    // crash, records time out after 5 s, so the script ends by itself.
    let mut cmd = python_command("produce.py");
    cmd.arg("--bootstrap").arg(broker.bootstrap()).args([
        "--topic",
        TOPIC,
        "--run",
        "load",
        "--records",
        "200000",
        "--max-seconds",
        "20",
        "--rate",
        "20000",
        "--message-timeout-ms",
        "5000",
        "--allow-errors",
        "--acks-file",
        acks.to_str().expect("utf-8 path"),
    ]);
    let description = describe(&cmd);
    let mut load = Background::spawn(&mut cmd);

    // Wait until acknowledgements flow, then let the load run ~2 s more.
    let deadline = Instant::now() + Duration::from_secs(60);
    while line_count(&acks) < 1000 {
        assert!(load.is_running(), "the producer ended before the crash");
        assert!(
            Instant::now() < deadline,
            "no 1000 acknowledgements within 60 s ({} so far)",
            line_count(&acks)
        );
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_secs(2));
    assert!(
        load.is_running(),
        "the load finished before the crash: the test would not crash mid-load"
    );
    let acked_at_kill = line_count(&acks);
    broker.kill9();

    let output = check_ok(&description, load.wait(Duration::from_secs(90)));
    let summary = json_summary("produce.py", &output);
    let acked = read_acks(&acks);
    assert_eq!(
        summary["acked"].as_u64(),
        Some(acked.len() as u64),
        "{summary}"
    );
    assert!(
        acked.len() >= acked_at_kill,
        "the acks file shrank: {} < {acked_at_kill}",
        acked.len()
    );
    eprintln!(
        "crash test: {} acknowledged before the kill settled ({acked_at_kill} when killed), \
         producer summary {summary}",
        acked.len()
    );

    broker.restart();
    let after = work.join("after-crash.jsonl");
    let dumped = dump(&broker, &after);
    let stored = read_dump(&after);
    assert!(
        stored.len() >= acked.len(),
        "{} records stored, {} acknowledged ({dumped})",
        stored.len(),
        acked.len()
    );
    eprintln!(
        "crash test: {} records stored after the restart, {} acknowledged",
        stored.len(),
        acked.len()
    );
    let problems = check_acked_durable(&acked, &stored);
    assert!(
        problems.is_empty(),
        "after kill -9 and restart:\n{}",
        problems.join("\n")
    );

    // The recovered log takes new records after what it kept.
    let produced = run_python(
        "produce.py",
        &broker.bootstrap(),
        &[
            "--topic",
            TOPIC,
            "--run",
            "after",
            "--records",
            "1000",
            "--acks-file",
            acks.to_str().expect("utf-8 path"),
        ],
        TIMEOUT,
    );
    assert_eq!(produced["acked"], 1000, "{produced}");
    let again = work.join("after-more.jsonl");
    dump(&broker, &again);
    let stored_again = read_dump(&again);
    assert_eq!(stored_again.len(), stored.len() + 1000);
    let problems = check_acked_durable(&read_acks(&acks), &stored_again);
    assert!(
        problems.is_empty(),
        "after producing on the recovered log:\n{}",
        problems.join("\n")
    );
    broker.assert_no_panics();
}
