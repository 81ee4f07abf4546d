//! One replica of one partition on disk: segments, indexes, recovery, retention.
//!
//! Knows nothing about brokers or clients.

mod checkpoint;
mod partition_log;

pub(crate) use checkpoint::{sync_dir, sync_parent, write_atomically};
pub(crate) use partition_log::{AppendInfo, PartitionLog, PartitionLogConfig};
