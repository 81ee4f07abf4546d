//! `PartitionLog`: the ordered segments of one partition replica.
//!
//! Concurrency: the segment list sits behind an `RwLock` that is only held
//! long enough to clone an `Arc`; every mutation (append, roll, truncate,
//! retention) serialises on the `writer` mutex; readers use positional reads
//! on the shared file handles and never take the writer lock, so a slow write
//! or fsync does not hold them up. Fsyncs run after the writer lock is
//! released and are shared by concurrent callers (group commit).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};

use super::checkpoint::{
    read_offset_checkpoint, sync_dir, sync_parent, write_atomically, write_offset_checkpoint,
};
use super::cleaner::CleanerState;
use super::compaction::CompactionConfig;
use super::layout::{CLEAN_SHUTDOWN, LOG_START_OFFSET, RECOVERY_POINT};
use super::recovery::{open_segments, RecoveryPlan};
use super::segment::Segment;
use crate::error::{CorruptionKind, Error, Result};
use crate::record::{
    stamp_base_offset, stamp_leader_epoch, stamp_log_append_time, verify, BatchHeader,
};
use crate::record::{Compression, TimestampType};
use crate::topic::TopicPartition;

/// Settings of one partition log, resolved from topic and broker config.
#[derive(Debug, Clone, PartialEq)]
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
    /// The codec batches are stored in; `None` keeps the producer's
    /// (`compression.type=producer`).
    pub(crate) stored_codec: Option<Compression>,
    /// Whether every produced record needs a key (a compacted topic).
    pub(crate) requires_keys: bool,
    /// How the cleaner compacts the partition; `None` unless
    /// `cleanup.policy` includes `compact`.
    pub(crate) compaction: Option<CompactionConfig>,
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

/// State only the (serialised) writer touches.
#[derive(Debug)]
pub(super) struct Writer {
    /// Offsets appended since the last fsync (for `flush_messages`).
    pub(super) unflushed_messages: u64,
    pub(super) last_flush: Instant,
    /// Every offset below this is on stable storage, checkpointed on roll.
    pub(super) recovery_point: u64,
}

/// The segments of one partition replica. All methods take `&self`: appends
/// serialise internally; reads never wait for a write in progress.
pub(crate) struct PartitionLog {
    pub(super) dir: PathBuf,
    pub(super) tp: TopicPartition,
    /// Behind a lock because a topic's config can be altered while its
    /// replicas are open; readers take a copy.
    config: RwLock<PartitionLogConfig>,
    /// Ascending by base offset; never empty while open.
    pub(super) segments: RwLock<Vec<Arc<Segment>>>,
    pub(super) writer: Mutex<Writer>,
    pub(super) log_start_offset: AtomicU64,
    pub(super) log_end_offset: AtomicU64,
    pub(super) closed: AtomicBool,
    /// Set by a failed fsync. After one, the kernel may have dropped the dirty
    /// pages and a later fsync can succeed without the data being durable
    /// ("fsyncgate"), so nothing more is acknowledged until a reopen runs
    /// recovery against what is really on disk.
    pub(super) poison: Mutex<Option<Error>>,
    /// What the log cleaner did; held through a cleaning pass, so passes
    /// never overlap.
    pub(super) cleaner: Mutex<CleanerState>,
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn offset_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn bad_input(kind: CorruptionKind) -> Error {
    Error::InvalidBatch { position: 0, kind }
}

impl PartitionLog {
    /// Opens (creating if missing) and recovers the log in `dir`.
    pub(crate) fn open(
        dir: PathBuf,
        tp: TopicPartition,
        config: PartitionLogConfig,
    ) -> Result<PartitionLog> {
        create_durable_dir(&dir)?;
        let marker = dir.join(CLEAN_SHUTDOWN);
        let clean_shutdown = marker.exists();
        let checkpointed_start = read_offset_checkpoint(&dir.join(LOG_START_OFFSET))?;
        let plan = RecoveryPlan {
            clean_shutdown,
            recovery_point: read_offset_checkpoint(&dir.join(RECOVERY_POINT))?.unwrap_or(0),
            index_interval_bytes: u64::from(config.index_interval_bytes),
            max_batch_bytes: RecoveryPlan::batch_bound(config.max_message_bytes),
        };
        let mut segments = open_segments(&dir, &plan)?;
        if segments.is_empty() {
            let start = checkpointed_start.unwrap_or(0);
            segments.push(Arc::new(Segment::create(&dir, start)?));
        }
        let log_start_offset = drop_segments_below(&mut segments, checkpointed_start)?;
        if clean_shutdown {
            // From here on a crash must trigger a scan.
            std::fs::remove_file(&marker).map_err(|e| Error::io("delete", &marker, e))?;
        }
        sync_dir(&dir)?;
        let log_end_offset = segments
            .last()
            .map_or(log_start_offset, |s| s.next_offset());
        let recovery_point = segments.last().map_or(0, |s| s.base_offset());
        Ok(PartitionLog {
            dir,
            tp,
            config: RwLock::new(config),
            segments: RwLock::new(segments),
            writer: Mutex::new(Writer {
                unflushed_messages: 0,
                last_flush: Instant::now(),
                recovery_point,
            }),
            log_start_offset: AtomicU64::new(log_start_offset.min(log_end_offset)),
            log_end_offset: AtomicU64::new(log_end_offset),
            closed: AtomicBool::new(false),
            poison: Mutex::new(None),
            cleaner: Mutex::new(CleanerState::default()),
        })
    }

