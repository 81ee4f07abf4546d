//! The front door: [`Log`] opens a data directory or connects to Kafka, and hands out handles.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cluster::{CleanerThread, Cluster, ClusterCore, RetentionThread};
use crate::config::TopicConfig;
use crate::consumer::{Consumer, ConsumerConfig};
use crate::error::{Error, Result};
use crate::group::{ConsumerGroup, Groups};
use crate::producer::{Producer, ProducerConfig};
use crate::topic::TopicName;

mod builder;
#[cfg(feature = "kafka-client")]
mod connect;
mod topic;

pub use self::builder::LogBuilder;
use self::topic::TopicBackend;
pub use self::topic::{PartitionOffsets, Topic};

const LOCK_FILE: &str = ".lock";

/// An open data directory: topics, producers, consumers and brokers.
///
/// Dropping a `Log` (or calling [`Log::close`]) stops its threads, flushes
/// every partition and releases the directory lock.
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir()?;
/// use tidelog::{Log, TopicConfig};
/// let log = Log::open(dir.path())?;
/// let topic = log.create_topic("orders", TopicConfig::new().partitions(3))?;
/// assert_eq!(topic.partition_count(), 3);
/// log.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Log {
    backend: Backend,
}

/// What a `Log` is backed by: a data directory, or a Kafka cluster
/// (feature `kafka-client`). Every handle it makes has the same backend.
enum Backend {
    Embedded(EmbeddedLog),
    #[cfg(feature = "kafka-client")]
    Kafka(Arc<crate::remote::KafkaLog>),
}

/// An open data directory and the threads that keep it.
struct EmbeddedLog {
    core: Arc<ClusterCore>,
    retention: RetentionThread,
    cleaner: CleanerThread,
    groups: Arc<Groups>,
    dir: PathBuf,
    // Held for the Log's lifetime: the OS releases the lock when it is closed.
    _lock: File,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            Backend::Embedded(log) => f
                .debug_struct("Log")
                .field("dir", &log.dir)
                .finish_non_exhaustive(),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(log) => f
                .debug_struct("Log")
                .field("bootstrap.servers", &log.config().get("bootstrap.servers"))
                .finish_non_exhaustive(),
        }
    }
}

impl Log {
    /// Opens (creating if needed) the data directory with the default settings.
    ///
    /// # Errors
    /// [`Error::AlreadyOpen`] if another `Log` holds the directory,
    /// [`Error::Io`] if it cannot be created or read, [`Error::Corrupt`] for
    /// damaged metadata.
    pub fn open(dir: impl AsRef<Path>) -> Result<Log> {
        Log::builder(dir).open()
    }

