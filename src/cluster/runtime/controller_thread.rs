//! The controller's clock thread: fences brokers whose session ran out.

use std::sync::Arc;

use super::brokers::Brokers;
use super::periodic::{Next, PeriodicThread};
use crate::error::Result;

/// The controller's clock thread: fences brokers whose session ran out.
pub(crate) struct ControllerThread(PeriodicThread);

impl ControllerThread {
    /// Ticks `core`'s controller every heartbeat interval until stopped
    /// (or until the brokers are gone: it holds them only weakly).
    pub(crate) fn spawn(core: &Arc<Brokers>) -> Result<ControllerThread> {
        let weak = Arc::downgrade(core);
        let interval = core.config().broker_heartbeat_interval;
        let job = move || match weak.upgrade() {
            Some(core) => {
                core.controller_tick();
                Next::Again
            }
            None => Next::Done,
        };
        PeriodicThread::start("tidelog-controller", interval, job).map(ControllerThread)
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(mut self) {
        self.0.stop();
    }
}
