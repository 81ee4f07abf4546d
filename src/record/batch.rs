//! The record batch: Kafka's v2 layout.
//!
//! Header (61 bytes, big-endian): base offset i64 @0, batch length i32 @8
//! (bytes after this field), partition leader epoch i32 @12, magic i8 @16 (=2),
//! CRC u32 @17 (CRC-32C, Castagnoli, over bytes 21..end), attributes i16 @21
//! (bits 0-2 compression = 0, bit 3 timestamp type), last offset delta i32 @23,
//! first timestamp i64 @27, max timestamp i64 @35, producer id i64 @43,
//! producer epoch i16 @51, base sequence i32 @53, record count i32 @57; then
//! the records.
//!
//! The CRC starts after the leader epoch and CRC fields, so a leader stamps the
//! base offset and its epoch into a finished batch without recomputing it.
//!
//! When the codec bits name a codec, everything after the header is the
//! records compressed as one unit (see [`super::compression`]); decoding
//! decompresses transparently, within a bounded size.
//!
//! The bytes are Kafka's: a batch a Kafka client built verifies here, and a
//! batch tidelog built verifies in any Kafka client. One difference in what
//! is accepted: a null header value decodes as an empty value, since
//! [`Header`] holds plain bytes.

use bytes::Bytes;

use super::codec::Cursor;
use super::compression::{decompress, decompressed_cap, Compression};
use super::spans::{decode_spans, Span};
use super::types::Header;
use crate::error::CorruptionKind;
use crate::record::TimestampType;

/// Size of the fixed batch header.
pub(crate) const HEADER_LEN: usize = 61;
/// The only batch format version tidelog writes and reads.
pub(crate) const MAGIC: u8 = 2;
/// Bytes before the batch length field ends: base offset + batch length.
pub(crate) const LOG_OVERHEAD: usize = 12;

const LEADER_EPOCH_AT: usize = 12;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const MAX_TIMESTAMP_AT: usize = 35;
const PRODUCER_ID_AT: usize = 43;
/// Attribute bit 3: the timestamps are the broker's append time.
const LOG_APPEND_TIME_FLAG: i16 = 0x08;

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
        let mut cursor = Cursor::new(buf);
        let base_offset = cursor.i64()?;
        let batch_length = cursor.i32()?;
        let leader_epoch = cursor.i32()?;
        let magic = cursor.i8()? as u8;
        if magic != MAGIC {
            return Err(CorruptionKind::BadMagic(magic));
        }
        if (batch_length as i64) < (HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(CorruptionKind::BadLength(i64::from(batch_length)));
        }
        let header = BatchHeader {
            base_offset,
            batch_length,
            leader_epoch,
            magic,
            crc: cursor.u32()?,
            attributes: cursor.i16()?,
            last_offset_delta: cursor.i32()?,
            first_timestamp: cursor.i64()?,
            max_timestamp: cursor.i64()?,
            producer_id: cursor.i64()?,
            producer_epoch: cursor.i16()?,
            base_sequence: cursor.i32()?,
            record_count: cursor.i32()?,
        };
        header.check_fields()?;
        Ok(header)
    }

    fn check_fields(&self) -> Result<(), CorruptionKind> {
        if self.base_offset < 0 {
            return Err(CorruptionKind::Malformed("negative base offset"));
        }
        // A codec this build lacks is refused when the records are decoded,
        // not here: recovery must not truncate a log at a valid batch.
        Compression::from_attributes(self.attributes)?;
        if self.last_offset_delta < 0 || self.record_count < 0 {
            return Err(CorruptionKind::Malformed(
                "a batch must hold at least one record",
            ));
        }
        if self.record_count > self.last_offset_delta.saturating_add(1) {
            return Err(CorruptionKind::Malformed("more records than offsets"));
        }
        if self
            .base_offset
            .checked_add(i64::from(self.last_offset_delta))
            .is_none()
        {
            return Err(CorruptionKind::Malformed("last offset overflows"));
        }
        Ok(())
    }

    /// Whole batch size in bytes (batch_length + 12).
    pub(crate) fn size(&self) -> usize {
        // `parse` guarantees a non-negative length.
        usize::try_from(self.batch_length).unwrap_or(0) + LOG_OVERHEAD
    }

    /// base_offset + last_offset_delta.
    pub(crate) fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// The codec of the records (attribute bits 0-2; `parse` checked them).
    pub(crate) fn compression(&self) -> Compression {
        Compression::from_attributes(self.attributes).unwrap_or_default()
    }

    pub(crate) fn timestamp_type(&self) -> TimestampType {
        if self.attributes & LOG_APPEND_TIME_FLAG != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
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

/// The CRC a batch should carry: CRC-32C (Kafka's checksum) over everything
/// after the CRC field.
pub(crate) fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(batch.get(ATTRIBUTES_AT..).unwrap_or_default())
}

