//! Bad input over raw sockets. For each kind of malformed or invalid
//! request, the broker closes the connection or answers with the Kafka
//! error code, and afterwards:
//! - a connection opened before the bad input still works;
//! - a fresh connection gets ApiVersions answered;
//! - the topic's end offset is unchanged (nothing from the bad request was
//!   stored), and a normal produce lands at that offset and fetches back.

mod wire;

use bytes::{Bytes, BytesMut};
use holocron_tests::Broker;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, ResponseHeader};
use kafka_protocol::protocol::Decodable;

use wire::{batch, fix_crc, layout, Conn, Reaction};

const TOPIC: &str = "bad-input";
const CORRUPT_MESSAGE: i16 = 2;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const UNSUPPORTED_VERSION: i16 = 35;
const UNSUPPORTED_FOR_MESSAGE_FORMAT: i16 = 43;
const INVALID_RECORD: i16 = 87;

/// A broker with a one-partition topic holding one record, and a
/// bystander connection opened before any bad input.
struct Setup {
    broker: Broker,
    bystander: Conn,
    end: i64,
}

fn setup() -> Setup {
    let broker = Broker::start();
    let mut conn = Conn::connect(broker.kafka_addr());
    conn.create_topic(TOPIC, 1);
    let first = conn.produce_raw(TOPIC, 0, batch(&["first"]));
    assert_eq!(first.error_code, 0, "a good produce failed: {first:?}");
    assert_eq!(first.base_offset, 0);
    let bystander = Conn::connect(broker.kafka_addr());
    Setup {
        broker,
        bystander,
        end: 1,
    }
}

impl Setup {
    fn conn(&self) -> Conn {
        Conn::connect(self.broker.kafka_addr())
    }

    fn raw_conn(&self) -> Conn {
        Conn::connect_raw(self.broker.kafka_addr())
    }

    /// The checks after every bad input; `what` names it in failures.
    #[track_caller]
    fn assert_healthy(&mut self, what: &str) {
        assert!(self.broker.is_running(), "{what}: the broker died");
        self.broker.assert_no_panics();
        self.bystander.check_api_versions();
        let mut conn = self.conn();
        conn.check_api_versions();
        assert_eq!(
            conn.end_offset(TOPIC, 0),
            self.end,
            "{what}: the end offset moved, so something from the bad request was stored"
        );
        let value = format!("after {what}");
        let resp = conn.produce_raw(TOPIC, 0, batch(&[&value]));
        assert_eq!(
            resp.error_code, 0,
            "{what}: a good produce afterwards failed"
        );
        assert_eq!(
            resp.base_offset, self.end,
            "{what}: the good produce's offset"
        );
        let records = conn.fetch(TOPIC, 0, self.end);
        let got = records.first().and_then(|r| r.value.clone());
        assert_eq!(got, Some(Bytes::from(value)), "{what}: fetched back");
        self.end += 1;
    }

    /// Produces `records` as they are; returns the partition error code and
    /// the broker's error message (for failure messages).
    #[track_caller]
    fn produce_error(&mut self, records: Bytes) -> (i16, String) {
        let resp = self.conn().produce_raw(TOPIC, 0, records);
        let message = resp.error_message.as_ref().map(|m| m.to_string());
        (resp.error_code, format!("error message {message:?}"))
    }
}

/// A request frame built by hand: size, api key, version, correlation id,
/// client id (header v1), then `body` as given.
fn raw_frame(
    api_key: i16,
    version: i16,
    correlation_id: i32,
    flexible: bool,
    body: &[u8],
) -> Vec<u8> {
    let mut payload = Vec::new();
    payload.extend_from_slice(&api_key.to_be_bytes());
    payload.extend_from_slice(&version.to_be_bytes());
    payload.extend_from_slice(&correlation_id.to_be_bytes());
    let client_id = b"holocron-e2e-raw";
    payload.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    payload.extend_from_slice(client_id);
    if flexible {
        payload.push(0); // header v2: no tagged fields
    }
    payload.extend_from_slice(body);
    let mut frame = (payload.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    frame
}

/// Sends `bytes` on a fresh connection and returns what the broker did.
#[track_caller]
fn send_bad(s: &Setup, bytes: &[u8]) -> Reaction {
    let mut conn = s.raw_conn();
    match conn.write_raw(bytes) {
        Ok(()) => conn.reaction(),
        // The broker may close while we are still writing.
        Err(_) => Reaction::Closed,
    }
}

#[test]
fn garbage_bytes() {
    let mut s = setup();
    let mut framed_ff = 16i32.to_be_bytes().to_vec();
    framed_ff.extend_from_slice(&[0xff; 16]);
    let cases: [(&str, Vec<u8>); 3] = [
        (
            "an HTTP request",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        ),
        ("a frame of 0xff bytes", framed_ff),
        ("a frame of text", {
            let text = b"this is not a kafka request at all";
            let mut f = (text.len() as i32).to_be_bytes().to_vec();
            f.extend_from_slice(text);
            f
        }),
    ];
    for (what, bytes) in cases {
        // Closing and answering with an error are both acceptable.
        let reaction = send_bad(&s, &bytes);
        eprintln!("{what}: {reaction:?}");
        s.assert_healthy(what);
    }
}

#[test]
fn negative_size_prefix_closes_the_connection() {
    let mut s = setup();
    let mut bytes = (-16i32).to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0u8; 16]);
    let reaction = send_bad(&s, &bytes);
    assert!(matches!(reaction, Reaction::Closed), "{reaction:?}");
    s.assert_healthy("a negative size prefix");
}

