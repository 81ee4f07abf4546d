//! The background thread that deletes segments past retention.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use crate::error::{Error, Result};

/// What the retention thread drives: the cluster, through its seam (so the
/// runtime need not know the seam's type).
pub(crate) trait Retention: Send + Sync + 'static {
    /// `log.retention.check.interval.ms`.
    fn check_interval(&self) -> Duration;
    /// Deletes what is past retention on every replica.
    fn enforce_retention(&self) -> Result<()>;
}

/// Runs `enforce_retention` every `log.retention.check.interval.ms` until stopped.
pub(crate) struct RetentionThread {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl RetentionThread {
    pub(crate) fn start(core: Arc<impl Retention>) -> Result<RetentionThread> {
        let (stop, stopped) = bounded::<()>(0);
        let interval = core.check_interval();
        let handle = std::thread::Builder::new()
            .name("tidelog-retention".to_string())
            .spawn(move || loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {
                        // A failure here (e.g. a poisoned partition) must not stop
                        // retention for the others; the partition reports it on its
                        // next write.
                        let _ = core.enforce_retention();
                    }
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .map_err(|e| Error::spawn("tidelog-retention", e))?;
        Ok(RetentionThread {
            stop: Some(stop),
            handle: Some(handle),
        })
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for RetentionThread {
    fn drop(&mut self) {
        self.stop();
    }
}
