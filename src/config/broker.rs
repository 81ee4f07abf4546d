//! Broker-level configuration: the settings every broker of a `Log` shares.

use std::path::PathBuf;
use std::time::Duration;

use super::parse;
use super::topic::CleanupPolicy;
#[cfg(test)]
use super::KeyDoc;
use crate::error::{Error, Result};
use crate::record::TimestampType;

const HOUR_MS: u64 = 3_600_000;

#[cfg(test)]
pub(crate) const KEYS: &[KeyDoc] = &[
    KeyDoc {
        name: "brokers",
        default: "3",
        doc: "Number of simulated brokers (threads with their own directory)",
    },
    KeyDoc {
        name: "default.replication.factor",
        default: "3",
        doc: "Replicas per partition for new topics; follows the broker count when fewer than 3 run and it is not set",
    },
    KeyDoc {
        name: "min.insync.replicas",
        default: "2",
        doc: "In-sync replicas an acks=all write needs (and the high watermark advances with); capped at a topic's replication factor unless set",
    },
    KeyDoc {
        name: "num.partitions",
        default: "1",
        doc: "Partitions of an automatically created topic",
    },
    KeyDoc {
        name: "auto.create.topics.enable",
        default: "true",
        doc: "Create an unknown topic on first produce",
    },
    KeyDoc {
        name: "message.max.bytes",
        default: "1048588",
        doc: "Largest record batch a topic accepts",
    },
    KeyDoc {
        name: "log.segment.bytes",
        default: "1073741824",
        doc: "Roll to a new segment file at this size",
    },
    KeyDoc {
        name: "log.roll.ms",
        default: "604800000",
        doc: "Roll to a new segment after this long",
    },
    KeyDoc {
        name: "log.roll.hours",
        default: "168",
        doc: "Same as log.roll.ms, in hours",
    },
    KeyDoc {
        name: "log.index.interval.bytes",
        default: "4096",
        doc: "Bytes of log between two sparse index entries",
    },
    KeyDoc {
        name: "log.retention.ms",
        default: "604800000",
        doc: "Keep records this long; -1 keeps forever (wins over minutes and hours)",
    },
    KeyDoc {
        name: "log.retention.minutes",
        default: "10080",
        doc: "Keep records this long, in minutes",
    },
    KeyDoc {
        name: "log.retention.hours",
        default: "168",
        doc: "Keep records this long, in hours",
    },
    KeyDoc {
        name: "log.retention.bytes",
        default: "-1",
        doc: "Largest size a partition keeps; -1 is unlimited",
    },
    KeyDoc {
        name: "log.retention.check.interval.ms",
        default: "300000",
        doc: "How often the retention thread looks for expired segments",
    },
    KeyDoc {
        name: "log.cleanup.policy",
        default: "delete",
        doc: "What to do with old segments (delete)",
    },
    KeyDoc {
        name: "log.message.timestamp.type",
        default: "CreateTime",
        doc: "CreateTime or LogAppendTime",
    },
    KeyDoc {
        name: "log.flush.interval.messages",
        default: "-1",
        doc: "Fsync after this many records; -1 leaves it to roll and close",
    },
    KeyDoc {
        name: "log.flush.interval.ms",
        default: "-1",
        doc: "Fsync data older than this; -1 leaves it to roll and close",
    },
    KeyDoc {
        name: "replica.lag.time.max.ms",
        default: "30000",
        doc: "A follower not caught up for this long leaves the ISR",
    },
    KeyDoc {
        name: "unclean.leader.election.enable",
        default: "false",
        doc: "Let an out-of-sync replica lead when no in-sync one is alive",
    },
    KeyDoc {
        name: "broker.session.timeout.ms",
        default: "1000",
        doc: "A broker silent for this long is declared dead by the controller",
    },
    KeyDoc {
        name: "broker.heartbeat.interval.ms",
        default: "100",
        doc: "How often a broker heartbeats to the controller",
    },
    KeyDoc {
        name: "offsets.topic.num.partitions",
        default: "50",
        doc: "Partitions of the internal __consumer_offsets topic",
    },
    KeyDoc {
        name: "offsets.topic.replication.factor",
        default: "3",
        doc: "Replicas of __consumer_offsets (capped at the broker count)",
    },
];

