//! One replica of one partition on disk: segments, indexes, recovery, retention.
//!
//! Knows nothing about brokers or clients.
// The producer, consumer and cluster layers are the users of this module;
// until they land, parts of it are only reached from tests.
#![allow(dead_code, unused_imports)]

mod checkpoint;
mod index;
mod layout;
mod partition_log;
mod read;
mod recovery;
mod retention;
mod segment;

pub(crate) use checkpoint::{sync_dir, sync_parent, write_atomically};
pub(crate) use partition_log::{AppendInfo, PartitionLog, PartitionLogConfig};

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod tests;