    /// A builder for settings other than the defaults.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let log = tidelog::Log::builder(dir.path()).set("num.partitions", "4")?.open()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(dir: impl AsRef<Path>) -> LogBuilder {
        LogBuilder::new(dir.as_ref().to_path_buf())
    }

    pub(crate) fn open_with(builder: LogBuilder) -> Result<Log> {
        let LogBuilder { dir, mut config } = builder;
        config.resolve_defaults();
        config.validate()?;
        fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let lock = lock_directory(&dir)?;
        let core = ClusterCore::open(&dir, config)?;
        let retention = RetentionThread::start(Arc::clone(&core))?;
        let cleaner = CleanerThread::start(Arc::clone(&core), core.config().cleaner_enable)?;
        let groups = Groups::new(Arc::clone(&core));
        let log = EmbeddedLog {
            core,
            retention,
            cleaner,
            groups,
            dir,
            _lock: lock,
        };
        Ok(Log {
            backend: Backend::Embedded(log),
        })
    }

    /// The embedded log, for the calls only it has.
    #[cfg_attr(not(feature = "kafka-client"), allow(unused_variables))]
    fn embedded(&self, op: &'static str) -> Result<&EmbeddedLog> {
        match &self.backend {
            Backend::Embedded(log) => Ok(log),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(_) => Err(Error::NeedsEmbedded(op)),
        }
    }

    /// The data directory.
    ///
    /// # Errors
    /// [`Error::NeedsEmbedded`] for a Log connected to a Kafka cluster.
    pub fn dir(&self) -> Result<&Path> {
        Ok(&self.embedded("Log::dir")?.dir)
    }

    /// Creates a topic.
    ///
    /// # Errors
    /// [`Error::InvalidTopicName`], [`Error::TopicAlreadyExists`],
    /// [`Error::InvalidConfig`] for a value out of range (`partitions(0)`),
    /// [`Error::InvalidReplicationFactor`], [`Error::Io`].
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::TopicConfig;
    /// let topic = log.create_topic("clicks", TopicConfig::new().partitions(6).set("retention.ms", "60000")?)?;
    /// assert_eq!(topic.name(), "clicks");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<Topic> {
        let name = TopicName::new(name)?;
        match &self.backend {
            Backend::Embedded(log) => log.core.create_topic(&name, config.validated()?)?,
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(log) => log.create_topic(name.as_str(), &config.validated()?)?,
        }
        self.topic(name.as_str())
    }

    /// Creates a topic unless one of that name exists, and returns it either
    /// way (`kafka-topics --create --if-not-exists`). An existing topic keeps
    /// its own configuration: `config` only applies to a new one. Safe to run
    /// at every start of a program, and between concurrent callers exactly
    /// one creates the topic.
    ///
    /// # Errors
    /// As [`create_topic`](Log::create_topic), except
    /// [`Error::TopicAlreadyExists`].
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::TopicConfig;
    /// let first = log.create_topic_if_not_exists("orders", TopicConfig::new().partitions(6))?;
    /// let again = log.create_topic_if_not_exists("orders", TopicConfig::new().partitions(2))?;
    /// assert_eq!((first.partition_count(), again.partition_count()), (6, 6));
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn create_topic_if_not_exists(&self, name: &str, config: TopicConfig) -> Result<Topic> {
        match self.create_topic(name, config) {
            Err(Error::TopicAlreadyExists(_)) => self.topic(name),
            other => other,
        }
    }

    /// A handle on an existing topic.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if it does not exist.
    pub fn topic(&self, name: &str) -> Result<Topic> {
        let (backend, partitions) = match &self.backend {
            Backend::Embedded(log) => (
                TopicBackend::Embedded(Arc::clone(&log.core)),
                log.core.partition_count(name)?,
            ),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(log) => (
                TopicBackend::Kafka(Arc::clone(log)),
                log.partition_count(name)?,
            ),
        };
        Ok(Topic {
            backend,
            name: name.to_string(),
            partitions,
        })
    }

    /// Names of all topics (internal ones excluded), sorted. A Log connected
    /// to Kafka returns an empty list when the cluster cannot be asked;
    /// [`list_topics`](Log::list_topics) reports why.
    pub fn topics(&self) -> Vec<String> {
        self.list_topics().unwrap_or_default()
    }

    /// Names of all topics (internal ones excluded), sorted.
    ///
    /// # Errors
    /// Never for the embedded log; for a Log connected to Kafka, the
    /// metadata request's failure ([`Error::Kafka`], [`Error::Timeout`]).
    pub fn list_topics(&self) -> Result<Vec<String>> {
        match &self.backend {
            Backend::Embedded(log) => Ok(log.core.topics()),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(log) => log.topics(),
        }
    }

    /// Deletes a topic and all its files.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if it does not exist, [`Error::Io`].
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        TopicName::new(name)?;
        match &self.backend {
            Backend::Embedded(log) => log.core.delete_topic(name),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(log) => log.delete_topic(name),
        }
    }

    /// A producer with its own sender thread.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for inconsistent settings.
    pub fn producer(&self, config: ProducerConfig) -> Result<Producer> {
        match &self.backend {
            Backend::Embedded(log) => Producer::new(Arc::clone(&log.core), config),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(log) => Producer::new_kafka(log, config),
        }
    }

    /// A consumer; assign partitions or subscribe (with a `group.id`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for inconsistent settings.
    pub fn consumer(&self, config: ConsumerConfig) -> Result<Consumer> {
        config.validate()?;
        match &self.backend {
            Backend::Embedded(log) => {
                let mut consumer = Consumer::new(Arc::clone(&log.core), config)?;
                consumer.attach_groups(Arc::clone(&log.groups));
                Ok(consumer)
            }
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(log) => Consumer::new_kafka(Arc::clone(log), config),
        }
    }

    /// The admin handle on consumer group `group`: describe it, read its
    /// committed offsets and lag, reset or delete them. Consumers join a
    /// group by subscribing with `group.id` set.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// let group = log.consumer_group("billing");
    /// assert_eq!(group.describe()?.members().len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn consumer_group(&self, group: &str) -> ConsumerGroup {
        match &self.backend {
            Backend::Embedded(log) => ConsumerGroup::new(Arc::clone(&log.groups), group),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(log) => ConsumerGroup::new_kafka(Arc::clone(log), group),
        }
    }

    /// Ids of the consumer groups that have members or committed offsets, sorted.
    ///
    /// # Errors
    /// Loading committed offsets can fail with [`Error::Io`] or [`Error::Corrupt`].
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use tidelog::{OffsetSpec, TopicConfig};
    /// log.create_topic("orders", TopicConfig::new())?;
    /// log.consumer_group("billing").reset_offsets("orders", OffsetSpec::Earliest)?;
    /// assert_eq!(log.list_groups()?, ["billing"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn list_groups(&self) -> Result<Vec<String>> {
        match &self.backend {
            Backend::Embedded(log) => log.groups.list(),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(log) => crate::group::KafkaGroup::list(log),
        }
    }

    /// The brokers: who leads which partition, and failure injection
    /// (kill, shut down, restart, isolate, heal). See [`Cluster`].
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let log = tidelog::Log::open(dir.path())?;
    /// assert_eq!(log.cluster().brokers().len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// A Log connected to Kafka has no failure injection: its `Cluster`
    /// lists no brokers and its calls return [`Error::NeedsEmbedded`].
    pub fn cluster(&self) -> Cluster {
        match &self.backend {
            Backend::Embedded(log) => Cluster::new(Arc::clone(&log.core)),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(_) => Cluster::detached(),
        }
    }

    /// Stops the background threads, flushes and closes every partition.
    /// A Log connected to Kafka closes its admin connections.
    ///
    /// # Errors
    /// The first flush or close failure; the directory is released regardless.
    pub fn close(mut self) -> Result<()> {
        match &mut self.backend {
            Backend::Embedded(log) => log.shutdown(),
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(_) => Ok(()),
        }
    }
}

