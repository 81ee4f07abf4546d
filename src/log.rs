//! The front door: [`Log`] opens a data directory and hands out handles.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cluster::{Cluster, ClusterCore, RetentionThread};
use crate::config::{ConsumerConfig, LogBuilder, ProducerConfig, TopicConfig};
use crate::consumer::Consumer;
use crate::error::{Error, Result};
use crate::group::{ConsumerGroup, Groups};
use crate::producer::Producer;
use crate::topic::{TopicName, TopicPartition};

const LOCK_FILE: &str = ".lock";

/// An open data directory: topics, producers, consumers and brokers.
///
/// Dropping a `Log` (or calling [`Log::close`]) stops its threads, flushes
/// every partition and releases the directory lock.
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
/// use tidelog::{Log, TopicConfig};
/// let log = Log::open(dir.path())?;
/// let topic = log.create_topic("orders", TopicConfig::new().partitions(3))?;
/// assert_eq!(topic.partition_count(), 3);
/// log.close()?;
/// # Ok::<(), tidelog::Error>(())
/// ```
pub struct Log {
    core: Arc<ClusterCore>,
    retention: RetentionThread,
    groups: Arc<Groups>,
    dir: PathBuf,
    // Held for the Log's lifetime: the OS releases the lock when it is closed.
    _lock: File,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
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
    /// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
    /// let log = tidelog::Log::builder(dir.path()).set("num.partitions", "4")?.open()?;
    /// # Ok::<(), tidelog::Error>(())
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
        let groups = Groups::new(Arc::clone(&core));
        Ok(Log {
            core,
            retention,
            groups,
            dir,
            _lock: lock,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates a topic.
    ///
    /// # Errors
    /// [`Error::InvalidTopicName`], [`Error::TopicAlreadyExists`],
    /// [`Error::InvalidReplicationFactor`], [`Error::Io`].
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::TopicConfig;
    /// let topic = log.create_topic("clicks", TopicConfig::new().partitions(6).set("retention.ms", "60000")?)?;
    /// assert_eq!(topic.name(), "clicks");
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<Topic> {
        let name = TopicName::new(name)?;
        self.core.create_topic(&name, config)?;
        self.topic(name.as_str())
    }

    /// A handle on an existing topic.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if it does not exist.
    pub fn topic(&self, name: &str) -> Result<Topic> {
        let partitions = self.core.partition_count(name)?;
        Ok(Topic {
            core: Arc::clone(&self.core),
            name: name.to_string(),
            partitions,
        })
    }

    /// Names of all topics (internal ones excluded), sorted.
    pub fn topics(&self) -> Vec<String> {
        self.core.topics()
    }

    /// Deletes a topic and all its files.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if it does not exist, [`Error::Io`].
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        TopicName::new(name)?;
        self.core.delete_topic(name)
    }

    /// A producer with its own sender thread.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for inconsistent settings.
    pub fn producer(&self, config: ProducerConfig) -> Result<Producer> {
        Producer::new(Arc::clone(&self.core), config)
    }

    /// A consumer; assign partitions or subscribe (with a `group.id`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for inconsistent settings.
    pub fn consumer(&self, config: ConsumerConfig) -> Result<Consumer> {
        let mut consumer = Consumer::new(Arc::clone(&self.core), config)?;
        consumer.attach_groups(Arc::clone(&self.groups));
        Ok(consumer)
    }

    /// The admin handle on consumer group `group`: describe it, read its
    /// committed offsets and lag, reset or delete them. Consumers join a
    /// group by subscribing with `group.id` set.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// let group = log.consumer_group("billing");
    /// assert_eq!(group.describe()?.members().len(), 0);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn consumer_group(&self, group: &str) -> ConsumerGroup {
        ConsumerGroup::new(Arc::clone(&self.groups), group)
    }

    /// Ids of the consumer groups that have members or committed offsets, sorted.
    ///
    /// # Errors
    /// Loading committed offsets can fail with [`Error::Io`] or [`Error::Corrupt`].
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use tidelog::{OffsetSpec, TopicConfig};
    /// log.create_topic("orders", TopicConfig::new())?;
    /// log.consumer_group("billing").reset_offsets("orders", OffsetSpec::Earliest)?;
    /// assert_eq!(log.list_groups()?, ["billing"]);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn list_groups(&self) -> Result<Vec<String>> {
        self.groups.list()
    }

    /// The brokers: who leads which partition, and failure injection
    /// (kill, shut down, restart, isolate, heal). See [`Cluster`].
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|e| tidelog::Error::Closed("tempdir"))?;
    /// let log = tidelog::Log::open(dir.path())?;
    /// assert_eq!(log.cluster().brokers().len(), 3);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn cluster(&self) -> Cluster {
        Cluster::new(Arc::clone(&self.core))
    }

    /// Stops the background threads, flushes and closes every partition.
    ///
    /// # Errors
    /// The first flush or close failure; the directory is released regardless.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        self.retention.stop();
        self.core.shutdown()
    }
}

impl Drop for Log {
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

/// A handle on one topic.
#[derive(Clone)]
pub struct Topic {
    core: Arc<ClusterCore>,
    name: String,
    partitions: u32,
}

impl std::fmt::Debug for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topic")
            .field("name", &self.name)
            .field("partitions", &self.partitions)
            .finish()
    }
}

impl Topic {
    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many partitions the topic has.
    pub fn partition_count(&self) -> u32 {
        self.partitions
    }

    /// The current offsets of every partition.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if the topic was deleted, [`Error::Closed`] after close.
    pub fn partitions(&self) -> Result<Vec<PartitionInfo>> {
        (0..self.partitions).map(|p| self.partition(p)).collect()
    }

    /// The current offsets of one partition.
    ///
    /// # Errors
    /// [`Error::InvalidPartition`] for a partition the topic does not have.
    pub fn partition(&self, partition: u32) -> Result<PartitionInfo> {
        let offsets = self
            .core
            .offsets(&TopicPartition::new(self.name.clone(), partition))?;
        Ok(PartitionInfo {
            partition,
            log_start_offset: offsets.log_start_offset,
            high_watermark: offsets.high_watermark,
            log_end_offset: offsets.log_end_offset,
        })
    }

    /// The topic's configuration as created (overrides only; unset values
    /// follow the Log's defaults).
    ///
    /// # Errors
    /// [`Error::UnknownTopic`] if the topic was deleted.
    pub fn config(&self) -> Result<TopicConfig> {
        self.core.topic_config(&self.name)
    }
}

/// Offsets of one partition at the moment it was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionInfo {
    /// The partition number.
    pub partition: u32,
    /// The first offset still in the log.
    pub log_start_offset: u64,
    /// Offsets below this are replicated and visible to consumers.
    pub high_watermark: u64,
    /// The offset the next record will get.
    pub log_end_offset: u64,
}

#[cfg(feature = "kafka")]
impl Log {
    /// The cluster seam, for the Kafka listener.
    pub(crate) fn core(&self) -> &Arc<ClusterCore> {
        &self.core
    }

    /// The group registry and committed offsets, for the Kafka listener.
    pub(crate) fn groups(&self) -> &Arc<Groups> {
        &self.groups
    }
}
