//! Copies of an error, one per callback of a failed batch.

use std::io;
use std::path::PathBuf;

use crate::error::Error;

/// One batch's error goes to many callbacks, but `Error` is not `Clone` (it
/// may hold an `io::Error`), so each gets a rebuilt copy: same variant and
/// fields; an I/O error keeps its kind and message.
pub(crate) fn duplicate(error: &Error) -> Error {
    duplicate_topic_error(error)
        .or_else(|| duplicate_replication_error(error))
        .or_else(|| duplicate_group_error(error))
        .unwrap_or_else(|| duplicate_other(error))
}

fn duplicate_topic_error(error: &Error) -> Option<Error> {
    Some(match error {
        Error::InvalidTopicName { name, reason } => Error::InvalidTopicName {
            name: name.clone(),
            reason,
        },
        Error::TopicAlreadyExists(t) => Error::TopicAlreadyExists(t.clone()),
        Error::UnknownTopic(t) => Error::UnknownTopic(t.clone()),
        Error::InvalidPartition {
            topic,
            partition,
            partitions,
        } => Error::InvalidPartition {
            topic: topic.clone(),
            partition: *partition,
            partitions: *partitions,
        },
        Error::RecordTooLarge { size, max } => Error::RecordTooLarge {
            size: *size,
            max: *max,
        },
        Error::OffsetOutOfRange {
            topic,
            partition,
            offset,
            log_start_offset,
            log_end_offset,
        } => Error::OffsetOutOfRange {
            topic: topic.clone(),
            partition: *partition,
            offset: *offset,
            log_start_offset: *log_start_offset,
            log_end_offset: *log_end_offset,
        },
        Error::NoOffsetForPartition { topic, partition } => Error::NoOffsetForPartition {
            topic: topic.clone(),
            partition: *partition,
        },
        Error::NotAssigned { topic, partition } => Error::NotAssigned {
            topic: topic.clone(),
            partition: *partition,
        },
        _ => return None,
    })
}

fn duplicate_replication_error(error: &Error) -> Option<Error> {
    Some(match error {
        Error::NotLeader { topic, partition } => Error::NotLeader {
            topic: topic.clone(),
            partition: *partition,
        },
        Error::PartitionOffline { topic, partition } => Error::PartitionOffline {
            topic: topic.clone(),
            partition: *partition,
        },
        Error::NotEnoughReplicas {
            topic,
            partition,
            in_sync,
            required,
        } => Error::NotEnoughReplicas {
            topic: topic.clone(),
            partition: *partition,
            in_sync: *in_sync,
            required: *required,
        },
        Error::NotEnoughReplicasAfterAppend { topic, partition } => {
            Error::NotEnoughReplicasAfterAppend {
                topic: topic.clone(),
                partition: *partition,
            }
        }
        Error::OutOfOrderSequence {
            topic,
            partition,
            producer_id,
            expected,
            found,
        } => Error::OutOfOrderSequence {
            topic: topic.clone(),
            partition: *partition,
            producer_id: *producer_id,
            expected: *expected,
            found: *found,
        },
        Error::InvalidReplicationFactor { requested, brokers } => Error::InvalidReplicationFactor {
            requested: *requested,
            brokers: *brokers,
        },
        Error::UnknownBroker(id) => Error::UnknownBroker(*id),
        _ => return None,
    })
}

fn duplicate_group_error(error: &Error) -> Option<Error> {
    Some(match error {
        Error::NoGroupId => Error::NoGroupId,
        Error::CommitFailed { group, reason } => Error::CommitFailed {
            group: group.clone(),
            reason: reason.clone(),
        },
        Error::RebalanceInProgress(g) => Error::RebalanceInProgress(g.clone()),
        Error::UnknownGroup(g) => Error::UnknownGroup(g.clone()),
        Error::GroupNotEmpty(g) => Error::GroupNotEmpty(g.clone()),
        _ => return None,
    })
}

fn duplicate_other(error: &Error) -> Error {
    match error {
        Error::Io { op, path, source } => Error::Io {
            op,
            path: path.clone(),
            source: io::Error::new(source.kind(), source.to_string()),
        },
        Error::Corrupt {
            path,
            position,
            kind,
        } => Error::Corrupt {
            path: path.clone(),
            position: *position,
            kind: kind.clone(),
        },
        Error::AlreadyOpen { path } => Error::AlreadyOpen { path: path.clone() },
        Error::InvalidConfig { key, value, reason } => Error::InvalidConfig {
            key: key.clone(),
            value: value.clone(),
            reason: reason.clone(),
        },
        Error::Poisoned { path, reason } => Error::Poisoned {
            path: path.clone(),
            reason: reason.clone(),
        },
        Error::Closed(what) => Error::Closed(what),
        Error::Timeout { op, timeout } => Error::Timeout {
            op,
            timeout: *timeout,
        },
        // A variant added later: keep at least its message.
        other => Error::Io {
            op: "deliver a record",
            path: PathBuf::new(),
            source: io::Error::other(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn copies_keep_variant_and_message() {
        let originals = [
            Error::UnknownTopic("t".into()),
            Error::InvalidTopicName {
                name: "a b".into(),
                reason: "space",
            },
            Error::NotLeader {
                topic: "t".into(),
                partition: 1,
            },
            Error::Timeout {
                op: "delivery.timeout.ms",
                timeout: Duration::from_secs(1),
            },
            Error::io("append", "/x", io::Error::other("disk full")),
            Error::RebalanceInProgress("g".into()),
            Error::Closed("producer"),
        ];
        for original in &originals {
            let copy = duplicate(original);
            assert_eq!(copy.to_string(), original.to_string());
            assert_eq!(
                std::mem::discriminant(&copy),
                std::mem::discriminant(original)
            );
        }
    }
}
