//! The public face of the simulated cluster: which broker leads what, and
//! failure injection (kill, shut down, restart, isolate, heal).
//!
//! Failover is a product feature here, not a test hook: rehearsing a broker
//! loss against a real workload shows what an application sees when
//! leadership moves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::core::ClusterCore;
use crate::error::{Error, Result};
use crate::topic::TopicPartition;

/// The brokers of an open [`Log`](crate::Log), from [`Log::cluster`](crate::Log::cluster).
///
/// # Examples
/// Kill the leader of a partition and watch leadership move:
/// ```
/// # let dir = tempfile::tempdir()?;
/// use std::time::Duration;
/// use tidelog::{Log, TopicConfig};
///
/// let log = Log::builder(dir.path()).set("broker.session.timeout.ms", "300")?.open()?;
/// log.create_topic("orders", TopicConfig::new())?;
/// let cluster = log.cluster();
/// let before = cluster.partition("orders", 0)?;
/// let old = before.leader().ok_or("no leader")?;
/// cluster.broker(old)?.kill()?;
/// let moved = cluster.wait_until(Duration::from_secs(30), |c| {
///     c.partition("orders", 0).is_ok_and(|p| p.leader().is_some_and(|l| l != old))
/// });
/// assert!(moved);
/// assert!(cluster.partition("orders", 0)?.leader_epoch() > before.leader_epoch());
/// cluster.broker(old)?.restart()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Cluster {
    /// `None` for a Log connected to Kafka: no brokers to inject failures into.
    core: Option<Arc<ClusterCore>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("brokers", &self.brokers().len())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    pub(crate) fn new(core: Arc<ClusterCore>) -> Self {
        Cluster { core: Some(core) }
    }

    /// The `Cluster` of a Log connected to Kafka.
    #[cfg(feature = "kafka-client")]
    pub(crate) fn detached() -> Self {
        Cluster { core: None }
    }

    fn core(&self) -> Result<&Arc<ClusterCore>> {
        self.core
            .as_ref()
            .ok_or(Error::NeedsEmbedded("failure injection (Log::cluster)"))
    }

    /// A handle on broker `id` (brokers are numbered from 0).
    ///
    /// # Errors
    /// [`Error::UnknownBroker`] if there is no such broker;
    /// [`Error::NeedsEmbedded`] for a Log connected to Kafka.
    pub fn broker(&self, id: u32) -> Result<Broker> {
        let core = self.core()?;
        if id >= core.brokers().broker_count() {
            return Err(Error::UnknownBroker(id));
        }
        Ok(Broker {
            core: Arc::clone(core),
            id,
        })
    }

    /// Every broker, in id order (none for a Log connected to Kafka).
    pub fn brokers(&self) -> Vec<Broker> {
        let Some(core) = &self.core else {
            return Vec::new();
        };
        (0..core.brokers().broker_count())
            .map(|id| Broker {
                core: Arc::clone(core),
                id,
            })
            .collect()
    }

    /// Replica placement, leader, ISR and epoch of one partition, as the
    /// controller recorded them at this moment.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`], [`Error::InvalidPartition`], [`Error::Closed`].
    pub fn partition(&self, topic: &str, partition: u32) -> Result<PartitionReplicas> {
        let tp = TopicPartition::new(topic, partition);
        let state = self.core()?.partition_state(&tp)?;
        Ok(PartitionReplicas {
            tp,
            leader: state.leader,
            replicas: state.replicas,
            in_sync_replicas: state.isr,
            leader_epoch: state.leader_epoch,
        })
    }

    /// Gives each partition back to its preferred leader (its first
    /// replica) wherever that broker is alive and in sync but not leading,
    /// as after restarts; returns how many partitions changed leader.
    /// Kafka's `kafka-leader-election --election-type preferred`.
    ///
    /// Producers writing to a moved partition see a retriable `NotLeader`
    /// once and retry against the new leader.
    ///
    /// # Errors
    /// [`Error::Closed`] after the Log was closed, [`Error::Io`] if the
    /// metadata cannot be persisted.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// log.create_topic("orders", tidelog::TopicConfig::new().partitions(3))?;
    /// // Leaders are already the preferred ones: nothing moves.
    /// assert_eq!(log.cluster().elect_preferred_leaders()?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn elect_preferred_leaders(&self) -> Result<usize> {
        self.core()?.brokers().elect_preferred_leaders()
    }

    /// Waits until `condition` holds, re-checking whenever the cluster
    /// changes (a leader, an ISR or a high watermark moves); returns whether
    /// it held before `timeout` ran out.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// # log.create_topic("orders", tidelog::TopicConfig::new())?;
    /// use std::time::Duration;
    /// let cluster = log.cluster();
    /// // Holds at once: every replica of a new topic is in sync.
    /// assert!(cluster.wait_until(Duration::from_secs(10), |c| {
    ///     c.partition("orders", 0).is_ok_and(|p| p.in_sync_replicas().len() == 3)
    /// }));
    /// // Never holds: gives up after the timeout.
    /// assert!(!cluster.wait_until(Duration::from_millis(10), |_| false));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&Cluster) -> bool,
    ) -> bool {
        let Some(core) = &self.core else {
            // Nothing here ever changes: the condition holds now or never.
            return condition(self);
        };
        let deadline = Instant::now() + timeout;
        loop {
            let seen = core.data_signal().current();
            if condition(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            // Re-check at least every 50 ms: some conditions (a broker's
            // liveness) change without a signal.
            let step = (Instant::now() + Duration::from_millis(50)).min(deadline);
            core.data_signal().wait_past(seen, step);
        }
    }
}

