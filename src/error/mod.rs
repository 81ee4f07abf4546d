//! The one error type of the crate.
//!
//! Every failure a user, a configuration or the disk can cause is a variant of
//! [`Error`]. Messages say what happened and what to do about it; I/O errors
//! carry the operation and the path.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod kinds;

pub use self::kinds::{CommitRefusal, CorruptionKind};

/// A specialised `Result` whose error is [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Every error tidelog returns.
///
/// Match on variants with `matches!`; ask [`Error::is_retriable`] whether the
/// same call may succeed later. Errors are cheap to clone (an I/O cause is
/// shared). `Debug` shows the variant name, the message and its causes, so
/// `fn main() -> tidelog::Result<()>` prints the advice too.
#[derive(Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call on a file or directory failed.
    #[error("I/O error during {op} on {}; check the path, permissions and free space", path.display())]
    Io {
        /// What tidelog was doing.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error, shared so the error stays cheap to clone.
        #[source]
        source: Arc<io::Error>,
    },

    /// The operating system refused to start one of tidelog's threads.
    #[error(
        "could not start thread {thread}; the process may have hit its thread or memory limit"
    )]
    Spawn {
        /// The thread's name.
        thread: String,
        /// The underlying error.
        #[source]
        source: Arc<io::Error>,
    },

    /// A file tidelog wrote is damaged beyond what recovery repairs.
    #[error("corrupt data in {} at byte {position}: {kind}; restore the file from a replica or backup, or remove it", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte position of the damage inside the file.
        position: u64,
        /// What is wrong.
        kind: CorruptionKind,
    },

    /// Bytes handed in from memory (a producer's or a leader's batch) are not
    /// a valid record batch; nothing was written.
    #[error("invalid record batch at byte {position} of the bytes handed in: {kind}; nothing was written")]
    InvalidBatch {
        /// Byte position of the problem inside the bytes handed in.
        position: u64,
        /// What is wrong.
        kind: CorruptionKind,
    },

    /// The data directory is already open in this or another process.
    #[error("data directory {} is already open in this or another process; close that Log first", path.display())]
    AlreadyOpen {
        /// The locked directory.
        path: PathBuf,
    },

    /// A topic name breaks Kafka's naming rules.
    #[error("invalid topic name {name:?}: {reason}; use 1-249 characters of a-z A-Z 0-9 . _ -")]
    InvalidTopicName {
        /// The name as given (escaped when printed).
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// `create_topic` named a topic that exists already.
    #[error("topic {0:?} already exists; pick another name or delete it first")]
    TopicAlreadyExists(String),

    /// The topic does not exist (and was not created automatically).
    #[error("unknown topic {0:?}; create it first or enable auto.create.topics.enable")]
    UnknownTopic(String),

    /// The partition number is outside the topic's partitions.
    #[error("topic {topic:?} has {partitions} partitions; partition {partition} does not exist")]
    InvalidPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: u32,
        /// How many partitions the topic has.
        partitions: u32,
    },

    /// A configuration key is unknown or its value is invalid.
    #[error("invalid configuration {key} = {value:?}: {reason}")]
    InvalidConfig {
        /// The Kafka-style configuration key.
        key: String,
        /// The value given.
        value: String,
        /// Why it was refused and what is accepted.
        reason: String,
    },

    /// A record or batch is larger than the configured limit; nothing was written.
    #[error("{size} bytes are above the limit of {max} bytes set by {limit}; raise {limit} or send smaller records")]
    RecordTooLarge {
        /// Size of the record or batch in bytes.
        size: u64,
        /// The limit in force.
        max: u64,
        /// The setting that set the limit: `max.request.size` (producer),
        /// `max.message.bytes` (topic) or `message.max.bytes` (Log).
        limit: &'static str,
    },

    /// A record without a key was produced to a compacted topic
    /// (`cleanup.policy=compact`), where every record needs one: compaction
    /// keeps the newest record per key. Kafka refuses it as `INVALID_RECORD`;
    /// nothing of the batch was written.
    #[error("{topic}-{partition} is compacted (its cleanup.policy includes compact) and refuses records without a key; give every record a key")]
    KeylessRecordInCompactedTopic {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },

    /// A read asked for an offset outside the partition's log.
    #[error("offset {offset} is out of range for {topic}-{partition} (log start {log_start_offset}, log end {log_end_offset}); seek to a valid offset or set auto.offset.reset")]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The offset asked for.
        offset: u64,
        /// The first offset still in the log.
        log_start_offset: u64,
        /// The next offset to be written.
        log_end_offset: u64,
    },

    /// A consumer has no position and `auto.offset.reset` is `none`.
    #[error("no committed offset or position for {topic}-{partition} and auto.offset.reset is none; seek explicitly or set auto.offset.reset to earliest or latest")]
    NoOffsetForPartition {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },

    /// An earlier fsync failed, so the partition refuses writes until reopened.
    ///
    /// After a failed fsync the kernel may have dropped the dirty pages, and a
    /// later fsync can report success without the data being durable
    /// ("fsyncgate"). Continuing would acknowledge records that may be lost, so
    /// the partition stops taking writes.
    #[error("partition log at {} is poisoned by an earlier failed fsync or write; close and reopen the Log to recover", path.display())]
    Poisoned {
        /// The partition directory or segment file.
        path: PathBuf,
        /// The failure that poisoned it.
        #[source]
        source: Box<Error>,
    },

    /// The object was closed; it takes no more calls.
    #[error("{0} is closed; create a new one")]
    Closed(&'static str),

    /// An operation did not complete within its time limit.
    #[error("{op} timed out after {timeout:?}; the system may be overloaded or a broker down")]
    Timeout {
        /// What timed out (for example `max.block.ms`, `delivery.timeout.ms`).
        op: &'static str,
        /// The limit that ran out.
        timeout: Duration,
    },

    /// The broker asked is not the partition's leader (retriable).
    #[error("broker is not the leader for {topic}-{partition}; the leader moved, retry the call (producers retry on their own within delivery.timeout.ms)")]
    NotLeader {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },

    /// No replica of the partition can lead right now (retriable).
    #[error(
        "{topic}-{partition} is offline: no eligible replica is alive; retry once a broker returns"
    )]
    PartitionOffline {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },

    /// `acks=all` was refused before writing: too few in-sync replicas (retriable).
    #[error("{topic}-{partition} has {in_sync} in-sync replicas, below min.insync.replicas = {required}; nothing was written, retry later")]
    NotEnoughReplicas {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// In-sync replicas now.
        in_sync: usize,
        /// `min.insync.replicas`.
        required: usize,
    },

    /// The ISR shrank after the append; the data may be in the log (retriable).
    #[error("{topic}-{partition}: the in-sync replicas fell below min.insync.replicas after the append; the records may already be in the log, retry (idempotence prevents duplicates)")]
    NotEnoughReplicasAfterAppend {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },

    /// An idempotent producer's sequence number skipped ahead.
    #[error("out-of-order sequence for producer {producer_id} on {topic}-{partition}: expected {expected}, got {found}; records in between were lost, create a new producer to continue")]
    OutOfOrderSequence {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The producer id.
        producer_id: i64,
        /// The sequence the leader expected.
        expected: i32,
        /// The sequence received.
        found: i32,
    },

    /// A replication factor larger than the number of brokers was asked for.
    #[error("replication factor {requested} is larger than the {brokers} available brokers; lower it or start more brokers")]
    InvalidReplicationFactor {
        /// The replication factor asked for.
        requested: u32,
        /// Brokers in the cluster.
        brokers: u32,
    },

    /// No broker with this id exists.
    #[error("no broker with id {0}; the ids are 0 to brokers - 1, see Log::cluster().brokers()")]
    UnknownBroker(u32),

    /// A consumer was asked about a partition it is not assigned.
    #[error(
        "{topic}-{partition} is not assigned to this consumer; assign it (or subscribe) first"
    )]
    NotAssigned {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
    },

    /// A call that needs a consumer group was made without a `group.id`.
    #[error("{0} needs a group.id: committed offsets and subscriptions belong to a consumer group; set group.id in ConsumerConfig")]
    NoGroupId(&'static str),

    /// A commit was refused because the member is not part of the current generation.
    #[error("commit failed for group {group:?}: {refusal}; the partitions were reassigned, poll again to rejoin")]
    CommitFailed {
        /// The group.
        group: String,
        /// Why it was refused.
        refusal: CommitRefusal,
    },

    /// The group is rebalancing; retry after the next poll (retriable).
    #[error("group {0:?} is rebalancing; poll again to rejoin")]
    RebalanceInProgress(String),

    /// The group does not exist.
    #[error("unknown consumer group {0:?}; it has no members and no committed offsets, check the group.id")]
    UnknownGroup(String),

    /// An admin operation needs a group with no active members.
    #[error("consumer group {0:?} has active members; stop them before this operation")]
    GroupNotEmpty(String),

    /// A blocking consumer call was interrupted by a `WakeupHandle` (Kafka's
    /// `WakeupException`); the next call works normally. Not retriable in
    /// the `is_retriable` sense: the wakeup was asked for.
    #[error(
        "the consumer was woken up by its WakeupHandle; call poll again to continue, or close it"
    )]
    Wakeup,

    /// A topic pattern passed to `subscribe_pattern` is not a valid regular expression.
    #[error("invalid topic pattern {pattern:?}: {reason}")]
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// What the regular expression parser refused.
        reason: String,
    },

    /// The data directory was written in an on-disk format version this
    /// build does not read (see ARCHITECTURE.md, "Format versions").
    #[error("{} is in tidelog's on-disk format version {found}; this build reads only version {supported}: open it with the release that wrote it, or start from an empty directory", path.display())]
    UnsupportedFormatVersion {
        /// The file that names the version.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },

    /// The call needs the embedded log: a [`Log`](crate::Log) opened with
    /// `Log::connect` talks to a Kafka cluster, which has no such API
    /// (failure injection, the log cleaner's state, a data directory).
    #[error("{0} needs the embedded log: a Log connected to a Kafka cluster has no such API; open the Log with Log::open for it")]
    NeedsEmbedded(&'static str),

    /// The Kafka cluster (or the client talking to it) refused the call
    /// with an error tidelog has no variant for.
    #[error("Kafka {op} failed: {message} ({code})")]
    Kafka {
        /// What was being done.
        op: &'static str,
        /// Kafka's or librdkafka's error code name.
        code: String,
        /// The client's description.
        message: String,
        /// Whether the client says a retry may succeed.
        retriable: bool,
    },
}

impl Error {
    /// Whether the same call may succeed if retried later.
    ///
    /// True for leadership changes, offline partitions, too few in-sync
    /// replicas, rebalances and timeouts.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            Error::NotLeader { .. }
                | Error::PartitionOffline { .. }
                | Error::NotEnoughReplicas { .. }
                | Error::NotEnoughReplicasAfterAppend { .. }
                | Error::RebalanceInProgress(_)
                | Error::Timeout { .. }
                | Error::Kafka {
                    retriable: true,
                    ..
                }
        )
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source: Arc::new(source),
        }
    }

    pub(crate) fn spawn(thread: impl Into<String>, source: io::Error) -> Self {
        Error::Spawn {
            thread: thread.into(),
            source: Arc::new(source),
        }
    }

    /// The variant's name, for `Debug`.
    fn variant(&self) -> &'static str {
        match self {
            Error::Io { .. } => "Io",
            Error::Spawn { .. } => "Spawn",
            Error::Corrupt { .. } => "Corrupt",
            Error::InvalidBatch { .. } => "InvalidBatch",
            Error::AlreadyOpen { .. } => "AlreadyOpen",
            Error::InvalidTopicName { .. } => "InvalidTopicName",
            Error::TopicAlreadyExists(_) => "TopicAlreadyExists",
            Error::UnknownTopic(_) => "UnknownTopic",
            Error::InvalidPartition { .. } => "InvalidPartition",
            Error::InvalidConfig { .. } => "InvalidConfig",
            Error::RecordTooLarge { .. } => "RecordTooLarge",
            Error::KeylessRecordInCompactedTopic { .. } => "KeylessRecordInCompactedTopic",
            Error::OffsetOutOfRange { .. } => "OffsetOutOfRange",
            Error::NoOffsetForPartition { .. } => "NoOffsetForPartition",
            Error::Poisoned { .. } => "Poisoned",
            Error::Closed(_) => "Closed",
            Error::Timeout { .. } => "Timeout",
            Error::NotLeader { .. } => "NotLeader",
            Error::PartitionOffline { .. } => "PartitionOffline",
            Error::NotEnoughReplicas { .. } => "NotEnoughReplicas",
            Error::NotEnoughReplicasAfterAppend { .. } => "NotEnoughReplicasAfterAppend",
            Error::OutOfOrderSequence { .. } => "OutOfOrderSequence",
            Error::InvalidReplicationFactor { .. } => "InvalidReplicationFactor",
            Error::UnknownBroker(_) => "UnknownBroker",
            Error::NotAssigned { .. } => "NotAssigned",
            Error::NoGroupId(_) => "NoGroupId",
            Error::CommitFailed { .. } => "CommitFailed",
            Error::RebalanceInProgress(_) => "RebalanceInProgress",
            Error::UnknownGroup(_) => "UnknownGroup",
            Error::GroupNotEmpty(_) => "GroupNotEmpty",
            Error::Wakeup => "Wakeup",
            Error::InvalidPattern { .. } => "InvalidPattern",
            Error::UnsupportedFormatVersion { .. } => "UnsupportedFormatVersion",
            Error::NeedsEmbedded(_) => "NeedsEmbedded",
            Error::Kafka { .. } => "Kafka",
        }
    }

    pub(crate) fn config(key: &str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            key: key.to_string(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// `Debug` is what `fn main() -> Result<()>` prints, so it carries the
/// message (with its advice) and every cause, after the variant's name.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {self}", self.variant())?;
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            write!(f, "\n  caused by: {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_variant_the_advice_and_the_cause() {
        let error = Error::io(
            "open",
            "segment.log",
            io::Error::new(io::ErrorKind::PermissionDenied, "permission denied"),
        );
        let debug = format!("{error:?}");
        assert!(
            debug.starts_with("Io: I/O error during open on segment.log"),
            "{debug}"
        );
        assert!(debug.contains("check the path"), "{debug}");
        assert!(debug.ends_with("caused by: permission denied"), "{debug}");
        let topic = format!("{:?}", Error::UnknownTopic("nope".into()));
        assert!(
            topic.contains("UnknownTopic") && topic.contains("create it first"),
            "{topic}"
        );
    }

    #[test]
    fn the_cause_is_printed_once() {
        let error = Error::io("fsync", "x", io::Error::other("disk on fire"));
        assert!(!error.to_string().contains("disk on fire"));
        let poisoned = Error::Poisoned {
            path: "p".into(),
            source: Box::new(error.clone()),
        };
        let debug = format!("{poisoned:?}");
        assert_eq!(debug.matches("disk on fire").count(), 1, "{debug}");
        assert_eq!(
            debug.matches("I/O error during fsync").count(),
            1,
            "{debug}"
        );
    }

    #[test]
    fn in_process_errors_give_in_process_advice() {
        let not_leader = Error::NotLeader {
            topic: "t".into(),
            partition: 0,
        }
        .to_string();
        assert!(!not_leader.contains("metadata"), "{not_leader}");
        let spawn = Error::spawn("tidelog-retention", io::Error::other("EAGAIN")).to_string();
        assert!(
            spawn.contains("tidelog-retention") && !spawn.contains("EAGAIN"),
            "{spawn}"
        );
        for advice in [
            Error::UnknownBroker(7).to_string(),
            Error::UnknownGroup("g".into()).to_string(),
        ] {
            assert!(advice.contains("; "), "no advice in {advice}");
        }
    }

    #[test]
    fn a_clone_keeps_the_variant_and_its_retriability() {
        let errors = [
            Error::NotLeader {
                topic: "t".into(),
                partition: 0,
            },
            Error::spawn("tidelog-x", io::Error::other("no threads")),
            Error::CommitFailed {
                group: "g".into(),
                refusal: CommitRefusal::IllegalGeneration,
            },
        ];
        for error in errors {
            let copy = error.clone();
            assert_eq!(copy.variant(), error.variant());
            assert_eq!(copy.is_retriable(), error.is_retriable());
            assert_eq!(copy.to_string(), error.to_string());
        }
    }
}
