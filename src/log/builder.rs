//! The `Log` builder: broker-level settings, typed or by Kafka's names, then `open`.

use std::path::PathBuf;
use std::time::Duration;

use super::Log;
use crate::config::{properties_loading, LogConfig};
use crate::error::Result;

/// Opens a [`Log`](crate::Log) with settings other than the defaults.
///
/// Kafka's names go through [`set`](Self::set), a list of pairs through
/// [`set_all`](Self::set_all) and a Kafka `.properties` file through
/// [`load_file`](Self::load_file); [`ignored_keys`](Self::ignored_keys)
/// lists the Kafka keys that were accepted but mean nothing in-process.
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir()?;
/// let log = tidelog::Log::builder(dir.path())
///     .set("log.retention.minutes", "1")?
///     .set("message.max.bytes", "100000000")?
///     .open()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct LogBuilder {
    pub(crate) dir: PathBuf,
    pub(crate) config: LogConfig,
}

impl LogBuilder {
    pub(crate) fn new(dir: PathBuf) -> Self {
        LogBuilder {
            dir,
            config: LogConfig::default(),
        }
    }

    /// Number of simulated brokers.
    ///
    /// Default: 3. Kafka: the number of broker processes. Range: ≥ 1.
    pub fn brokers(mut self, brokers: u32) -> Self {
        self.config.brokers = brokers;
        self
    }

    /// One data directory per broker (e.g. on separate disks), instead of
    /// `dir/broker-N`.
    ///
    /// Default: `dir/broker-0`, `dir/broker-1`, ... Kafka: `log.dirs` of each broker.
    pub fn broker_dirs<P: Into<PathBuf>>(mut self, dirs: impl IntoIterator<Item = P>) -> Self {
        self.config.broker_dirs = Some(dirs.into_iter().map(Into::into).collect());
        self
    }

    /// Replicas per partition of new topics.
    ///
    /// Default: 3, or the broker count when fewer brokers run. Kafka:
    /// `default.replication.factor`. Range: 1 to `brokers`.
    pub fn default_replication_factor(mut self, replicas: u32) -> Self {
        self.config.default_replication_factor = replicas;
        self.config.replication_factor_set = true;
        self
    }

    /// Largest record batch accepted.
    ///
    /// Default: 1 048 588 bytes. Kafka: `message.max.bytes`. Range: ≥ 1.
    pub fn message_max_bytes(mut self, bytes: u32) -> Self {
        self.config.message_max_bytes = bytes;
        self
    }

    /// How long records are kept; `None` keeps them forever.
    ///
    /// Default: 168 hours. Kafka: `log.retention.ms`.
    pub fn retention(mut self, retention: Option<Duration>) -> Self {
        self.config.retention = retention;
        self.config.retention_precedence = 3;
        self
    }

    /// How often expired segments are looked for.
    ///
    /// Default: 5 minutes. Kafka: `log.retention.check.interval.ms`. Range: ≥ 1 ms.
    pub fn retention_check_interval(mut self, interval: Duration) -> Self {
        self.config.retention_check_interval = interval;
        self
    }

    /// Size at which segment files roll.
    ///
    /// Default: 1 GiB. Kafka: `log.segment.bytes`. Range: ≥ 1.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.config.segment_bytes = bytes;
        self
    }

    /// Sets a value by its Kafka broker-level name, e.g. `"log.retention.minutes"`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for an unknown key or a value it cannot take.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        self.config.set(key, value)?;
        Ok(self)
    }

    /// The Kafka broker keys that were set but mean nothing in-process
    /// (`broker.id`, `listeners`, `num.io.threads`, ...), in the order they
    /// were first set.
    pub fn ignored_keys(&self) -> &[String] {
        &self.config.ignored
    }

    properties_loading!();

    /// Opens the Log with these settings.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) or [`Error::InvalidReplicationFactor`](crate::Error::InvalidReplicationFactor) for
    /// inconsistent settings, and everything [`Log::open`] returns.
    pub fn open(self) -> Result<Log> {
        Log::open_with(self)
    }
}