#[test]
fn huge_size_prefix_closes_the_connection() {
    let mut s = setup();
    // 2 GiB - 1, followed by the start of a plausible Produce header.
    let mut bytes = i32::MAX.to_be_bytes().to_vec();
    bytes.extend_from_slice(&raw_frame(0, 9, 1, true, &[])[4..]);
    let reaction = send_bad(&s, &bytes);
    assert!(
        matches!(reaction, Reaction::Closed),
        "a 2 GiB frame must be refused before it is read: {reaction:?}"
    );
    s.assert_healthy("a 2 GiB size prefix");
}

#[test]
fn truncated_frames_then_close() {
    let mut s = setup();
    // A frame that announces 100 bytes and sends 20.
    let mut short = 100i32.to_be_bytes().to_vec();
    short.extend_from_slice(&raw_frame(18, 0, 1, false, &[])[4..]);
    short.truncate(24);
    // A real Produce request cut in the middle of its records.
    let mut conn = s.conn();
    let mut produce = conn.produce_frame(TOPIC, 0, batch(&["never", "stored"]));
    produce.truncate(produce.len() - 10);
    for (what, bytes) in [("a short frame", short), ("half a produce", produce)] {
        let mut conn = s.raw_conn();
        conn.write_raw(&bytes).expect("write");
        drop(conn); // close with the frame unfinished
        s.assert_healthy(what);
    }
}

#[test]
fn unknown_api_key_closes_or_answers() {
    let mut s = setup();
    let correlation_id = 4242;
    let reaction = send_bad(&s, &raw_frame(9999, 0, correlation_id, false, &[]));
    if let Reaction::Answered(frame) = &reaction {
        assert!(frame.len() >= 4, "short answer {frame:?}");
        assert_eq!(
            i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]),
            correlation_id,
            "an answer to an unknown API must carry its correlation id"
        );
    }
    s.assert_healthy("API key 9999");
}

#[test]
fn api_versions_newer_than_supported_gets_v0_unsupported_version() {
    let mut s = setup();
    let correlation_id = 99;
    // ApiVersions v99 with a v3-style flexible body: client software name
    // and version as compact strings, then no tagged fields.
    let mut body = vec![];
    for text in ["holocron-e2e", "99"] {
        body.push(text.len() as u8 + 1);
        body.extend_from_slice(text.as_bytes());
    }
    body.push(0);
    let reaction = send_bad(&s, &raw_frame(18, 99, correlation_id, true, &body));
    let Reaction::Answered(frame) = reaction else {
        panic!("ApiVersions v99 must be answered (KIP-511), the connection was closed");
    };
    let mut buf = frame.clone();
    let header = ResponseHeader::decode(&mut buf, 0).expect("v0 response header");
    assert_eq!(header.correlation_id, correlation_id);
    let resp = ApiVersionsResponse::decode(&mut buf, 0)
        .unwrap_or_else(|e| panic!("not a v0 ApiVersions response ({e}): {frame:?}"));
    assert_eq!(resp.error_code, UNSUPPORTED_VERSION, "{resp:?}");
    let ranges: Vec<(i16, i16, i16)> = resp
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect();
    assert!(
        ranges.iter().all(|&(_, min, max)| 0 <= min && min <= max),
        "{ranges:?}"
    );
    let api_versions = ranges
        .iter()
        .find(|(key, _, _)| *key == ApiKey::ApiVersions as i16)
        .unwrap_or_else(|| panic!("ApiVersions itself is not among {ranges:?}"));
    assert_eq!(api_versions.1, 0, "ApiVersions v0 must stay supported");
    // The same ranges a normal ApiVersions v0 advertises.
    let conn = s.conn();
    for &(key, min, max) in &ranges {
        let api = ApiKey::try_from(key).unwrap_or_else(|_| panic!("unknown API key {key}"));
        assert_eq!(conn.broker_versions(api), Some((min, max)), "{api:?}");
    }
    s.assert_healthy("ApiVersions v99");
}

