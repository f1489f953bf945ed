//! Which Raft group a node-to-node message is for: the metadata group or
//! one topic partition (by topic id, so a re-created topic of the same name
//! is a different group). Encoded compactly in the RPC frame's group field.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

/// A Raft group of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupId {
    /// The metadata group.
    Metadata,
    /// A data partition.
    Partition {
        /// The topic's id.
        topic_id: Uuid,
        /// The partition index.
        partition: i32,
    },
}

const METADATA: u8 = 0;
const PARTITION: u8 = 1;

impl GroupId {
    /// The bytes of the RPC frame's group field.
    pub fn encode(&self) -> Bytes {
        match self {
            GroupId::Metadata => Bytes::from_static(&[METADATA]),
            GroupId::Partition {
                topic_id,
                partition,
            } => {
                let mut b = BytesMut::with_capacity(21);
                b.put_u8(PARTITION);
                b.put_slice(topic_id.as_bytes());
                b.put_i32(*partition);
                b.freeze()
            }
        }
    }

    /// Parses the RPC frame's group field.
    pub fn decode(bytes: &[u8]) -> Option<GroupId> {
        match bytes {
            [METADATA] => Some(GroupId::Metadata),
            [PARTITION, rest @ ..] if rest.len() == 20 => {
                let topic_id = Uuid::from_slice(&rest[..16]).ok()?;
                let partition = i32::from_be_bytes(rest[16..20].try_into().ok()?);
                Some(GroupId::Partition {
                    topic_id,
                    partition,
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupId::Metadata => f.write_str("metadata"),
            GroupId::Partition {
                topic_id,
                partition,
            } => write!(f, "{topic_id}/{partition}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let p = GroupId::Partition {
            topic_id: Uuid::new_v4(),
            partition: 7,
        };
        assert_eq!(GroupId::decode(&p.encode()), Some(p));
        assert_eq!(
            GroupId::decode(&GroupId::Metadata.encode()),
            Some(GroupId::Metadata)
        );
        assert_eq!(GroupId::decode(&[]), None);
        assert_eq!(GroupId::decode(&[1, 2, 3]), None);
        assert_eq!(GroupId::decode(&[9]), None);
    }
}
