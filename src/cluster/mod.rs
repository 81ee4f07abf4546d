//! Simulated brokers: where partitions live, who leads them, how clients reach them.
//!
//! `ClusterCore` is the seam the clients (producer, consumer, groups) and the
//! `Log` front door use. The pure state machines (`replica`, `controller`,
//! `epoch_cache`, `producer_state`) know nothing of threads or files; the
//! shell around them (`partition`, `broker`, `fetcher`, `lifecycle`, `core`)
//! does the I/O.

mod broker;
mod cluster_meta;
mod controller;
mod core;
mod effects;
mod epoch_cache;
mod fetcher;
mod handle;
mod lifecycle;
mod partition;
mod producer_state;
mod replica;
mod retention;
mod signal;
mod transport;
mod wire;

// The seam's types, named by clients of the core even where this build does not.
#[allow(unused_imports)]
pub(crate) use self::core::{now_ms, ClusterCore, FetchResult, PartitionOffsets, ProduceCallback};
pub use handle::{Broker, Cluster, PartitionReplicas};
pub(crate) use retention::RetentionThread;
#[allow(unused_imports)]
pub(crate) use signal::Signal;