#[test]
fn produce_with_corrupt_crc_is_corrupt_message() {
    let mut s = setup();
    let mut bad = BytesMut::from(&batch(&["one", "two", "three"])[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0x55; // inside the last record: covered by the CRC
    let (code, message) = s.produce_error(bad.freeze());
    assert_eq!(code, CORRUPT_MESSAGE, "a batch with a wrong CRC: {message}");
    s.assert_healthy("a corrupt CRC");
}

#[test]
fn produce_with_lying_batch_length_is_rejected() {
    let mut s = setup();
    let good = batch(&["one", "two", "three"]);
    let length = i32::from_be_bytes(
        good[layout::BATCH_LENGTH..layout::BATCH_LENGTH + 4]
            .try_into()
            .expect("4 bytes"),
    );
    for (what, lie) in [
        ("batchLength too long", length + 1000),
        ("batchLength too short", length - 5),
        ("batchLength zero", 0),
        ("batchLength negative", -1),
    ] {
        let mut bad = BytesMut::from(&good[..]);
        bad[layout::BATCH_LENGTH..layout::BATCH_LENGTH + 4].copy_from_slice(&lie.to_be_bytes());
        let (code, message) = s.produce_error(bad.freeze());
        assert!(
            [CORRUPT_MESSAGE, INVALID_RECORD].contains(&code),
            "{what}: error code {code} ({message}), expected CORRUPT_MESSAGE (2) or \
             INVALID_RECORD (87)"
        );
        s.assert_healthy(what);
    }
}

#[test]
fn produce_with_inconsistent_counts_is_rejected() {
    let mut s = setup();
    let good = batch(&["one", "two", "three"]);
    let (count, delta) = (layout::RECORDS_COUNT, layout::LAST_OFFSET_DELTA);
    for (what, changes) in [
        ("recordsCount too high", &[(count, 1)][..]),
        ("recordsCount too low", &[(count, -1)][..]),
        ("lastOffsetDelta too high", &[(delta, 3)][..]),
    ] {
        let mut bad = good.to_vec();
        for &(field, change) in changes {
            let old = i32::from_be_bytes(bad[field..field + 4].try_into().expect("4 bytes"));
            bad[field..field + 4].copy_from_slice(&(old + change).to_be_bytes());
        }
        fix_crc(&mut bad); // the CRC is right: only the content lies
        let (code, message) = s.produce_error(Bytes::from(bad));
        assert!(
            [CORRUPT_MESSAGE, INVALID_RECORD].contains(&code),
            "{what}: error code {code} ({message}), expected CORRUPT_MESSAGE (2) or \
             INVALID_RECORD (87)"
        );
        s.assert_healthy(what);
    }
}

#[test]
fn produce_with_wrong_magic_is_rejected() {
    let mut s = setup();
    let mut bad = batch(&["one"]).to_vec();
    bad[layout::MAGIC] = 1;
    let (code, message) = s.produce_error(Bytes::from(bad));
    assert!(
        [
            CORRUPT_MESSAGE,
            UNSUPPORTED_FOR_MESSAGE_FORMAT,
            INVALID_RECORD
        ]
        .contains(&code),
        "magic 1: error code {code} ({message}), expected 2, 43 or 87"
    );
    s.assert_healthy("magic 1");
}

#[test]
fn a_good_batch_followed_by_a_corrupt_one_stores_neither() {
    // Produce v3+ carries exactly one batch per partition (Kafka answers
    // INVALID_RECORD otherwise); either way the good batch must not be stored.
    let mut s = setup();
    let mut records = BytesMut::from(&batch(&["good", "batch"])[..]);
    let mut corrupt = batch(&["corrupt"]).to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    records.extend_from_slice(&corrupt);
    let (code, message) = s.produce_error(records.freeze());
    assert!(
        [CORRUPT_MESSAGE, INVALID_RECORD].contains(&code),
        "error code {code} ({message}), expected CORRUPT_MESSAGE (2) or INVALID_RECORD (87)"
    );
    s.assert_healthy("a good batch then a corrupt one");
}

#[test]
fn produce_to_a_partition_that_does_not_exist() {
    let mut s = setup();
    let resp = s.conn().produce_raw(TOPIC, 7, batch(&["nowhere"]));
    assert_eq!(resp.error_code, UNKNOWN_TOPIC_OR_PARTITION, "{resp:?}");
    s.assert_healthy("partition 7 of a 1-partition topic");
}

/// recordsCount and lastOffsetDelta agree with each other (2 records) but
/// the batch holds 3. Stored as is, its third record would carry the offset
/// the broker gives the next batch's first record. Kafka walks the records
/// and rejects such a batch; so must we, even without decoding values.
#[test]
fn produce_whose_record_count_lies_consistently_is_rejected() {
    let mut s = setup();
    let mut bad = batch(&["one", "two", "three"]).to_vec();
    for field in [layout::RECORDS_COUNT, layout::LAST_OFFSET_DELTA] {
        let old = i32::from_be_bytes(bad[field..field + 4].try_into().expect("4 bytes"));
        bad[field..field + 4].copy_from_slice(&(old - 1).to_be_bytes());
    }
    fix_crc(&mut bad);
    let (code, message) = s.produce_error(Bytes::from(bad));
    assert!(
        [CORRUPT_MESSAGE, INVALID_RECORD].contains(&code),
        "a batch claiming 2 records that holds 3: error code {code} ({message}), expected \
         CORRUPT_MESSAGE (2) or INVALID_RECORD (87)"
    );
    s.assert_healthy("a batch whose record count lies consistently");
}
