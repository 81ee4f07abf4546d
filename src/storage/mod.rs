//! One replica of one partition on disk: segments, indexes, recovery,
//! retention, compaction.
//!
//! Knows nothing about brokers or clients.

mod checkpoint;
mod cleaned_copy;
mod cleaner;
mod compaction;
mod epoch_checkpoint;
mod index;
mod inspect;
mod layout;
mod leader_batch;
mod partition_log;
mod read;
mod read_pool;
mod recovery;
mod retention;
mod segment;
mod swap;

pub(crate) use checkpoint::{sync_dir, write_atomically};
pub(crate) use cleaner::CleanerConfig;
pub use cleaner::CleanerState;
pub(crate) use compaction::CompactionConfig;
pub(crate) use epoch_checkpoint::{EpochEntry, LeaderEpochCheckpoint};
pub use inspect::{
    decode_batches, dump_segment, encode_batch, encode_compressed_batch, recover_partition,
    BatchSummary, PartitionSummary,
};
pub(crate) use partition_log::{AppendInfo, PartitionLog, PartitionLogConfig};
pub(crate) use read_pool::ReadPool;

#[cfg(test)]
mod cleaner_crash_tests;
#[cfg(test)]
mod cleaner_tests;
#[cfg(test)]
mod corpus;
#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod durability_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod read_pool_tests;
#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
pub(crate) mod tests;
