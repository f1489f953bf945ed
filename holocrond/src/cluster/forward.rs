//! Metadata requests forwarded from a node that does not lead the metadata
//! group to the one that does, over the node-to-node RPC.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::plan::{MetaReply, MetaRequest};
use super::TopicError;
use crate::replication::node::RaftNode;
use crate::replication::router::CallError;
use crate::replication::types::NodeId;

/// The RPC kind of a forwarded metadata request.
pub const FORWARD_META: u8 = 32;

/// How long a forwarded request may take (the leader's own commit timeout
/// plus the trip).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(20);

/// A refusal as it travels back.
#[derive(Debug, Serialize, Deserialize)]
pub enum WireError {
    /// The receiver does not lead the group (any more).
    NotController(Option<NodeId>),
    /// The change could not be committed.
    Unavailable(String),
    /// Refused with a Kafka error.
    Kafka {
        /// The code.
        code: i16,
        /// The message.
        message: String,
    },
}

impl WireError {
    /// The wire form of `e`; `code_of` maps it to a Kafka error code.
    pub fn from_error(e: &TopicError, code_of: impl Fn(&TopicError) -> i16) -> WireError {
        match e {
            TopicError::NotController(l) => WireError::NotController(*l),
            TopicError::Unavailable(m) => WireError::Unavailable(m.clone()),
            other => WireError::Kafka {
                code: code_of(other),
                message: other.to_string(),
            },
        }
    }

    fn into_error(self) -> TopicError {
        match self {
            WireError::NotController(l) => TopicError::NotController(l),
            WireError::Unavailable(m) => TopicError::Unavailable(m),
            WireError::Kafka { code, message } => TopicError::Remote { code, message },
        }
    }
}

/// Sends `req` to `leader` and returns its answer.
pub async fn call(
    node: &RaftNode,
    leader: NodeId,
    req: &MetaRequest,
) -> Result<MetaReply, TopicError> {
    let payload = serde_json::to_vec(req).map_err(|e| TopicError::Storage(e.to_string()))?;
    let answer = node
        .call_service(leader, FORWARD_META, Bytes::from(payload), FORWARD_TIMEOUT)
        .await
        .map_err(|e| match e {
            CallError::Remote(_, m) => TopicError::Unavailable(m),
            other => TopicError::Unavailable(other.to_string()),
        })?;
    let result: Result<MetaReply, WireError> = serde_json::from_slice(&answer).map_err(|e| {
        TopicError::Unavailable(format!("unreadable answer from node {leader}: {e}"))
    })?;
    result.map_err(WireError::into_error)
}

/// Decodes a forwarded request.
pub fn decode_request(payload: &[u8]) -> Result<MetaRequest, String> {
    serde_json::from_slice(payload).map_err(|e| format!("malformed metadata request: {e}"))
}

/// Encodes the answer to a forwarded request.
pub fn encode_answer(result: Result<MetaReply, WireError>) -> Bytes {
    Bytes::from(serde_json::to_vec(&result).unwrap_or_else(|e| {
        format!(r#"{{"Err":{{"Unavailable":"cannot encode the answer: {e}"}}}}"#).into_bytes()
    }))
}
