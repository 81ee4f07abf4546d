//! The runtime that hosts the protocol's state machines: threads, locks,
//! files and fault rules.
//!
//! - `brokers`: the running cluster: open, start, stop, kill, isolate, heal,
//!   and the one path by which a controller decision is persisted, published
//!   and handed to the brokers.
//! - `broker`: one broker alone: its directory, hosted replicas, high-watermark checkpoint.
//! - `replica_host`: one hosted replica: its log and epoch file under a lock,
//!   carrying out what the leader, follower and role machines decide.
//! - `effects`: what runs once no lock is held (produce callbacks, ISR proposals).
//! - `fetcher`, `controller_thread`, `retention`, `cleaner`: the threads;
//!   the last three are `periodic` jobs.
//! - `faults`: which brokers are cut off. `signal`: wake-ups; `spin`: the
//!   bounded spin before a thread sleeps.
//! - `metadata_file`: the controller's state on disk.

pub(crate) mod broker;
pub(crate) mod brokers;
pub(crate) mod cleaner;
mod controller_thread;
pub(crate) mod effects;
pub(crate) mod faults;
pub(crate) mod fetcher;
mod metadata_file;
mod periodic;
pub(crate) mod replica_host;
pub(crate) mod retention;
pub(crate) mod signal;
pub(crate) mod spin;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, the clock record timestamps use.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
