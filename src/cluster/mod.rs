//! Simulated brokers: where partitions live, who leads them, how clients reach them.
//!
//! `ClusterCore` is the seam the clients (producer, consumer, groups) and the
//! `Log` front door use.

mod cluster_meta;
mod controller;
mod core;
mod epoch_cache;
mod metadata;
mod producer_state;
mod replica;
mod retention;
mod signal;
mod transport;

pub(crate) use self::core::{now_ms, ClusterCore, FetchResult, PartitionOffsets, ProduceCallback};
pub(crate) use retention::RetentionThread;
pub(crate) use signal::Signal;
