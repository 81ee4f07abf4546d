//! The log cleaner thread: compacts every replica of a compacted topic
//! (`cleanup.policy` includes `compact`) every `log.cleaner.backoff.ms`.
//!
//! Each replica is cleaned on its own, below its own high watermark: a
//! leader's and a follower's high watermarks differ only while the follower
//! catches up, and the cleaning rules depend only on the records below the
//! bound, so every replica keeps the same records at every offset below it.

use std::sync::Arc;
use std::time::Duration;

use super::broker::BrokerNode;
use super::brokers::Brokers;
use super::periodic::{Next, PeriodicThread};
use super::replica_host::Partition;
use crate::error::Result;

/// What the cleaner thread drives: the cluster, through its seam.
pub(crate) trait Cleaning: Send + Sync + 'static {
    /// `log.cleaner.backoff.ms`.
    fn cleaner_backoff(&self) -> Duration;
    /// Runs one pass on every replica of every compacted topic.
    fn clean_all(&self) -> Result<()>;
}

/// Runs `clean_all` every `log.cleaner.backoff.ms` until stopped.
pub(crate) struct CleanerThread(PeriodicThread);

impl CleanerThread {
    /// Starts the thread; none runs when `log.cleaner.enable=false`.
    pub(crate) fn start(core: Arc<impl Cleaning>, enabled: bool) -> Result<CleanerThread> {
        if !enabled {
            return Ok(CleanerThread(PeriodicThread::none()));
        }
        let backoff = core.cleaner_backoff();
        let job = move || {
            // A failing partition must not stop cleaning for the others;
            // it reports the failure on its next write.
            let _ = core.clean_all();
            Next::Again
        };
        PeriodicThread::start("tidelog-cleaner", backoff, job).map(CleanerThread)
    }

    /// Stops the thread and waits for it (a pass in progress finishes).
    pub(crate) fn stop(&mut self) {
        self.0.stop();
    }
}

/// Cleans one replica below its high watermark; `force` ignores the dirty
/// ratio threshold.
pub(crate) fn clean_replica(partition: &Partition, now_ms: i64, force: bool) -> Result<()> {
    partition
        .log()
        .compact_below(partition.high_watermark(), now_ms, force)
        .map(|_| ())
}

/// Cleans every replica of every running broker whose topic `wanted`
/// accepts.
pub(crate) fn clean_brokers(
    brokers: &Brokers,
    now_ms: i64,
    force: bool,
    wanted: impl Fn(&str) -> bool,
) -> Result<()> {
    let mut first_error = None;
    for id in 0..brokers.broker_count() {
        let Some(node) = brokers.node(id) else {
            continue;
        };
        if !node.is_running() {
            continue;
        }
        if let Err(e) = clean_node(node, now_ms, force, &wanted) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Cleans every replica `node` hosts whose topic `wanted` accepts.
fn clean_node(
    node: &BrokerNode,
    now_ms: i64,
    force: bool,
    wanted: &impl Fn(&str) -> bool,
) -> Result<()> {
    let mut first_error = None;
    for partition in node.partitions() {
        if !wanted(partition.tp().topic()) {
            continue;
        }
        if let Err(e) = clean_replica(&partition, now_ms, force) {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}
