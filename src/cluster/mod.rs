//! Simulated brokers: where partitions live, who leads them, how clients reach them.
//!
//! Three layers, each depending only on the ones below it:
//! - `protocol/`: the replication protocol as pure state machines (leader,
//!   follower, role, controller, placement, epoch history, producer state),
//!   free of clocks, locks, threads and files, and a seeded simulation that
//!   composes them in the test build.
//! - `runtime/`: hosts those machines: broker threads, replica locks, the
//!   metadata and checkpoint files, fault rules.
//! - `core` (`ClusterCore`): the routing seam the clients (producer,
//!   consumer, groups) and the `Log` front door use; `handle`: the public
//!   `Cluster` and `Broker`.

mod core;
mod handle;
mod protocol;
mod runtime;
mod wire;

pub(crate) use self::core::ClusterCore;
/// What a successful produce reports, as clients see it through the seam.
pub(crate) use crate::storage::AppendInfo;
/// Read buffers a client keeps across fetches (see `ClusterCore::fetch_pooled`).
pub(crate) use crate::storage::ReadPool;
pub use handle::{Broker, Cluster, PartitionReplicas};
pub(crate) use runtime::cleaner::CleanerThread;
pub(crate) use runtime::now_ms;
pub(crate) use runtime::retention::RetentionThread;
pub(crate) use runtime::spin;
