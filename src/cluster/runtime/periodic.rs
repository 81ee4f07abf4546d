//! A named background thread that runs one job on an interval until it is
//! stopped: what the controller's clock, retention and the log cleaner each
//! are.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};

use crate::error::{Error, Result};

/// Runs its job every interval; stopping it (or dropping it) ends the wait
/// at once, lets a running job finish, and joins the thread.
pub(crate) struct PeriodicThread {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

/// Whether a periodic job wants to run again.
pub(crate) enum Next {
    Again,
    Done,
}

impl PeriodicThread {
    /// A thread that was never started (a job switched off by config).
    pub(crate) fn none() -> PeriodicThread {
        PeriodicThread {
            stop: None,
            handle: None,
        }
    }

    /// Starts `name`, running `job` every `interval` until stopped or until
    /// `job` answers [`Next::Done`].
    pub(crate) fn start(
        name: &'static str,
        interval: Duration,
        mut job: impl FnMut() -> Next + Send + 'static,
    ) -> Result<PeriodicThread> {
        let (stop, stopped) = bounded::<()>(0);
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {
                        if let Next::Done = job() {
                            return;
                        }
                    }
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .map_err(|e| Error::spawn(name, e))?;
        Ok(PeriodicThread {
            stop: Some(stop),
            handle: Some(handle),
        })
    }

    /// Stops the thread and waits for it. Called from the thread itself
    /// (its job dropped the last handle on what owns it), it only stops:
    /// a thread cannot wait for itself.
    pub(crate) fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(handle) = self.handle.take() {
            if handle.thread().id() != std::thread::current().id() {
                // A panic in the job has been reported on stderr and leaves
                // nothing to clean up here.
                let _ = handle.join();
            }
        }
    }
}

impl Drop for PeriodicThread {
    fn drop(&mut self) {
        self.stop();
    }
}
