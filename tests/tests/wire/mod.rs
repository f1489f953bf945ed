//! A small blocking Kafka client over raw sockets for the bad-input tests:
//! well-formed requests encoded with the `kafka-protocol` crate, plus
//! access to the raw frame so a test can break it on purpose.
//!
//! Versions are negotiated with the broker's ApiVersions answer (never above
//! what the broker advertises), and capped where a newer version changes
//! the request's shape (Produce and Fetch v13 name topics by id).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, CreateTopicsRequest, FetchRequest,
    ListOffsetsRequest, MetadataRequest, ProduceRequest, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// How long any single read or write may block.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One TCP connection to the broker.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    next_correlation_id: i32,
    versions: HashMap<i16, (i16, i16)>,
}

/// What the broker did with a request it should reject.
#[derive(Debug)]
pub enum Reaction {
    /// It closed (or reset) the connection.
    Closed,
    /// It answered with this frame (without the size prefix).
    Answered(Bytes),
}

impl Conn {
    /// Connects without negotiating versions (for raw frames).
    #[track_caller]
    pub fn connect_raw(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            next_correlation_id: 1,
            versions: HashMap::new(),
        }
    }

    /// Connects and learns the broker's version ranges (ApiVersions v0,
    /// which every broker must answer).
    #[track_caller]
    pub fn connect(addr: SocketAddr) -> Conn {
        let mut conn = Conn::connect_raw(addr);
        let resp = conn.send::<ApiVersionsRequest>(0, &ApiVersionsRequest::default());
        assert_eq!(resp.error_code, 0, "ApiVersions v0 error");
        conn.versions = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        conn
    }

    /// The broker's advertised (min, max) versions for an API, if any.
    pub fn broker_versions(&self, key: ApiKey) -> Option<(i16, i16)> {
        self.versions.get(&(key as i16)).copied()
    }

    /// The highest version both sides support, at most `cap`.
    #[track_caller]
    pub fn version<R: Request>(&self, cap: i16) -> i16 {
        let (bmin, bmax) = self
            .versions
            .get(&R::KEY)
            .copied()
            .unwrap_or_else(|| panic!("the broker does not advertise API key {}", R::KEY));
        let version = bmax.min(R::VERSIONS.max).min(cap);
        assert!(
            version >= bmin.max(R::VERSIONS.min),
            "no common version for API key {}: broker {bmin}..={bmax}, client {}..={}",
            R::KEY,
            R::VERSIONS.min,
            R::VERSIONS.max
        );
        version
    }

    /// A complete frame (size prefix included) for `req` at `version`.
    pub fn frame<R: Request>(&mut self, version: i16, req: &R) -> (i32, Vec<u8>) {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("holocron-e2e-wire")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .expect("encode header");
        req.encode(&mut body, version).expect("encode request");
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        (correlation_id, frame)
    }

    /// Sends `req` and decodes the response; panics on any failure.
    #[track_caller]
    pub fn send<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        let (correlation_id, frame) = self.frame(version, req);
        self.write_raw(&frame)
            .unwrap_or_else(|e| panic!("sending API key {}: {e}", R::KEY));
        let mut body = self
            .read_frame()
            .unwrap_or_else(|e| panic!("reading the answer to API key {}: {e}", R::KEY))
            .unwrap_or_else(|| panic!("the broker closed the connection (API key {})", R::KEY));
        let header = ResponseHeader::decode(
            &mut body,
            <R::Response as HeaderVersion>::header_version(version),
        )
        .expect("decode response header");
        assert_eq!(header.correlation_id, correlation_id, "correlation id");
        R::Response::decode(&mut body, version)
            .unwrap_or_else(|e| panic!("decode the answer to API key {} v{version}: {e}", R::KEY))
    }

    /// Writes bytes as they are.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Reads one response frame (without its size); `None` at end of stream.
    pub fn read_frame(&mut self) -> io::Result<Option<Bytes>> {
        let mut size = [0u8; 4];
        match self.stream.read_exact(&mut size) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let size = i32::from_be_bytes(size);
        if !(0..=64 << 20).contains(&size) {
            return Err(io::Error::other(format!("response size {size}")));
        }
        let mut body = vec![0u8; size as usize];
        self.stream.read_exact(&mut body)?;
        Ok(Some(Bytes::from(body)))
    }

    /// After a bad request: waits (bounded) until the broker either closes
    /// the connection or answers. Panics if it does neither within
    /// [`IO_TIMEOUT`] — a broker must not sit silently on a bad request.
    #[track_caller]
    pub fn reaction(&mut self) -> Reaction {
        match self.read_frame() {
            Ok(None) => Reaction::Closed,
            Ok(Some(frame)) => Reaction::Answered(frame),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "the broker neither answered nor closed the connection within {IO_TIMEOUT:?}"
                )
            }
            // Reset, broken pipe, …: the broker dropped the connection.
            Err(_) => Reaction::Closed,
        }
    }

    /// ApiVersions at the highest common version; panics unless error 0.
    #[track_caller]
    pub fn check_api_versions(&mut self) {
        let version = self.version::<ApiVersionsRequest>(4);
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("holocron-e2e"))
            .with_client_software_version(StrBytes::from_static_str("0"));
        let resp: ApiVersionsResponse = self.send(version, &req);
        assert_eq!(resp.error_code, 0, "ApiVersions v{version} error");
    }

    /// Creates a topic and waits (bounded) until every partition has a leader.
    #[track_caller]
    pub fn create_topic(&mut self, name: &str, partitions: i32) {
        let version = self.version::<CreateTopicsRequest>(7);
        let req = CreateTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic_name(name))
                .with_num_partitions(partitions)
                .with_replication_factor(1)]);
        let resp = self.send(version, &req);
        assert_eq!(resp.topics.len(), 1);
        assert_eq!(
            resp.topics[0].error_code, 0,
            "CreateTopics {name}: {:?}",
            resp.topics[0].error_message
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let version = self.version::<MetadataRequest>(12);
        loop {
            let req = MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(topic_name(name))),
            ]));
            let resp = self.send(version, &req);
            let ready = resp.topics.iter().any(|t| {
                t.error_code == 0
                    && t.partitions.len() == partitions as usize
                    && t.partitions.iter().all(|p| p.leader_id.0 >= 0)
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} has no leaders after 30 s"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Produces `records` (one or more encoded batches) with acks=all.
    #[track_caller]
    pub fn produce_raw(
        &mut self,
        topic: &str,
        partition: i32,
        records: Bytes,
    ) -> PartitionProduceResponse {
        let version = self.version::<ProduceRequest>(12);
        let resp = self.send(version, &produce_request(topic, partition, records));
        let part = resp
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter())
            .find(|p| p.index == partition)
            .unwrap_or_else(|| panic!("no answer for {topic}[{partition}]: {resp:?}"));
        part.clone()
    }

    /// The produce request frame, for tests that send it with changes.
    pub fn produce_frame(&mut self, topic: &str, partition: i32, records: Bytes) -> Vec<u8> {
        let version = self.version::<ProduceRequest>(12);
        self.frame(version, &produce_request(topic, partition, records))
            .1
    }

    /// The log end offset (ListOffsets "latest").
    #[track_caller]
    pub fn end_offset(&mut self, topic: &str, partition: i32) -> i64 {
        let version = self.version::<ListOffsetsRequest>(10);
        let req = ListOffsetsRequest::default()
            .with_replica_id((-1).into())
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(partition)
                    .with_timestamp(-1)])]);
        let resp = self.send(version, &req);
        let p = &resp.topics[0].partitions[0];
        assert_eq!(p.error_code, 0, "ListOffsets latest {topic}[{partition}]");
        p.offset
    }

    /// Fetches from `offset` and decodes the records returned.
    #[track_caller]
    pub fn fetch(&mut self, topic: &str, partition: i32, offset: i64) -> Vec<Record> {
        let version = self.version::<FetchRequest>(12);
        let req = FetchRequest::default()
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_topics(vec![FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20)])]);
        let resp = self.send(version, &req);
        assert_eq!(resp.error_code, 0, "Fetch error");
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0, "Fetch {topic}[{partition}] at {offset}");
        let mut records = p.records.clone().unwrap_or_default();
        let mut out = Vec::new();
        for set in RecordBatchDecoder::decode_all(&mut records).expect("decode fetched batches") {
            out.extend(set.records.into_iter().filter(|r| r.offset >= offset));
        }
        out
    }
}

