//! The one place where internal errors become Kafka error codes.

pub use holocron_proto::errors::ErrorCode;

use crate::cluster::topic_name::TopicNameError;
use crate::cluster::TopicError;
use crate::log::LogError;
use crate::partition::replica::ReplicaError;
use crate::partition::AppendError;
use crate::producer::SequenceError;

/// The Kafka error for a log failure.
pub fn log_error(e: &LogError) -> ErrorCode {
    match e {
        LogError::InvalidBatch { .. } => ErrorCode::InvalidRecord,
        LogError::CorruptBatch { .. } => ErrorCode::CorruptMessage,
        LogError::BatchTooLarge { .. } => ErrorCode::MessageTooLarge,
        LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
        _ => ErrorCode::KafkaStorageError,
    }
}

/// The Kafka error for a refused append.
pub fn append_error(e: &AppendError) -> ErrorCode {
    match e {
        AppendError::Log(e) => log_error(e),
        AppendError::Sequence(SequenceError::Fenced { .. }) => ErrorCode::InvalidProducerEpoch,
        AppendError::Sequence(SequenceError::OutOfOrder { .. }) => {
            ErrorCode::OutOfOrderSequenceNumber
        }
        AppendError::Transactional => ErrorCode::TransactionalIdAuthorizationFailed,
        AppendError::Replica(ReplicaError::NotLeader(_)) => ErrorCode::NotLeaderOrFollower,
        AppendError::Replica(ReplicaError::Busy) => ErrorCode::RequestTimedOut,
    }
}

/// The Kafka error for a refused read view.
pub fn epoch_error(e: crate::partition::EpochCheck) -> ErrorCode {
    match e {
        crate::partition::EpochCheck::NotLeader => ErrorCode::NotLeaderOrFollower,
        crate::partition::EpochCheck::Fenced => ErrorCode::FencedLeaderEpoch,
        crate::partition::EpochCheck::Unknown => ErrorCode::UnknownLeaderEpoch,
    }
}

/// The Kafka error for a refused topic operation.
pub fn topic_error(e: &TopicError) -> ErrorCode {
    match e {
        TopicError::AlreadyExists(_) => ErrorCode::TopicAlreadyExists,
        TopicError::Unknown(_) => ErrorCode::UnknownTopicOrPartition,
        TopicError::InvalidName(_) | TopicError::Collides { .. } => {
            ErrorCode::InvalidTopicException
        }
        TopicError::InvalidPartitions(_) => ErrorCode::InvalidPartitions,
        TopicError::InvalidReplicationFactor(_) => ErrorCode::InvalidReplicationFactor,
        TopicError::InvalidReplicaAssignment(_) => ErrorCode::InvalidReplicaAssignment,
        TopicError::NotController(_) => ErrorCode::NotController,
        TopicError::Unavailable(_) => ErrorCode::RequestTimedOut,
        TopicError::Remote { code, .. } => {
            ErrorCode::try_from_code(*code).unwrap_or(ErrorCode::UnknownServerError)
        }
        TopicError::InvalidConfig(_) => ErrorCode::InvalidConfig,
        TopicError::Storage(_) | TopicError::Log(_) => ErrorCode::KafkaStorageError,
    }
}

/// The Kafka error for a bad topic name.
pub fn topic_name_error(_: &TopicNameError) -> ErrorCode {
    ErrorCode::InvalidTopicException
}

/// The Kafka error for a group coordinator outcome.
pub fn group_error(e: crate::groups::GroupError) -> ErrorCode {
    use crate::groups::GroupError as G;
    match e {
        G::InvalidGroupId => ErrorCode::InvalidGroupId,
        G::InvalidRequest => ErrorCode::InvalidRequest,
        G::InvalidSessionTimeout => ErrorCode::InvalidSessionTimeout,
        G::UnknownMemberId => ErrorCode::UnknownMemberId,
        G::MemberIdRequired => ErrorCode::MemberIdRequired,
        G::IllegalGeneration => ErrorCode::IllegalGeneration,
        G::InconsistentGroupProtocol => ErrorCode::InconsistentGroupProtocol,
        G::RebalanceInProgress => ErrorCode::RebalanceInProgress,
        G::GroupIdNotFound => ErrorCode::GroupIdNotFound,
        G::NonEmptyGroup => ErrorCode::NonEmptyGroup,
        G::GroupMaxSizeReached => ErrorCode::GroupMaxSizeReached,
        G::FencedInstanceId => ErrorCode::FencedInstanceId,
        G::GroupSubscribedToTopic => ErrorCode::GroupSubscribedToTopic,
        G::OffsetMetadataTooLarge => ErrorCode::OffsetMetadataTooLarge,
        // Retriable: the client finds the coordinator again and retries.
        G::CoordinatorNotAvailable | G::StorageFailed | G::StorageTimedOut => {
            ErrorCode::CoordinatorNotAvailable
        }
        G::ShuttingDown | G::NotCoordinator => ErrorCode::NotCoordinator,
        // As Kafka answers records too large for the offsets topic.
        G::CommitTooLarge => ErrorCode::InvalidCommitOffsetSize,
        G::GroupTooLarge => ErrorCode::UnknownServerError,
    }
}
