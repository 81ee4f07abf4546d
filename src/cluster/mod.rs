//! Simulated brokers: where partitions live, who leads them, how clients reach them.
//!
//! `ClusterCore` is the seam the clients (producer, consumer, groups) and the
//! `Log` front door use.

mod core;
mod metadata;
mod retention;
mod signal;

pub(crate) use self::core::{now_ms, ClusterCore, FetchResult, PartitionOffsets, ProduceCallback};
pub(crate) use retention::RetentionThread;
pub(crate) use signal::Signal;
