//! Why the group coordinator refused or failed a request. The server maps
//! each variant to its Kafka error code in `server::errors::group_error`.

/// A group coordinator outcome other than success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The group id is empty where it may not be, or too long to store.
    #[error("invalid group id")]
    InvalidGroupId,
    /// A field is malformed or too long to store.
    #[error("invalid request")]
    InvalidRequest,
    /// The session timeout is outside the broker's bounds.
    #[error("session timeout outside group.min/max.session.timeout.ms")]
    InvalidSessionTimeout,
    /// The member id is not (or no longer) in the group.
    #[error("unknown member id")]
    UnknownMemberId,
    /// KIP-394: a new member must rejoin with the member id it was given.
    #[error("member id required")]
    MemberIdRequired,
    /// The generation is not the group's current one.
    #[error("illegal generation")]
    IllegalGeneration,
    /// The member's protocol type or protocols do not fit the group's.
    #[error("inconsistent group protocol")]
    InconsistentGroupProtocol,
    /// The group is rebalancing; rejoin.
    #[error("rebalance in progress")]
    RebalanceInProgress,
    /// The group does not exist.
    #[error("group id not found")]
    GroupIdNotFound,
    /// The group still has members.
    #[error("group is not empty")]
    NonEmptyGroup,
    /// The group is full.
    #[error("group max size reached")]
    GroupMaxSizeReached,
    /// Another member has taken over this group instance id.
    #[error("fenced instance id")]
    FencedInstanceId,
    /// An active member subscribes to the topic whose offsets are to be deleted.
    #[error("group subscribed to topic")]
    GroupSubscribedToTopic,
    /// The commit metadata is larger than the broker allows.
    #[error("offset metadata too large")]
    OffsetMetadataTooLarge,
    /// The group was removed (deleted or expired) while the request ran.
    #[error("coordinator not available")]
    CoordinatorNotAvailable,
    /// Another node coordinates the group (it leads the group's offsets
    /// partition), or this node does not know which yet.
    #[error("not the coordinator of this group")]
    NotCoordinator,
    /// The broker is shutting down.
    #[error("coordinator is shutting down")]
    ShuttingDown,
    /// The offsets partition refused the write or failed.
    #[error("offsets storage failed")]
    StorageFailed,
    /// The offsets partition did not commit the write in time.
    #[error("offsets write not committed in time")]
    StorageTimedOut,
    /// The commit records are larger than the offsets topic accepts.
    #[error("offset commit too large")]
    CommitTooLarge,
    /// The group's metadata record is larger than the offsets topic accepts.
    #[error("group metadata too large")]
    GroupTooLarge,
}
