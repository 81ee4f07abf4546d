//! Removing data: retention by time and size, deleting records below an
//! offset (DeleteRecords), and truncation.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::checkpoint::{sync_dir, write_offset_checkpoint};
use super::layout::{LOG_START_OFFSET, RECOVERY_POINT};
use super::partition_log::{PartitionLog, Writer};
use super::recovery::{state_before, RecoveryPlan};
use super::segment::Segment;
use crate::error::Result;

impl PartitionLog {
    /// Deletes segments past retention; returns how many went.
    ///
    /// By time: whole segments whose newest record is older than the
    /// retention, oldest first, stopping at the first that is not; an expired
    /// active segment is rolled first, so the log end offset survives in a
    /// new, empty segment. By size: oldest segments while the log stays above
    /// `retention_bytes` without them; the active segment is never deleted
    /// for size. The log start offset moves to the first remaining segment
    /// and is checkpointed before any file is deleted.
    ///
    /// # Errors
    /// `Error::Io` if a file cannot be deleted or the checkpoint written.
    #[cfg(test)]
    pub(crate) fn enforce_retention(&self, now_ms: i64) -> Result<usize> {
        self.enforce_retention_below(now_ms, u64::MAX)
    }

    /// Like [`PartitionLog::enforce_retention`], but never deletes a segment
    /// holding an offset at or above `max_offset`: a replica passes its high
    /// watermark, so retention never removes records that are not yet
    /// replicated (as Kafka caps deletion at the high watermark).
    pub(crate) fn enforce_retention_below(&self, now_ms: i64, max_offset: u64) -> Result<usize> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        let mut doomed = 0usize;
        if let Some(retention) = self.config().retention {
            let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
            let expired = |s: &Segment| {
                let newest = s.max_timestamp();
                newest != i64::MIN && now_ms.saturating_sub(newest) > retention_ms
            };
            doomed = self
                .segments
                .read()
                .iter()
                .take_while(|s| expired(s))
                .count();
            if doomed > 0 && doomed == self.segments.read().len() {
                self.roll_locked(&mut writer)?;
            }
        }
        if let Some(limit) = self.config().retention_bytes {
            doomed = doomed.max(self.excess_segments(limit));
        }
        let below = self
            .segments
            .read()
            .iter()
            .take_while(|s| s.next_offset() <= max_offset)
            .count();
        self.delete_oldest(doomed.min(below))
    }

    /// Moves the log start offset up to `offset` (Kafka's DeleteRecords):
    /// records below it are gone for readers at once, and whole segments
    /// below it are deleted. The new start is checkpointed before any file
    /// goes. Never moves the start back, nor past the log end offset;
    /// returns the log start offset after the call.
    ///
    /// # Errors
    /// `Error::Io` if the checkpoint cannot be written or a file deleted;
    /// `Error::Poisoned` or `Error::Closed` if the log cannot be written.
    pub(crate) fn delete_records_before(&self, offset: u64) -> Result<u64> {
        let _writer = self.writer.lock();
        self.check_writable()?;
        let offset = offset.min(self.log_end_offset());
        if offset <= self.log_start_offset() {
            return Ok(self.log_start_offset());
        }
        write_offset_checkpoint(&self.dir.join(LOG_START_OFFSET), offset)?;
        self.log_start_offset.store(offset, Ordering::Release);
        let below = self
            .segments
            .read()
            .iter()
            .take_while(|s| s.next_offset() <= offset)
            .count();
        self.delete_oldest(below)?;
        Ok(self.log_start_offset())
    }

    /// How many of the oldest non-active segments can go while the log stays
    /// above `limit` bytes.
    fn excess_segments(&self, limit: u64) -> usize {
        let segments = self.segments.read();
        let total: u64 = segments.iter().map(|s| s.size()).sum();
        let mut excess = total.saturating_sub(limit);
        let mut count = 0;
        for segment in segments.iter().take(segments.len().saturating_sub(1)) {
            let size = segment.size();
            if size > excess {
                break;
            }
            excess -= size;
            count += 1;
        }
        count
    }

    /// Deletes the `count` oldest segments (never the active one).
    fn delete_oldest(&self, count: usize) -> Result<usize> {
        let count = count.min(self.segments.read().len().saturating_sub(1));
        if count == 0 {
            return Ok(0);
        }
        let new_start = {
            let segments = self.segments.read();
            segments.get(count).map_or(0, |s| s.base_offset())
        };
        let new_start = new_start.max(self.log_start_offset());
        // Checkpoint first: a crash before the deletes leaves files that the
        // next open removes, never a start offset pointing at deleted data.
        write_offset_checkpoint(&self.dir.join(LOG_START_OFFSET), new_start)?;
        self.log_start_offset.store(new_start, Ordering::Release);
        let removed: Vec<Arc<Segment>> = self.segments.write().drain(..count).collect();
        for segment in &removed {
            segment.delete_files()?;
        }
        sync_dir(&self.dir)?;
        Ok(count)
    }

    /// Removes every record at or after `offset`.
    ///
    /// Cuts at batch boundaries: if `offset` falls inside a batch, that whole
    /// batch goes and the log end offset becomes its base offset. Below the
    /// log start offset this empties the log and restarts it at `offset`.
    /// Whole segments go newest first, so a crash part-way leaves a log that
    /// is merely not yet truncated, never one with a hole.
    ///
    /// # Errors
    /// `Error::Io` on file errors, after which the log is poisoned (memory
    /// and disk may disagree until a reopen); `Error::Poisoned` if it was.
    #[allow(
        dead_code,
        reason = "called by the replication layer (followers, failure injection)"
    )]
    pub(crate) fn truncate_to(&self, offset: u64) -> Result<()> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        if offset <= self.log_start_offset() {
            return self.poison_on_error(self.restart_at(&mut writer, offset));
        }
        self.poison_on_error(self.cut_at(&mut writer, offset))
    }

    fn cut_at(&self, writer: &mut Writer, offset: u64) -> Result<()> {
        loop {
            let doomed = {
                let segments = self.segments.read();
                match segments.last() {
                    Some(last) if segments.len() > 1 && last.base_offset() >= offset => {
                        Arc::clone(last)
                    }
                    _ => break,
                }
            };
            // Readers stop seeing it first; then its files go.
            self.segments.write().pop();
            self.log_end_offset
                .store(doomed.base_offset(), Ordering::Release);
            doomed.delete_files()?;
            sync_dir(&self.dir)?;
        }
        let last = self.active()?;
        let cut = state_before(&last, offset, &self.plan())?;
        let end = cut.next_offset;
        self.log_end_offset.store(end, Ordering::Release);
        last.truncate_to_state(cut)?;
        if writer.recovery_point > end {
            writer.recovery_point = end;
            write_offset_checkpoint(&self.dir.join(RECOVERY_POINT), end)?;
        }
        Ok(())
    }

    /// Empties the log and restarts it at `offset`.
    ///
    /// # Errors
    /// As [`truncate_to`](Self::truncate_to).
    #[allow(
        dead_code,
        reason = "called by the replication layer (followers, failure injection)"
    )]
    pub(crate) fn truncate_fully_and_start_at(&self, offset: u64) -> Result<()> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        self.poison_on_error(self.restart_at(&mut writer, offset))
    }

    fn restart_at(&self, writer: &mut Writer, offset: u64) -> Result<()> {
        write_offset_checkpoint(&self.dir.join(LOG_START_OFFSET), offset)?;
        write_offset_checkpoint(&self.dir.join(RECOVERY_POINT), offset)?;
        let old: Vec<Arc<Segment>> = std::mem::take(&mut *self.segments.write());
        // Newest first, as in `cut_at`.
        for segment in old.iter().rev() {
            segment.delete_files()?;
        }
        let fresh = Arc::new(Segment::create(&self.dir, offset)?);
        sync_dir(&self.dir)?;
        *self.segments.write() = vec![fresh];
        self.log_start_offset.store(offset, Ordering::Release);
        self.log_end_offset.store(offset, Ordering::Release);
        writer.recovery_point = offset;
        writer.unflushed_messages = 0;
        Ok(())
    }

    pub(super) fn plan(&self) -> RecoveryPlan {
        RecoveryPlan {
            clean_shutdown: false,
            recovery_point: 0,
            index_interval_bytes: u64::from(self.config().index_interval_bytes),
            max_batch_bytes: RecoveryPlan::batch_bound(self.config().max_message_bytes),
        }
    }
}
