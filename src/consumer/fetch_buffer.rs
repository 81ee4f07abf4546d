//! Fetched bytes of one partition that the consumer has not returned yet.
//!
//! A fetch returns a chunk of whole batches; the buffer keeps the chunk and
//! decodes records one at a time, only as polls ask for them, so a small
//! `max.poll.records` neither refetches nor decodes ahead. Each record is
//! decoded into its place in the batch's bytes (see `lent`): nothing is
//! copied, and a compressed batch is decompressed once, when first opened.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::lent::{Lent, LentBatch, LentRecord};
use crate::error::{CorruptionKind, Error, Result};
use crate::record::{decode_spans, BatchHeader, BatchIter, RecordBatch, TimestampType};

#[derive(Default)]
pub(crate) struct FetchBuffer {
    /// Batches of the fetched chunk not opened yet.
    batches: Option<BatchIter>,
    /// The batch records are being taken from.
    open: Option<OpenBatch>,
}

/// A batch whose records are being returned.
struct OpenBatch {
    header: BatchHeader,
    /// The record bytes, decompressed if the batch was compressed.
    body: Bytes,
    /// Where the next record starts in `body`.
    pos: usize,
    /// Records not decoded yet.
    left: i32,
    /// Index of this batch in the poll's `Lent`, once it lent a record in
    /// the current drain.
    lent_as: Option<u32>,
}

/// Which partition the records belong to, and where the consumer stands.
pub(crate) struct Cursor<'a> {
    pub(crate) topic: &'a Arc<str>,
    pub(crate) partition: u32,
    pub(crate) position: &'a mut u64,
}

impl FetchBuffer {
    pub(crate) fn fill(&mut self, chunk: Bytes) {
        self.clear();
        self.batches = Some(BatchIter::new(chunk));
    }

    pub(crate) fn clear(&mut self) {
        self.batches = None;
        self.open = None;
    }

    /// Nothing left: the next records need a fetch.
    pub(crate) fn is_empty(&self) -> bool {
        self.batches.is_none() && self.open.is_none()
    }

    /// Lends records at or after the position to `out` until it holds
    /// `max`, advancing the position past each one, and past a whole batch
    /// once its last record is out.
    pub(crate) fn drain_into(
        &mut self,
        out: &mut Lent,
        max: usize,
        cursor: &mut Cursor<'_>,
    ) -> Result<()> {
        if let Some(open) = self.open.as_mut() {
            // Lent indexes belong to the poll that took them.
            open.lent_as = None;
        }
        while out.len() < max {
            let Some(open) = self.open.as_mut() else {
                if !self.open_next(cursor)? {
                    return Ok(());
                }
                continue;
            };
            if open.left > 0 {
                if let Err(kind) = open.lend(out, max, cursor.position) {
                    // The rest of this chunk is not trusted: the next poll
                    // fetches again from the first record not returned.
                    self.clear();
                    return Err(corrupt(cursor, kind));
                }
            }
            if open.left == 0 {
                let finished = open.finish(cursor.position);
                self.open = None;
                if let Err(kind) = finished {
                    self.batches = None;
                    return Err(corrupt(cursor, kind));
                }
            }
        }
        Ok(())
    }

    /// Opens the next batch that holds records at or after the position
    /// (a fetch starts at the batch holding it); `false` when none is left.
    fn open_next(&mut self, cursor: &mut Cursor<'_>) -> Result<bool> {
        loop {
            let Some(batches) = self.batches.as_mut() else {
                return Ok(false);
            };
            let batch = match batches.next() {
                None => {
                    self.batches = None;
                    return Ok(false);
                }
                Some(Err(kind)) => {
                    self.batches = None;
                    return Err(corrupt(cursor, kind));
                }
                Some(Ok(batch)) => batch,
            };
            let last_offset = u64::try_from(batch.header().last_offset()).unwrap_or(0);
            if last_offset < *cursor.position {
                continue;
            }
            match OpenBatch::new(&batch) {
                Ok(open) => {
                    self.open = Some(open);
                    return Ok(true);
                }
                Err(kind) => {
                    self.batches = None;
                    return Err(corrupt(cursor, kind));
                }
            }
        }
    }
}

impl OpenBatch {
    fn new(batch: &RecordBatch) -> std::result::Result<OpenBatch, CorruptionKind> {
        let header = *batch.header();
        Ok(OpenBatch {
            header,
            body: batch.record_bytes()?,
            pos: 0,
            left: header.record_count,
            lent_as: None,
        })
    }