impl EmbeddedLog {
    fn shutdown(&mut self) -> Result<()> {
        self.retention.stop();
        self.cleaner.stop();
        self.core.shutdown()
    }
}

impl Drop for EmbeddedLog {
    fn drop(&mut self) {
        // Errors were reported to whoever called close(); a drop has no one to tell.
        let _ = self.shutdown();
    }
}

/// Takes an exclusive advisory lock on `dir/.lock`, failing at once if another
/// `Log` (in this or any process) holds it.
fn lock_directory(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::AlreadyOpen {
            path: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

#[cfg(feature = "kafka")]
impl Log {
    /// The cluster seam, for the Kafka listener.
    pub(crate) fn core(&self) -> &Arc<ClusterCore> {
        match &self.backend {
            Backend::Embedded(log) => &log.core,
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(_) => {
                unreachable!("KafkaServer::start refuses a Log connected to Kafka")
            }
        }
    }

    /// The group registry and committed offsets, for the Kafka listener.
    pub(crate) fn groups(&self) -> &Arc<Groups> {
        match &self.backend {
            Backend::Embedded(log) => &log.groups,
            #[cfg(feature = "kafka-client")]
            Backend::Kafka(_) => {
                unreachable!("KafkaServer::start refuses a Log connected to Kafka")
            }
        }
    }

    /// Whether this Log has a data directory (the Kafka listener serves only those).
    pub(crate) fn is_embedded(&self) -> bool {
        matches!(self.backend, Backend::Embedded(_))
    }
}
