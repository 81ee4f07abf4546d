//! The controller's clock thread: fences brokers whose session ran out.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use super::brokers::Brokers;
use crate::error::{Error, Result};

/// The controller's clock thread: fences brokers whose session ran out.
pub(crate) struct ControllerThread {
    stop: Sender<()>,
    handle: JoinHandle<()>,
}

impl ControllerThread {
    /// Ticks `core`'s controller every heartbeat interval until stopped.
    pub(crate) fn spawn(core: &Arc<Brokers>) -> Result<ControllerThread> {
        let (stop, stopped) = bounded::<()>(0);
        let weak = Arc::downgrade(core);
        let interval = core.config().broker_heartbeat_interval;
        let handle = std::thread::Builder::new()
            .name("tidelog-controller".to_string())
            .spawn(move || loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => match weak.upgrade() {
                        Some(core) => core.controller_tick(),
                        None => return,
                    },
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .map_err(|e| Error::spawn("tidelog-controller", e))?;
        Ok(ControllerThread { stop, handle })
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(self) {
        drop(self.stop);
        // The thread only ticks the controller; a panic there has already
        // been reported on stderr and leaves nothing to clean up.
        let _ = self.handle.join();
    }
}
