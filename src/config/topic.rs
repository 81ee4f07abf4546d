//! Topic-level configuration: partitions, replication, retention, segments.

use std::time::Duration;

use super::{parse, properties, properties_loading, KeyDoc, Scope};
use crate::error::{Error, Result};
use crate::record::TimestampType;

/// What happens to segments beyond the retention limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CleanupPolicy {
    /// Delete whole segments once they pass `retention.ms` or `retention.bytes`.
    #[default]
    Delete,
}

impl CleanupPolicy {
    pub(crate) fn parse(key: &str, value: &str) -> Result<Self> {
        match value.trim() {
            "delete" => Ok(CleanupPolicy::Delete),
            "compact" | "compact,delete" | "delete,compact" => Err(Error::config(
                key,
                value,
                "log compaction is not supported; use delete",
            )),
            _ => Err(Error::config(key, value, "expected delete")),
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
        }
    }
}

/// Every topic key: the README's topic table is checked against it, and
/// `to_properties` writes a topic's settings to disk with it.
pub(crate) const TOPIC: Scope<TopicConfig> = Scope {
    name: "topic",
    keys: &[
        KeyDoc {
            name: "partitions",
            default: Some("1"),
            doc: "Number of partitions; unset takes the Log's num.partitions",
            apply: |c, k, v| {
                c.partitions = Some(parse::positive_u32(k, v)?);
                Ok(())
            },
            get: |c| c.partitions.map(|v| v.to_string()),
        },
        KeyDoc {
            name: "num.partitions",
            default: Some("1"),
            doc: "Same as partitions",
            apply: |c, k, v| {
                c.partitions = Some(parse::positive_u32(k, v)?);
                Ok(())
            },
            get: |_| None,
        },
        KeyDoc {
            name: "replication.factor",
            default: Some("3"),
            doc: "Replicas per partition; unset takes the Log's default.replication.factor",
            apply: |c, k, v| {
                c.replication_factor = Some(parse::positive_u32(k, v)?);
                Ok(())
            },
            get: |c| c.replication_factor.map(|v| v.to_string()),
        },
        KeyDoc {
            name: "retention.ms",
            default: Some("604800000"),
            doc: "Delete segments whose newest record is older than this; -1 keeps forever",
            apply: |c, k, v| {
                c.retention = Some(parse::optional_duration(k, v, 1)?);
                Ok(())
            },
            get: |c| c.retention.map(parse::optional_ms),
        },
        KeyDoc {
            name: "retention.bytes",
            default: Some("-1"),
            doc: "Delete oldest segments while the partition is larger than this; -1 is unlimited",
            apply: |c, k, v| {
                c.retention_bytes = Some(parse::optional_u64(k, v)?);
                Ok(())
            },
            get: |c| c.retention_bytes.map(parse::optional_count),
        },
        KeyDoc {
            name: "segment.bytes",
            default: Some("1073741824"),
            doc: "Roll to a new segment file at this size",
            apply: |c, k, v| {
                c.segment_bytes = Some(parse::positive_u64(k, v)?);
                Ok(())
            },
            get: |c| c.segment_bytes.map(|v| v.to_string()),
        },
        KeyDoc {
            name: "segment.ms",
            default: Some("604800000"),
            doc: "Roll to a new segment after this long even if not full",
            apply: |c, k, v| {
                c.segment_ms = Some(parse::duration(k, v, 1)?);
                Ok(())
            },
            get: |c| c.segment_ms.map(parse::ms),
        },
        KeyDoc {
            name: "max.message.bytes",
            default: Some("1048588"),
            doc: "Largest record batch the topic accepts",
            apply: |c, k, v| {
                c.max_message_bytes = Some(parse::size_u32(k, v)?);
                Ok(())
            },
            get: |c| c.max_message_bytes.map(|v| v.to_string()),
        },
        KeyDoc {
            name: "cleanup.policy",
            default: Some("delete"),
            doc: "What to do with old segments (delete)",
            apply: |c, k, v| {
                c.cleanup_policy = Some(CleanupPolicy::parse(k, v)?);
                Ok(())
            },
            get: |c| c.cleanup_policy.map(|v| v.as_str().to_string()),
        },
        KeyDoc {
            name: "message.timestamp.type",
            default: Some("CreateTime"),
            doc: "CreateTime keeps the producer's timestamp, LogAppendTime stamps the append time",
            apply: |c, k, v| {
                c.timestamp_type = Some(TimestampType::parse(k, v)?);
                Ok(())
            },
            get: |c| c.timestamp_type.map(|v| v.as_str().to_string()),
        },
        KeyDoc {
            name: "flush.messages",
            default: Some("-1"),
            doc: "Fsync after this many records; -1 leaves it to segment roll and close",
            apply: |c, k, v| {
                c.flush_messages = Some(parse::optional_u64(k, v)?);
                Ok(())
            },
            get: |c| c.flush_messages.map(parse::optional_count),
        },
        KeyDoc {
            name: "flush.ms",
            default: Some("-1"),
            doc: "Fsync data older than this; -1 leaves it to segment roll and close",
            apply: |c, k, v| {
                c.flush_ms = Some(parse::optional_duration(k, v, 1)?);
                Ok(())
            },
            get: |c| c.flush_ms.map(parse::optional_ms),
        },
        KeyDoc {
            name: "index.interval.bytes",
            default: Some("4096"),
            doc: "Bytes of log between two sparse index entries",
            apply: |c, k, v| {
                c.index_interval_bytes = Some(parse::positive_u32(k, v)?);
                Ok(())
            },
            get: |c| c.index_interval_bytes.map(|v| v.to_string()),
        },
        KeyDoc {
            name: "min.insync.replicas",
            default: Some("2"),
            doc: "In-sync replicas an acks=all write needs",
            apply: |c, k, v| {
                c.min_insync_replicas = Some(parse::positive_u32(k, v)?);
                Ok(())
            },
            get: |c| c.min_insync_replicas.map(|v| v.to_string()),
        },
        KeyDoc {
            name: "unclean.leader.election.enable",
            default: Some("false"),
            doc: "Let an out-of-sync replica lead when no in-sync one is alive (may lose records)",
            apply: |c, k, v| {
                c.unclean_leader_election = Some(parse::bool_value(k, v)?);
                Ok(())
            },
            get: |c| c.unclean_leader_election.map(|v| v.to_string()),
        },
        KeyDoc {
            name: "compression.type",
            default: Some("producer"),
            doc: "producer or uncompressed; the codecs are refused until compression is supported",
            apply: |_, k, v| parse::compression(k, v, &["producer", "uncompressed"]),
            get: |_| None,
        },
    ],
    ignored: &[
        "preallocate",
        "segment.index.bytes",
        "segment.jitter.ms",
        "file.delete.delay.ms",
        "message.downconversion.enable",
        "message.timestamp.difference.max.ms",
        "message.timestamp.before.max.ms",
        "message.timestamp.after.max.ms",
        "follower.replication.throttled.replicas",
        "leader.replication.throttled.replicas",
        "delete.retention.ms",
        "min.compaction.lag.ms",
        "max.compaction.lag.ms",
        "min.cleanable.dirty.ratio",
    ],
    refused: &[(
        "remote.storage.enable",
        "tiered storage is not supported; every segment stays in the data directory",
    )],
};