    /// Leader append of one batch built by `BatchBuilder`: checks size, stamps
    /// base offset = log end offset and the epoch, one write; fsync if `sync`.
    pub(crate) fn append_as_leader(
        &self,
        batch: &mut [u8],
        leader_epoch: i32,
        sync: bool,
    ) -> Result<AppendInfo> {
        self.append_leader_batch(batch, leader_epoch, sync, verify)
    }

    /// [`append_as_leader`](Self::append_as_leader) with `check` for the
    /// batch's header (and its CRC, unless the caller knows the bytes).
    pub(super) fn append_leader_batch(
        &self,
        batch: &mut [u8],
        leader_epoch: i32,
        sync: bool,
        check: fn(&[u8]) -> std::result::Result<BatchHeader, CorruptionKind>,
    ) -> Result<AppendInfo> {
        self.check_size(batch.len())?;
        let header = check(batch).map_err(bad_input)?;
        if header.size() != batch.len() {
            return Err(bad_input(CorruptionKind::Malformed(
                "bytes after the end of the batch",
            )));
        }
        // The CRC recompute happens before the lock; offset and epoch sit
        // outside the CRC and are stamped under it.
        let log_append_time = match self.config().timestamp_type {
            TimestampType::LogAppendTime => {
                let now = now_ms();
                stamp_log_append_time(batch, now);
                Some(now)
            }
            TimestampType::CreateTime => None,
        };
        let mut writer = self.writer.lock();
        self.check_writable()?;
        let base_offset = self.log_end_offset.load(Ordering::Acquire);
        stamp_base_offset(batch, i64::try_from(base_offset).unwrap_or(i64::MAX));
        stamp_leader_epoch(batch, leader_epoch);
        let header = BatchHeader::parse(batch).map_err(bad_input)?;
        let (segment, end) = self.write_batch(&mut writer, batch, &header)?;
        let flush_due = self.note_unflushed(&mut writer, &header);
        drop(writer);
        if sync || flush_due {
            self.sync_segment(&segment, end)?;
        }
        Ok(AppendInfo {
            base_offset,
            last_offset: offset_of(header.last_offset()),
            log_append_time,
            max_timestamp: header.max_timestamp,
        })
    }