/// Validated broker-level settings shared by every broker of a `Log`.
#[derive(Debug, Clone)]
pub(crate) struct LogConfig {
    pub(crate) brokers: u32,
    pub(crate) broker_dirs: Option<Vec<PathBuf>>,
    pub(crate) default_replication_factor: u32,
    pub(crate) min_insync_replicas: u32,
    pub(crate) num_partitions: u32,
    pub(crate) auto_create_topics: bool,
    pub(crate) message_max_bytes: u32,
    pub(crate) segment_bytes: u64,
    pub(crate) segment_ms: Duration,
    pub(crate) index_interval_bytes: u32,
    pub(crate) retention: Option<Duration>,
    pub(crate) retention_bytes: Option<u64>,
    pub(crate) retention_check_interval: Duration,
    pub(crate) cleanup_policy: CleanupPolicy,
    pub(crate) timestamp_type: TimestampType,
    pub(crate) flush_messages: Option<u64>,
    pub(crate) flush_ms: Option<Duration>,
    pub(crate) replica_lag_time_max: Duration,
    pub(crate) unclean_leader_election: bool,
    pub(crate) broker_session_timeout: Duration,
    pub(crate) broker_heartbeat_interval: Duration,
    pub(crate) offsets_topic_partitions: u32,
    pub(crate) offsets_topic_replication_factor: u32,
    /// Whether the user chose the replication factor; if not, it follows the
    /// broker count (3, or fewer when fewer brokers run).
    pub(crate) replication_factor_set: bool,
    /// Whether the user chose `min.insync.replicas`; if not, a topic with
    /// fewer replicas than the default gets its replication factor instead.
    pub(crate) min_insync_replicas_set: bool,
    /// Which of the retention keys set `retention`: Kafka lets `.ms` win over
    /// `.minutes`, which wins over `.hours`, whatever order they are set in.
    pub(crate) retention_precedence: u8,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            brokers: 3,
            broker_dirs: None,
            default_replication_factor: 3,
            min_insync_replicas: 2,
            num_partitions: 1,
            auto_create_topics: true,
            message_max_bytes: 1_048_588,
            segment_bytes: 1 << 30,
            segment_ms: Duration::from_millis(168 * HOUR_MS),
            index_interval_bytes: 4096,
            retention: Some(Duration::from_millis(168 * HOUR_MS)),
            retention_bytes: None,
            retention_check_interval: Duration::from_millis(300_000),
            cleanup_policy: CleanupPolicy::Delete,
            timestamp_type: TimestampType::CreateTime,
            flush_messages: None,
            flush_ms: None,
            replica_lag_time_max: Duration::from_millis(30_000),
            unclean_leader_election: false,
            broker_session_timeout: Duration::from_millis(1000),
            broker_heartbeat_interval: Duration::from_millis(100),
            offsets_topic_partitions: 50,
            offsets_topic_replication_factor: 3,
            replication_factor_set: false,
            min_insync_replicas_set: false,
            retention_precedence: 0,
        }
    }
}