/// Parses the header, checks the buffer holds the whole batch, and checks the CRC.
pub(crate) fn verify(batch: &[u8]) -> Result<BatchHeader, CorruptionKind> {
    let header = BatchHeader::parse(batch)?;
    let whole = batch
        .get(..header.size())
        .ok_or(CorruptionKind::Truncated)?;
    let actual = compute_crc(whole);
    if actual != header.crc {
        return Err(CorruptionKind::ChecksumMismatch {
            expected: header.crc,
            actual,
        });
    }
    Ok(header)
}

fn put_at(batch: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = batch.get_mut(at..at + bytes.len()) {
        slot.copy_from_slice(bytes);
    }
}

/// Writes the base offset in place (outside the CRC).
pub(crate) fn stamp_base_offset(batch: &mut [u8], base_offset: i64) {
    put_at(batch, 0, &base_offset.to_be_bytes());
}

/// Writes the partition leader epoch in place (outside the CRC).
pub(crate) fn stamp_leader_epoch(batch: &mut [u8], epoch: i32) {
    put_at(batch, LEADER_EPOCH_AT, &epoch.to_be_bytes());
}

/// Sets the LogAppendTime attribute and max timestamp, then recomputes the CRC.
pub(crate) fn stamp_log_append_time(batch: &mut [u8], timestamp: i64) {
    let Ok(header) = BatchHeader::parse(batch) else {
        return;
    };
    let attributes = header.attributes | LOG_APPEND_TIME_FLAG;
    put_at(batch, ATTRIBUTES_AT, &attributes.to_be_bytes());
    put_at(batch, MAX_TIMESTAMP_AT, &timestamp.to_be_bytes());
    let crc = compute_crc(batch.get(..header.size()).unwrap_or_default());
    put_at(batch, CRC_AT, &crc.to_be_bytes());
}

/// Rewrites the producer id, epoch and base sequence (a producer that had
/// to take a new identity after a lost batch), then recomputes the CRC.
pub(crate) fn stamp_producer(batch: &mut [u8], stamp: ProducerStamp) {
    let Ok(header) = BatchHeader::parse(batch) else {
        return;
    };
    put_at(batch, PRODUCER_ID_AT, &stamp.producer_id.to_be_bytes());
    put_at(
        batch,
        PRODUCER_ID_AT + 8,
        &stamp.producer_epoch.to_be_bytes(),
    );
    put_at(
        batch,
        PRODUCER_ID_AT + 10,
        &stamp.base_sequence.to_be_bytes(),
    );
    let crc = compute_crc(batch.get(..header.size()).unwrap_or_default());
    put_at(batch, CRC_AT, &crc.to_be_bytes());
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
        let header = verify(&data)?;
        if data.len() != header.size() {
            return Err(CorruptionKind::Malformed(
                "bytes after the end of the batch",
            ));
        }
        Ok(RecordBatch { header, data })
    }

    pub(crate) fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// Decodes the records lazily, decompressing them first if the batch is
    /// compressed; a malformed record yields an error and ends the iteration.
    pub(crate) fn records(
        &self,
    ) -> impl Iterator<Item = Result<DecodedRecord, CorruptionKind>> + '_ {
        let (body, pending) = match self.record_bytes() {
            Ok(body) => (body, None),
            Err(kind) => (Bytes::new(), Some(kind)),
        };
        RecordIter {
            header: &self.header,
            body,
            pos: 0,
            left: self.header.record_count,
            pending,
            done: false,
        }
    }

    /// The whole batch, header included, as stored.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.data
    }

    /// The encoded records: a slice of the batch, or their decompressed copy.
    pub(crate) fn record_bytes(&self) -> Result<Bytes, CorruptionKind> {
        let compressed = self.data.slice(HEADER_LEN.min(self.data.len())..);
        match self.header.compression() {
            Compression::None => Ok(compressed),
            codec => {
                let cap = decompressed_cap(self.header.record_count)?;
                decompress(codec, &compressed, cap).map(Bytes::from)
            }
        }
    }
}