fn produce_request(topic: &str, partition: i32, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

/// A topic name for kafka-protocol messages.
pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// One well-formed, uncompressed RecordBatch v2 holding `values`.
pub fn batch(values: &[&str]) -> Bytes {
    let now = 1_700_000_000_000;
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol starts a new batch whenever offset - sequence
            // changes; this keeps one batch with baseSequence -1.
            sequence: i as i32 - 1,
            timestamp: now + i as i64,
            key: Some(Bytes::from(format!("key-{i}"))),
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
    assert_eq!(
        length as usize + 12,
        buf.len(),
        "the records must form one batch"
    );
    buf.freeze()
}

/// Byte offsets of RecordBatch v2 fields.
pub mod layout {
    /// batchLength (i32): the bytes after this field.
    pub const BATCH_LENGTH: usize = 8;
    /// magic (i8).
    pub const MAGIC: usize = 16;
    /// crc (u32): CRC32C of everything from attributes to the end.
    pub const CRC: usize = 17;
    /// attributes (i16): where the CRC'd part starts.
    pub const ATTRIBUTES: usize = 21;
    /// lastOffsetDelta (i32).
    pub const LAST_OFFSET_DELTA: usize = 23;
    /// recordsCount (i32).
    pub const RECORDS_COUNT: usize = 57;
}

/// Recomputes a single batch's CRC32C after a test changed covered fields.
pub fn fix_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[layout::ATTRIBUTES..]);
    batch[layout::CRC..layout::CRC + 4].copy_from_slice(&crc.to_be_bytes());
}
