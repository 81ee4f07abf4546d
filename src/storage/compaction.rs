//! When and how far a compacted partition is cleaned: the topic's
//! `min.compaction.lag.ms`, `max.compaction.lag.ms` and dirty ratio turned
//! into one cleaner pass (see [`cleaner`](super::cleaner) for the pass).

use super::cleaner::{CleanOutcome, CleanerConfig};
use super::partition_log::PartitionLog;
use crate::error::Result;

/// Compaction settings of one partition (`cleanup.policy` includes
/// `compact`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompactionConfig {
    /// `delete.retention.ms`, `min.cleanable.dirty.ratio` and the map budget.
    pub(crate) cleaner: CleanerConfig,
    /// `min.compaction.lag.ms`: a segment holding a record younger than
    /// this stays dirty.
    pub(crate) min_lag_ms: i64,
    /// `max.compaction.lag.ms`: a dirty segment whose newest record is older
    /// than this is cleaned whatever the dirty ratio; `None` never forces.
    pub(crate) max_lag_ms: Option<i64>,
}

impl PartitionLog {
    /// Runs one cleaning pass if the partition is compacted. The bound is
    /// the smallest of `high_watermark`, the active segment (the pass never
    /// touches it) and the `min.compaction.lag.ms` cut. `force` ignores
    /// `min.cleanable.dirty.ratio`, as a pass overdue by
    /// `max.compaction.lag.ms` does. `None` for a topic that does not
    /// compact.
    ///
    /// # Errors
    /// As [`PartitionLog::clean`].
    pub(crate) fn compact_below(
        &self,
        high_watermark: u64,
        now_ms: i64,
        force: bool,
    ) -> Result<Option<CleanOutcome>> {
        let Some(compaction) = self.config().compaction else {
            return Ok(None);
        };
        let bound = high_watermark.min(self.lag_cut(now_ms, compaction.min_lag_ms));
        let mut config = compaction.cleaner.clone();
        if force || self.overdue(bound, now_ms, compaction.max_lag_ms)? {
            config.min_cleanable_dirty_ratio = 0.0;
        }
        self.clean(bound, now_ms, &config).map(Some)
    }

    /// The base offset of the oldest segment holding a record younger than
    /// `min_lag_ms`: nothing from there on may be compacted yet.
    fn lag_cut(&self, now_ms: i64, min_lag_ms: i64) -> u64 {
        if min_lag_ms <= 0 {
            return u64::MAX;
        }
        let oldest_allowed = now_ms.saturating_sub(min_lag_ms);
        self.segments
            .read()
            .iter()
            .find(|s| s.max_timestamp() != i64::MIN && s.max_timestamp() > oldest_allowed)
            .map_or(u64::MAX, |s| s.base_offset())
    }

    /// Whether a dirty segment below `bound` waited longer than `max_lag_ms`.
    fn overdue(&self, bound: u64, now_ms: i64, max_lag_ms: Option<i64>) -> Result<bool> {
        let Some(max_lag_ms) = max_lag_ms else {
            return Ok(false);
        };
        let first_dirty = self.first_dirty_offset()?;
        let segments = self.segments.read();
        let sealed = segments.len().saturating_sub(1);
        Ok(segments
            .iter()
            .take(sealed)
            .take_while(|s| s.next_offset() <= bound)
            .filter(|s| s.next_offset() > first_dirty && s.max_timestamp() != i64::MIN)
            .any(|s| now_ms.saturating_sub(s.max_timestamp()) > max_lag_ms))
    }
}
