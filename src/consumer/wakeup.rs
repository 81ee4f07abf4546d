//! Interrupting a blocked `poll` from another thread (Kafka's `wakeup()`).
//!
//! A `Consumer` is `Send` but not `Sync`, so another thread cannot call a
//! method on it while it polls; it holds a [`WakeupHandle`] instead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::cluster::ClusterCore;
use crate::error::{Error, Result};
use crate::group::Group;

/// State shared by a consumer and its wakeup handles.
pub(crate) struct WakeupState {
    requested: AtomicBool,
    /// `None` for a consumer of a Kafka cluster, whose poll checks the
    /// flag between bounded waits instead.
    core: Option<Arc<ClusterCore>>,
    /// The group the consumer may be waiting on inside a rebalance.
    group: Mutex<Option<Arc<Group>>>,
}

impl WakeupState {
    pub(crate) fn new(core: Arc<ClusterCore>) -> Arc<Self> {
        Arc::new(WakeupState {
            requested: AtomicBool::new(false),
            core: Some(core),
            group: Mutex::new(None),
        })
    }

    /// The state of a consumer without an embedded cluster to signal.
    #[cfg(feature = "kafka-client")]
    pub(crate) fn detached() -> Arc<Self> {
        Arc::new(WakeupState {
            requested: AtomicBool::new(false),
            core: None,
            group: Mutex::new(None),
        })
    }

    /// `Err(Error::Wakeup)` once per wakeup, clearing it.
    pub(crate) fn check(&self) -> Result<()> {
        match self.requested.swap(false, Ordering::SeqCst) {
            true => Err(Error::Wakeup),
            false => Ok(()),
        }
    }

    /// Whether a wakeup is waiting, without clearing it.
    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    pub(crate) fn set_group(&self, group: Option<Arc<Group>>) {
        *self.group.lock() = group;
    }
}

/// Wakes a [`Consumer`](crate::Consumer) blocked in `poll` from another
/// thread; from [`Consumer::wakeup_handle`](crate::Consumer::wakeup_handle).
///
/// The interrupted `poll` returns [`Error::Wakeup`] (Kafka's
/// `WakeupException`) without losing records: positions stay where they
/// were. A wakeup while the consumer is not polling makes its next `poll`
/// return the error at once. Either way one wakeup interrupts one call,
/// and the following `poll` works normally. Cheap to clone and `Send +
/// Sync`.
///
/// # Examples
/// ```
/// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
/// # let log = tidelog::Log::open(dir.path())?;
/// use std::time::Duration;
/// use tidelog::{ConsumerConfig, Error, TopicConfig, TopicPartition};
/// log.create_topic("orders", TopicConfig::new())?;
/// let mut consumer = log.consumer(ConsumerConfig::new())?;
/// consumer.assign(&[TopicPartition::new("orders", 0)])?;
/// let handle = consumer.wakeup_handle();
/// let waker = std::thread::spawn(move || handle.wakeup());
/// // Blocks (nothing to read) until the other thread wakes it.
/// let woken = consumer.poll(Duration::from_secs(3600));
/// assert!(matches!(woken, Err(Error::Wakeup)));
/// # waker.join().map_err(|_| Error::Closed("waker"))?;
/// assert!(consumer.poll(Duration::ZERO)?.is_empty()); // works again
/// # Ok::<(), tidelog::Error>(())
/// ```
#[derive(Clone)]
pub struct WakeupHandle {
    state: Arc<WakeupState>,
}

impl std::fmt::Debug for WakeupHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeupHandle")
            .field("requested", &self.state.is_requested())
            .finish()
    }
}

impl crate::Consumer {
    /// A handle another thread can use to interrupt this consumer's
    /// blocking [`poll`](crate::Consumer::poll); see [`WakeupHandle`].
    pub fn wakeup_handle(&self) -> WakeupHandle {
        WakeupHandle::new(Arc::clone(&self.wakeup))
    }
}

impl WakeupHandle {
    fn new(state: Arc<WakeupState>) -> Self {
        WakeupHandle { state }
    }

    /// Interrupts the consumer's current blocking `poll`, or its next one.
    pub fn wakeup(&self) {
        self.state.requested.store(true, Ordering::SeqCst);
        // Both places a poll can wait: for data and for a rebalance.
        if let Some(core) = &self.state.core {
            core.data_signal().notify();
        }
        if let Some(group) = self.state.group.lock().as_ref() {
            group.wake_waiters();
        }
    }
}
