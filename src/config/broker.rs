//! Broker-level configuration: the settings every broker of a `Log` shares.

use std::path::PathBuf;
use std::time::Duration;

use super::topic::{CleanupPolicy, TopicCompression};
use super::{parse, KeyDoc, Scope};
use crate::error::{Error, Result};
use crate::record::TimestampType;

const HOUR_MS: u64 = 3_600_000;

/// Every broker-level key: the README's Log table is checked against it.
pub(crate) const LOG: Scope<LogConfig> = Scope {
    name: "log",
    keys: &[
        KeyDoc {
            name: "brokers",
            default: Some("3"),
            doc: "Number of simulated brokers (threads with their own directory)",
            apply: |c, k, v| {
                c.brokers = parse::positive_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.brokers.to_string()),
        },
        KeyDoc {
            name: "default.replication.factor",
            default: Some("3"),
            doc: "Replicas per partition for new topics; follows the broker count when fewer than 3 run and it is not set",
            apply: |c, k, v| {
                c.default_replication_factor = parse::positive_u32(k, v)?;
                c.replication_factor_set = true;
                Ok(())
            },
            get: |c| Some(c.default_replication_factor.to_string()),
        },
        KeyDoc {
            name: "min.insync.replicas",
            default: Some("2"),
            doc: "In-sync replicas an acks=all write needs (and the high watermark advances with); capped at a topic's replication factor unless set",
            apply: |c, k, v| {
                c.min_insync_replicas = parse::positive_u32(k, v)?;
                c.min_insync_replicas_set = true;
                Ok(())
            },
            get: |c| Some(c.min_insync_replicas.to_string()),
        },
        KeyDoc {
            name: "num.partitions",
            default: Some("1"),
            doc: "Partitions of an automatically created topic",
            apply: |c, k, v| {
                c.num_partitions = parse::positive_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.num_partitions.to_string()),
        },
        KeyDoc {
            name: "auto.create.topics.enable",
            default: Some("true"),
            doc: "Create an unknown topic on first produce",
            apply: |c, k, v| {
                c.auto_create_topics = parse::bool_value(k, v)?;
                Ok(())
            },
            get: |c| Some(c.auto_create_topics.to_string()),
        },
        KeyDoc {
            name: "message.max.bytes",
            default: Some("1048588"),
            doc: "Largest record batch a topic accepts",
            apply: |c, k, v| {
                c.message_max_bytes = parse::size_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.message_max_bytes.to_string()),
        },
        KeyDoc {
            name: "log.segment.bytes",
            default: Some("1073741824"),
            doc: "Roll to a new segment file at this size",
            apply: |c, k, v| {
                c.segment_bytes = parse::positive_u64(k, v)?;
                Ok(())
            },
            get: |c| Some(c.segment_bytes.to_string()),
        },
        KeyDoc {
            name: "log.roll.ms",
            default: Some("604800000"),
            doc: "Roll to a new segment after this long",
            apply: |c, k, v| {
                c.segment_ms = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.segment_ms)),
        },
        KeyDoc {
            name: "log.roll.hours",
            default: Some("168"),
            doc: "Same as log.roll.ms, in hours",
            apply: |c, k, v| {
                c.segment_ms = parse::duration(k, v, HOUR_MS)?;
                Ok(())
            },
            get: |_| None,
        },
        KeyDoc {
            name: "log.index.interval.bytes",
            default: Some("4096"),
            doc: "Bytes of log between two sparse index entries",
            apply: |c, k, v| {
                c.index_interval_bytes = parse::positive_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.index_interval_bytes.to_string()),
        },
        KeyDoc {
            name: "log.retention.ms",
            default: Some("604800000"),
            doc: "Keep records this long; -1 keeps forever (wins over minutes and hours)",
            apply: |c, k, v| c.set_retention(k, v, 1, 3),
            get: |c| Some(parse::optional_ms(c.retention)),
        },
        KeyDoc {
            name: "log.retention.minutes",
            default: Some("10080"),
            doc: "Keep records this long, in minutes",
            apply: |c, k, v| c.set_retention(k, v, 60_000, 2),
            get: |_| None,
        },
        KeyDoc {
            name: "log.retention.hours",
            default: Some("168"),
            doc: "Keep records this long, in hours",
            apply: |c, k, v| c.set_retention(k, v, HOUR_MS, 1),
            get: |_| None,
        },
        KeyDoc {
            name: "log.retention.bytes",
            default: Some("-1"),
            doc: "Largest size a partition keeps; -1 is unlimited",
            apply: |c, k, v| {
                c.retention_bytes = parse::optional_u64(k, v)?;
                Ok(())
            },
            get: |c| Some(parse::optional_count(c.retention_bytes)),
        },
        KeyDoc {
            name: "log.retention.check.interval.ms",
            default: Some("300000"),
            doc: "How often the retention thread looks for expired segments",
            apply: |c, k, v| {
                c.retention_check_interval = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.retention_check_interval)),
        },
        KeyDoc {
            name: "log.cleanup.policy",
            default: Some("delete"),
            doc: "What to do with old segments: delete, compact or compact,delete",
            apply: |c, k, v| {
                c.cleanup_policy = CleanupPolicy::parse(k, v)?;
                Ok(())
            },
            get: |c| Some(c.cleanup_policy.as_str().to_string()),
        },
        KeyDoc {
            name: "log.cleaner.enable",
            default: Some("true"),
            doc: "Run the cleaner thread that compacts topics with cleanup.policy=compact",
            apply: |c, k, v| {
                c.cleaner_enable = parse::bool_value(k, v)?;
                Ok(())
            },
            get: |c| Some(c.cleaner_enable.to_string()),
        },
        KeyDoc {
            name: "log.cleaner.backoff.ms",
            default: Some("15000"),
            doc: "How often the cleaner thread looks for partitions to compact",
            apply: |c, k, v| {
                c.cleaner_backoff = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.cleaner_backoff)),
        },
        KeyDoc {
            name: "log.cleaner.dedupe.buffer.size",
            default: Some("134217728"),
            doc: "Memory for the key map of one cleaning pass",
            apply: |c, k, v| {
                c.cleaner_dedupe_buffer = parse::positive_u64(k, v)?;
                Ok(())
            },
            get: |c| Some(c.cleaner_dedupe_buffer.to_string()),
        },
        KeyDoc {
            name: "log.cleaner.delete.retention.ms",
            default: Some("86400000"),
            doc: "Default delete.retention.ms of topics",
            apply: |c, k, v| {
                c.delete_retention_ms = parse::u64_value(k, v)?;
                Ok(())
            },
            get: |c| Some(c.delete_retention_ms.to_string()),
        },
        KeyDoc {
            name: "log.cleaner.min.compaction.lag.ms",
            default: Some("0"),
            doc: "Default min.compaction.lag.ms of topics",
            apply: |c, k, v| {
                c.min_compaction_lag_ms = parse::u64_value(k, v)?;
                Ok(())
            },
            get: |c| Some(c.min_compaction_lag_ms.to_string()),
        },
        KeyDoc {
            name: "log.cleaner.max.compaction.lag.ms",
            default: Some("9223372036854775807"),
            doc: "Default max.compaction.lag.ms of topics",
            apply: |c, k, v| {
                c.max_compaction_lag_ms = parse::positive_u64(k, v)?;
                Ok(())
            },
            get: |c| Some(c.max_compaction_lag_ms.to_string()),
        },
        KeyDoc {
            name: "log.cleaner.min.cleanable.ratio",
            default: Some("0.5"),
            doc: "Default min.cleanable.dirty.ratio of topics",
            apply: |c, k, v| {
                c.min_cleanable_dirty_ratio_ppm = parse::ratio_ppm(k, v)?;
                Ok(())
            },
            get: |c| Some(parse::ppm_ratio(c.min_cleanable_dirty_ratio_ppm)),
        },
        KeyDoc {
            name: "compression.type",
            default: Some("producer"),
            doc: "Default codec of stored batches: producer keeps the producer's; uncompressed, gzip, snappy, lz4 or zstd re-encodes",
            apply: |c, k, v| {
                c.compression = parse::topic_compression(k, v)?;
                Ok(())
            },
            get: |c| Some(c.compression.as_str().to_string()),
        },
        KeyDoc {
            name: "log.message.timestamp.type",
            default: Some("CreateTime"),
            doc: "CreateTime or LogAppendTime",
            apply: |c, k, v| {
                c.timestamp_type = TimestampType::parse(k, v)?;
                Ok(())
            },
            get: |c| Some(c.timestamp_type.as_str().to_string()),
        },
        KeyDoc {
            name: "log.flush.interval.messages",
            default: Some("-1"),
            doc: "Fsync after this many records; -1 leaves it to roll and close",
            apply: |c, k, v| {
                c.flush_messages = parse::optional_u64(k, v)?;
                Ok(())
            },
            get: |c| Some(parse::optional_count(c.flush_messages)),
        },
        KeyDoc {
            name: "log.flush.interval.ms",
            default: Some("-1"),
            doc: "Fsync data older than this; -1 leaves it to roll and close",
            apply: |c, k, v| {
                c.flush_ms = parse::optional_duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::optional_ms(c.flush_ms)),
        },
        KeyDoc {
            name: "replica.lag.time.max.ms",
            default: Some("30000"),
            doc: "A follower not caught up for this long leaves the ISR",
            apply: |c, k, v| {
                c.replica_lag_time_max = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.replica_lag_time_max)),
        },
        KeyDoc {
            name: "unclean.leader.election.enable",
            default: Some("false"),
            doc: "Let an out-of-sync replica lead when no in-sync one is alive",
            apply: |c, k, v| {
                c.unclean_leader_election = parse::bool_value(k, v)?;
                Ok(())
            },
            get: |c| Some(c.unclean_leader_election.to_string()),
        },
        KeyDoc {
            name: "broker.session.timeout.ms",
            default: Some("1000"),
            doc: "A broker silent for this long is declared dead by the controller",
            apply: |c, k, v| {
                c.broker_session_timeout = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.broker_session_timeout)),
        },
        KeyDoc {
            name: "broker.heartbeat.interval.ms",
            default: Some("100"),
            doc: "How often a broker heartbeats to the controller",
            apply: |c, k, v| {
                c.broker_heartbeat_interval = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.broker_heartbeat_interval)),
        },
        KeyDoc {
            name: "offsets.topic.num.partitions",
            default: Some("50"),
            doc: "Partitions of the internal __consumer_offsets topic",
            apply: |c, k, v| {
                c.offsets_topic_partitions = parse::positive_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.offsets_topic_partitions.to_string()),
        },
        KeyDoc {
            name: "offsets.topic.replication.factor",
            default: Some("3"),
            doc: "Replicas of __consumer_offsets (capped at the broker count)",
            apply: |c, k, v| {
                c.offsets_topic_replication_factor = parse::positive_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.offsets_topic_replication_factor.to_string()),
        },
        KeyDoc {
            name: "offsets.topic.segment.bytes",
            default: Some("104857600"),
            doc: "Segment size of __consumer_offsets (compacted, so kept small)",
            apply: |c, k, v| {
                c.offsets_topic_segment_bytes = parse::positive_u64(k, v)?;
                Ok(())
            },
            get: |c| Some(c.offsets_topic_segment_bytes.to_string()),
        },
    ],
    ignored: &[
        "broker.id",
        "node.id",
        "process.roles",
        "controller.quorum.voters",
        "controller.quorum.bootstrap.servers",
        "controller.listener.names",
        "listeners",
        "advertised.listeners",
        "listener.security.protocol.map",
        "inter.broker.listener.name",
        "zookeeper.connect",
        "zookeeper.connection.timeout.ms",
        "num.network.threads",
        "num.io.threads",
        "num.recovery.threads.per.data.dir",
        "num.replica.fetchers",
        "socket.send.buffer.bytes",
        "socket.receive.buffer.bytes",
        "socket.request.max.bytes",
        "group.initial.rebalance.delay.ms",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "metric.reporters",
        "metrics.",
        "security.inter.broker.protocol",
        "ssl.",
        "sasl.",
    ],
    refused: &[
        (
            "log.dirs",
            "the data directory is the one given to Log::builder; use LogBuilder::broker_dirs for one per broker",
        ),
        (
            "log.dir",
            "the data directory is the one given to Log::builder; use LogBuilder::broker_dirs for one per broker",
        ),
    ],
};

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
    pub(crate) compression: TopicCompression,
    pub(crate) cleaner_enable: bool,
    pub(crate) cleaner_backoff: Duration,
    pub(crate) cleaner_dedupe_buffer: u64,
    pub(crate) delete_retention_ms: u64,
    pub(crate) min_compaction_lag_ms: u64,
    pub(crate) max_compaction_lag_ms: u64,
    pub(crate) min_cleanable_dirty_ratio_ppm: u32,
    pub(crate) timestamp_type: TimestampType,
    pub(crate) flush_messages: Option<u64>,
    pub(crate) flush_ms: Option<Duration>,
    pub(crate) replica_lag_time_max: Duration,
    pub(crate) unclean_leader_election: bool,
    pub(crate) broker_session_timeout: Duration,
    pub(crate) broker_heartbeat_interval: Duration,
    pub(crate) offsets_topic_partitions: u32,
    pub(crate) offsets_topic_replication_factor: u32,
    pub(crate) offsets_topic_segment_bytes: u64,
    /// Whether the user chose the replication factor; if not, it follows the
    /// broker count (3, or fewer when fewer brokers run).
    pub(crate) replication_factor_set: bool,
    /// Whether the user chose `min.insync.replicas`; if not, a topic with
    /// fewer replicas than the default gets its replication factor instead.
    pub(crate) min_insync_replicas_set: bool,
    /// Which of the retention keys set `retention`: Kafka lets `.ms` win over
    /// `.minutes`, which wins over `.hours`, whatever order they are set in.
    pub(crate) retention_precedence: u8,
    /// Kafka keys that were set but mean nothing in-process.
    pub(crate) ignored: Vec<String>,
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
            compression: TopicCompression::Producer,
            cleaner_enable: true,
            cleaner_backoff: Duration::from_millis(15_000),
            cleaner_dedupe_buffer: 128 << 20,
            delete_retention_ms: 86_400_000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX as u64,
            min_cleanable_dirty_ratio_ppm: 500_000,
            timestamp_type: TimestampType::CreateTime,
            flush_messages: None,
            flush_ms: None,
            replica_lag_time_max: Duration::from_millis(30_000),
            unclean_leader_election: false,
            broker_session_timeout: Duration::from_millis(1000),
            broker_heartbeat_interval: Duration::from_millis(100),
            offsets_topic_partitions: 50,
            offsets_topic_replication_factor: 3,
            offsets_topic_segment_bytes: 100 << 20,
            replication_factor_set: false,
            min_insync_replicas_set: false,
            retention_precedence: 0,
            ignored: Vec::new(),
        }
    }
}