    /// Follower append of verified batches whose offsets are already assigned
    /// (the first must start at the log end offset).
    ///
    /// Every batch is checked (CRC, offsets contiguous from the log end
    /// offset) before any is written; an empty input is refused.
    #[allow(
        dead_code,
        reason = "called by the replication layer (followers, failure injection)"
    )]
    pub(crate) fn append_as_follower(&self, batches: &[u8]) -> Result<AppendInfo> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        let headers = self.check_follower_batches(batches)?;
        let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
            return Err(bad_input(CorruptionKind::Malformed(
                "no record batch to append",
            )));
        };
        let mut position = 0usize;
        let mut flush_due = false;
        let mut written = None;
        for header in &headers {
            let end = position + header.size();
            let bytes = batches.get(position..end).unwrap_or_default();
            written = Some(self.write_batch(&mut writer, bytes, header)?);
            position = end;
            flush_due |= self.note_unflushed(&mut writer, header);
        }
        drop(writer);
        if let (true, Some((segment, end))) = (flush_due, written) {
            // Rolls fsync the segments they close, so the last one suffices.
            self.sync_segment(&segment, end)?;
        }
        Ok(AppendInfo {
            base_offset: offset_of(first.base_offset),
            last_offset: offset_of(last.last_offset()),
            log_append_time: None,
            max_timestamp: headers
                .iter()
                .map(|h| h.max_timestamp)
                .max()
                .unwrap_or(i64::MIN),
        })
    }

    fn check_follower_batches(&self, batches: &[u8]) -> Result<Vec<BatchHeader>> {
        let mut expected = self.log_end_offset.load(Ordering::Acquire);
        let mut headers = Vec::new();
        let mut position = 0usize;
        while position < batches.len() {
            let rest = batches.get(position..).unwrap_or_default();
            let header = verify(rest).map_err(|kind| Error::InvalidBatch {
                position: position as u64,
                kind,
            })?;
            let found = offset_of(header.base_offset);
            // A gap is a range the leader's cleaner emptied: offsets only
            // have to increase, as in Kafka.
            if found < expected {
                return Err(bad_input(CorruptionKind::NonMonotonicOffset {
                    expected,
                    found,
                }));
            }
            expected = offset_of(header.last_offset()) + 1;
            position += header.size();
            headers.push(header);
        }
        Ok(headers)
    }

    /// Rolls if due, writes one batch to the active segment and publishes
    /// the new log end offset. Returns the segment and the end position.
    fn write_batch(
        &self,
        writer: &mut Writer,
        batch: &[u8],
        header: &BatchHeader,
    ) -> Result<(Arc<Segment>, u64)> {
        self.maybe_roll(writer, header)?;
        let segment = self.active()?;
        let interval = u64::from(self.config().index_interval_bytes);
        let end = segment.append(batch, header, interval)?;
        self.log_end_offset
            .store(offset_of(header.last_offset()) + 1, Ordering::Release);
        Ok((segment, end))
    }

    /// Counts appended offsets; says whether the flush policy wants an fsync now.
    fn note_unflushed(&self, writer: &mut Writer, header: &BatchHeader) -> bool {
        writer.unflushed_messages += u64::try_from(header.last_offset_delta).unwrap_or(0) + 1;
        let by_count = self
            .config()
            .flush_messages
            .is_some_and(|n| writer.unflushed_messages >= n);
        let by_time = self
            .config()
            .flush_ms
            .is_some_and(|ms| writer.last_flush.elapsed() >= ms);
        if by_count || by_time {
            writer.unflushed_messages = 0;
            writer.last_flush = Instant::now();
        }
        by_count || by_time
    }

    /// A batch must fit `max.message.bytes` and, as in Kafka, one segment.
    fn check_size(&self, size: usize) -> Result<()> {
        let config = self.config();
        let by_message = u64::from(config.max_message_bytes);
        let (max, limit) = if config.segment_bytes < by_message {
            (config.segment_bytes, "segment.bytes")
        } else {
            (by_message, "max.message.bytes")
        };
        if size as u64 > max {
            return Err(Error::RecordTooLarge {
                size: size as u64,
                max,
                limit,
            });
        }
        Ok(())
    }

    pub(super) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed("partition log"));
        }
        Ok(())
    }

    pub(super) fn check_writable(&self) -> Result<()> {
        self.check_open()?;
        match &*self.poison.lock() {
            Some(cause) => Err(Error::Poisoned {
                path: self.dir.clone(),
                source: Box::new(cause.clone()),
            }),
            None => Ok(()),
        }
    }

    /// Records a failed fsync (or other durability failure) and passes it on.
    pub(super) fn poison_on_error<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            let mut poison = self.poison.lock();
            if poison.is_none() {
                *poison = Some(e.clone());
            }
        }
        result
    }

    fn sync_segment(&self, segment: &Segment, end: u64) -> Result<()> {
        self.poison_on_error(segment.sync_to(end))
    }

    pub(super) fn active(&self) -> Result<Arc<Segment>> {
        self.segments
            .read()
            .last()
            .cloned()
            .ok_or(Error::Closed("partition log"))
    }

    fn maybe_roll(&self, writer: &mut Writer, header: &BatchHeader) -> Result<()> {
        let active = self.active()?;
        let (size, created) = {
            let state = active.state.read();
            (state.size, state.created)
        };
        if size == 0 {
            return Ok(());
        }
        // Positions and relative offsets are 32-bit in the indexes.
        let max_bytes = self.config().segment_bytes.min(u64::from(u32::MAX));
        let relative_last = offset_of(header.last_offset()).saturating_sub(active.base_offset());
        let due = size + header.size() as u64 > max_bytes
            || created.elapsed() >= self.config().segment_ms
            || relative_last > u64::from(u32::MAX);
        if due {
            self.roll_locked(writer)?;
        }
        Ok(())
    }

    /// Seals and fsyncs the active segment, then starts a new one at the log
    /// end offset; a no-op when the active segment is empty.
    ///
    /// The fsync runs under the writer lock: appends wait for it once per
    /// segment (every `segment.bytes`), which keeps "every segment but the
    /// active one is durable" simple to rely on. `segment.ms` counts from
    /// when this process created or opened the segment, not from its first
    /// record's timestamp as in Kafka, so records with old timestamps do not
    /// roll a segment per batch.
    pub(super) fn roll_locked(&self, writer: &mut Writer) -> Result<()> {
        let active = self.active()?;
        if active.size() == 0 {
            return Ok(());
        }
        active.seal_time_index();
        self.poison_on_error(active.sync_all())?;
        let base = self.log_end_offset.load(Ordering::Acquire);
        let segment = Arc::new(Segment::create(&self.dir, base)?);
        self.poison_on_error(sync_dir(&self.dir))?;
        self.segments.write().push(segment);
        writer.unflushed_messages = 0;
        writer.last_flush = Instant::now();
        writer.recovery_point = base;
        self.poison_on_error(write_offset_checkpoint(
            &self.dir.join(RECOVERY_POINT),
            base,
        ))
    }

    /// The settings in force now (a copy: an alteration may replace them).
    pub(crate) fn config(&self) -> PartitionLogConfig {
        self.config.read().clone()
    }

    /// Replaces the settings of the open log (a topic config alteration).
    /// Each takes effect at its next use: the size limits at the next
    /// append, roll and flush rules at the next append or tick, retention
    /// at the next retention pass. Segments already written stay as they
    /// are, as in Kafka.
    pub(crate) fn set_config(&self, config: PartitionLogConfig) {
        *self.config.write() = config;
    }

    pub(crate) fn log_start_offset(&self) -> u64 {
        self.log_start_offset.load(Ordering::Acquire)
    }

    pub(crate) fn log_end_offset(&self) -> u64 {
        self.log_end_offset.load(Ordering::Acquire)
    }

    /// Fsyncs everything appended so far.
    #[allow(
        dead_code,
        reason = "called by the replication layer (followers, failure injection)"
    )]
    pub(crate) fn flush(&self) -> Result<()> {
        self.check_writable()?;
        {
            let mut writer = self.writer.lock();
            writer.unflushed_messages = 0;
            writer.last_flush = Instant::now();
        }
        let active = self.active()?;
        self.sync_segment(&active, active.size())
    }

    /// Fsyncs if `flush_ms` is set, has passed since the last fsync, and
    /// something was appended since. Appends check this themselves; call it
    /// periodically so an idle partition is flushed too.
    #[allow(dead_code, reason = "called by the cluster's background thread")]
    pub(crate) fn flush_if_due(&self) -> Result<()> {
        self.flush_if_due_at(Instant::now())
    }

    pub(super) fn flush_if_due_at(&self, now: Instant) -> Result<()> {
        let Some(interval) = self.config().flush_ms else {
            return Ok(());
        };
        {
            let mut writer = self.writer.lock();
            let idle = now.saturating_duration_since(writer.last_flush) < interval;
            if writer.unflushed_messages == 0 || idle {
                return Ok(());
            }
            writer.unflushed_messages = 0;
            writer.last_flush = now;
        }
        self.check_writable()?;
        let active = self.active()?;
        self.sync_segment(&active, active.size())
    }

    /// Starts a new segment now (if the active one holds anything).
    #[allow(
        dead_code,
        reason = "called by the replication layer (followers, failure injection)"
    )]
    pub(crate) fn roll(&self) -> Result<()> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        self.roll_locked(&mut writer)
    }

    /// Flushes and marks a clean shutdown. Later calls fail with `Error::Closed`.
    pub(crate) fn close(&self) -> Result<()> {
        let _writer = self.writer.lock();
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.check_writable_ignoring_close()?;
        let active = self.active()?;
        active.seal_time_index();
        self.poison_on_error(active.sync_all())?;
        let end = self.log_end_offset();
        write_offset_checkpoint(&self.dir.join(RECOVERY_POINT), end)?;
        write_offset_checkpoint(&self.dir.join(LOG_START_OFFSET), self.log_start_offset())?;
        // A concurrent group-commit fsync may have failed meanwhile.
        self.check_writable_ignoring_close()?;
        write_atomically(&self.dir.join(CLEAN_SHUTDOWN), b"")
    }

    fn check_writable_ignoring_close(&self) -> Result<()> {
        match &*self.poison.lock() {
            Some(cause) => Err(Error::Poisoned {
                path: self.dir.clone(),
                source: Box::new(cause.clone()),
            }),
            None => Ok(()),
        }
    }

    /// Drops everything not yet fsynced, as a power cut would, and leaves no
    /// clean-shutdown marker. The log is closed afterwards; reopen it.
    #[allow(
        dead_code,
        reason = "called by the replication layer (followers, failure injection)"
    )]
    pub(crate) fn simulate_power_loss(&self) -> Result<()> {
        let _writer = self.writer.lock();
        self.closed.store(true, Ordering::Release);
        let segments = std::mem::take(&mut *self.segments.write());
        for segment in &segments {
            segment.drop_unsynced()?;
        }
        let marker = self.dir.join(CLEAN_SHUTDOWN);
        match std::fs::remove_file(&marker) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("delete", &marker, e)),
        }
    }

    /// Bytes of record batches across all segments.
    pub(crate) fn size_in_bytes(&self) -> u64 {
        self.segments.read().iter().map(|s| s.size()).sum()
    }
}

/// Creates `dir` and any missing parents, fsyncing each new directory's
/// parent (topmost first) so the whole path survives a crash.
fn create_durable_dir(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut next = Some(dir);
    while let Some(path) = next.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        missing.push(path);
        next = path.parent();
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    for path in missing.iter().rev() {
        sync_parent(path)?;
    }
    Ok(())
}

/// Deletes segments wholly below a checkpointed log start offset (left over
/// when a crash came between the checkpoint and the delete); returns the log
/// start offset. A checkpoint beyond the log end offset contradicts the log
/// and is ignored: keeping data is the safe side of that doubt.
fn drop_segments_below(segments: &mut Vec<Arc<Segment>>, start: Option<u64>) -> Result<u64> {
    let first_base = segments.first().map_or(0, |s| s.base_offset());
    let end = segments.last().map_or(0, |s| s.next_offset());
    let Some(start) = start.filter(|&s| s <= end) else {
        return Ok(first_base);
    };
    while segments.len() > 1 && segments.get(1).is_some_and(|s| s.base_offset() <= start) {
        let segment = segments.remove(0);
        segment.delete_files()?;
    }
    Ok(start.max(segments.first().map_or(0, |s| s.base_offset())))
}
