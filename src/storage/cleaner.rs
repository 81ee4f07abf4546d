//! Log compaction (`cleanup.policy=compact`): keep the newest record of
//! every key below a bound, as Kafka's log cleaner does.
//!
//! One pass: (1) measure the dirty ratio — bytes of sealed segments below
//! the bound that are past the cleaner checkpoint, over all bytes of sealed
//! segments below the bound; (2) build a key → newest offset map over the
//! dirty segments, oldest first, stopping at a segment boundary once the
//! map passes its memory budget; (3) rewrite every segment from the start of
//! the log to the end of the mapped range, oldest first, each into a file of
//! groups of consecutive segments whose sizes add up to at most
//! `segment.bytes`, as Kafka's cleaner groups them, each group into one file
//! beside the old ones that is then swapped in for the whole group (see
//! [`cleaned_copy`](super::cleaned_copy) and [`swap`](super::swap)), so
//! segments that cleaning shrank merge instead of piling up; (4) checkpoint
//! the end of the mapped range as the new first dirty offset.
//!
//! What a rewrite keeps: a record without a key (a compacted topic refuses
//! them on produce, but the cleaner never loses one that is there); a keyed
//! record unless the map holds a newer offset for its key; a tombstone (a
//! null value) only while its segment's newest timestamp is within
//! `delete.retention.ms` of now. Offsets never change, so readers see gaps.
//! A batch whose records all go is dropped, except that an empty batch
//! (header only) is kept when it is the last batch of its group, so the
//! merged segment still ends at the same offset, or the last batch of its
//! producer id below the bound, so the producer's epoch and sequence
//! survive for idempotence (Kafka keeps the same batch for the same reason).
//!
//! Groups are rewritten oldest first: a tombstone is only dropped after
//! every older segment, where the values it deleted lived, was rewritten, so
//! a crash part-way never brings a deleted value back.
//!
//! Kafka also caps a group by `segment.index.bytes`; tidelog's indexes have
//! no preset size, so only `segment.bytes` and the 32-bit relative offsets
//! of the indexes bound a group.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::checkpoint::{read_offset_checkpoint, write_offset_checkpoint};
use super::cleaned_copy::{corrupt, for_each_batch, group_by_size, write_cleaned, CleanInput};
use super::layout::{suffixed_log_path, CLEANED_SUFFIX, CLEANER_CHECKPOINT};
use super::partition_log::PartitionLog;
use super::recovery::scan_batches;
use super::segment::Segment;
use crate::error::Result;
use crate::record::{BatchHeader, DecodedRecord};

/// Rough memory of one map entry: digest, offset, the table's control byte
/// and its spare capacity.
const MAP_ENTRY_BYTES: usize = 40;

