//! The brokers of one cluster as a running system: the controller and its
//! clock thread, every broker's replicas and fetcher thread, the fault rules,
//! and carrying controller decisions out to the brokers.
//!
//! Lock order: a broker's lifecycle lock, then the controller, then a
//! partition's lock. Produce callbacks run only after all are released.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use super::broker::{log_config, BrokerNode};
use super::controller_thread::ControllerThread;
use super::effects::{Effects, Fetchers};
use super::faults::Faults;
use super::fetcher;
use super::metadata_file;
use super::now_ms;
use super::replica_host::Partition;
use super::signal::Signal;
use crate::cluster::protocol::controller::{Change, Controller};
use crate::cluster::protocol::leader::BrokerId;
use crate::cluster::protocol::metadata::{ClusterMetadata, PartitionState};
use crate::config::LogConfig;
use crate::error::{Error, Result};
use crate::topic::TopicPartition;

mod alter;

/// Whether a controller decision is persisted and published when it changed
/// no partition (a deleted topic, a fenced broker that led nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    Always,
    IfChanged,
}

/// Every broker of one `Log`, and the controller.
pub(crate) struct Brokers {
    config: LogConfig,
    root: PathBuf,
    nodes: Vec<BrokerNode>,
    controller: Mutex<Controller>,
    /// What clients route by: a copy of the controller's metadata, replaced
    /// on every change, so lookups never wait for the controller.
    routes: RwLock<Arc<ClusterMetadata>>,
    faults: Faults,
    /// Bumped when a high watermark advances or the metadata changes.
    signal: Signal,
    /// One per broker, bumped when a leader appends to a partition that
    /// broker follows: wakes its fetcher thread, and only it.
    replication: Vec<Arc<Signal>>,
    closed: AtomicBool,
    controller_thread: Mutex<Option<ControllerThread>>,
    this: Weak<Brokers>,
}

impl Brokers {
    /// Opens the cluster under `root`: metadata, every broker, their threads.
    pub(crate) fn open(root: &Path, config: LogConfig) -> Result<Arc<Brokers>> {
        let mut metadata = metadata_file::load(root)?;
        let needed = metadata
            .topics
            .values()
            .flat_map(|t| t.partitions.iter().flat_map(|p| p.replicas.iter()))
            .max()
            .map_or(0, |&id| id.saturating_add(1));
        if needed > config.brokers {
            return Err(Error::config(
                "brokers",
                config.brokers.to_string(),
                format!("this data directory has replicas on {needed} brokers; open it with at least {needed}"),
            ));
        }
        metadata.next_producer_id = metadata.next_producer_id.max(now_ms());
        let now = Instant::now();
        let mut controller = Controller::new(
            metadata,
            config.brokers,
            config.broker_session_timeout,
            config.unclean_leader_election,
            now,
        );
        controller.elect_offline();
        metadata_file::save(controller.metadata(), root)?;
        let nodes = (0..config.brokers)
            .map(|id| {
                let dir = match &config.broker_dirs {
                    Some(dirs) => dirs.get(id as usize).cloned(),
                    None => None,
                };
                let dir = dir.unwrap_or_else(|| root.join(format!("broker-{id}")));
                BrokerNode::new(id, dir)
            })
            .collect();
        let routes = RwLock::new(Arc::new(controller.metadata().clone()));
        let replication = (0..config.brokers).map(|_| Arc::default()).collect();
        let core = Arc::new_cyclic(|this| Brokers {
            config,
            root: root.to_path_buf(),
            nodes,
            controller: Mutex::new(controller),
            routes,
            faults: Faults::default(),
            signal: Signal::default(),
            replication,
            closed: AtomicBool::new(false),
            controller_thread: Mutex::new(None),
            this: this.clone(),
        });
        for id in 0..core.config.brokers {
            if let Err(e) = core.start_broker(id, false) {
                let _ = core.shutdown_all();
                return Err(e);
            }
        }
        *core.controller_thread.lock() = Some(ControllerThread::spawn(&core)?);
        Ok(core)
    }

