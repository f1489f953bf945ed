//! The idempotent producer (DESIGN.md §5), end to end.
//!
//! Raw-protocol tests (the `wire` client) pin down the broker's rules, which
//! are Kafka's `ProducerAppendInfo` semantics: per partition and producer id,
//! the epoch and the last five batches' sequence ranges and offsets.
//! - InitProducerId hands out distinct ids at epoch 0, never reused after a
//!   graceful restart or a kill -9; a transactional id is refused (53).
//! - A batch whose sequence range equals one of the last five of its epoch
//!   is a duplicate: error 0, the original base offset, nothing stored —
//!   also after a graceful restart (snapshot) and after kill -9 (snapshot
//!   plus replay of the log, or replay alone).
//! - A gap in sequence is OUT_OF_ORDER_SEQUENCE_NUMBER (45), as is a retry
//!   older than the five remembered batches and a newer epoch that does not
//!   start at 0; an older epoch is INVALID_PRODUCER_EPOCH (47);
//!   transactional batches are TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53).
//!   Nothing from a refused batch is stored.
//! - DescribeProducers lists each partition's producers with epoch, last
//!   sequence and last timestamp, the same before and after a kill -9.
//!
//! The last test runs a real idempotent producer (confluent-kafka) under
//! load over 8 partitions while the broker is killed with kill -9 and
//! restarted three times: every record must end up stored exactly once, in
//! produce order, at the offset it was acknowledged with.
//!
//! Two tests guard producer-state expiry across restarts (replayed state
//! must not expire sooner than live state; an expiry must survive a
//! restart); each waits ~35 s for the producer snapshot tick.

#[allow(dead_code)] // shared with bad_input.rs, which uses the rest of it
mod wire;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use holocron_tests::process::{check_ok, describe, Background};
use holocron_tests::records::{check_acked_durable, read_acks, read_dump};
use holocron_tests::tools::{json_summary, python_command};
use holocron_tests::{run_python, Broker, BrokerOpts};
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::describe_producers_response::PartitionResponse;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    ApiKey, DescribeProducersRequest, InitProducerIdRequest, InitProducerIdResponse,
    ProduceRequest, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use wire::{topic_name, Conn};

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;

/// Wall-clock milliseconds: batch timestamps are "now", as a real producer's
/// are (producer state expires by time).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// One idempotent producer as the broker sees it in a batch header.
#[derive(Debug, Clone, Copy)]
struct Pid {
    id: i64,
    epoch: i16,
}

impl Pid {
    fn at_epoch(self, epoch: i16) -> Pid {
        Pid { epoch, ..self }
    }
}

/// One uncompressed RecordBatch v2 from `pid` with base sequence
/// `first_seq` (sequences wrap from i32::MAX to 0 as Kafka's do).
fn idem_batch(pid: Pid, first_seq: i32, values: &[&str]) -> Bytes {
    encode_batch(pid, first_seq, values, false, now_ms())
}

fn encode_batch(
    pid: Pid,
    first_seq: i32,
    values: &[&str],
    transactional: bool,
    timestamp: i64,
) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: pid.id,
            producer_epoch: pid.epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // offset - sequence must stay constant (in i32 arithmetic) for
            // kafka-protocol to write one batch; only baseSequence is on
            // the wire, and the broker wraps past i32::MAX to 0 itself.
            sequence: first_seq.wrapping_add(i as i32),
            timestamp: timestamp + i as i64,
            key: Some(Bytes::from(format!("k-{v}"))),
            value: Some(Bytes::from(v.to_string())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    let length = i32::from_be_bytes(buf[8..12].try_into().expect("4 bytes"));
    assert_eq!(length as usize + 12, buf.len(), "one batch");
    // baseSequence is at byte 53 of a v2 batch.
    let base_sequence = i32::from_be_bytes(buf[53..57].try_into().expect("4 bytes"));
    assert_eq!(base_sequence, first_seq, "the batch's base sequence");
    buf.freeze()
}

/// InitProducerId at `version` (transactional id if given).
fn init_producer_id(
    conn: &mut Conn,
    version: i16,
    transactional_id: Option<&str>,
) -> InitProducerIdResponse {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(
            transactional_id.map(|t| TransactionalId(StrBytes::from_string(t.to_owned()))),
        )
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    conn.send(version, &req)
}

