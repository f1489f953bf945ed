//! The records of `__consumer_offsets`: Kafka's own key and value schemas,
//! so the topic reads the same as a Kafka broker's (and Kafka's tools can
//! decode it). Every key and value starts with an i16 schema version; all
//! integers are big-endian, strings are i16-length-prefixed UTF-8 (-1 for a
//! null string), bytes are i32-length-prefixed.
//!
//! | key version | key                                   | value                     |
//! |-------------|---------------------------------------|---------------------------|
//! | 0, 1        | group, topic, partition (i32)         | committed offset, v0–v3    |
//! | 2           | group                                 | group metadata, v0–v3      |
//!
//! Offset value v3 (what we write): offset i64, leader epoch i32, metadata
//! string, commit timestamp i64. v1 (written when a v2–v4 OffsetCommit asked
//! for an explicit retention): offset i64, metadata, commit timestamp i64,
//! expire timestamp i64.
//!
//! Group value v3: protocol type, generation i32, protocol (nullable),
//! leader (nullable), current state timestamp i64, then members, each:
//! member id, group instance id (nullable), client id, client host,
//! rebalance timeout i32, session timeout i32, subscription bytes,
//! assignment bytes.
//!
//! A null value is a tombstone: the offset, or the whole group, is deleted.
//! Decoding never panics: anything that does not parse is reported and
//! skipped by the loader.

use bytes::{BufMut, Bytes, BytesMut};

/// The key of a `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// A committed offset.
    Offset {
        /// Group id.
        group: String,
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// A group's metadata.
    Group {
        /// Group id.
        group: String,
    },
}

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    /// The next offset to consume.
    pub offset: i64,
    /// The leader epoch of the last consumed record, -1 if unknown.
    pub leader_epoch: i32,
    /// Client metadata.
    pub metadata: String,
    /// When the commit was made (ms since the epoch).
    pub commit_timestamp: i64,
    /// Explicit expiry (v1 values, from OffsetCommit v2–v4 retention_time_ms).
    pub expire_timestamp: Option<i64>,
}

/// One member of a persisted group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberValue {
    /// Member id.
    pub member_id: String,
    /// Static membership id.
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Rebalance timeout (ms).
    pub rebalance_timeout_ms: i32,
    /// Session timeout (ms).
    pub session_timeout_ms: i32,
    /// The member's metadata for the selected protocol.
    pub subscription: Bytes,
    /// The member's assignment.
    pub assignment: Bytes,
}

/// A group's metadata as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    /// Protocol type ("consumer", "connect", …).
    pub protocol_type: String,
    /// Generation.
    pub generation: i32,
    /// Selected protocol.
    pub protocol: Option<String>,
    /// Leader's member id.
    pub leader: Option<String>,
    /// When the group entered its current state (ms since the epoch), -1 if unknown.
    pub current_state_timestamp: i64,
    /// Members with their assignments.
    pub members: Vec<MemberValue>,
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The bytes end early.
    #[error("record truncated")]
    Truncated,
    /// A string is not UTF-8.
    #[error("string is not UTF-8")]
    NotUtf8,
    /// A negative length where none is allowed.
    #[error("invalid length {0}")]
    BadLength(i32),
    /// A schema version we do not know.
    #[error("unknown {what} schema version {version}")]
    UnknownVersion {
        /// Key or value kind.
        what: &'static str,
        /// The version.
        version: i16,
    },
}

/// Longest string the i16-prefixed encoding can hold.
pub const MAX_STRING: usize = i16::MAX as usize;

fn put_str(buf: &mut BytesMut, s: &str) {
    // Callers bound every string to MAX_STRING before it gets here.
    let len = s.len().min(MAX_STRING);
    buf.put_i16(len as i16);
    buf.put_slice(&s.as_bytes()[..len]);
}

fn put_opt_str(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_str(buf, s),
        None => buf.put_i16(-1),
    }
}

fn put_bytes(buf: &mut BytesMut, b: &[u8]) {
    buf.put_i32(b.len() as i32);
    buf.put_slice(b);
}

/// Encodes a key (offset keys as v1, group keys as v2).
pub fn encode_key(key: &RecordKey) -> Bytes {
    let mut buf = BytesMut::with_capacity(64);
    match key {
        RecordKey::Offset {
            group,
            topic,
            partition,
        } => {
            buf.put_i16(1);
            put_str(&mut buf, group);
            put_str(&mut buf, topic);
            buf.put_i32(*partition);
        }
        RecordKey::Group { group } => {
            buf.put_i16(2);
            put_str(&mut buf, group);
        }
    }
    buf.freeze()
}

/// Encodes a committed offset (v3, or v1 when it carries an explicit expiry).
pub fn encode_offset(v: &OffsetValue) -> Bytes {
    let mut buf = BytesMut::with_capacity(32 + v.metadata.len());
    match v.expire_timestamp {
        Some(expire) => {
            buf.put_i16(1);
            buf.put_i64(v.offset);
            put_str(&mut buf, &v.metadata);
            buf.put_i64(v.commit_timestamp);
            buf.put_i64(expire);
        }
        None => {
            buf.put_i16(3);
            buf.put_i64(v.offset);
            buf.put_i32(v.leader_epoch);
            put_str(&mut buf, &v.metadata);
            buf.put_i64(v.commit_timestamp);
        }
    }
    buf.freeze()
}

