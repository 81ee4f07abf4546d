//! `PartitionLog` (API CONTRACT STUB — implementation pending).
#![allow(dead_code, unused_variables, clippy::todo)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;

use crate::config::TimestampType;
use crate::error::Result;
use crate::topic::TopicPartition;

/// Settings of one partition log, resolved from topic and broker config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionLogConfig {
    pub(crate) segment_bytes: u64,
    pub(crate) segment_ms: Duration,
    pub(crate) index_interval_bytes: u32,
    pub(crate) max_message_bytes: u32,
    pub(crate) flush_messages: Option<u64>,
    pub(crate) flush_ms: Option<Duration>,
    pub(crate) retention: Option<Duration>,
    pub(crate) retention_bytes: Option<u64>,
    pub(crate) timestamp_type: TimestampType,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppendInfo {
    pub(crate) base_offset: u64,
    pub(crate) last_offset: u64,
    /// Set when the topic uses LogAppendTime: the time stamped.
    pub(crate) log_append_time: Option<i64>,
    pub(crate) max_timestamp: i64,
}

/// The segments of one partition replica. All methods take `&self`: appends
/// serialise internally; reads never wait for a write in progress.
pub(crate) struct PartitionLog {}

impl PartitionLog {
    /// Opens (creating if missing) and recovers the log in `dir`.
    pub(crate) fn open(
        dir: PathBuf,
        tp: TopicPartition,
        config: PartitionLogConfig,
    ) -> Result<PartitionLog> {
        todo!()
    }
    /// Leader append of one batch built by `BatchBuilder`: checks size, stamps
    /// base offset = log end offset and the epoch, one write; fsync if `sync`.
    pub(crate) fn append_as_leader(
        &self,
        batch: &mut [u8],
        leader_epoch: i32,
        sync: bool,
    ) -> Result<AppendInfo> {
        todo!()
    }
    /// Follower append of verified batches whose offsets are already assigned
    /// (the first must start at the log end offset).
    pub(crate) fn append_as_follower(&self, batches: &[u8]) -> Result<AppendInfo> {
        todo!()
    }
    /// Whole batches from the one holding `offset`, up to `max_bytes` (at least
    /// one batch), none starting at or after `max_offset`.
    pub(crate) fn read(&self, offset: u64, max_bytes: usize, max_offset: u64) -> Result<Bytes> {
        todo!()
    }
    pub(crate) fn log_start_offset(&self) -> u64 {
        todo!()
    }
    pub(crate) fn log_end_offset(&self) -> u64 {
        todo!()
    }
    /// Removes every record at or after `offset`.
    pub(crate) fn truncate_to(&self, offset: u64) -> Result<()> {
        todo!()
    }
    /// Empties the log and restarts it at `offset`.
    pub(crate) fn truncate_fully_and_start_at(&self, offset: u64) -> Result<()> {
        todo!()
    }
    pub(crate) fn flush(&self) -> Result<()> {
        todo!()
    }
    pub(crate) fn roll(&self) -> Result<()> {
        todo!()
    }
    /// First offset whose timestamp is at least `timestamp`.
    pub(crate) fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<u64>> {
        todo!()
    }
    /// Deletes segments past retention; returns how many went.
    pub(crate) fn enforce_retention(&self, now_ms: i64) -> Result<usize> {
        todo!()
    }
    /// Flushes and marks a clean shutdown.
    pub(crate) fn close(&self) -> Result<()> {
        todo!()
    }
    /// Drops everything not yet fsynced, as a power cut would, and leaves no clean-shutdown marker.
    pub(crate) fn simulate_power_loss(&self) -> Result<()> {
        todo!()
    }
    pub(crate) fn dir(&self) -> &Path {
        todo!()
    }
    pub(crate) fn size_in_bytes(&self) -> u64 {
        todo!()
    }
}