impl LogConfig {
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let mut ignored = std::mem::take(&mut self.ignored);
        let result = LOG.set(self, &mut ignored, key, value);
        self.ignored = ignored;
        result
    }

    /// The honoured settings as `key=value` lines.
    #[cfg(test)]
    pub(crate) fn to_properties(&self) -> String {
        LOG.to_properties(self)
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

    /// Checks every value once, whichever setter put it there, and the
    /// values that are only wrong in combination.
    pub(crate) fn validate(&self) -> Result<()> {
        let at_least_one = [
            ("brokers", u64::from(self.brokers)),
            (
                "default.replication.factor",
                u64::from(self.default_replication_factor),
            ),
            ("min.insync.replicas", u64::from(self.min_insync_replicas)),
            ("num.partitions", u64::from(self.num_partitions)),
            ("message.max.bytes", u64::from(self.message_max_bytes)),
            ("log.segment.bytes", self.segment_bytes),
            (
                "log.index.interval.bytes",
                u64::from(self.index_interval_bytes),
            ),
            (
                "log.retention.check.interval.ms",
                u64::try_from(self.retention_check_interval.as_millis()).unwrap_or(u64::MAX),
            ),
            (
                "offsets.topic.num.partitions",
                u64::from(self.offsets_topic_partitions),
            ),
            (
                "offsets.topic.replication.factor",
                u64::from(self.offsets_topic_replication_factor),
            ),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return Err(Error::config(key, "0", "must be at least 1"));
            }
        }
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