/// A fresh idempotent producer id; panics unless the broker gives one.
#[track_caller]
fn new_pid(conn: &mut Conn) -> Pid {
    let version = conn.version::<InitProducerIdRequest>(5);
    let resp = init_producer_id(conn, version, None);
    assert_eq!(resp.error_code, 0, "InitProducerId v{version}: {resp:?}");
    assert!(resp.producer_id.0 >= 0, "{resp:?}");
    assert_eq!(
        resp.producer_epoch, 0,
        "a new producer id starts at epoch 0"
    );
    Pid {
        id: resp.producer_id.0,
        epoch: resp.producer_epoch,
    }
}

/// Produces `batch` and asserts error 0 at `base_offset`.
#[track_caller]
fn produce_at(conn: &mut Conn, topic: &str, partition: i32, batch: Bytes, base_offset: i64) {
    let resp = conn.produce_raw(topic, partition, batch);
    assert_eq!(
        (resp.error_code, resp.base_offset),
        (0, base_offset),
        "expected error 0 at base offset {base_offset}: {resp:?}"
    );
}

/// Produces `batch` and asserts that it is refused with `code`.
#[track_caller]
fn produce_refused(conn: &mut Conn, topic: &str, partition: i32, batch: Bytes, code: i16) {
    let resp: PartitionProduceResponse = conn.produce_raw(topic, partition, batch);
    assert_eq!(resp.error_code, code, "expected error {code}: {resp:?}");
}

/// Every value stored in the partition, in offset order, checking that
/// offsets run from 0 without gaps.
#[track_caller]
fn stored_values(conn: &mut Conn, topic: &str, partition: i32) -> Vec<String> {
    let end = conn.end_offset(topic, partition);
    let mut values = Vec::new();
    while (values.len() as i64) < end {
        let records = conn.fetch(topic, partition, values.len() as i64);
        assert!(!records.is_empty(), "nothing fetched at {}", values.len());
        for r in records {
            assert_eq!(r.offset, values.len() as i64, "offsets must be contiguous");
            let value = r.value.as_deref().unwrap_or_default();
            values.push(String::from_utf8_lossy(value).into_owned());
        }
    }
    values
}

fn restart_kill9(broker: &mut Broker) {
    broker.kill9();
    broker.restart();
}

#[test]
fn init_producer_id_gives_fresh_ids_across_restarts_and_refuses_transactional_ids() {
    let mut broker = Broker::start();
    let mut conn = Conn::connect(broker.kafka_addr());
    let (min, max) = conn
        .broker_versions(ApiKey::InitProducerId)
        .expect("InitProducerId is advertised");
    let mut seen: HashSet<i64> = HashSet::new();
    let mut take = |conn: &mut Conn, what: &str| {
        for version in min..=max.min(5) {
            for _ in 0..3 {
                let resp = init_producer_id(conn, version, None);
                assert_eq!(resp.error_code, 0, "{what}, v{version}: {resp:?}");
                assert_eq!(resp.producer_epoch, 0, "{what}, v{version}: {resp:?}");
                let id = resp.producer_id.0;
                assert!(id >= 0, "{what}, v{version}: {resp:?}");
                assert!(
                    seen.insert(id),
                    "{what}, v{version}: producer id {id} was handed out before"
                );
            }
        }
    };
    take(&mut conn, "first start");
    broker.restart();
    take(
        &mut Conn::connect(broker.kafka_addr()),
        "after a graceful restart",
    );
    restart_kill9(&mut broker);
    let mut conn = Conn::connect(broker.kafka_addr());
    take(&mut conn, "after kill -9");

    for version in min..=max.min(5) {
        let resp = init_producer_id(&mut conn, version, Some("holocron-e2e-txn"));
        assert_eq!(
            resp.error_code, TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            "a transactional id, v{version}: {resp:?}"
        );
    }
    // Still serving idempotent producers afterwards.
    new_pid(&mut conn);
    broker.assert_no_panics();
}