/// One simulated broker: a set of threads with its own directory.
///
/// Failure injection, from the gentlest to the harshest:
/// - [`isolate`](Broker::isolate) / [`heal`](Broker::heal): the broker keeps
///   running but no message reaches or leaves it (other brokers, the
///   controller, clients). After `broker.session.timeout.ms` the controller
///   fences it: its leaderships move and it leaves every ISR. On heal it
///   learns what changed, truncates anything it wrote that the new leaders
///   do not have, and catches up.
/// - [`shutdown`](Broker::shutdown): a clean stop. Leadership moves away
///   first (Kafka's controlled shutdown), then the logs are flushed and closed.
/// - [`kill`](Broker::kill): a power cut. Threads stop at once, in-memory
///   state is gone, and every byte not yet fsynced on this broker is lost.
///   The controller only notices when heartbeats stop
///   (`broker.session.timeout.ms`).
///
/// [`restart`](Broker::restart) brings a stopped broker back (and stops a
/// running one cleanly first). What survives: every record acknowledged with
/// `acks=all` survives the loss of any single broker (it is on at least
/// `min.insync.replicas` replicas). Losing several brokers by power cut at
/// once can lose records none of them had fsynced yet; set `flush.messages`
/// to 1 on a topic to make every acknowledged record durable on disk too.
#[derive(Clone)]
pub struct Broker {
    core: Arc<ClusterCore>,
    id: u32,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("id", &self.id)
            .field("running", &self.is_running())
            .field("isolated", &self.is_isolated())
            .finish()
    }
}

impl Broker {
    /// The broker id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Stops the broker abruptly, as a power cut would; a no-op if stopped.
    ///
    /// # Errors
    /// [`Error::Io`] if discarding the unflushed data failed.
    pub fn kill(&self) -> Result<()> {
        self.core.brokers().kill_broker(self.id)
    }

    /// Stops the broker cleanly after moving its leaderships; a no-op if stopped.
    ///
    /// # Errors
    /// [`Error::Io`] if flushing or persisting metadata failed.
    pub fn shutdown(&self) -> Result<()> {
        self.core.brokers().shutdown_broker(self.id)
    }

    /// Starts the broker again (a running broker is shut down cleanly
    /// first). It recovers its logs, rejoins as follower everywhere, and
    /// returns to each ISR once caught up.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Corrupt`] if its logs cannot be recovered,
    /// [`Error::Closed`] after the Log was closed.
    pub fn restart(&self) -> Result<()> {
        self.core.brokers().shutdown_broker(self.id)?;
        self.core.brokers().start_broker(self.id, true)
    }

    /// Cuts the broker off from the other brokers, the controller and
    /// clients; it keeps running.
    ///
    /// # Errors
    /// [`Error::UnknownBroker`] (not for a valid handle).
    pub fn isolate(&self) -> Result<()> {
        self.core.brokers().isolate_broker(self.id)
    }

    /// Undoes [`isolate`](Broker::isolate).
    ///
    /// # Errors
    /// [`Error::UnknownBroker`] (not for a valid handle).
    pub fn heal(&self) -> Result<()> {
        self.core.brokers().heal_broker(self.id)
    }

    /// Whether the broker runs (an isolated broker still runs).
    pub fn is_running(&self) -> bool {
        self.core.brokers().is_broker_running(self.id)
    }

    /// Whether the broker is cut off by [`isolate`](Broker::isolate).
    pub fn is_isolated(&self) -> bool {
        self.core.brokers().is_broker_isolated(self.id)
    }
}

/// Where one partition's replicas live and who leads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReplicas {
    tp: TopicPartition,
    leader: Option<u32>,
    replicas: Vec<u32>,
    in_sync_replicas: Vec<u32>,
    leader_epoch: i32,
}

impl PartitionReplicas {
    /// The topic and partition.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }

    /// The leading broker; `None` while the partition is offline.
    pub fn leader(&self) -> Option<u32> {
        self.leader
    }

    /// Brokers assigned a replica; the first is the preferred leader.
    pub fn replicas(&self) -> &[u32] {
        &self.replicas
    }

    /// Replicas caught up with the leader (the leader first).
    pub fn in_sync_replicas(&self) -> &[u32] {
        &self.in_sync_replicas
    }

    /// Bumped on every leader change; each batch carries the epoch it was written in.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }
}
