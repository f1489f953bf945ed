//! A member of a classic group, and the answers its waiting JoinGroup and
//! SyncGroup requests receive.

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::GroupError;

/// What a JoinGroup request gets back.
#[derive(Debug, Clone, Default)]
pub struct JoinResult {
    /// The error, if any.
    pub error: Option<GroupError>,
    /// The member id (a new one for MEMBER_ID_REQUIRED).
    pub member_id: String,
    /// The generation, -1 on error.
    pub generation: i32,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The selected protocol.
    pub protocol_name: Option<String>,
    /// The leader's member id ("" on error).
    pub leader: String,
    /// JoinGroup v9: the (static) leader must not run the assignor.
    pub skip_assignment: bool,
    /// For the leader: every member with its metadata for the selected protocol.
    pub members: Vec<JoinedMember>,
}

impl JoinResult {
    /// A failed join.
    pub fn failed(error: GroupError, member_id: &str) -> JoinResult {
        JoinResult {
            error: Some(error),
            member_id: member_id.to_owned(),
            generation: -1,
            ..JoinResult::default()
        }
    }
}

/// A member as the leader sees it in its JoinGroup response.
#[derive(Debug, Clone)]
pub struct JoinedMember {
    /// Member id.
    pub member_id: String,
    /// Static membership id.
    pub group_instance_id: Option<String>,
    /// Metadata for the selected protocol.
    pub metadata: Bytes,
}

/// What a SyncGroup request gets back.
#[derive(Debug, Clone, Default)]
pub struct SyncResult {
    /// The error, if any.
    pub error: Option<GroupError>,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The selected protocol.
    pub protocol_name: Option<String>,
    /// This member's assignment.
    pub assignment: Bytes,
}

impl SyncResult {
    /// A failed sync.
    pub fn failed(error: GroupError) -> SyncResult {
        SyncResult {
            error: Some(error),
            ..SyncResult::default()
        }
    }
}

/// One member of a group.
#[derive(Debug)]
pub struct Member {
    /// Member id.
    pub id: String,
    /// Static membership id (KIP-345).
    pub instance_id: Option<String>,
    /// Client id from the request header.
    pub client_id: String,
    /// Client host, as Kafka prints it ("/127.0.0.1").
    pub client_host: String,
    /// Longest a rebalance may wait for this member to rejoin (ms).
    pub rebalance_timeout_ms: i32,
    /// Session timeout (ms).
    pub session_timeout_ms: i32,
    /// Protocol type.
    pub protocol_type: String,
    /// Supported protocols, in preference order, with their metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// The assignment of the current generation.
    pub assignment: Bytes,
    /// A JoinGroup waiting for the rebalance to complete.
    pub awaiting_join: Option<oneshot::Sender<JoinResult>>,
    /// A SyncGroup waiting for the leader's assignment.
    pub awaiting_sync: Option<oneshot::Sender<SyncResult>>,
    /// Joined but has not been through a completed join yet.
    pub is_new: bool,
    /// When the session expires unless the member shows signs of life.
    pub expires_at: Instant,
    /// JoinGroup v9+: the member understands skip_assignment.
    pub supports_skip_assignment: bool,
}

impl Member {
    /// The member's metadata for `protocol`.
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Whether these are exactly the member's protocols (same names, metadata and order).
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// The first of the member's protocols among `candidates`.
    pub fn vote<'a>(&'a self, candidates: &[&str]) -> Option<&'a str> {
        self.protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .find(|p| candidates.contains(p))
    }

    /// Whether the member is waiting in JoinGroup.
    pub fn is_awaiting_join(&self) -> bool {
        self.awaiting_join.is_some()
    }

    /// Answers a waiting JoinGroup, if there is one.
    pub fn complete_join(&mut self, result: JoinResult) -> bool {
        match self.awaiting_join.take() {
            Some(tx) => {
                // The client may have gone away; nothing to do then.
                let _ = tx.send(result);
                true
            }
            None => false,
        }
    }

    /// Answers a waiting SyncGroup, if there is one.
    pub fn complete_sync(&mut self, result: SyncResult) -> bool {
        match self.awaiting_sync.take() {
            Some(tx) => {
                let _ = tx.send(result);
                true
            }
            None => false,
        }
    }
}