#[test]
fn retries_are_deduplicated_across_graceful_restart_and_kill9() {
    const TOPIC: &str = "idem-dup";
    let mut broker = Broker::start();
    let mut conn = Conn::connect(broker.kafka_addr());
    conn.create_topic(TOPIC, 1);
    let pid = new_pid(&mut conn);
    let b0 = idem_batch(pid, 0, &["a0", "a1", "a2"]);
    let b1 = idem_batch(pid, 3, &["b0", "b1"]);
    let b2 = idem_batch(pid, 5, &["c0"]);

    produce_at(&mut conn, TOPIC, 0, b0.clone(), 0);
    produce_at(&mut conn, TOPIC, 0, b0.clone(), 0);
    assert_eq!(conn.end_offset(TOPIC, 0), 3, "the retry was stored again");
    produce_at(&mut conn, TOPIC, 0, b1.clone(), 3);
    produce_at(&mut conn, TOPIC, 0, b1.clone(), 3);
    assert_eq!(conn.end_offset(TOPIC, 0), 5);

    // kill -9 before any producer snapshot: the state is the log's replay.
    restart_kill9(&mut broker);
    let mut conn = Conn::connect(broker.kafka_addr());
    produce_at(&mut conn, TOPIC, 0, b1.clone(), 3);
    produce_at(&mut conn, TOPIC, 0, b0.clone(), 0);
    assert_eq!(conn.end_offset(TOPIC, 0), 5, "after kill -9 (log replay)");
    produce_at(&mut conn, TOPIC, 0, b2.clone(), 5);

    // Graceful restart: the snapshot written at close.
    broker.restart();
    let mut conn = Conn::connect(broker.kafka_addr());
    produce_at(&mut conn, TOPIC, 0, b2.clone(), 5);
    produce_at(&mut conn, TOPIC, 0, b0.clone(), 0);
    assert_eq!(conn.end_offset(TOPIC, 0), 6, "after a graceful restart");
    // Three more batches: six in all, so b0 leaves the window of five.
    for (seq, value) in [(6, "d0"), (7, "e0"), (8, "f0")] {
        produce_at(
            &mut conn,
            TOPIC,
            0,
            idem_batch(pid, seq, &[value]),
            seq as i64,
        );
    }
    // Another producer in between must not disturb the first one's state.
    let other = new_pid(&mut conn);
    produce_at(&mut conn, TOPIC, 0, idem_batch(other, 0, &["x0"]), 9);

    // kill -9 after the snapshot: snapshot plus replay of what followed.
    restart_kill9(&mut broker);
    let mut conn = Conn::connect(broker.kafka_addr());
    let f0 = idem_batch(pid, 8, &["f0"]);
    produce_at(&mut conn, TOPIC, 0, f0, 8);
    produce_at(&mut conn, TOPIC, 0, b1, 3); // the oldest of the last five
    produce_at(&mut conn, TOPIC, 0, idem_batch(other, 0, &["x0"]), 9);
    assert_eq!(
        conn.end_offset(TOPIC, 0),
        10,
        "after kill -9 (snapshot + replay)"
    );
    produce_refused(&mut conn, TOPIC, 0, b0, OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(
        conn.end_offset(TOPIC, 0),
        10,
        "the sixth-oldest batch was stored"
    );
    produce_at(&mut conn, TOPIC, 0, idem_batch(pid, 9, &["g0"]), 10);

    let values = stored_values(&mut conn, TOPIC, 0);
    assert_eq!(
        values,
        ["a0", "a1", "a2", "b0", "b1", "c0", "d0", "e0", "f0", "x0", "g0"],
        "each record exactly once, in order"
    );
    broker.assert_no_panics();
}

/// What a partition should hold: its values in order and its end offset.
#[derive(Debug, Default)]
struct Expected {
    values: Vec<String>,
    end: i64,
}

#[test]
fn sequence_and_epoch_rules() {
    const TOPIC: &str = "idem-rules";
    let broker = Broker::start();
    let mut conn = Conn::connect(broker.kafka_addr());
    conn.create_topic(TOPIC, 1);
    let pid = new_pid(&mut conn);
    let mut log = Expected::default();
    let ok = |conn: &mut Conn, log: &mut Expected, p: Pid, seq: i32, values: &[&str]| {
        produce_at(conn, TOPIC, 0, idem_batch(p, seq, values), log.end);
        log.end += values.len() as i64;
        log.values.extend(values.iter().map(|v| v.to_string()));
    };

    ok(&mut conn, &mut log, pid, 0, &["s0"]);
    // A gap: sequence 2 after 0.
    produce_refused(
        &mut conn,
        TOPIC,
        0,
        idem_batch(pid, 2, &["gap"]),
        OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    assert_eq!(conn.end_offset(TOPIC, 0), 1, "a refused batch was stored");
    for seq in 1..=6 {
        ok(&mut conn, &mut log, pid, seq, &[&format!("s{seq}")]);
    }
    // Seven batches 0..=6: the last five are 2..=6.
    for seq in [2, 4, 6] {
        produce_at(
            &mut conn,
            TOPIC,
            0,
            idem_batch(pid, seq, &[&format!("s{seq}")]),
            i64::from(seq),
        );
    }
    produce_refused(
        &mut conn,
        TOPIC,
        0,
        idem_batch(pid, 1, &["s1"]),
        OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    // Same first sequence as a cached batch but a different range.
    produce_refused(
        &mut conn,
        TOPIC,
        0,
        idem_batch(pid, 6, &["s6", "s7"]),
        OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    assert_eq!(conn.end_offset(TOPIC, 0), 7);

    // A newer epoch must start at sequence 0.
    let bumped = pid.at_epoch(1);
    produce_refused(
        &mut conn,
        TOPIC,
        0,
        idem_batch(bumped, 7, &["e1-7"]),
        OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    ok(&mut conn, &mut log, bumped, 0, &["e1-0", "e1-1"]);
    // The old epoch is fenced, retries of its batches included.
    produce_refused(
        &mut conn,
        TOPIC,
        0,
        idem_batch(pid, 7, &["s7"]),
        INVALID_PRODUCER_EPOCH,
    );
    produce_refused(
        &mut conn,
        TOPIC,
        0,
        idem_batch(pid, 6, &["s6"]),
        INVALID_PRODUCER_EPOCH,
    );
    ok(&mut conn, &mut log, bumped, 2, &["e1-2"]);

    // A producer id with no state here may start anywhere; sequences wrap.
    let fresh = new_pid(&mut conn);
    ok(&mut conn, &mut log, fresh, 42, &["f42"]);
    ok(&mut conn, &mut log, fresh, 43, &["f43"]);
    let wrapping = new_pid(&mut conn);
    let wrap = idem_batch(wrapping, i32::MAX - 1, &["wmax-1", "wmax", "w0"]);
    let wrap_at = log.end;
    ok(
        &mut conn,
        &mut log,
        wrapping,
        i32::MAX - 1,
        &["wmax-1", "wmax", "w0"],
    );
    ok(&mut conn, &mut log, wrapping, 1, &["w1"]);
    produce_at(&mut conn, TOPIC, 0, wrap, wrap_at);

    // Transactional batches, and produce requests with a transactional id.
    let tx = encode_batch(new_pid(&mut conn), 0, &["tx"], true, now_ms());
    produce_refused(
        &mut conn,
        TOPIC,
        0,
        tx,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    );
    let version = conn.version::<ProduceRequest>(12);
    let req = ProduceRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx"))))
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(TOPIC))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(idem_batch(bumped, 3, &["e1-3"])))])]);
    let resp = conn.send(version, &req);
    let code = resp.responses[0].partition_responses[0].error_code;
    assert_eq!(
        code, TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        "a produce request with a transactional id: {resp:?}"
    );

    assert_eq!(
        conn.end_offset(TOPIC, 0),
        log.end,
        "a refused batch was stored"
    );
    assert_eq!(stored_values(&mut conn, TOPIC, 0), log.values);
    broker.assert_no_panics();
}

