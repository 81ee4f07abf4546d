//! The record batch: Kafka's v2 layout (API CONTRACT STUB — implementation pending).
//!
//! Header (61 bytes, big-endian): base offset i64 @0, batch length i32 @8
//! (bytes after this field), partition leader epoch i32 @12, magic i8 @16 (=2),
//! CRC-32C... u32 @17 (crc32fast's CRC-32 over bytes 21..end), attributes i16 @21
//! (bits 0-2 compression = 0, bit 3 timestamp type), last offset delta i32 @23,
//! first timestamp i64 @27, max timestamp i64 @35, producer id i64 @43,
//! producer epoch i16 @51, base sequence i32 @53, record count i32 @57; then
//! the records.
#![allow(dead_code, unused_variables, clippy::todo)]

use bytes::{Bytes, BytesMut};

use super::types::Header;
use crate::config::TimestampType;
use crate::error::CorruptionKind;

/// Size of the fixed batch header.
pub(crate) const HEADER_LEN: usize = 61;
/// The only batch format version tidelog writes and reads.
pub(crate) const MAGIC: u8 = 2;

/// The decoded fixed header of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub(crate) base_offset: i64,
    pub(crate) batch_length: i32,
    pub(crate) leader_epoch: i32,
    pub(crate) magic: u8,
    pub(crate) crc: u32,
    pub(crate) attributes: i16,
    pub(crate) last_offset_delta: i32,
    pub(crate) first_timestamp: i64,
    pub(crate) max_timestamp: i64,
    pub(crate) producer_id: i64,
    pub(crate) producer_epoch: i16,
    pub(crate) base_sequence: i32,
    pub(crate) record_count: i32,
}

impl BatchHeader {
    /// Parses the first `HEADER_LEN` bytes; checks magic and that the length
    /// field is sane. Does not check the CRC.
    pub(crate) fn parse(buf: &[u8]) -> Result<BatchHeader, CorruptionKind> {
        todo!()
    }
    /// Whole batch size in bytes (batch_length + 12).
    pub(crate) fn size(&self) -> usize {
        todo!()
    }
    /// base_offset + last_offset_delta.
    pub(crate) fn last_offset(&self) -> i64 {
        todo!()
    }
    pub(crate) fn timestamp_type(&self) -> TimestampType {
        todo!()
    }
}

/// Producer identity stamped into a batch (for idempotence); `-1`s when none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProducerStamp {
    pub(crate) producer_id: i64,
    pub(crate) producer_epoch: i16,
    pub(crate) base_sequence: i32,
}

impl ProducerStamp {
    pub(crate) const NONE: ProducerStamp = ProducerStamp {
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
    };
}

/// Parses the header, checks the buffer holds the whole batch, and checks the CRC.
pub(crate) fn verify(batch: &[u8]) -> Result<BatchHeader, CorruptionKind> {
    todo!()
}
/// Writes the base offset in place (outside the CRC).
pub(crate) fn stamp_base_offset(batch: &mut [u8], base_offset: i64) {
    todo!()
}
/// Writes the partition leader epoch in place (outside the CRC).
pub(crate) fn stamp_leader_epoch(batch: &mut [u8], epoch: i32) {
    todo!()
}
/// Sets the LogAppendTime attribute and max timestamp, then recomputes the CRC.
pub(crate) fn stamp_log_append_time(batch: &mut [u8], timestamp: i64) {
    todo!()
}

/// Encodes records into one batch in the caller's thread.
pub(crate) struct BatchBuilder {}

impl BatchBuilder {
    /// An empty batch with room for `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Self {
        todo!()
    }
    /// Upper bound of the encoded size of one record.
    pub(crate) fn record_size_bound(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> usize {
        todo!()
    }
    /// Appends one record; returns its offset delta.
    pub(crate) fn push(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> u32 {
        todo!()
    }
    /// Encoded size so far, header included.
    pub(crate) fn size_in_bytes(&self) -> usize {
        todo!()
    }
    pub(crate) fn record_count(&self) -> u32 {
        todo!()
    }
    /// Fills in the header and CRC; base offset 0 and leader epoch -1 until a leader stamps them.
    pub(crate) fn finish(self, stamp: ProducerStamp) -> BytesMut {
        todo!()
    }
}

/// One record as decoded from a batch; payloads slice the batch buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodedRecord {
    pub(crate) offset: i64,
    pub(crate) timestamp: i64,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Vec<Header>,
}

/// A verified batch over a shared buffer.
#[derive(Debug, Clone)]
pub(crate) struct RecordBatch {
    header: BatchHeader,
    data: Bytes,
}

impl RecordBatch {
    /// Verifies (header, length, CRC) and wraps exactly one batch.
    pub(crate) fn new(data: Bytes) -> Result<RecordBatch, CorruptionKind> {
        todo!()
    }
    pub(crate) fn header(&self) -> &BatchHeader {
        &self.header
    }
    /// Decodes the records lazily; a malformed record yields an error and ends the iteration.
    pub(crate) fn records(
        &self,
    ) -> impl Iterator<Item = Result<DecodedRecord, CorruptionKind>> + '_ {
        std::iter::empty()
    }
}

/// Iterates the complete, verified batches of a chunk read from a log.
pub(crate) struct BatchIter {}

impl BatchIter {
    pub(crate) fn new(chunk: Bytes) -> Self {
        todo!()
    }
}

impl Iterator for BatchIter {
    type Item = Result<RecordBatch, CorruptionKind>;
    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}