    pub(crate) fn config(&self) -> &LogConfig {
        &self.config
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed("log"));
        }
        Ok(())
    }

    pub(crate) fn node(&self, id: BrokerId) -> Option<&BrokerNode> {
        self.nodes.get(id as usize)
    }

    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// What broker `id`'s fetcher waits on.
    pub(crate) fn replication_signal(&self, id: BrokerId) -> Option<&Arc<Signal>> {
        self.replication.get(id as usize)
    }

    /// Bumped on every high-watermark advance and metadata change.
    pub(crate) fn data_signal(&self) -> &Signal {
        &self.signal
    }

    /// The metadata clients route by.
    pub(crate) fn routes(&self) -> Arc<ClusterMetadata> {
        Arc::clone(&self.routes.read())
    }

    /// The one way the controller's state changes: lock it, let `decide`
    /// change it, persist and publish the result and hand the changed
    /// partitions to their brokers, unlock. Returns what the brokers asked
    /// for, which the caller runs with [`Brokers::finish`] once it holds no
    /// lock (or merges into more).
    pub(crate) fn change<R>(
        &self,
        commit: Commit,
        decide: impl FnOnce(&mut Controller) -> Result<(R, Vec<Change>)>,
    ) -> Result<(R, Effects)> {
        let mut controller = self.controller.lock();
        let (out, changes) = decide(&mut controller)?;
        if commit == Commit::IfChanged && changes.is_empty() {
            return Ok((out, Effects::default()));
        }
        let effects = self.commit(&controller, &changes);
        drop(controller);
        Ok((out, effects?))
    }

    /// [`Brokers::change`], then [`Brokers::finish`].
    pub(crate) fn decide<R>(
        &self,
        commit: Commit,
        decide: impl FnOnce(&mut Controller) -> Result<(R, Vec<Change>)>,
    ) -> Result<R> {
        let (out, effects) = self.change(commit, decide)?;
        self.finish(effects);
        Ok(out)
    }

    /// Deletes expired segments everywhere; called by the retention thread.
    pub(crate) fn enforce_retention(&self) -> Result<()> {
        let now = now_ms();
        let mut first_error = None;
        for node in &self.nodes {
            if let Err(e) = node.enforce_retention(now) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// A fresh producer id for an idempotent producer, never handed out before.
    pub(crate) fn allocate_producer_id(&self) -> i64 {
        let mut controller = self.controller.lock();
        let id = controller.allocate_producer_id();
        // Best effort: ids also start above the clock at open, so a lost
        // write cannot hand out an id twice in practice.
        let _ = metadata_file::save(controller.metadata(), &self.root);
        id
    }

    /// Persists the controller's metadata, republishes routes and hands the
    /// changed partition states to the brokers hosting them.
    fn commit(&self, controller: &Controller, changes: &[Change]) -> Result<Effects> {
        let saved = metadata_file::save(controller.metadata(), &self.root);
        *self.routes.write() = Arc::new(controller.metadata().clone());
        let mut effects = Effects::default();
        let mut opened = Ok(());
        let now = Instant::now();
        for (tp, state) in changes {
            for &id in &state.replicas {
                match self.reachable_replica(id, tp, controller) {
                    Ok(Some(partition)) => effects.merge(partition.apply(state, now)),
                    Ok(None) => {}
                    // That broker misses this change; it resyncs when it restarts.
                    Err(e) => opened = Err(e),
                }
            }
        }
        self.signal.notify();
        // Callbacks must run even when persisting failed, so the effects
        // are handed over regardless and the error reported separately.
        if let Err(e) = saved.and(opened) {
            effects.complete();
            return Err(e);
        }
        Ok(effects)
    }

    /// The replica of `tp` on broker `id` if the controller can reach it,
    /// opening it first if the broker does not host it yet.
    fn reachable_replica(
        &self,
        id: BrokerId,
        tp: &TopicPartition,
        controller: &Controller,
    ) -> Result<Option<Arc<Partition>>> {
        let Some(node) = self.node(id) else {
            return Ok(None);
        };
        if !node.is_running() || self.faults.is_isolated(id) {
            return Ok(None);
        }
        if let Some(p) = node.partition(tp) {
            return Ok(Some(p));
        }
        let partition = Arc::new(self.open_replica(node, tp, controller.metadata(), 0)?);
        node.insert(Arc::clone(&partition));
        Ok(Some(partition))
    }

    fn open_replica(
        &self,
        node: &BrokerNode,
        tp: &TopicPartition,
        metadata: &ClusterMetadata,
        high_watermark: u64,
    ) -> Result<Partition> {
        let topic = metadata
            .topics
            .get(tp.topic())
            .ok_or_else(|| Error::UnknownTopic(tp.topic().to_string()))?;
        let min_insync = topic
            .config
            .min_insync_replicas
            .unwrap_or(self.config.min_insync_replicas);
        Partition::open(
            node.partition_dir(tp),
            tp.clone(),
            node.id(),
            log_config(&self.config, &topic.config),
            min_insync as usize,
            self.config.replica_lag_time_max,
            high_watermark,
        )
    }

    /// Runs what partitions asked for once no lock is held: fetcher
    /// wake-ups (first, so followers start while the rest runs), ISR
    /// proposals to the controller, produce callbacks, consumer wake-ups.
    pub(crate) fn finish(&self, mut effects: Effects) {
        std::mem::take(&mut effects.fetchers).wake(&self.replication);
        for proposal in std::mem::take(&mut effects.isr) {
            if self.faults.is_isolated(proposal.leader) {
                continue; // the proposal never reaches the controller
            }
            let accepted = self.change(Commit::IfChanged, |c| {
                let change = c.alter_isr(
                    &proposal.tp,
                    proposal.leader,
                    proposal.epochs,
                    &proposal.isr,
                );
                Ok(((), change.into_iter().collect()))
            });
            if let Ok(((), more)) = accepted {
                effects.merge(more);
            }
        }
        effects.complete();
        if effects.high_watermark_moved {
            self.signal.notify();
        }
    }

    /// A heartbeat from broker `id`, unless it is cut off.
    pub(crate) fn heartbeat(&self, id: BrokerId) {
        if self.faults.is_isolated(id) || self.closed.load(Ordering::Acquire) {
            return;
        }
        let now = Instant::now();
        // A failure to persist is retried by the next change.
        let _ = self.decide(Commit::IfChanged, |c| Ok(((), c.heartbeat(id, now))));
    }

    /// Housekeeping for broker `id`'s replicas: leader ISR and timeouts,
    /// and the `flush.ms` fsync of replicas that went idle.
    pub(crate) fn tick_broker(&self, id: BrokerId, now: Instant) {
        let Some(node) = self.node(id) else {
            return;
        };
        let mut effects = Effects::default();
        for partition in node.partitions() {
            effects.merge(partition.tick(now));
            // A failure poisons the replica; its next append reports it.
            let _ = partition.log().flush_if_due();
        }
        self.finish(effects);
    }

    pub(crate) fn checkpoint_broker(&self, id: BrokerId) -> Result<()> {
        match self.node(id) {
            Some(node) => node.checkpoint_high_watermarks(&node.partitions()),
            None => Ok(()),
        }
    }

    pub(crate) fn controller_tick(&self) {
        let now = Instant::now();
        // A failure to persist is retried by the next change.
        let _ = self.decide(Commit::IfChanged, |c| Ok(((), c.tick(now))));
    }

    /// Starts broker `id`: opens its replicas, takes the roles the metadata
    /// gives it, starts its thread. `rejoin` registers a new incarnation
    /// with the controller (after a kill or shutdown).
    pub(crate) fn start_broker(&self, id: BrokerId, rejoin: bool) -> Result<()> {
        self.check_open()?;
        let node = self.node(id).ok_or(Error::UnknownBroker(id))?;
        let mut lifecycle = node.lifecycle.lock();
        if node.is_running() {
            return Ok(());
        }
        let hws = node.load_high_watermarks()?;
        let metadata = self.routes();
        for (tp, _) in hosted(&metadata, id) {
            let hw = hws.get(&tp).copied().unwrap_or(0);
            match self.open_replica(node, &tp, &metadata, hw) {
                Ok(partition) => node.insert(Arc::new(partition)),
                Err(e) => {
                    // Stay stopped, with nothing half-open left behind.
                    for partition in node.take_all() {
                        let _ = partition.stop(false);
                    }
                    return Err(e);
                }
            }
        }
        node.set_running(true);
        let mut effects = if rejoin {
            let now = Instant::now();
            let ((), effects) = self.change(Commit::Always, |c| Ok(((), c.register(id, now))))?;
            effects
        } else {
            Effects::default()
        };
        effects.merge(self.resync(id));
        let Some(this) = self.this.upgrade() else {
            return Err(Error::Closed("log"));
        };
        *lifecycle = Some(fetcher::spawn(&this, id)?);
        drop(lifecycle);
        self.finish(effects);
        Ok(())
    }

    /// Hands broker `id` the current state of every partition it hosts
    /// (after a start or a heal, when it may have missed changes).
    fn resync(&self, id: BrokerId) -> Effects {
        let mut effects = Effects::default();
        let Some(node) = self.node(id) else {
            return effects;
        };
        let metadata = self.routes();
        let now = Instant::now();
        for (tp, state) in hosted(&metadata, id) {
            let partition = match node.partition(&tp) {
                Some(p) => p,
                None => match self.open_replica(node, &tp, &metadata, 0) {
                    Ok(p) => {
                        let p = Arc::new(p);
                        node.insert(Arc::clone(&p));
                        p
                    }
                    Err(_) => continue,
                },
            };
            effects.merge(partition.apply(&state, now));
        }
        effects
    }

    /// Abrupt stop: threads end, memory state is lost, and so is every
    /// byte not yet fsynced. The controller notices through missed heartbeats.
    pub(crate) fn kill_broker(&self, id: BrokerId) -> Result<()> {
        self.stop_broker(id, true)
    }

    /// Clean stop: leadership moves away first (controlled shutdown), then
    /// the broker flushes and closes its logs.
    pub(crate) fn shutdown_broker(&self, id: BrokerId) -> Result<()> {
        self.stop_broker(id, false)
    }

    fn stop_broker(&self, id: BrokerId, power_loss: bool) -> Result<()> {
        let node = self.node(id).ok_or(Error::UnknownBroker(id))?;
        let mut lifecycle = node.lifecycle.lock();
        if !node.is_running() {
            return Ok(());
        }
        let mut effects = Effects::default();
        let mut first_error = None;
        // The thread goes first: a heartbeat sent after the fence below
        // would bring the broker back to life.
        node.set_running(false);
        if let Some(worker) = lifecycle.take() {
            fetcher::stop(worker);
        }
        if !power_loss {
            match self.change(Commit::Always, |c| Ok(((), c.fence(id)))) {
                Ok(((), e)) => effects.merge(e),
                Err(e) => first_error = Some(e),
            }
        }
        let partitions = node.take_all();
        if !power_loss {
            if let Err(e) = node.checkpoint_high_watermarks(&partitions) {
                first_error.get_or_insert(e);
            }
        }
        for partition in partitions {
            let (more, result) = partition.stop(power_loss);
            effects.merge(more);
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        drop(lifecycle);
        self.finish(effects);
        self.signal.notify();
        first_error.map_or(Ok(()), Err)
    }

    /// Moves leadership back to preferred replicas; returns how many moved.
    pub(crate) fn elect_preferred_leaders(&self) -> Result<usize> {
        self.check_open()?;
        self.decide(Commit::Always, |c| {
            let changes = c.elect_preferred_leaders();
            Ok((changes.len(), changes))
        })
    }

    /// Cuts broker `id` off from the others, the controller and clients.
    pub(crate) fn isolate_broker(&self, id: BrokerId) -> Result<()> {
        self.node(id).ok_or(Error::UnknownBroker(id))?;
        self.faults.isolate(id);
        self.signal.notify();
        Ok(())
    }

    /// Restores broker `id`'s links; it catches up on metadata it missed.
    pub(crate) fn heal_broker(&self, id: BrokerId) -> Result<()> {
        let node = self.node(id).ok_or(Error::UnknownBroker(id))?;
        self.faults.heal(id);
        if node.is_running() {
            let effects = self.resync(id);
            self.finish(effects);
            self.heartbeat(id);
        }
        // Its fetcher and those following its partitions resume at once.
        Fetchers::ALL.wake(&self.replication);
        self.signal.notify();
        Ok(())
    }

    pub(crate) fn is_broker_running(&self, id: BrokerId) -> bool {
        self.node(id).is_some_and(BrokerNode::is_running)
    }

    pub(crate) fn is_broker_isolated(&self, id: BrokerId) -> bool {
        self.faults.is_isolated(id)
    }

    pub(crate) fn broker_count(&self) -> u32 {
        u32::try_from(self.nodes.len()).unwrap_or(u32::MAX)
    }

    /// Removes a deleted topic's replicas and directories on every broker,
    /// stopped ones included.
    pub(crate) fn remove_topic_files(&self, name: &str) -> Result<()> {
        let mut first_error = None;
        for node in &self.nodes {
            let (effects, result) = node.remove_topic(name);
            self.finish(effects);
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Stops every thread, flushes and closes every replica; later calls
    /// fail with `Closed`.
    pub(crate) fn shutdown(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.shutdown_all()
    }

    fn shutdown_all(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        if let Some(thread) = self.controller_thread.lock().take() {
            thread.stop();
        }
        // No controlled shutdown here: every broker stops, and leadership as
        // recorded is exactly what a reopen resumes. Fetchers stop first so
        // nothing moves while the logs close.
        let mut guards = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let mut lifecycle = node.lifecycle.lock();
            node.set_running(false);
            if let Some(worker) = lifecycle.take() {
                fetcher::stop(worker);
            }
            guards.push(lifecycle);
        }
        // Closing fsyncs every replica: one thread per broker, as separate
        // machines would.
        let results: Vec<Result<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .nodes
                .iter()
                .map(|node| {
                    let name = format!("tidelog-broker-{}-close", node.id());
                    std::thread::Builder::new()
                        .name(name)
                        .spawn_scoped(scope, || node.close())
                        .map_err(|_| node)
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h {
                    Ok(handle) => handle.join().unwrap_or_else(|_| Err(close_panicked())),
                    Err(node) => node.close(),
                })
                .collect()
        });
        drop(guards);
        self.signal.notify();
        results.into_iter().collect()
    }
}

/// A close thread panicked: its replicas may not have been flushed.
fn close_panicked() -> Error {
    let panicked = std::io::Error::other("the thread closing a broker panicked");
    Error::io("close broker", "tidelog-broker-close", panicked)
}

/// Every partition with a replica on broker `id`, with its state.
fn hosted(metadata: &ClusterMetadata, id: BrokerId) -> Vec<(TopicPartition, PartitionState)> {
    let mut out = Vec::new();
    for (name, topic) in &metadata.topics {
        for (p, state) in topic.partitions.iter().enumerate() {
            if state.replicas.contains(&id) {
                let p = u32::try_from(p).unwrap_or(u32::MAX);
                out.push((TopicPartition::new(name.clone(), p), state.clone()));
            }
        }
    }
    out
}
