//! The cleaned copy of a group of consecutive segments: which segments go
//! into one copy, and writing the batches the offset map keeps into it.
//!
//! Groups follow Kafka's rule: consecutive segments are added while their
//! sizes before cleaning add up to at most `segment.bytes` (so the copy,
//! never larger, fits a segment) and its offsets stay within the indexes'
//! 32-bit relative offsets. A segment alone larger than that is a group of
//! its own.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::cleaner::OffsetMap;
use super::segment::Segment;
use crate::error::{CorruptionKind, Error, Result};
use crate::record::{rebuild_batch, BatchHeader, DecodedRecord, RecordBatch, HEADER_LEN};

/// Bytes read per call while a segment is walked.
const READ_CHUNK: usize = 1 << 20;

/// One segment of a group, as the pass saw it.
pub(super) struct CleanInput<'a> {
    pub(super) segment: &'a Arc<Segment>,
    /// Its size when the pass began; only these bytes are read.
    pub(super) size: u64,
    /// Whether its tombstones are older than `delete.retention.ms`.
    pub(super) tombstones_expired: bool,
}

/// Splits `segments` (consecutive, oldest first) into groups whose sizes
/// add up to at most `max_bytes` and whose offsets span at most `u32::MAX`.
pub(super) fn group_by_size(segments: &[Arc<Segment>], max_bytes: u64) -> Vec<&[Arc<Segment>]> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < segments.len() {
        let Some(first) = segments.get(start) else {
            break;
        };
        let mut bytes = first.size();
        let mut end = start + 1;
        while let Some(next) = segments.get(end) {
            let span = next.next_offset().saturating_sub(first.base_offset());
            if bytes + next.size() > max_bytes || span > u64::from(u32::MAX) {
                break;
            }
            bytes += next.size();
            end += 1;
        }
        if let Some(group) = segments.get(start..end) {
            groups.push(group);
        }
        start = end;
    }
    groups
}

/// Writes the kept batches of the `group` to `path` and fsyncs it. Returns
/// bytes written and records removed. The last batch of the group is kept
/// even when emptied, so the copy ends at the group's last offset.
pub(super) fn write_cleaned(
    group: &[CleanInput<'_>],
    path: &Path,
    map: &OffsetMap,
) -> Result<(u64, u64)> {
    let file = std::fs::File::create(path).map_err(|e| Error::io("create", path, e))?;
    let mut out = BufWriter::with_capacity(READ_CHUNK, file);
    let mut written = 0u64;
    let mut removed = 0u64;
    let mut pending: Option<(RecordBatch, Vec<DecodedRecord>)> = None;
    let mut emit = |batch: &RecordBatch, kept: &[DecodedRecord], last: bool| -> Result<()> {
        let header = batch.header();
        let count = usize::try_from(header.record_count).unwrap_or(0);
        removed += (count - kept.len().min(count)) as u64;
        let bytes = if kept.len() == count {
            batch.bytes().clone()
        } else if kept.is_empty() && !last && !map.is_producers_newest(header) {
            return Ok(());
        } else {
            rebuild_batch(header, kept).freeze()
        };
        out.write_all(&bytes)
            .map_err(|e| Error::io("write", path, e))?;
        written += bytes.len() as u64;
        Ok(())
    };
    for input in group {
        let segment = input.segment;
        for_each_batch(segment, input.size, |batch| {
            let mut kept = Vec::new();
            for record in batch.records() {
                let record = record.map_err(|kind| corrupt(segment, 0, kind))?;
                if map.keeps(&record, input.tombstones_expired) {
                    kept.push(record);
                }
            }
            if let Some((previous, previous_kept)) = pending.replace((batch, kept)) {
                emit(&previous, &previous_kept, false)?;
            }
            Ok(())
        })?;
    }
    if let Some((last, kept)) = pending.take() {
        emit(&last, &kept, true)?;
    }
    let file = out
        .into_inner()
        .map_err(|e| Error::io("write", path, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("fsync", path, e))?;
    Ok((written, removed))
}

/// Calls `visit` with every batch of the first `end` bytes of `segment`,
/// reading a chunk at a time.
pub(super) fn for_each_batch(
    segment: &Segment,
    end: u64,
    mut visit: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut position = 0u64;
    while position < end {
        let want = usize::try_from(end - position)
            .unwrap_or(usize::MAX)
            .min(READ_CHUNK);
        let mut buf = vec![0u8; want];
        let got = segment.read_at(&mut buf, position)?;
        buf.truncate(got);
        let first = BatchHeader::parse(&buf).map_err(|kind| corrupt(segment, position, kind))?;
        if first.size() > buf.len() {
            // One batch larger than a chunk: read it whole.
            buf.resize(first.size(), 0);
            let got = segment.read_at(&mut buf, position)?;
            if got < first.size() {
                return Err(corrupt(segment, position, CorruptionKind::Truncated));
            }
        }
        let chunk = Bytes::from(buf);
        let mut at = 0usize;
        while let Some(rest) = chunk.get(at..).filter(|r| r.len() >= HEADER_LEN) {
            let header = BatchHeader::parse(rest).map_err(|k| corrupt(segment, position, k))?;
            if header.size() > rest.len() {
                break;
            }
            let bytes = chunk.slice(at..at + header.size());
            let batch = RecordBatch::new(bytes).map_err(|k| corrupt(segment, position, k))?;
            visit(batch)?;
            at += header.size();
            position += header.size() as u64;
        }
        if at == 0 {
            return Err(corrupt(segment, position, CorruptionKind::Truncated));
        }
    }
    Ok(())
}

pub(super) fn corrupt(segment: &Segment, position: u64, kind: CorruptionKind) -> Error {
    Error::Corrupt {
        path: segment.log_path().to_path_buf(),
        position,
        kind,
    }
}
