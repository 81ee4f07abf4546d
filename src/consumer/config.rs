//! Consumer configuration.

use std::time::Duration;

#[cfg(test)]
use crate::config::KeyDoc;
use crate::config::{parse, AssignmentStrategy};
use crate::error::{Error, Result};

/// Where a consumer starts when it has no valid position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OffsetReset {
    /// The oldest record still in the log.
    Earliest,
    /// The next record to be written (Kafka's default).
    #[default]
    Latest,
    /// Fail with [`Error::NoOffsetForPartition`].
    None,
}

impl OffsetReset {
    pub(crate) fn parse(key: &str, value: &str) -> Result<Self> {
        match value.trim() {
            "earliest" => Ok(OffsetReset::Earliest),
            "latest" => Ok(OffsetReset::Latest),
            "none" => Ok(OffsetReset::None),
            _ => Err(Error::config(
                key,
                value,
                "expected earliest, latest or none",
            )),
        }
    }
}

#[cfg(test)]
pub(crate) const KEYS: &[KeyDoc] = &[
    KeyDoc {
        name: "group.id",
        default: "billing",
        doc: "Consumer group to join on subscribe (no default: unset means no group)",
    },
    KeyDoc {
        name: "client.id",
        default: "consumer",
        doc: "Name used in member ids and thread names",
    },
    KeyDoc {
        name: "auto.offset.reset",
        default: "latest",
        doc: "earliest, latest or none: where to start without a valid position",
    },
    KeyDoc {
        name: "enable.auto.commit",
        default: "true",
        doc: "Commit the previous poll's offsets every auto.commit.interval.ms",
    },
    KeyDoc {
        name: "auto.commit.interval.ms",
        default: "5000",
        doc: "Interval between automatic commits",
    },
    KeyDoc {
        name: "max.poll.records",
        default: "500",
        doc: "Most records one poll returns",
    },
    KeyDoc {
        name: "fetch.max.bytes",
        default: "52428800",
        doc: "Most bytes one poll reads over all partitions",
    },
    KeyDoc {
        name: "max.partition.fetch.bytes",
        default: "1048576",
        doc: "Most bytes one poll reads from one partition",
    },
    KeyDoc {
        name: "session.timeout.ms",
        default: "45000",
        doc: "A member without heartbeats for this long is removed from the group",
    },
    KeyDoc {
        name: "heartbeat.interval.ms",
        default: "3000",
        doc: "How often the background thread heartbeats",
    },
    KeyDoc {
        name: "max.poll.interval.ms",
        default: "300000",
        doc: "A member that does not poll for this long leaves the group",
    },
    KeyDoc {
        name: "partition.assignment.strategy",
        default: "range",
        doc: "range, roundrobin or cooperative-sticky",
    },
];

/// How a [`Consumer`](crate::Consumer) reads, commits and joins its group.
///
/// # Examples
/// ```
/// use tidelog::{ConsumerConfig, OffsetReset};
/// let config = ConsumerConfig::new()
///     .group_id("billing")
///     .auto_offset_reset(OffsetReset::Earliest)
///     .set("max.poll.records", "100")?;
/// # Ok::<(), tidelog::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerConfig {
    pub(crate) group_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) auto_offset_reset: OffsetReset,
    pub(crate) enable_auto_commit: bool,
    pub(crate) auto_commit_interval: Duration,
    pub(crate) max_poll_records: u32,
    pub(crate) fetch_max_bytes: u32,
    pub(crate) max_partition_fetch_bytes: u32,
    pub(crate) session_timeout: Duration,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) max_poll_interval: Duration,
    pub(crate) assignment_strategy: AssignmentStrategy,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            group_id: None,
            client_id: "consumer".to_string(),
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_millis(5000),
            max_poll_records: 500,
            fetch_max_bytes: 52_428_800,
            max_partition_fetch_bytes: 1_048_576,
            session_timeout: Duration::from_millis(45_000),
            heartbeat_interval: Duration::from_millis(3000),
            max_poll_interval: Duration::from_millis(300_000),
            assignment_strategy: AssignmentStrategy::Range,
        }
    }
}

impl ConsumerConfig {
    /// The defaults (Kafka's).
    pub fn new() -> Self {
        Self::default()
    }

    /// The consumer group to join when subscribing.
    ///
    /// Default: none. Kafka: `group.id`.
    #[must_use]
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.group_id = Some(group.into());
        self
    }

    /// Where to start without a valid position.
    ///
    /// Default: [`OffsetReset::Latest`]. Kafka: `auto.offset.reset`.
    #[must_use]
    pub fn auto_offset_reset(mut self, reset: OffsetReset) -> Self {
        self.auto_offset_reset = reset;
        self
    }

    /// Whether offsets are committed automatically inside `poll`.
    ///
    /// Default: true. Kafka: `enable.auto.commit`.
    #[must_use]
    pub fn enable_auto_commit(mut self, enabled: bool) -> Self {
        self.enable_auto_commit = enabled;
        self
    }

    /// Most records one poll returns.
    ///
    /// Default: 500. Kafka: `max.poll.records`. Range: ≥ 1.
    #[must_use]
    pub fn max_poll_records(mut self, records: u32) -> Self {
        self.max_poll_records = records.max(1);
        self
    }

    /// Time without heartbeats after which the member is removed.
    ///
    /// Default: 45 s. Kafka: `session.timeout.ms`.
    #[must_use]
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// How often the background thread heartbeats to the group coordinator.
    ///
    /// Default: 3 s. Kafka: `heartbeat.interval.ms`. Range: below
    /// `session.timeout.ms` (checked on subscribe); a third of it is usual.
    #[must_use]
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Longest time between two polls before the member is removed from its
    /// group (and its partitions given to others).
    ///
    /// Default: 5 minutes. Kafka: `max.poll.interval.ms`.
    #[must_use]
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.max_poll_interval = interval;
        self
    }

    /// How partitions are spread over the group's members.
    ///
    /// Default: [`AssignmentStrategy::Range`]. Kafka: `partition.assignment.strategy`.
    #[must_use]
    pub fn assignment_strategy(mut self, strategy: AssignmentStrategy) -> Self {
        self.assignment_strategy = strategy;
        self
    }

    /// Sets a value by its Kafka consumer name, e.g. `"auto.offset.reset"`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the key, for an unknown key or a bad value.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        match key {
            "group.id" => self.group_id = Some(parse::non_empty(key, value)?),
            "client.id" => self.client_id = parse::non_empty(key, value)?,
            "auto.offset.reset" => self.auto_offset_reset = OffsetReset::parse(key, value)?,
            "enable.auto.commit" => self.enable_auto_commit = parse::bool_value(key, value)?,
            "auto.commit.interval.ms" => {
                self.auto_commit_interval = parse::duration(key, value, 1)?
            }
            "max.poll.records" => self.max_poll_records = parse::positive_u32(key, value)?,
            "fetch.max.bytes" => self.fetch_max_bytes = parse::positive_u32(key, value)?,
            "max.partition.fetch.bytes" => {
                self.max_partition_fetch_bytes = parse::positive_u32(key, value)?
            }
            "session.timeout.ms" => self.session_timeout = parse::duration(key, value, 1)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = parse::duration(key, value, 1)?,
            "max.poll.interval.ms" => self.max_poll_interval = parse::duration(key, value, 1)?,
            "partition.assignment.strategy" => {
                self.assignment_strategy = AssignmentStrategy::parse(key, value)?
            }
            _ => return Err(parse::unknown(key, value, "consumer")),
        }
        Ok(self)
    }
}
