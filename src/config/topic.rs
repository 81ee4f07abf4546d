//! Topic-level configuration: partitions, replication, retention, segments.

use std::fmt::Write as _;
use std::time::Duration;

use super::parse;
#[cfg(test)]
use super::KeyDoc;
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

#[cfg(test)]
pub(crate) const KEYS: &[KeyDoc] = &[
    KeyDoc {
        name: "retention.ms",
        default: "604800000",
        doc: "Delete segments whose newest record is older than this; -1 keeps forever",
    },
    KeyDoc {
        name: "retention.bytes",
        default: "-1",
        doc: "Delete oldest segments while the partition is larger than this; -1 is unlimited",
    },
    KeyDoc {
        name: "segment.bytes",
        default: "1073741824",
        doc: "Roll to a new segment file at this size",
    },
    KeyDoc {
        name: "segment.ms",
        default: "604800000",
        doc: "Roll to a new segment after this long even if not full",
    },
    KeyDoc {
        name: "max.message.bytes",
        default: "1048588",
        doc: "Largest record batch the topic accepts",
    },
    KeyDoc {
        name: "cleanup.policy",
        default: "delete",
        doc: "What to do with old segments (delete)",
    },
    KeyDoc {
        name: "message.timestamp.type",
        default: "CreateTime",
        doc: "CreateTime keeps the producer's timestamp, LogAppendTime stamps the append time",
    },
    KeyDoc {
        name: "flush.messages",
        default: "-1",
        doc: "Fsync after this many records; -1 leaves it to segment roll and close",
    },
    KeyDoc {
        name: "flush.ms",
        default: "-1",
        doc: "Fsync data older than this; -1 leaves it to segment roll and close",
    },
    KeyDoc {
        name: "index.interval.bytes",
        default: "4096",
        doc: "Bytes of log between two sparse index entries",
    },
    KeyDoc {
        name: "min.insync.replicas",
        default: "2",
        doc: "In-sync replicas an acks=all write needs",
    },
    KeyDoc {
        name: "unclean.leader.election.enable",
        default: "false",
        doc: "Let an out-of-sync replica lead when no in-sync one is alive (may lose records)",
    },
];

/// How a topic is laid out and kept: partitions, replication, retention.
///
/// Unset values inherit the Log's (broker-level) defaults when the topic is
/// created. Kafka's topic-level names are accepted through [`TopicConfig::set`].
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
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown key or a value it cannot take.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        match key {
            "partitions" | "num.partitions" => {
                self.partitions = Some(parse::positive_u32(key, value)?)
            }
            "replication.factor" => {
                self.replication_factor = Some(parse::positive_u32(key, value)?)
            }
            "retention.ms" => self.retention = Some(parse::optional_duration(key, value, 1)?),
            "retention.bytes" => self.retention_bytes = Some(parse::optional_u64(key, value)?),
            "segment.bytes" => self.segment_bytes = Some(parse::positive_u64(key, value)?),
            "segment.ms" => self.segment_ms = Some(parse::duration(key, value, 1)?),
            "max.message.bytes" => self.max_message_bytes = Some(parse::size_u32(key, value)?),
            "cleanup.policy" => self.cleanup_policy = Some(CleanupPolicy::parse(key, value)?),
            "message.timestamp.type" => {
                self.timestamp_type = Some(TimestampType::parse(key, value)?)
            }
            "flush.messages" => self.flush_messages = Some(parse::optional_u64(key, value)?),
            "flush.ms" => self.flush_ms = Some(parse::optional_duration(key, value, 1)?),
            "index.interval.bytes" => {
                self.index_interval_bytes = Some(parse::positive_u32(key, value)?)
            }
            "min.insync.replicas" => {
                self.min_insync_replicas = Some(parse::positive_u32(key, value)?)
            }
            "unclean.leader.election.enable" => {
                self.unclean_leader_election = Some(parse::bool_value(key, value)?)
            }
            _ => return Err(parse::unknown(key, value, "topic")),
        }
        Ok(self)
    }

    /// The set values as `key=value` lines, the form persisted on disk.
    pub(crate) fn to_properties(&self) -> String {
        let mut out = String::new();
        let mut put = |k: &str, v: String| {
            let _ = writeln!(out, "{k}={v}");
        };
        let ms = |d: Option<Duration>| d.map_or("-1".to_string(), |d| d.as_millis().to_string());
        let opt = |n: Option<u64>| n.map_or("-1".to_string(), |n| n.to_string());
        if let Some(v) = self.partitions {
            put("partitions", v.to_string())
        }
        if let Some(v) = self.replication_factor {
            put("replication.factor", v.to_string())
        }
        if let Some(v) = self.retention {
            put("retention.ms", ms(v))
        }
        if let Some(v) = self.retention_bytes {
            put("retention.bytes", opt(v))
        }
        if let Some(v) = self.segment_bytes {
            put("segment.bytes", v.to_string())
        }
        if let Some(v) = self.segment_ms {
            put("segment.ms", v.as_millis().to_string())
        }
        if let Some(v) = self.max_message_bytes {
            put("max.message.bytes", v.to_string())
        }
        if let Some(v) = self.cleanup_policy {
            put("cleanup.policy", v.as_str().to_string())
        }
        if let Some(v) = self.timestamp_type {
            put("message.timestamp.type", v.as_str().to_string())
        }
        if let Some(v) = self.flush_messages {
            put("flush.messages", opt(v))
        }
        if let Some(v) = self.flush_ms {
            put("flush.ms", ms(v))
        }
        if let Some(v) = self.index_interval_bytes {
            put("index.interval.bytes", v.to_string())
        }
        if let Some(v) = self.min_insync_replicas {
            put("min.insync.replicas", v.to_string())
        }
        if let Some(v) = self.unclean_leader_election {
            put("unclean.leader.election.enable", v.to_string())
        }
        out
    }

    /// Parses what [`TopicConfig::to_properties`] wrote.
    pub(crate) fn from_properties(text: &str) -> Result<Self> {
        let mut config = TopicConfig::new();
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| Error::config(line, "", "expected key=value"))?;
            config = config.set(key.trim(), value.trim())?;
        }
        Ok(config)
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