/// Encodes group metadata (v3).
pub fn encode_group(v: &GroupValue) -> Bytes {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i16(3);
    put_str(&mut buf, &v.protocol_type);
    buf.put_i32(v.generation);
    put_opt_str(&mut buf, v.protocol.as_deref());
    put_opt_str(&mut buf, v.leader.as_deref());
    buf.put_i64(v.current_state_timestamp);
    buf.put_i32(v.members.len() as i32);
    for m in &v.members {
        put_str(&mut buf, &m.member_id);
        put_opt_str(&mut buf, m.group_instance_id.as_deref());
        put_str(&mut buf, &m.client_id);
        put_str(&mut buf, &m.client_host);
        buf.put_i32(m.rebalance_timeout_ms);
        buf.put_i32(m.session_timeout_ms);
        put_bytes(&mut buf, &m.subscription);
        put_bytes(&mut buf, &m.assignment);
    }
    buf.freeze()
}

/// A bounds-checked reader.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.b.len() < n {
            return Err(CodecError::Truncated);
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }
    fn i16(&mut self) -> Result<i16, CodecError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Result<i32, CodecError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> Result<i64, CodecError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }
    fn opt_str(&mut self) -> Result<Option<String>, CodecError> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let b = self.take(len as usize)?;
        std::str::from_utf8(b)
            .map(|s| Some(s.to_owned()))
            .map_err(|_| CodecError::NotUtf8)
    }
    fn str(&mut self) -> Result<String, CodecError> {
        self.opt_str()?.ok_or(CodecError::BadLength(-1))
    }
    fn bytes(&mut self) -> Result<Bytes, CodecError> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(Bytes::new());
        }
        Ok(Bytes::copy_from_slice(self.take(len as usize)?))
    }
}

/// Decodes a key.
pub fn decode_key(b: &[u8]) -> Result<RecordKey, CodecError> {
    let mut r = Reader { b };
    match r.i16()? {
        0 | 1 => Ok(RecordKey::Offset {
            group: r.str()?,
            topic: r.str()?,
            partition: r.i32()?,
        }),
        2 => Ok(RecordKey::Group { group: r.str()? }),
        version => Err(CodecError::UnknownVersion {
            what: "key",
            version,
        }),
    }
}

/// Decodes a committed offset (v0–v3).
pub fn decode_offset(b: &[u8]) -> Result<OffsetValue, CodecError> {
    let mut r = Reader { b };
    let version = r.i16()?;
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.str()?;
    let commit_timestamp = r.i64()?;
    let expire_timestamp = match version {
        0 | 2 | 3 => None,
        1 => Some(r.i64()?),
        version => {
            return Err(CodecError::UnknownVersion {
                what: "offset value",
                version,
            })
        }
    };
    Ok(OffsetValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
        expire_timestamp,
    })
}

/// Decodes group metadata (v0–v3).
pub fn decode_group(b: &[u8]) -> Result<GroupValue, CodecError> {
    let mut r = Reader { b };
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(CodecError::UnknownVersion {
            what: "group value",
            version,
        });
    }
    let protocol_type = r.str()?;
    let generation = r.i32()?;
    let protocol = r.opt_str()?;
    let leader = r.opt_str()?;
    let current_state_timestamp = if version >= 2 { r.i64()? } else { -1 };
    let count = r.i32()?;
    if count < 0 {
        return Err(CodecError::BadLength(count));
    }
    let mut members = Vec::new();
    for _ in 0..count {
        let member_id = r.str()?;
        let group_instance_id = if version >= 3 { r.opt_str()? } else { None };
        let client_id = r.str()?;
        let client_host = r.str()?;
        let rebalance_timeout_ms = if version >= 1 { r.i32()? } else { -1 };
        let session_timeout_ms = r.i32()?;
        let subscription = r.bytes()?;
        let assignment = r.bytes()?;
        let m = MemberValue {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms: if rebalance_timeout_ms < 0 {
                session_timeout_ms
            } else {
                rebalance_timeout_ms
            },
            session_timeout_ms,
            subscription,
            assignment,
        };
        members.push(m);
    }
    Ok(GroupValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip() {
        let key = RecordKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 7,
        };
        assert_eq!(decode_key(&encode_key(&key)), Ok(key));
        let key = RecordKey::Group { group: "g".into() };
        assert_eq!(decode_key(&encode_key(&key)), Ok(key));
        for expire in [None, Some(99)] {
            let v = OffsetValue {
                offset: 42,
                leader_epoch: if expire.is_some() { -1 } else { 3 },
                metadata: "meta".into(),
                commit_timestamp: 1000,
                expire_timestamp: expire,
            };
            assert_eq!(decode_offset(&encode_offset(&v)), Ok(v));
        }
        let g = GroupValue {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            current_state_timestamp: 123,
            members: vec![MemberValue {
                member_id: "m1".into(),
                group_instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 10_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        assert_eq!(decode_group(&encode_group(&g)), Ok(g));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(decode_key(&[0]), Err(CodecError::Truncated));
        assert!(decode_key(&[0, 9, 0, 0]).is_err());
        assert!(decode_offset(&[0, 3, 1, 2]).is_err());
        assert!(decode_group(&[0, 3, 0, 1, b'x', 0, 0, 0, 1, 0xff, 0xff]).is_err());
        assert!(decode_group(&[0, 3, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).is_err());
        let mut huge = vec![0, 3, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        huge.extend_from_slice(&[0; 8]);
        huge.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_group(&huge).is_err());
    }
}
