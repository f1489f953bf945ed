//! kafka-python against a real broker: a 20,000-record keyed round trip
//! with offsets_for_times, and KafkaAdminClient create (twice: the second
//! fails with TopicAlreadyExistsError) and delete. The checks are in
//! `tests/python/kafka_python_roundtrip.py`.

use std::time::Duration;

use holocron_tests::{run_python, Broker};

#[test]
fn keyed_round_trip_and_admin() {
    let broker = Broker::start();
    let summary = run_python(
        "kafka_python_roundtrip.py",
        &broker.bootstrap(),
        &[
            "--topic",
            "kp-roundtrip",
            "--partitions",
            "4",
            "--records",
            "20000",
        ],
        Duration::from_secs(300),
    );
    assert_eq!(summary["records"], 20_000, "{summary}");
    assert_eq!(summary["client"], "kafka-python", "{summary}");
}