/// (producer id, epoch, last sequence, last timestamp) per producer.
fn producers_of(conn: &mut Conn, topic: &str, partitions: &[i32]) -> Vec<PartitionResponse> {
    let req = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
        .with_name(topic_name(topic))
        .with_partition_indexes(partitions.to_vec())]);
    let version = conn.version::<DescribeProducersRequest>(0);
    let mut resp = conn.send(version, &req);
    assert_eq!(resp.topics.len(), 1, "{resp:?}");
    let mut parts = std::mem::take(&mut resp.topics[0].partitions);
    parts.sort_by_key(|p| p.partition_index);
    parts
}

fn summary(p: &PartitionResponse) -> Vec<(i64, i32, i32, i64)> {
    let mut v: Vec<_> = p
        .active_producers
        .iter()
        .map(|s| {
            (
                s.producer_id.0,
                s.producer_epoch,
                s.last_sequence,
                s.last_timestamp,
            )
        })
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn describe_producers_lists_epoch_and_last_sequence() {
    const TOPIC: &str = "idem-describe";
    let mut broker = Broker::start();
    let mut conn = Conn::connect(broker.kafka_addr());
    conn.create_topic(TOPIC, 3);
    let a = new_pid(&mut conn);
    let b = new_pid(&mut conn).at_epoch(4);

    let before = now_ms();
    produce_at(&mut conn, TOPIC, 0, idem_batch(a, 0, &["a0", "a1"]), 0);
    produce_at(
        &mut conn,
        TOPIC,
        0,
        idem_batch(a, 2, &["a2", "a3", "a4"]),
        2,
    );
    produce_at(&mut conn, TOPIC, 0, idem_batch(b, 0, &["b0"]), 5);
    produce_at(&mut conn, TOPIC, 1, idem_batch(a, 10, &["p1"]), 0);
    let after = now_ms() + 10;

    let parts = producers_of(&mut conn, TOPIC, &[0, 1, 2, 7]);
    assert_eq!(parts.len(), 4, "{parts:?}");
    for p in &parts[..3] {
        assert_eq!(p.error_code, 0, "{p:?}");
    }
    let p0 = summary(&parts[0]);
    assert_eq!(p0.len(), 2, "partition 0: {p0:?}");
    assert_eq!((p0[0].0, p0[0].1, p0[0].2), (a.id, 0, 4), "{p0:?}");
    assert_eq!((p0[1].0, p0[1].1, p0[1].2), (b.id, 4, 0), "{p0:?}");
    let p1 = summary(&parts[1]);
    assert_eq!(p1.len(), 1, "partition 1: {p1:?}");
    assert_eq!((p1[0].0, p1[0].1, p1[0].2), (a.id, 0, 10), "{p1:?}");
    for (id, _, _, ts) in p0.iter().chain(&p1) {
        assert!(
            (before..=after).contains(ts),
            "producer {id}: last timestamp {ts} is not the batch's ({before}..={after})"
        );
    }
    assert!(
        parts[2].active_producers.is_empty(),
        "partition 2 had no writes: {:?}",
        parts[2]
    );
    assert_eq!(
        parts[3].error_code, UNKNOWN_TOPIC_OR_PARTITION,
        "{:?}",
        parts[3]
    );

    // Replayed from the log after kill -9: the same producers.
    restart_kill9(&mut broker);
    let mut conn = Conn::connect(broker.kafka_addr());
    let again = producers_of(&mut conn, TOPIC, &[0, 1, 2]);
    assert_eq!(summary(&again[0]), p0, "partition 0 after kill -9");
    assert_eq!(summary(&again[1]), p1, "partition 1 after kill -9");
    assert!(again[2].active_producers.is_empty(), "{:?}", again[2]);

    // A bumped epoch resets the last sequence.
    produce_at(
        &mut conn,
        TOPIC,
        0,
        idem_batch(a.at_epoch(1), 0, &["a'0"]),
        6,
    );
    let bumped = summary(&producers_of(&mut conn, TOPIC, &[0])[0]);
    assert!(
        bumped.iter().any(|s| (s.0, s.1, s.2) == (a.id, 1, 0)),
        "after an epoch bump: {bumped:?}"
    );
    broker.assert_no_panics();
}

/// A producer's state must not depend on how the broker last stopped. The
/// live table stamps each producer with the wall clock of its last write;
/// the table rebuilt from the log after kill -9 must not instead take the
/// batches' CreateTime and let the periodic producer snapshot (every 30 s)
/// expire a producer the live broker keeps. Batches with old timestamps are
/// normal (mirroring tools keep the source's CreateTime).
///
/// Two brokers get the same history; one is killed with kill -9 and
/// restarted. After the first snapshot tick, a retry of the last batch must
/// get the same answer from both.
#[test]
fn replayed_producer_state_expires_like_the_live_state() {
    const TOPIC: &str = "idem-expiry";
    const DAY_MS: i64 = 86_400_000;
    let live = Broker::start();
    let mut killed = Broker::start();
    let old = now_ms() - 2 * DAY_MS;
    let mut retries = Vec::new();
    for broker in [&live, &killed] {
        let mut conn = Conn::connect(broker.kafka_addr());
        conn.create_topic(TOPIC, 1);
        let pid = new_pid(&mut conn);
        produce_at(
            &mut conn,
            TOPIC,
            0,
            encode_batch(pid, 0, &["m0"], false, old),
            0,
        );
        let last = encode_batch(pid, 1, &["m1"], false, old);
        produce_at(&mut conn, TOPIC, 0, last.clone(), 1);
        retries.push(last);
    }
    restart_kill9(&mut killed);
    // Past the first producer snapshot of both processes (30 s after start).
    thread::sleep(Duration::from_secs(33));
    let mut answers = Vec::new();
    for (broker, retry) in [&live, &killed].into_iter().zip(retries) {
        let mut conn = Conn::connect(broker.kafka_addr());
        let resp = conn.produce_raw(TOPIC, 0, retry);
        answers.push((resp.error_code, resp.base_offset, conn.end_offset(TOPIC, 0)));
    }
    assert_eq!(
        answers[1], answers[0],
        "(error, base offset, end offset) for a retry of the last batch: after kill -9 \
         {:?}, never stopped {:?}",
        answers[1], answers[0]
    );
    live.assert_no_panics();
    killed.assert_no_panics();
}

/// An expired producer stays expired across a graceful restart. With
/// producer ids expiring after 1 s, the first snapshot tick (30 s after
/// start) forgets the producer; the restart must not bring it back from the
/// snapshot written at the previous shutdown. If it did, a batch that the
/// running broker accepts (a forgotten producer may start at any sequence)
/// would be refused with OUT_OF_ORDER_SEQUENCE_NUMBER after the restart.
#[test]
fn expired_producers_stay_expired_after_a_restart() {
    const TOPIC: &str = "idem-expired";
    let mut broker = Broker::start_with(BrokerOpts {
        extra_args: vec!["--producer-id-expiration-ms".into(), "1000".into()],
        ..BrokerOpts::default()
    });
    let mut conn = Conn::connect(broker.kafka_addr());
    conn.create_topic(TOPIC, 1);
    let pid = new_pid(&mut conn);
    produce_at(&mut conn, TOPIC, 0, idem_batch(pid, 0, &["v0"]), 0);
    produce_at(&mut conn, TOPIC, 0, idem_batch(pid, 1, &["v1"]), 1);
    broker.restart(); // the snapshot written at shutdown holds the producer
    thread::sleep(Duration::from_secs(33));
    let mut conn = Conn::connect(broker.kafka_addr());
    let live = summary(&producers_of(&mut conn, TOPIC, &[0])[0]);
    assert!(
        live.is_empty(),
        "idle for 30 s with producer ids expiring after 1 s, yet still known: {live:?}"
    );
    broker.restart();
    let mut conn = Conn::connect(broker.kafka_addr());
    let after = summary(&producers_of(&mut conn, TOPIC, &[0])[0]);
    assert_eq!(after, live, "an expired producer came back after a restart");
    // What a client sees: the forgotten producer may start anywhere.
    produce_at(&mut conn, TOPIC, 0, idem_batch(pid, 7, &["v7"]), 2);
    broker.assert_no_panics();
}

// --- confluent-kafka under kill -9 ---------------------------------------

const LOAD_TOPIC: &str = "idem-load";
const LOAD_PARTITIONS: i32 = 8;

fn line_count(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Waits (bounded) until the acks file has grown by `more` lines.
#[track_caller]
fn wait_for_acks(acks: &Path, more: usize, load: &mut Background) {
    let target = line_count(acks) + more;
    let deadline = Instant::now() + Duration::from_secs(20);
    while line_count(acks) < target {
        assert!(load.is_running(), "the producer ended early");
        assert!(
            Instant::now() < deadline,
            "no {more} new acknowledgements within 20 s ({} in all)",
            line_count(acks)
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Each start of the broker in its log: (unix time, log end of each
/// partition of the load topic when it was opened).
fn log_ends_at_starts(log: &str) -> Vec<(f64, HashMap<i32, i64>)> {
    let mut starts: Vec<(f64, HashMap<i32, i64>)> = Vec::new();
    let dir_prefix = format!("{LOAD_TOPIC}-");
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("=== harness: start #") {
            let time = rest
                .split_once(" at unix time ")
                .and_then(|(_, t)| t.split(':').next()?.parse().ok())
                .unwrap_or(f64::NAN);
            starts.push((time, HashMap::new()));
        } else if line.contains("opened log") {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .map(str::to_owned)
            };
            let partition = field("dir=").and_then(|dir| {
                let name = dir.rsplit('/').next()?.to_owned();
                name.strip_prefix(&dir_prefix)?.parse::<i32>().ok()
            });
            let end = field("log_end=").and_then(|e| e.parse::<i64>().ok());
            if let (Some(p), Some(end), Some(last)) = (partition, end, starts.last_mut()) {
                last.1.insert(p, end);
            }
        }
    }
    starts
}

/// How many batches librdkafka retried after a broken connection while
/// they were possibly stored, and how many of those the broker had in fact
/// stored before the kill (their last offset is below the partition's log
/// end when the broker came back). A single producer's k-th record to a
/// partition (message id k) ends at offset k - 1 there, as the durability
/// check confirms.
fn retries_of_stored_batches(log: &str, summary: &serde_json::Value) -> (usize, usize) {
    let starts = log_ends_at_starts(log);
    let events = summary["possibly_persisted"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut deduplicated = 0;
    for e in &events {
        let (Some(t), Some(p), Some(msgid), Some(count)) = (
            e["t"].as_f64(),
            e["p"].as_i64(),
            e["msgid"].as_i64(),
            e["count"].as_i64(),
        ) else {
            continue;
        };
        let last_offset = msgid - 1 + count - 1;
        let end_after = starts
            .iter()
            .find(|(start, _)| *start > t)
            .and_then(|(_, ends)| ends.get(&(p as i32)));
        if end_after.is_some_and(|&end| last_offset < end) {
            deduplicated += 1;
        }
    }
    (events.len(), deduplicated)
}

#[test]
fn idempotent_producer_survives_kill9_without_duplicates() {
    let mut broker = Broker::start();
    let work = broker.work_dir().to_path_buf();
    let acks = work.join("acks.txt");
    Conn::connect(broker.kafka_addr()).create_topic(LOAD_TOPIC, LOAD_PARTITIONS);

    // ~24 s of load at 3,000 records/s; records wait up to 120 s for the
    // broker to come back, so none should fail.
    let mut cmd = python_command("idempotent_load.py");
    cmd.arg("--bootstrap").arg(broker.bootstrap()).args([
        "--topic",
        LOAD_TOPIC,
        "--records",
        "72000",
        "--rate",
        "3000",
        "--max-seconds",
        "24",
        "--flush-seconds",
        "60",
        "--acks-file",
        acks.to_str().expect("utf-8 path"),
    ]);
    let description = describe(&cmd);
    let mut load = Background::spawn(&mut cmd);

    for round in 1..=3 {
        wait_for_acks(&acks, 2000, &mut load);
        assert!(load.is_running(), "round {round}: the load already ended");
        broker.kill9();
        thread::sleep(Duration::from_millis(500));
        broker.restart();
        eprintln!(
            "idempotence: kill -9 and restart #{round} done, {} acknowledged so far",
            line_count(&acks)
        );
    }
    wait_for_acks(&acks, 2000, &mut load);

    let output = check_ok(&description, load.wait(Duration::from_secs(100)));
    let summary = json_summary("idempotent_load.py", &output);
    let mut shown = summary.clone();
    if let Some(map) = shown.as_object_mut() {
        map.remove("possibly_persisted");
    }
    eprintln!("idempotence: producer summary {shown}");
    let acked = read_acks(&acks);
    assert_eq!(
        summary["fatal_error"],
        serde_json::Value::Null,
        "librdkafka raised a fatal error: {summary}\n{}",
        output.stderr_str()
    );
    assert_eq!(summary["errors"], 0, "delivery errors: {summary}");
    assert_eq!(summary["unresolved"], 0, "{summary}");
    let sent = summary["sent"].as_u64().expect("sent");
    assert_eq!(acked.len() as u64, sent, "{summary}");

    let (retried, deduplicated) = retries_of_stored_batches(&broker.log(), &summary);
    eprintln!(
        "idempotence: {retried} batches possibly persisted when their connection broke were \
         retried; {deduplicated} of them had been stored before the kill (the broker had to \
         deduplicate those)"
    );

    let dump = work.join("dump.jsonl");
    run_python(
        "dump.py",
        &broker.bootstrap(),
        &[
            "--topic",
            LOAD_TOPIC,
            "--out",
            dump.to_str().expect("utf-8 path"),
        ],
        Duration::from_secs(60),
    );
    let stored = read_dump(&dump);
    let problems = check_acked_durable(&acked, &stored);
    assert!(
        problems.is_empty(),
        "after three kill -9s under an idempotent producer:\n{}",
        problems.join("\n")
    );
    assert_eq!(
        stored.len() as u64,
        sent,
        "every record sent was acknowledged, so exactly those must be stored"
    );
    broker.assert_no_panics();
}