/// Settings of a cleaning pass (Kafka's names in the field docs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CleanerConfig {
    /// `delete.retention.ms`: how long tombstones stay readable.
    pub(crate) delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`: a pass below this ratio does nothing.
    pub(crate) min_cleanable_dirty_ratio: f64,
    /// `log.cleaner.dedupe.buffer.size`: memory budget of the key map.
    pub(crate) max_map_bytes: usize,
}

impl Default for CleanerConfig {
    /// Kafka's defaults: one day, 0.5, 128 MiB.
    fn default() -> Self {
        CleanerConfig {
            delete_retention_ms: 86_400_000,
            min_cleanable_dirty_ratio: 0.5,
            max_map_bytes: 128 << 20,
        }
    }
}

/// What the log cleaner of one partition replica has done, for metrics
/// and tools (Kafka reports the same through its `log-cleaner` metrics).
/// Returned by [`Topic::cleaner_state`](crate::Topic::cleaner_state).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CleanerState {
    /// When the last pass ran (ms since the epoch), if one did.
    pub(crate) last_run_ms: Option<i64>,
    /// Passes that rewrote at least one segment.
    pub(crate) passes: u64,
    /// Bytes of segments read and rewritten, over all passes.
    pub(crate) bytes_cleaned: u64,
    /// Bytes those segments shrank to.
    pub(crate) bytes_written: u64,
    /// Records removed, over all passes.
    pub(crate) records_removed: u64,
    /// The dirty ratio the last pass measured.
    pub(crate) dirty_ratio: f64,
    /// Offsets below this have been compacted.
    pub(crate) first_dirty_offset: u64,
}

impl CleanerState {
    /// When the last pass ran (ms since the Unix epoch); `None` before the first.
    pub fn last_run_ms(&self) -> Option<i64> {
        self.last_run_ms
    }

    /// Passes that rewrote at least one segment.
    pub fn passes(&self) -> u64 {
        self.passes
    }

    /// Bytes of segments read and rewritten, over all passes.
    pub fn bytes_cleaned(&self) -> u64 {
        self.bytes_cleaned
    }

    /// Bytes the rewritten segments shrank to, over all passes.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Records removed (superseded values and expired tombstones).
    pub fn records_removed(&self) -> u64 {
        self.records_removed
    }

    /// Dirty bytes over all bytes of the cleanable segments, as the last
    /// pass measured it.
    pub fn dirty_ratio(&self) -> f64 {
        self.dirty_ratio
    }

    /// Every offset below this has been compacted.
    pub fn first_dirty_offset(&self) -> u64 {
        self.first_dirty_offset
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct CleanOutcome {
    pub(crate) dirty_ratio: f64,
    pub(crate) segments_cleaned: usize,
    pub(crate) bytes_read: u64,
    pub(crate) bytes_written: u64,
    pub(crate) records_removed: u64,
    /// The new first dirty offset.
    pub(crate) cleaned_up_to: u64,
}

/// The newest offset of every key in the mapped range, and the newest
/// batch of every producer id below its end.
///
/// Keys are held as 128-bit digests, as Kafka's cleaner holds an MD5 of each
/// key rather than the key: entries of a fixed 24 bytes, compared without
/// following a pointer to key bytes (those cache misses were the largest
/// cost of a pass). Two keys sharing a digest is a chance of about n²/2¹²⁹
/// for n keys, 2⁻⁸⁹ for a million.
#[derive(Debug, Default)]
pub(super) struct OffsetMap {
    latest: HashMap<u128, i64, BuildHasherDefault<DigestHasher>>,
    digest: KeyDigest,
    producers: HashMap<i64, i64>,
    bytes: usize,
    /// Segments wholly below this offset are rewritten.
    end: u64,
}

impl OffsetMap {
    fn note_batch(&mut self, header: &BatchHeader) {
        if header.producer_id >= 0 {
            self.producers
                .insert(header.producer_id, header.base_offset);
        }
    }

    fn note_record(&mut self, record: &DecodedRecord) {
        let Some(key) = &record.key else {
            return;
        };
        match self.latest.entry(self.digest.of(key)) {
            Entry::Occupied(mut entry) => {
                let offset = entry.get_mut();
                *offset = (*offset).max(record.offset);
            }
            Entry::Vacant(entry) => {
                self.bytes += MAP_ENTRY_BYTES;
                entry.insert(record.offset);
            }
        }
    }

    /// Whether the record survives cleaning.
    pub(super) fn keeps(&self, record: &DecodedRecord, tombstones_expired: bool) -> bool {
        let Some(key) = &record.key else {
            return true;
        };
        if self
            .latest
            .get(&self.digest.of(key))
            .is_some_and(|&newest| newest > record.offset)
        {
            return false;
        }
        record.value.is_some() || !tombstones_expired
    }

    /// Whether an emptied batch must stay as the producer's newest.
    pub(super) fn is_producers_newest(&self, header: &BatchHeader) -> bool {
        header.producer_id >= 0
            && self.producers.get(&header.producer_id) == Some(&header.base_offset)
    }
}

/// Two SipHash-1-3 hashes of a key under independent random keys: a
/// 128-bit digest, fresh for every pass.
#[derive(Debug, Default)]
struct KeyDigest {
    high: RandomState,
    low: RandomState,
}

impl KeyDigest {
    fn of(&self, key: &[u8]) -> u128 {
        (u128::from(self.high.hash_one(key)) << 64) | u128::from(self.low.hash_one(key))
    }
}

/// Hashes a digest by taking its low 64 bits: it is a hash already.
#[derive(Debug, Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, digest: u128) {
        self.0 = digest as u64;
    }
}

impl PartitionLog {
    /// The cleaner's record of what it has done.
    pub(crate) fn cleaner_state(&self) -> CleanerState {
        self.cleaner.lock().clone()
    }

    #[allow(
        dead_code,
        reason = "a measure for tools; passes measure it themselves"
    )]
    /// The dirty ratio of the sealed segments wholly below `bound`.
    pub(crate) fn dirty_ratio(&self, bound: u64) -> Result<f64> {
        let first_dirty = self.first_dirty_offset()?;
        Ok(dirty_ratio(&self.cleanable_segments(bound), first_dirty))
    }

    /// Compacts the sealed segments wholly below `bound` if their dirty
    /// ratio reaches `config.min_cleanable_dirty_ratio`. The caller passes
    /// the smallest of the high watermark, the active segment's base offset
    /// and the `min.compaction.lag.ms` cut. Appends and reads go on while it
    /// runs; only the swap of each segment takes the writer lock.
    ///
    /// # Errors
    /// `Error::Corrupt` if a segment does not decode (nothing of it is
    /// swapped); `Error::Io` on file errors.
    pub(crate) fn clean(
        &self,
        bound: u64,
        now_ms: i64,
        config: &CleanerConfig,
    ) -> Result<CleanOutcome> {
        let mut state = self.cleaner.lock();
        self.check_writable()?;
        let first_dirty = self.first_dirty_offset()?;
        let candidates = self.cleanable_segments(bound);
        let ratio = dirty_ratio(&candidates, first_dirty);
        state.last_run_ms = Some(now_ms);
        state.dirty_ratio = ratio;
        state.first_dirty_offset = first_dirty;
        let mut outcome = CleanOutcome {
            dirty_ratio: ratio,
            cleaned_up_to: first_dirty,
            ..CleanOutcome::default()
        };
        if ratio <= 0.0 || ratio < config.min_cleanable_dirty_ratio {
            return Ok(outcome);
        }
        let mut map = build_map(&candidates, first_dirty, config.max_map_bytes)?;
        if candidates
            .last()
            .is_some_and(|s| s.next_offset() == map.end)
        {
            // The values that supersede must survive a crash once the ones
            // they supersede are gone: sealed segments are synced, the
            // active one is synced here.
            self.flush()?;
            let rest: Vec<Arc<Segment>> = {
                let segments = self.segments.read();
                segments
                    .iter()
                    .filter(|s| s.base_offset() >= map.end && s.base_offset() < bound)
                    .cloned()
                    .collect()
            };
            map_up_to(&rest, bound, &mut map)?;
        }
        // Groups are runs of neighbours in the log, empty segments too (the
        // swap replaces positions), but a group of empty ones has nothing
        // to rewrite.
        let mapped = self.sealed_below(bound, map.end);
        for group in group_by_size(&mapped, self.config().segment_bytes) {
            if group.iter().all(|s| s.size() == 0) {
                continue;
            }
            let done = self.clean_group(group, &map, now_ms, config)?;
            if let Some((read, written, removed)) = done {
                outcome.segments_cleaned += group.iter().filter(|s| s.size() > 0).count();
                outcome.bytes_read += read;
                outcome.bytes_written += written;
                outcome.records_removed += removed;
            }
        }
        write_offset_checkpoint(&self.dir.join(CLEANER_CHECKPOINT), map.end)?;
        outcome.cleaned_up_to = map.end;
        state.passes += 1;
        state.bytes_cleaned += outcome.bytes_read;
        state.bytes_written += outcome.bytes_written;
        state.records_removed += outcome.records_removed;
        state.first_dirty_offset = map.end;
        Ok(outcome)
    }

    /// The checkpointed first dirty offset, within the log's offsets.
    pub(super) fn first_dirty_offset(&self) -> Result<u64> {
        let checkpoint = read_offset_checkpoint(&self.dir.join(CLEANER_CHECKPOINT))?;
        let start = self.log_start_offset();
        // Past the log end (the log was truncated since): start over.
        Ok(checkpoint
            .filter(|&c| c <= self.log_end_offset())
            .map_or(start, |c| c.max(start)))
    }

    /// Non-empty sealed segments whose every offset is below `bound`.
    fn cleanable_segments(&self, bound: u64) -> Vec<Arc<Segment>> {
        let segments = self.segments.read();
        let sealed = segments.len().saturating_sub(1);
        segments
            .iter()
            .take(sealed)
            .take_while(|s| s.next_offset() <= bound)
            .filter(|s| s.size() > 0)
            .cloned()
            .collect()
    }

    /// The sealed segments from the log start whose every offset is below
    /// `bound` and whose base is below `end`, empty ones included.
    fn sealed_below(&self, bound: u64, end: u64) -> Vec<Arc<Segment>> {
        let segments = self.segments.read();
        let sealed = segments.len().saturating_sub(1);
        segments
            .iter()
            .take(sealed)
            .take_while(|s| s.next_offset() <= bound && s.base_offset() < end)
            .cloned()
            .collect()
    }

    /// Rewrites a group of consecutive segments into one and swaps it in;
    /// `None` if the log changed under it (retention or truncation took a
    /// segment meanwhile). Returns bytes read, bytes written and records
    /// removed.
    fn clean_group(
        &self,
        group: &[Arc<Segment>],
        map: &OffsetMap,
        now_ms: i64,
        config: &CleanerConfig,
    ) -> Result<Option<(u64, u64, u64)>> {
        let inputs: Vec<CleanInput<'_>> = group
            .iter()
            .map(|segment| {
                let newest = segment.max_timestamp();
                CleanInput {
                    segment,
                    size: segment.size(),
                    tombstones_expired: newest != i64::MIN
                        && now_ms.saturating_sub(newest) > config.delete_retention_ms,
                }
            })
            .collect();
        let Some(first) = group.first() else {
            return Ok(None);
        };
        let cleaned = suffixed_log_path(&self.dir, first.base_offset(), CLEANED_SUFFIX);
        let (written, removed) = write_cleaned(&inputs, &cleaned, map)?;
        let sizes: Vec<u64> = inputs.iter().map(|input| input.size).collect();
        let swapped = self.swap_in(group, &sizes, &cleaned)?;
        Ok(swapped.then_some((sizes.iter().sum(), written, removed)))
    }
}

fn dirty_ratio(candidates: &[Arc<Segment>], first_dirty: u64) -> f64 {
    let total: u64 = candidates.iter().map(|s| s.size()).sum();
    let dirty: u64 = candidates
        .iter()
        .filter(|s| s.next_offset() > first_dirty)
        .map(|s| s.size())
        .sum();
    if total == 0 {
        return 0.0;
    }
    dirty as f64 / total as f64
}

/// Maps keys over the dirty candidates, oldest first, and producers over
/// every candidate up to where the map stopped.
fn build_map(candidates: &[Arc<Segment>], first_dirty: u64, budget: usize) -> Result<OffsetMap> {
    let mut map = OffsetMap::default();
    for segment in candidates {
        if segment.next_offset() <= first_dirty {
            note_producers(segment, &mut map)?;
        } else {
            for_each_batch(segment, segment.size(), |batch| {
                map.note_batch(batch.header());
                for record in batch.records() {
                    let record = record.map_err(|kind| corrupt(segment, 0, kind))?;
                    if record.offset >= i64::try_from(first_dirty).unwrap_or(i64::MAX) {
                        map.note_record(&record);
                    }
                }
                Ok(())
            })?;
        }
        map.end = segment.next_offset();
        if map.bytes > budget && map.end > first_dirty {
            break;
        }
    }
    Ok(map)
}

/// Maps the keys of the records below `bound` in `segments`, the ones past
/// the cleanable range (the active segment, below the high watermark).
/// They are not rewritten, but they supersede older values: so which
/// records a pass removes depends only on the bound, never on where the
/// segments roll, and replicas that rolled at different offsets (a replica
/// that refetched a compacted range) clean to the same records.
fn map_up_to(segments: &[Arc<Segment>], bound: u64, map: &mut OffsetMap) -> Result<()> {
    let bound = i64::try_from(bound).unwrap_or(i64::MAX);
    for segment in segments {
        for_each_batch(segment, segment.size(), |batch| {
            for record in batch.records() {
                let record = record.map_err(|kind| corrupt(segment, 0, kind))?;
                if record.offset < bound {
                    map.note_record(&record);
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Notes the producer of every batch of an already clean segment (headers only).
fn note_producers(segment: &Segment, map: &mut OffsetMap) -> Result<()> {
    let end = scan_batches(
        segment.file(),
        segment.log_path(),
        0,
        u64::MAX,
        false,
        |_, header| {
            map.note_batch(header);
            Ok(())
        },
    )?;
    match end.problem {
        Some(kind) if end.valid_size < segment.size() => {
            Err(corrupt(segment, end.valid_size, kind))
        }
        _ => Ok(()),
    }
}