    /// Decodes records and lends each one at or after the position to
    /// `out`, until `out` holds `max` or the batch has no records left.
    ///
    /// This loop is a poll's cost per record, so the batch's fields and
    /// the cursor live in locals for its length instead of being reloaded
    /// through `self` on every record.
    fn lend(
        &mut self,
        out: &mut Lent,
        max: usize,
        position: &mut u64,
    ) -> std::result::Result<(), CorruptionKind> {
        let header = self.header;
        // `parse` checked the base offset is not negative.
        let base_offset = header.base_offset as u64;
        let log_append_time = header.timestamp_type() == TimestampType::LogAppendTime;
        let body: &[u8] = &self.body;
        let mut pos = self.pos;
        let mut left = self.left;
        let mut next = *position;
        let mut lent_as = self.lent_as;
        let mut room = max.saturating_sub(out.len());
        out.records
            .reserve(room.min(usize::try_from(left).unwrap_or(0)));
        let result = loop {
            if left <= 0 || room == 0 {
                break Ok(());
            }
            let spans = match decode_spans(body, &mut pos, header.last_offset_delta) {
                Ok(spans) => spans,
                Err(kind) => break Err(kind),
            };
            left -= 1;
            let offset = base_offset + spans.offset_delta as u64;
            if offset < next {
                continue;
            }
            let batch = match lent_as {
                Some(index) => index,
                None => {
                    let index = out.push_batch(LentBatch {
                        body: self.body.clone(),
                        timestamp_type: header.timestamp_type(),
                        leader_epoch: header.leader_epoch,
                    });
                    lent_as = Some(index);
                    index
                }
            };
            let timestamp = if log_append_time {
                header.max_timestamp
            } else {
                header.first_timestamp.wrapping_add(spans.timestamp_delta)
            };
            out.push(LentRecord {
                batch,
                offset,
                timestamp,
                key: spans.key,
                value: spans.value,
                headers: spans.headers,
            });
            next = offset + 1;
            room -= 1;
        };
        // Records lent before an error stay lent: the position is past them.
        self.pos = pos;
        self.left = left;
        self.lent_as = lent_as;
        *position = next;
        result
    }

    /// After the last record: checks nothing follows it and moves the
    /// position past the batch (its last offsets may have been compacted
    /// away).
    fn finish(&self, position: &mut u64) -> std::result::Result<(), CorruptionKind> {
        if self.pos != self.body.len() {
            return Err(CorruptionKind::Malformed("bytes after the last record"));
        }
        let last_offset = u64::try_from(self.header.last_offset()).unwrap_or(0);
        *position = (*position).max(last_offset + 1);
        Ok(())
    }
}

fn corrupt(cursor: &Cursor<'_>, kind: CorruptionKind) -> Error {
    Error::Corrupt {
        path: PathBuf::from(format!("{}-{}", cursor.topic, cursor.partition)),
        position: *cursor.position,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{stamp_base_offset, BatchBuilder, ProducerStamp};

    /// A chunk of batches of `sizes` records each, offsets from `base`.
    fn chunk(base: u64, sizes: &[u32]) -> Bytes {
        let mut out = Vec::new();
        let mut offset = base;
        for &size in sizes {
            let mut builder = BatchBuilder::new(1024);
            for i in 0..size {
                let value = format!("{}", offset + u64::from(i));
                builder.push(0, None, Some(value.as_bytes()), &[]);
            }
            let mut batch = builder.finish(ProducerStamp::NONE);
            stamp_base_offset(&mut batch, offset as i64);
            out.extend_from_slice(&batch);
            offset += u64::from(size);
        }
        Bytes::from(out)
    }

    fn drain(buffer: &mut FetchBuffer, position: &mut u64, max: usize) -> Vec<u64> {
        let topic: Arc<str> = Arc::from("t");
        let mut cursor = Cursor {
            topic: &topic,
            partition: 0,
            position,
        };
        let mut out = Lent::default();
        buffer.drain_into(&mut out, max, &mut cursor).unwrap();
        out.records.iter().map(|r| r.offset).collect()
    }

    #[test]
    fn records_below_the_position_in_the_first_batch_are_skipped() {
        let mut buffer = FetchBuffer::default();
        buffer.fill(chunk(10, &[5, 5]));
        let mut position = 12;
        assert_eq!(
            drain(&mut buffer, &mut position, 100),
            (12..20).collect::<Vec<_>>()
        );
        assert_eq!(position, 20);
        assert!(buffer.is_empty());
    }

    #[test]
    fn a_partial_drain_keeps_the_rest_without_refetching() {
        let mut buffer = FetchBuffer::default();
        buffer.fill(chunk(0, &[4, 4, 4]));
        let mut position = 0;
        assert_eq!(drain(&mut buffer, &mut position, 3), vec![0, 1, 2]);
        assert_eq!(position, 3);
        assert!(!buffer.is_empty());
        assert_eq!(drain(&mut buffer, &mut position, 3), vec![3, 4, 5]);
        assert_eq!(
            drain(&mut buffer, &mut position, 100),
            (6..12).collect::<Vec<_>>()
        );
        assert_eq!(position, 12);
        assert_eq!(drain(&mut buffer, &mut position, 100), Vec::<u64>::new());
        assert!(buffer.is_empty());
    }

    #[test]
    fn damaged_bytes_are_a_corruption_error_not_a_panic() {
        let mut bytes = chunk(0, &[3]).to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let mut buffer = FetchBuffer::default();
        buffer.fill(Bytes::from(bytes));
        let topic: Arc<str> = Arc::from("t");
        let mut position = 0;
        let mut cursor = Cursor {
            topic: &topic,
            partition: 0,
            position: &mut position,
        };
        let result = buffer.drain_into(&mut Lent::default(), 10, &mut cursor);
        assert!(matches!(result, Err(Error::Corrupt { .. })));
    }
}