impl LogConfig {
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "brokers" => self.brokers = parse::positive_u32(key, value)?,
            "default.replication.factor" => {
                self.default_replication_factor = parse::positive_u32(key, value)?;
                self.replication_factor_set = true;
            }
            "min.insync.replicas" => {
                self.min_insync_replicas = parse::positive_u32(key, value)?;
                self.min_insync_replicas_set = true;
            }
            "num.partitions" => self.num_partitions = parse::positive_u32(key, value)?,
            "auto.create.topics.enable" => self.auto_create_topics = parse::bool_value(key, value)?,
            "message.max.bytes" => self.message_max_bytes = parse::size_u32(key, value)?,
            "log.segment.bytes" => self.segment_bytes = parse::positive_u64(key, value)?,
            "log.roll.ms" => self.segment_ms = parse::duration(key, value, 1)?,
            "log.roll.hours" => self.segment_ms = parse::duration(key, value, HOUR_MS)?,
            "log.index.interval.bytes" => {
                self.index_interval_bytes = parse::positive_u32(key, value)?
            }
            "log.retention.ms" => self.set_retention(key, value, 1, 3)?,
            "log.retention.minutes" => self.set_retention(key, value, 60_000, 2)?,
            "log.retention.hours" => self.set_retention(key, value, HOUR_MS, 1)?,
            "log.retention.bytes" => self.retention_bytes = parse::optional_u64(key, value)?,
            "log.retention.check.interval.ms" => {
                self.retention_check_interval = parse::duration(key, value, 1)?;
                if self.retention_check_interval.is_zero() {
                    return Err(Error::config(key, value, "must be at least 1 ms"));
                }
            }
            "log.cleanup.policy" => self.cleanup_policy = CleanupPolicy::parse(key, value)?,
            "log.message.timestamp.type" => self.timestamp_type = TimestampType::parse(key, value)?,
            "log.flush.interval.messages" => self.flush_messages = parse::optional_u64(key, value)?,
            "log.flush.interval.ms" => self.flush_ms = parse::optional_duration(key, value, 1)?,
            "replica.lag.time.max.ms" => {
                self.replica_lag_time_max = parse::duration(key, value, 1)?
            }
            "unclean.leader.election.enable" => {
                self.unclean_leader_election = parse::bool_value(key, value)?
            }
            "broker.session.timeout.ms" => {
                self.broker_session_timeout = parse::duration(key, value, 1)?
            }
            "broker.heartbeat.interval.ms" => {
                self.broker_heartbeat_interval = parse::duration(key, value, 1)?
            }
            "offsets.topic.num.partitions" => {
                self.offsets_topic_partitions = parse::positive_u32(key, value)?
            }
            "offsets.topic.replication.factor" => {
                self.offsets_topic_replication_factor = parse::positive_u32(key, value)?
            }
            _ => return Err(parse::unknown(key, value, "log")),
        }
        Ok(())
    }

    /// Kafka resolves `log.retention.{ms,minutes,hours}` by precedence, not by order.
    fn set_retention(
        &mut self,
        key: &str,
        value: &str,
        unit_ms: u64,
        precedence: u8,
    ) -> Result<()> {
        let retention = parse::optional_duration(key, value, unit_ms)?;
        if precedence >= self.retention_precedence {
            self.retention = retention;
            self.retention_precedence = precedence;
        }
        Ok(())
    }

    /// Fills in the defaults that depend on other settings: with fewer than
    /// three brokers, the default replication factor (and the offsets
    /// topic's) follows the broker count, so `brokers(1)` alone works.
    pub(crate) fn resolve_defaults(&mut self) {
        if !self.replication_factor_set {
            self.default_replication_factor = self.default_replication_factor.min(self.brokers);
        }
        self.offsets_topic_replication_factor =
            self.offsets_topic_replication_factor.min(self.brokers);
    }

    /// The `min.insync.replicas` a new topic with `replicas` replicas gets
    /// when it sets none itself: the Log's value, capped at `replicas` unless
    /// the user chose the Log's value explicitly.
    pub(crate) fn min_insync_for(&self, replicas: u32) -> u32 {
        if self.min_insync_replicas_set {
            self.min_insync_replicas
        } else {
            self.min_insync_replicas.min(replicas)
        }
    }

    /// Checks values that are only wrong in combination.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.default_replication_factor > self.brokers {
            return Err(Error::InvalidReplicationFactor {
                requested: self.default_replication_factor,
                brokers: self.brokers,
            });
        }
        if let Some(dirs) = &self.broker_dirs {
            if dirs.len() != self.brokers as usize {
                return Err(Error::config(
                    "broker_dirs",
                    format!("{} directories", dirs.len()),
                    format!("give exactly one directory per broker ({})", self.brokers),
                ));
            }
        }
        if self.broker_heartbeat_interval >= self.broker_session_timeout {
            return Err(Error::config(
                "broker.heartbeat.interval.ms",
                format!("{}", self.broker_heartbeat_interval.as_millis()),
                "must be below broker.session.timeout.ms",
            ));
        }
        Ok(())
    }
}