/// How a topic is laid out and kept: partitions, replication, retention.
///
/// Unset values inherit the Log's (broker-level) defaults when the topic is
/// created. Kafka's topic-level names are accepted through [`TopicConfig::set`],
/// [`set_all`](Self::set_all) and [`load_file`](Self::load_file).
///
/// # Examples
/// ```
/// use tidelog::TopicConfig;
/// let config = TopicConfig::new().partitions(6).set("retention.ms", "60000")?;
/// # Ok::<(), tidelog::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicConfig {
    pub(crate) partitions: Option<u32>,
    pub(crate) replication_factor: Option<u32>,
    pub(crate) retention: Option<Option<Duration>>,
    pub(crate) retention_bytes: Option<Option<u64>>,
    pub(crate) segment_bytes: Option<u64>,
    pub(crate) segment_ms: Option<Duration>,
    pub(crate) max_message_bytes: Option<u32>,
    pub(crate) cleanup_policy: Option<CleanupPolicy>,
    pub(crate) timestamp_type: Option<TimestampType>,
    pub(crate) flush_messages: Option<Option<u64>>,
    pub(crate) flush_ms: Option<Option<Duration>>,
    pub(crate) index_interval_bytes: Option<u32>,
    pub(crate) min_insync_replicas: Option<u32>,
    pub(crate) unclean_leader_election: Option<bool>,
    pub(crate) ignored: Vec<String>,
}

impl TopicConfig {
    /// A config that inherits every value from the Log's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of partitions.
    ///
    /// Default: `num.partitions` of the Log (1). Kafka: `--partitions`. Range: ≥ 1.
    #[must_use]
    pub fn partitions(mut self, partitions: u32) -> Self {
        self.partitions = Some(partitions);
        self
    }

    /// Number of replicas of each partition.
    ///
    /// Default: `default.replication.factor` of the Log. Kafka:
    /// `--replication-factor`. Range: 1 to the number of brokers.
    #[must_use]
    pub fn replication_factor(mut self, replicas: u32) -> Self {
        self.replication_factor = Some(replicas);
        self
    }

    /// How long records are kept; `None` keeps them forever.
    ///
    /// Default: `log.retention.ms` of the Log (168 hours). Kafka: `retention.ms`.
    #[must_use]
    pub fn retention(mut self, retention: Option<Duration>) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Largest size a partition may keep; `None` is unlimited.
    ///
    /// Default: unlimited. Kafka: `retention.bytes`.
    #[must_use]
    pub fn retention_bytes(mut self, bytes: Option<u64>) -> Self {
        self.retention_bytes = Some(bytes);
        self
    }

