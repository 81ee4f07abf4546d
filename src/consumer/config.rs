//! Consumer configuration.

use std::time::Duration;

use crate::config::{parse, properties_loading, AssignmentStrategy, KeyDoc, Scope};
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

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
            OffsetReset::None => "none",
        }
    }
}

/// Every consumer key: the README's consumer table is checked against it.
pub(crate) const CONSUMER: Scope<ConsumerConfig> = Scope {
    name: "consumer",
    keys: &[
        KeyDoc {
            name: "group.id",
            default: None,
            doc: "Consumer group to join on subscribe (no default: unset means no group)",
            apply: |c, k, v| {
                c.group_id = Some(parse::non_empty(k, v)?);
                Ok(())
            },
            get: |c| c.group_id.clone(),
        },
        KeyDoc {
            name: "client.id",
            default: Some("consumer"),
            doc: "Name used in member ids and thread names",
            apply: |c, k, v| {
                c.client_id = parse::non_empty(k, v)?;
                Ok(())
            },
            get: |c| Some(c.client_id.clone()),
        },
        KeyDoc {
            name: "auto.offset.reset",
            default: Some("latest"),
            doc: "earliest, latest or none: where to start without a valid position",
            apply: |c, k, v| {
                c.auto_offset_reset = OffsetReset::parse(k, v)?;
                Ok(())
            },
            get: |c| Some(c.auto_offset_reset.as_str().to_string()),
        },
        KeyDoc {
            name: "enable.auto.commit",
            default: Some("true"),
            doc: "Commit the previous poll's offsets every auto.commit.interval.ms",
            apply: |c, k, v| {
                c.enable_auto_commit = parse::bool_value(k, v)?;
                Ok(())
            },
            get: |c| Some(c.enable_auto_commit.to_string()),
        },
        KeyDoc {
            name: "auto.commit.interval.ms",
            default: Some("5000"),
            doc: "Interval between automatic commits",
            apply: |c, k, v| {
                c.auto_commit_interval = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.auto_commit_interval)),
        },
        KeyDoc {
            name: "max.poll.records",
            default: Some("500"),
            doc: "Most records one poll returns",
            apply: |c, k, v| {
                c.max_poll_records = parse::positive_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.max_poll_records.to_string()),
        },
        KeyDoc {
            name: "fetch.max.bytes",
            default: Some("52428800"),
            doc: "Most bytes one poll reads over all partitions",
            apply: |c, k, v| {
                c.fetch_max_bytes = parse::positive_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.fetch_max_bytes.to_string()),
        },
        KeyDoc {
            name: "max.partition.fetch.bytes",
            default: Some("1048576"),
            doc: "Most bytes one poll reads from one partition",
            apply: |c, k, v| {
                c.max_partition_fetch_bytes = parse::positive_u32(k, v)?;
                Ok(())
            },
            get: |c| Some(c.max_partition_fetch_bytes.to_string()),
        },
        KeyDoc {
            name: "session.timeout.ms",
            default: Some("45000"),
            doc: "A member without heartbeats for this long is removed from the group",
            apply: |c, k, v| {
                c.session_timeout = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.session_timeout)),
        },
        KeyDoc {
            name: "heartbeat.interval.ms",
            default: Some("3000"),
            doc: "How often the background thread heartbeats",
            apply: |c, k, v| {
                c.heartbeat_interval = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.heartbeat_interval)),
        },
        KeyDoc {
            name: "max.poll.interval.ms",
            default: Some("300000"),
            doc: "A member that does not poll for this long leaves the group",
            apply: |c, k, v| {
                c.max_poll_interval = parse::duration(k, v, 1)?;
                Ok(())
            },
            get: |c| Some(parse::ms(c.max_poll_interval)),
        },
        KeyDoc {
            name: "partition.assignment.strategy",
            default: Some("range"),
            doc: "range, roundrobin or cooperative-sticky",
            apply: |c, k, v| {
                c.assignment_strategy = AssignmentStrategy::parse(k, v)?;
                Ok(())
            },
            get: |c| Some(c.assignment_strategy.name().to_string()),
        },
        KeyDoc {
            name: "isolation.level",
            default: Some("read_uncommitted"),
            doc: "read_uncommitted; read_committed is refused, as transactions are not supported",
            apply: |_, k, v| isolation_level(k, v),
            get: |_| Some("read_uncommitted".to_string()),
        },
    ],
    ignored: &[
        "bootstrap.servers",
        "key.deserializer",
        "value.deserializer",
        "client.dns.lookup",
        "client.rack",
        "connections.max.idle.ms",
        "default.api.timeout.ms",
        "request.timeout.ms",
        "metadata.max.age.ms",
        "reconnect.backoff.ms",
        "reconnect.backoff.max.ms",
        "retry.backoff.ms",
        "retry.backoff.max.ms",
        "receive.buffer.bytes",
        "send.buffer.bytes",
        "socket.connection.setup.timeout.ms",
        "socket.connection.setup.timeout.max.ms",
        "fetch.min.bytes",
        "fetch.max.wait.ms",
        "check.crcs",
        "exclude.internal.topics",
        "allow.auto.create.topics",
        "interceptor.classes",
        "group.protocol",
        "auto.include.jmx.reporter",
        "enable.metrics.push",
        "metric.reporters",
        "metrics.",
        "security.protocol",
        "security.providers",
        "ssl.",
        "sasl.",
    ],
    refused: &[
        (
            "group.instance.id",
            "static group membership is not supported; leave it unset",
        ),
        (
            "group.remote.assignor",
            "server-side assignors are not supported; use partition.assignment.strategy",
        ),
    ],
};

