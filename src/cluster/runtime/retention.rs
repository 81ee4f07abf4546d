//! The background thread that deletes segments past retention.

use std::sync::Arc;
use std::time::Duration;

use super::periodic::{Next, PeriodicThread};
use crate::error::Result;

/// What the retention thread drives: the cluster, through its seam (so the
/// runtime need not know the seam's type).
pub(crate) trait Retention: Send + Sync + 'static {
    /// `log.retention.check.interval.ms`.
    fn check_interval(&self) -> Duration;
    /// Deletes what is past retention on every replica.
    fn enforce_retention(&self) -> Result<()>;
}

/// Runs `enforce_retention` every `log.retention.check.interval.ms` until stopped.
pub(crate) struct RetentionThread(PeriodicThread);

impl RetentionThread {
    pub(crate) fn start(core: Arc<impl Retention>) -> Result<RetentionThread> {
        let interval = core.check_interval();
        let job = move || {
            // A failure here (e.g. a poisoned partition) must not stop
            // retention for the others; the partition reports it on its
            // next write.
            let _ = core.enforce_retention();
            Next::Again
        };
        PeriodicThread::start("tidelog-retention", interval, job).map(RetentionThread)
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(&mut self) {
        self.0.stop();
    }
}
