//! Fetched bytes of one partition that the consumer has not returned yet.
//!
//! A fetch returns a chunk of whole batches; the buffer keeps the chunk and
//! decodes one batch at a time as polls ask for records, so a small
//! `max.poll.records` neither refetches nor re-decodes. Records slice the
//! chunk (`Bytes`), they are not copied.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{CorruptionKind, Error, Result};
use crate::record::TimestampType;
use crate::record::{BatchIter, ConsumerRecord, RecordBatch};

#[derive(Default)]
pub(crate) struct FetchBuffer {
    /// Batches of the fetched chunk not decoded yet.
    batches: Option<BatchIter>,
    /// Decoded records of the current batch not returned yet.
    decoded: VecDeque<ConsumerRecord>,
    /// Last offset of the batch `decoded` came from: once those records
    /// are returned the position moves past the whole batch.
    batch_last_offset: Option<u64>,
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
        self.decoded.clear();
        self.batch_last_offset = None;
    }

    /// Nothing left: the next records need a fetch.
    pub(crate) fn is_empty(&self) -> bool {
        self.batches.is_none() && self.decoded.is_empty()
    }

    /// Moves records at or after the position into `out` until it holds
    /// `max`, advancing the position past each one.
    pub(crate) fn drain_into(
        &mut self,
        out: &mut Vec<ConsumerRecord>,
        max: usize,
        cursor: &mut Cursor<'_>,
    ) -> Result<()> {
        while out.len() < max {
            if let Some(record) = self.decoded.pop_front() {
                *cursor.position = record.offset + 1;
                out.push(record);
                continue;
            }
            if let Some(last) = self.batch_last_offset.take() {
                *cursor.position = (*cursor.position).max(last + 1);
            }
            let Some(batches) = self.batches.as_mut() else {
                return Ok(());
            };
            match batches.next() {
                None => self.batches = None,
                Some(Err(kind)) => {
                    self.batches = None;
                    return Err(corrupt(cursor, kind));
                }
                Some(Ok(batch)) => self.decode(&batch, out, max, cursor)?,
            }
        }
        Ok(())
    }

    /// Decodes one batch: records below the position are skipped (a fetch
    /// starts at the batch holding the position), the rest go to `out`
    /// while it has room and are kept otherwise.
    fn decode(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<ConsumerRecord>,
        max: usize,
        cursor: &mut Cursor<'_>,
    ) -> Result<()> {
        let header = *batch.header();
        let last_offset = u64::try_from(header.last_offset()).unwrap_or(0);
        if last_offset < *cursor.position {
            return Ok(());
        }
        let log_append_time = (header.timestamp_type() == TimestampType::LogAppendTime)
            .then_some(header.max_timestamp);
        for decoded in batch.records() {
            let decoded = match decoded {
                Ok(decoded) => decoded,
                Err(kind) => {
                    // The rest of this chunk is not trusted: the next poll
                    // fetches again from the first record not returned.
                    self.batches = None;
                    return Err(corrupt(cursor, kind));
                }
            };
            let Ok(offset) = u64::try_from(decoded.offset) else {
                continue;
            };
            if offset < *cursor.position {
                continue;
            }
            let record = ConsumerRecord {
                topic: Arc::clone(cursor.topic),
                partition: cursor.partition,
                offset,
                timestamp: log_append_time.unwrap_or(decoded.timestamp),
                key: decoded.key,
                value: decoded.value,
                headers: decoded.headers,
                timestamp_type: header.timestamp_type(),
                leader_epoch: header.leader_epoch,
            };
            if out.len() < max && self.decoded.is_empty() {
                *cursor.position = offset + 1;
                out.push(record);
            } else {
                self.decoded.push_back(record);
            }
        }
        if self.decoded.is_empty() {
            *cursor.position = (*cursor.position).max(last_offset + 1);
        } else {
            self.batch_last_offset = Some(last_offset);
        }
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
        let mut out = Vec::new();
        buffer.drain_into(&mut out, max, &mut cursor).unwrap();
        out.iter().map(|r| r.offset).collect()
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
        let result = buffer.drain_into(&mut Vec::new(), 10, &mut cursor);
        assert!(matches!(result, Err(Error::Corrupt { .. })));
    }
}
