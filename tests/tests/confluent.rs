//! confluent-kafka (librdkafka) against a real broker: a 100,000-record
//! keyed round trip with ListOffsets by timestamp, and the AdminClient
//! operations. The checks themselves are in the Python scripts (see their
//! docstrings); these tests start the broker and require a clean exit.

use std::time::Duration;

use holocron_tests::{run_python, Broker};

#[test]
fn keyed_round_trip_of_100k_records_with_offsets_for_times() {
    let broker = Broker::start();
    let summary = run_python(
        "confluent_roundtrip.py",
        &broker.bootstrap(),
        &[
            "--topic",
            "cf-roundtrip",
            "--partitions",
            "8",
            "--records",
            "100000",
        ],
        Duration::from_secs(300),
    );
    assert_eq!(summary["records"], 100_000, "{summary}");
    assert_eq!(summary["partitions"], 8, "{summary}");
    let per_partition = summary["per_partition"].as_object().expect("per_partition");
    let total: u64 = per_partition.values().filter_map(|v| v.as_u64()).sum();
    assert_eq!(total, 100_000, "{summary}");
    assert!(
        summary["offsets_for_times_checked"].as_u64() > Some(0),
        "{summary}"
    );
}

#[test]
fn admin_client_create_describe_alter_delete() {
    let broker = Broker::start();
    let summary = run_python(
        "confluent_admin.py",
        &broker.bootstrap(),
        &[],
        Duration::from_secs(180),
    );
    assert_eq!(summary["failed"], serde_json::json!([]), "{summary}");
    assert_eq!(
        summary["passed"].as_array().map(Vec::len),
        Some(10),
        "{summary}"
    );
}
