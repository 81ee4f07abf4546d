//! Kafka's error codes, and which one each tidelog error becomes.

use crate::error::Error;

pub(crate) const NONE: i16 = 0;
pub(crate) const UNKNOWN_SERVER_ERROR: i16 = -1;
pub(crate) const OFFSET_OUT_OF_RANGE: i16 = 1;
pub(crate) const CORRUPT_MESSAGE: i16 = 2;
pub(crate) const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub(crate) const LEADER_NOT_AVAILABLE: i16 = 5;
pub(crate) const NOT_LEADER_OR_FOLLOWER: i16 = 6;
pub(crate) const REQUEST_TIMED_OUT: i16 = 7;
pub(crate) const MESSAGE_TOO_LARGE: i16 = 10;
pub(crate) const INVALID_TOPIC_EXCEPTION: i16 = 17;
pub(crate) const NOT_ENOUGH_REPLICAS: i16 = 19;
pub(crate) const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = 20;
pub(crate) const ILLEGAL_GENERATION: i16 = 22;
pub(crate) const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
pub(crate) const INVALID_GROUP_ID: i16 = 24;
pub(crate) const UNKNOWN_MEMBER_ID: i16 = 25;
pub(crate) const REBALANCE_IN_PROGRESS: i16 = 27;
pub(crate) const UNSUPPORTED_VERSION: i16 = 35;
pub(crate) const TOPIC_ALREADY_EXISTS: i16 = 36;
pub(crate) const INVALID_REPLICATION_FACTOR: i16 = 38;
pub(crate) const INVALID_CONFIG: i16 = 40;
pub(crate) const INVALID_REQUEST: i16 = 42;
pub(crate) const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
pub(crate) const MEMBER_ID_REQUIRED: i16 = 79;
pub(crate) const NON_EMPTY_GROUP: i16 = 68;
pub(crate) const GROUP_ID_NOT_FOUND: i16 = 69;
pub(crate) const UNSUPPORTED_COMPRESSION_TYPE: i16 = 76;

/// The Kafka error code a client expects for `error`.
pub(crate) fn of(error: &Error) -> i16 {
    match error {
        Error::NotLeader { .. } | Error::Closed(_) => NOT_LEADER_OR_FOLLOWER,
        Error::PartitionOffline { .. } => LEADER_NOT_AVAILABLE,
        Error::NotEnoughReplicas { .. } => NOT_ENOUGH_REPLICAS,
        Error::NotEnoughReplicasAfterAppend { .. } => NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        Error::OutOfOrderSequence { .. } => OUT_OF_ORDER_SEQUENCE_NUMBER,
        Error::Timeout { .. } => REQUEST_TIMED_OUT,
        Error::UnknownTopic(_) | Error::InvalidPartition { .. } => UNKNOWN_TOPIC_OR_PARTITION,
        Error::RecordTooLarge { .. } => MESSAGE_TOO_LARGE,
        Error::Corrupt { .. } | Error::InvalidBatch { .. } => CORRUPT_MESSAGE,
        Error::OffsetOutOfRange { .. } => OFFSET_OUT_OF_RANGE,
        Error::InvalidTopicName { .. } => INVALID_TOPIC_EXCEPTION,
        Error::TopicAlreadyExists(_) => TOPIC_ALREADY_EXISTS,
        Error::InvalidConfig { .. } => INVALID_CONFIG,
        Error::InvalidReplicationFactor { .. } => INVALID_REPLICATION_FACTOR,
        Error::RebalanceInProgress(_) => REBALANCE_IN_PROGRESS,
        Error::UnknownGroup(_) => GROUP_ID_NOT_FOUND,
        Error::GroupNotEmpty(_) => NON_EMPTY_GROUP,
        _ => UNKNOWN_SERVER_ERROR,
    }
}