/// `isolation.level`: without transactions every record is committed, so
/// only `read_uncommitted` has a meaning.
fn isolation_level(key: &str, value: &str) -> Result<()> {
    match value.trim() {
        "read_uncommitted" => Ok(()),
        "read_committed" => Err(Error::config(
            key,
            value,
            "transactions are not supported, so there is nothing to wait for; use read_uncommitted",
        )),
        _ => Err(Error::config(key, value, "expected read_uncommitted")),
    }
}

/// How a [`Consumer`](crate::Consumer) reads, commits and joins its group.
///
/// Kafka's names go through [`set`](Self::set), a list of pairs through
/// [`set_all`](Self::set_all) and a Kafka `.properties` file through
/// [`load_file`](Self::load_file); [`ignored_keys`](Self::ignored_keys)
/// lists the Kafka keys that were accepted but mean nothing in-process.
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
    pub(crate) ignored: Vec<String>,
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
            ignored: Vec::new(),
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
        self.max_poll_records = records;
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
    /// Kafka's client keys that mean nothing in-process (`bootstrap.servers`,
    /// deserializers, `security.*`, `ssl.*`, `sasl.*`, ...) are accepted and
    /// listed by [`ignored_keys`](Self::ignored_keys).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the key, for an unknown key (with the
    /// closest known one), a refused one (`group.instance.id`,
    /// `isolation.level=read_committed`) or a bad value.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        let mut ignored = std::mem::take(&mut self.ignored);
        let result = CONSUMER.set(&mut self, &mut ignored, key, value);
        self.ignored = ignored;
        result.map(|()| self)
    }

    /// The Kafka keys that were set but have no effect in-process, in the
    /// order they were first set; Kafka's clients warn about such keys.
    pub fn ignored_keys(&self) -> &[String] {
        &self.ignored
    }

    properties_loading!();

    /// Checks every value once, whichever setter put it there.
    pub(crate) fn validate(&self) -> Result<()> {
        let at_least_one = [
            ("max.poll.records", u64::from(self.max_poll_records)),
            ("fetch.max.bytes", u64::from(self.fetch_max_bytes)),
            (
                "max.partition.fetch.bytes",
                u64::from(self.max_partition_fetch_bytes),
            ),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return Err(Error::config(key, "0", "must be at least 1"));
            }
        }
        if self.client_id.trim().is_empty() {
            return Err(Error::config(
                "client.id",
                &self.client_id,
                "must not be empty",
            ));
        }
        if let Some(group) = self.group_id.as_deref().filter(|g| g.trim().is_empty()) {
            return Err(Error::config("group.id", group, "must not be empty"));
        }
        Ok(())
    }
}