    /// Size at which a segment file is rolled.
    ///
    /// Default: 1 GiB. Kafka: `segment.bytes`. Range: ≥ 1 (tiny values roll per batch).
    #[must_use]
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = Some(bytes);
        self
    }

    /// Largest record batch accepted, in bytes.
    ///
    /// Default: `message.max.bytes` of the Log (1 048 588). Kafka: `max.message.bytes`.
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: u32) -> Self {
        self.max_message_bytes = Some(bytes);
        self
    }

    /// Minimum in-sync replicas for an `acks=all` write.
    ///
    /// Default: `min.insync.replicas` of the Log. Kafka: `min.insync.replicas`.
    #[must_use]
    pub fn min_insync_replicas(mut self, replicas: u32) -> Self {
        self.min_insync_replicas = Some(replicas);
        self
    }

    /// Sets a value by its Kafka topic-level name, e.g. `"retention.ms"`.
    ///
    /// Kafka's topic keys that mean nothing here (`preallocate`,
    /// replication throttles, compaction tuning, ...) are accepted and
    /// listed by [`ignored_keys`](Self::ignored_keys).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown key (with the closest known
    /// one), a refused one or a value it cannot take.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        let mut ignored = std::mem::take(&mut self.ignored);
        let result = TOPIC.set(&mut self, &mut ignored, key, value);
        self.ignored = ignored;
        result.map(|()| self)
    }

    /// The value this config sets for Kafka topic key `key`, in Kafka's
    /// form (`retention.ms` → `"60000"`, `-1` for "forever"); `None` when
    /// it is unset here, so the Log's value applies. For the value in force
    /// whatever its origin, see [`Topic::describe_config`](crate::Topic::describe_config).
    ///
    /// # Examples
    /// ```
    /// use tidelog::TopicConfig;
    /// let config = TopicConfig::new().set("retention.ms", "60000")?;
    /// assert_eq!(config.get("retention.ms").as_deref(), Some("60000"));
    /// assert_eq!(config.get("segment.bytes"), None);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn get(&self, key: &str) -> Option<String> {
        let doc = TOPIC.keys.iter().find(|k| k.name == key.trim())?;
        (doc.get)(self)
    }

    /// Every key this config sets, with its value, in the key table's order.
    pub fn overrides(&self) -> Vec<(&'static str, String)> {
        TOPIC
            .keys
            .iter()
            .filter_map(|k| (k.get)(self).map(|v| (k.name, v)))
            .collect()
    }

    /// The Kafka keys that were set but have no effect, in the order they
    /// were first set.
    pub fn ignored_keys(&self) -> &[String] {
        &self.ignored
    }

    properties_loading!();

    /// Checks every value once, whichever setter put it there; a topic that
    /// passes can be persisted and read back.
    pub(crate) fn validate(&self) -> Result<()> {
        let at_least_one = [
            ("partitions", self.partitions.map(u64::from)),
            ("replication.factor", self.replication_factor.map(u64::from)),
            ("segment.bytes", self.segment_bytes),
            ("max.message.bytes", self.max_message_bytes.map(u64::from)),
            (
                "index.interval.bytes",
                self.index_interval_bytes.map(u64::from),
            ),
            (
                "min.insync.replicas",
                self.min_insync_replicas.map(u64::from),
            ),
        ];
        for (key, value) in at_least_one {
            if value == Some(0) {
                return Err(Error::config(key, "0", "must be at least 1"));
            }
        }
        Ok(())
    }

    /// The config a topic is created with: validated, and without the
    /// list of ignored keys, which is a report to the caller rather than a
    /// setting (it is not persisted either).
    pub(crate) fn validated(mut self) -> Result<Self> {
        self.validate()?;
        self.ignored.clear();
        Ok(self)
    }

    /// The set values as `key=value` lines, the form persisted on disk.
    pub(crate) fn to_properties(&self) -> String {
        TOPIC.to_properties(self)
    }

    /// Parses what [`TopicConfig::to_properties`] wrote.
    pub(crate) fn from_properties(text: &str) -> Result<Self> {
        TopicConfig::new().set_all(properties::parse(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_round_trip() {
        let config = TopicConfig::new()
            .partitions(3)
            .set("retention.ms", "60000")
            .unwrap()
            .set("retention.bytes", "-1")
            .unwrap()
            .set("message.timestamp.type", "LogAppendTime")
            .unwrap();
        let back = TopicConfig::from_properties(&config.to_properties()).unwrap();
        assert_eq!(config, back);
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = TopicConfig::new().set("retention.ms", "soon").unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { ref key, .. } if key == "retention.ms"));
        assert!(TopicConfig::new().set("no.such.key", "1").is_err());
        assert!(TopicConfig::new().set("partitions", "0").is_err());
    }
}
