//! Request decoding must never panic or abort on hostile bytes: random
//! bodies under every API and version a broker might serve, and damaged
//! copies of valid requests. (The broker also wraps decoding in
//! `catch_unwind`; this test makes sure it rarely needs to.)

use bytes::{BufMut, Bytes, BytesMut};
use holocron_proto::alloc::LazyLargeAlloc;
use holocron_proto::request;
use holocron_proto::versions::{ApiRange, ApiVersionTable};
use kafka_protocol::messages::{ApiKey, MetadataRequest, RequestHeader};
use kafka_protocol::protocol::Encodable;
use proptest::prelude::*;

// Hostile array lengths make kafka-protocol pre-allocate huge vectors; the
// broker's allocator turns those into untouched address space, and so does
// this test's.
#[global_allocator]
static ALLOC: LazyLargeAlloc = LazyLargeAlloc;

fn table() -> ApiVersionTable {
    ApiVersionTable::new(ApiKey::iter().map(|key| {
        let v = key.valid_versions();
        ApiRange {
            key,
            min: v.min,
            max: v.max,
        }
    }))
}

fn frame(key: i16, version: i16, body: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(8 + body.len());
    b.put_i16(key);
    b.put_i16(version);
    b.put_i32(1);
    b.put_slice(body);
    b.freeze()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bodies_never_panic(key_index in 0usize..90, version in 0i16..20, body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let table = table();
        let ranges = table.ranges();
        let range = ranges[key_index % ranges.len()];
        let v = range.min + version % (range.max - range.min + 1);
        let _ = request::decode(frame(range.key as i16, v, &body), &table);
    }

    #[test]
    fn damaged_valid_requests_never_panic(cut in 0usize..64, flips in proptest::collection::vec((0usize..64, any::<u8>()), 0..6)) {
        let version = 12;
        let mut buf = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(ApiKey::Metadata as i16)
            .with_request_api_version(version)
            .with_correlation_id(5)
            .encode(&mut buf, ApiKey::Metadata.request_header_version(version))
            .expect("header");
        MetadataRequest::default().encode(&mut buf, version).expect("body");
        let mut bytes = buf.to_vec();
        let body_len = (bytes.len() - 8).max(1);
        for (at, x) in flips {
            if let Some(b) = bytes.get_mut(8 + at % body_len) {
                *b ^= x;
            }
        }
        bytes.truncate(bytes.len().saturating_sub(cut % bytes.len()));
        let _ = request::decode(Bytes::from(bytes), &table());
    }
}

#[test]
fn a_billion_element_array_is_an_error_not_an_abort() {
    // Metadata v0 whose topic array claims 0x3fffffff entries, then ends.
    let body = [0x3f, 0xff, 0xff, 0xff, 0x00];
    let err = request::decode(frame(ApiKey::Metadata as i16, 0, &body), &table());
    assert!(err.is_err());
}