/// Walks the records of one batch.
struct RecordIter<'a> {
    header: &'a BatchHeader,
    body: Bytes,
    pos: usize,
    left: i32,
    /// A decompression failure, reported as the first item.
    pending: Option<CorruptionKind>,
    done: bool,
}

impl Iterator for RecordIter<'_> {
    type Item = Result<DecodedRecord, CorruptionKind>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(kind) = self.pending.take() {
            self.done = true;
            return Some(Err(kind));
        }
        if self.left == 0 {
            self.done = true;
            if self.pos != self.body.len() {
                return Some(Err(CorruptionKind::Malformed(
                    "bytes after the last record",
                )));
            }
            return None;
        }
        self.left -= 1;
        let result = decode_record(self.header, &self.body, &mut self.pos);
        if result.is_err() {
            self.done = true;
        }
        Some(result)
    }
}

/// Decodes the record at `*pos` of the records `data`, advancing past it.
fn decode_record(
    header: &BatchHeader,
    data: &Bytes,
    pos: &mut usize,
) -> Result<DecodedRecord, CorruptionKind> {
    let spans = decode_spans(data, pos, header.last_offset_delta)?;
    let timestamp = match header.timestamp_type() {
        TimestampType::LogAppendTime => header.max_timestamp,
        TimestampType::CreateTime => header.first_timestamp.wrapping_add(spans.timestamp_delta),
    };
    let slice = |span: Span| span.get(data).map(|bytes| data.slice_ref(bytes));
    let mut headers = Vec::with_capacity(spans.headers.count as usize);
    for header in spans.headers.iter(data) {
        let (name, value) = header?;
        let value = value.map(|bytes| data.slice_ref(bytes)).unwrap_or_default();
        headers.push(Header::new(name, value));
    }
    Ok(DecodedRecord {
        offset: header.base_offset + i64::from(spans.offset_delta),
        timestamp,
        key: slice(spans.key),
        value: slice(spans.value),
        headers,
    })
}

/// Iterates the complete, verified batches of a chunk read from a log.
///
/// A damaged or incomplete batch yields one error and ends the iteration.
pub(crate) struct BatchIter {
    chunk: Bytes,
    pos: usize,
    done: bool,
}

impl BatchIter {
    pub(crate) fn new(chunk: Bytes) -> Self {
        BatchIter {
            chunk,
            pos: 0,
            done: false,
        }
    }

    /// Byte position of the next batch inside the chunk.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}

impl Iterator for BatchIter {
    type Item = Result<RecordBatch, CorruptionKind>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.chunk.len() {
            return None;
        }
        let rest = self.chunk.get(self.pos..).unwrap_or_default();
        match verify(rest) {
            Ok(header) => {
                let end = self.pos + header.size();
                let data = self.chunk.slice(self.pos..end);
                self.pos = end;
                Some(Ok(RecordBatch { header, data }))
            }
            Err(kind) => {
                self.done = true;
                Some(Err(kind))
            }
        }
    }
}

#[cfg(test)]
mod crc_tests {
    use super::*;

    /// Kafka's `Crc32C` check value: CRC-32C of the ASCII digits 1 to 9.
    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    /// A batch kcat (librdkafka 2.0.2) built for one record, key "k", value
    /// "v", as a tidelog leader stored it: only the base offset and the
    /// leader epoch (1) were stamped, both outside the CRC.
    const KCAT_BATCH: &str = "00000000000000000000003a0000000102809e3a840000000000000000\
        01a23ca0f22f000001a23ca0f22fffffffffffffffffffffffffffff0000000110000000026b027600";

    fn unhex(hex: &str) -> Vec<u8> {
        let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn a_batch_built_by_a_kafka_client_verifies() {
        let bytes = unhex(KCAT_BATCH);
        let batch = RecordBatch::new(Bytes::from(bytes.clone())).unwrap();
        assert_eq!(batch.header().crc, 0x809E_3A84);
        assert_eq!(compute_crc(&bytes), 0x809E_3A84);
        let records: Vec<_> = batch.records().map(|r| r.unwrap()).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(records[0].value.as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn a_flipped_bit_in_a_kafka_batch_fails_its_crc() {
        let mut bytes = unhex(KCAT_BATCH);
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        assert!(matches!(
            verify(&bytes),
            Err(CorruptionKind::ChecksumMismatch { .. })
        ));
    }
}
