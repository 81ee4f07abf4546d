//! Encoding records into a v2 batch, in the caller's thread.
//!
//! One growing `BytesMut` holds the whole batch; each record's length is
//! computed before its bytes are written, so no record needs a buffer of its
//! own. A compressing builder compresses the records as one unit when the
//! batch is finished.

use bytes::{BufMut, BytesMut};

use super::batch::{compute_crc, BatchHeader, ProducerStamp, HEADER_LEN, LOG_OVERHEAD, MAGIC};
use super::codec::{varint_len, varlong_len};
use super::compression::{compress, Compression};
use super::types::Header;

/// Kafka's "no timestamp" value, used for the first timestamp of an empty batch.
const NO_TIMESTAMP: i64 = -1;

/// Encodes records into one batch in the caller's thread.
#[derive(Debug)]
pub(crate) struct BatchBuilder {
    buf: BytesMut,
    first_timestamp: i64,
    max_timestamp: i64,
    count: u32,
    compression: Compression,
}

/// Length of a byte string as Kafka encodes it: -1 for null.
///
/// Lengths are bounded by the producer's size limits long before `i32::MAX`;
/// saturating keeps the arithmetic panic-free regardless.
#[inline]
fn wire_len(bytes: Option<&[u8]>) -> i32 {
    bytes.map_or(-1, |b| i32::try_from(b.len()).unwrap_or(i32::MAX))
}

#[inline]
fn nullable_size(bytes: Option<&[u8]>) -> usize {
    varint_len(wire_len(bytes)) + bytes.map_or(0, <[u8]>::len)
}

impl BatchBuilder {
    /// An empty batch with room for `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Self {
        let mut buf = BytesMut::with_capacity(capacity.max(HEADER_LEN));
        buf.put_bytes(0, HEADER_LEN);
        BatchBuilder {
            buf,
            first_timestamp: NO_TIMESTAMP,
            max_timestamp: NO_TIMESTAMP,
            count: 0,
            compression: Compression::None,
        }
    }

    /// Compresses the records with `compression` when the batch is finished.
    #[must_use]
    pub(crate) fn compressed(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Upper bound of the encoded size of one record.
    pub(crate) fn record_size_bound(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> usize {
        RECORD_FIXED_BOUND + fields_size(key, value, headers)
    }

    /// Appends one record; returns its offset delta.
    pub(crate) fn push(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> u32 {
        let fields = fields_size(key, value, headers);
        self.push_sized(timestamp, key, value, headers, fields)
    }

    /// As [`push`](Self::push), with `fields` the record's
    /// [`fields_size`] computed once by the caller (who also needed it for
    /// the size bound), so the record's sizes are worked out only once.
    pub(crate) fn push_sized(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        fields: usize,
    ) -> u32 {
        let offset_delta = self.count;
        if self.count == 0 {
            self.first_timestamp = timestamp;
            self.max_timestamp = timestamp;
        } else if timestamp > self.max_timestamp {
            self.max_timestamp = timestamp;
        }
        let timestamp_delta = timestamp.wrapping_sub(self.first_timestamp);
        let offset_delta_wire = i32::try_from(offset_delta).unwrap_or(i32::MAX);
        put_record_sized(
            &mut self.buf,
            offset_delta_wire,
            timestamp_delta,
            (key, value, headers),
            fields,
        );
        self.count += 1;
        offset_delta
    }

    /// Encoded size so far, header included (before any compression).
    pub(crate) fn size_in_bytes(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn record_count(&self) -> u32 {
        self.count
    }

    /// Fills in the header and CRC; base offset 0 and leader epoch -1 until a leader stamps them.
    ///
    /// A compressing builder replaces the records with their compressed form.
    /// Should the codec fail (it cannot on in-memory data, short of inputs
    /// far beyond any batch limit) the batch is stored uncompressed, which
    /// every reader accepts.
    pub(crate) fn finish(self, stamp: ProducerStamp) -> BytesMut {
        let BatchBuilder {
            mut buf,
            first_timestamp,
            max_timestamp,
            count,
            compression,
        } = self;
        let mut codec = Compression::None;
        if compression != Compression::None {
            if let Ok(packed) = compress(compression, buf.get(HEADER_LEN..).unwrap_or_default()) {
                buf.truncate(HEADER_LEN);
                buf.extend_from_slice(&packed);
                codec = compression;
            }
        }
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        let header = BatchHeader {
            base_offset: 0,
            batch_length: 0,
            leader_epoch: -1,
            magic: MAGIC,
            crc: 0,
            attributes: codec.id(),
            last_offset_delta: count - 1,
            first_timestamp,
            max_timestamp,
            producer_id: stamp.producer_id,
            producer_epoch: stamp.producer_epoch,
            base_sequence: stamp.base_sequence,
            record_count: count,
        };
        seal(&mut buf, &header);
        buf
    }
}

/// Appends one record with explicit offset and timestamp deltas.
#[inline]
pub(super) fn put_record(
    buf: &mut BytesMut,
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) {
    let fields = fields_size(key, value, headers);
    put_record_sized(
        buf,
        offset_delta,
        timestamp_delta,
        (key, value, headers),
        fields,
    );
}

/// Key, value and headers of one record, borrowed.
type Fields<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, &'a [Header]);

/// Encodes one record whose key, value and headers take `fields` bytes.
///
/// Space for the whole record is reserved once, so each varint byte is a
/// store and a length update; the byte strings are copied in one go each.
#[inline]
fn put_record_sized(
    buf: &mut BytesMut,
    offset_delta: i32,
    timestamp_delta: i64,
    (key, value, headers): Fields<'_>,
    fields: usize,
) {
    let body = 1 + varlong_len(timestamp_delta) + varint_len(offset_delta) + fields;
    let body_wire = i32::try_from(body).unwrap_or(i32::MAX);
    let total = body + varint_len(body_wire);
    buf.reserve(total);
    put_varint(buf, body_wire);
    buf.put_u8(0);
    put_varlong(buf, timestamp_delta);
    put_varint(buf, offset_delta);
    put_nullable(buf, key);
    put_nullable(buf, value);
    put_varint(buf, i32::try_from(headers.len()).unwrap_or(i32::MAX));
    for header in headers {
        put_nullable(buf, Some(header.name().as_bytes()));
        put_nullable(buf, Some(header.value()));
    }
}

#[inline]
fn put_nullable(buf: &mut BytesMut, bytes: Option<&[u8]>) {
    put_varint(buf, wire_len(bytes));
    if let Some(bytes) = bytes {
        buf.extend_from_slice(bytes);
    }
}

#[inline]
fn put_unsigned(buf: &mut BytesMut, mut raw: u64) {
    while raw >= 0x80 {
        buf.put_u8((raw as u8) | 0x80);
        raw >>= 7;
    }
    buf.put_u8(raw as u8);
}

#[inline]
fn put_varint(buf: &mut BytesMut, value: i32) {
    put_unsigned(buf, u64::from(((value << 1) ^ (value >> 31)) as u32));
}

#[inline]
fn put_varlong(buf: &mut BytesMut, value: i64) {
    put_unsigned(buf, ((value << 1) ^ (value >> 63)) as u64);
}

/// Writes `header` (its batch length taken from `buf`) over the first
/// `HEADER_LEN` bytes of `buf`, then the CRC over the rest.
pub(super) fn seal(buf: &mut BytesMut, header: &BatchHeader) {
    let batch_length = i32::try_from(buf.len() - LOG_OVERHEAD).unwrap_or(i32::MAX);
    let mut bytes = [0u8; HEADER_LEN];
    let mut out = &mut bytes[..];
    out.put_i64(header.base_offset);
    out.put_i32(batch_length);
    out.put_i32(header.leader_epoch);
    out.put_u8(MAGIC);
    out.put_u32(0);
    out.put_i16(header.attributes);
    out.put_i32(header.last_offset_delta);
    out.put_i64(header.first_timestamp);
    out.put_i64(header.max_timestamp);
    out.put_i64(header.producer_id);
    out.put_i16(header.producer_epoch);
    out.put_i32(header.base_sequence);
    out.put_i32(header.record_count);
    if let Some(slot) = buf.get_mut(..HEADER_LEN) {
        slot.copy_from_slice(&bytes);
    }
    let crc = compute_crc(buf);
    if let Some(slot) = buf.get_mut(17..21) {
        slot.copy_from_slice(&crc.to_be_bytes());
    }
}

/// Encoded size of a record's key, value and headers, their lengths
/// included: what a record takes beyond its fixed fields.
#[inline]
pub(crate) fn fields_size(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[Header]) -> usize {
    nullable_size(key) + nullable_size(value) + headers_size(headers)
}

/// Upper bound of a record's fixed fields: length (5), attributes (1),
/// timestamp delta (10), offset delta (5).
pub(crate) const RECORD_FIXED_BOUND: usize = 5 + 1 + 10 + 5;

#[inline]
fn headers_size(headers: &[Header]) -> usize {
    if headers.is_empty() {
        return 1;
    }
    let mut size = varint_len(i32::try_from(headers.len()).unwrap_or(i32::MAX));
    for header in headers {
        size += nullable_size(Some(header.name().as_bytes())) + nullable_size(Some(header.value()));
    }
    size
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::record::batch::{
        stamp_base_offset, stamp_leader_epoch, stamp_log_append_time, verify, BatchHeader,
        BatchIter, RecordBatch,
    };
    use crate::record::TimestampType;

    fn sample() -> BytesMut {
        let mut builder = BatchBuilder::new(256);
        builder.push(1_000, Some(b"k1"), Some(b"v1"), &[]);
        builder.push(
            999,
            None,
            None,
            &[Header::new("h", "x"), Header::new("e", "")],
        );
        builder.push(1_005, Some(b""), Some(&[7u8; 100]), &[]);
        assert_eq!(builder.record_count(), 3);
        builder.finish(ProducerStamp {
            producer_id: 9,
            producer_epoch: 1,
            base_sequence: 4,
        })
    }

    #[test]
    fn a_built_batch_decodes_to_the_same_records() {
        let batch = RecordBatch::new(sample().freeze()).unwrap();
        let header = *batch.header();
        assert_eq!(header.record_count, 3);
        assert_eq!(header.last_offset(), 2);
        assert_eq!(header.first_timestamp, 1_000);
        assert_eq!(header.max_timestamp, 1_005);
        assert_eq!(
            (
                header.producer_id,
                header.producer_epoch,
                header.base_sequence
            ),
            (9, 1, 4)
        );
        assert_eq!(header.leader_epoch, -1);
        let records: Vec<_> = batch.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(records[0].value.as_deref(), Some(&b"v1"[..]));
        assert_eq!(records[1].timestamp, 999);
        assert_eq!(
            (records[1].key.clone(), records[1].value.clone()),
            (None, None)
        );
        assert_eq!(
            records[1].headers,
            [Header::new("h", "x"), Header::new("e", "")]
        );
        assert_eq!(records[2].offset, 2);
        assert_eq!(records[2].key.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn records_with_the_longest_varints_round_trip() {
        let cases: [(i64, Option<&[u8]>); 4] = [
            (0, Some(b"k")),
            (i64::MAX, Some(b"key")),
            (i64::MIN, None),
            (5, None),
        ];
        let mut builder = BatchBuilder::new(4096);
        for (timestamp, key) in cases {
            builder.push(timestamp, key, Some(b"value"), &[]);
        }
        let batch = RecordBatch::new(builder.finish(ProducerStamp::NONE).freeze()).unwrap();
        let records: Vec<_> = batch.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), cases.len());
        for (record, (timestamp, key)) in records.iter().zip(cases) {
            assert_eq!(record.timestamp, timestamp);
            assert_eq!(record.key.as_deref(), key);
            assert_eq!(record.value.as_deref(), Some(&b"value"[..]));
        }
    }

    #[test]
    fn a_record_at_the_end_of_its_capacity_does_not_grow_the_batch() {
        let bound = BatchBuilder::record_size_bound(None, Some(&[1; 50]), &[]);
        let mut builder = BatchBuilder::new(HEADER_LEN + 2 * bound);
        let capacity = builder.buf.capacity();
        builder.push(1, None, Some(&[1; 50]), &[]);
        builder.push(2, None, Some(&[1; 50]), &[]);
        assert_eq!(builder.buf.capacity(), capacity);
        let batch = RecordBatch::new(builder.finish(ProducerStamp::NONE).freeze()).unwrap();
        assert_eq!(batch.records().count(), 2);
    }

    #[test]
    fn size_bound_covers_each_record() {
        let headers = [Header::new("name", "value")];
        let bound = BatchBuilder::record_size_bound(Some(b"key"), Some(&[0; 300]), &headers);
        let mut builder = BatchBuilder::new(0);
        builder.push(i64::MAX, Some(b"key"), Some(&[0; 300]), &headers);
        assert!(builder.size_in_bytes() - HEADER_LEN <= bound);
    }

    #[test]
    fn stamping_offset_and_epoch_keeps_the_crc_valid() {
        let mut batch = sample();
        stamp_base_offset(&mut batch, 41);
        stamp_leader_epoch(&mut batch, 3);
        let header = verify(&batch).unwrap();
        assert_eq!((header.base_offset, header.leader_epoch), (41, 3));
        let offsets: Vec<i64> = RecordBatch::new(batch.freeze())
            .unwrap()
            .records()
            .map(|r| r.unwrap().offset)
            .collect();
        assert_eq!(offsets, [41, 42, 43]);
    }

    #[test]
    fn log_append_time_applies_to_every_record() {
        let mut batch = sample();
        stamp_log_append_time(&mut batch, 77);
        let header = verify(&batch).unwrap();
        assert_eq!(header.timestamp_type(), TimestampType::LogAppendTime);
        let batch = RecordBatch::new(batch.freeze()).unwrap();
        assert!(batch.records().all(|r| r.unwrap().timestamp == 77));
    }

    #[test]
    fn damage_is_reported_not_panicked_on() {
        let good = sample();
        let mut flipped = good.clone();
        flipped[70] ^= 1;
        assert!(matches!(
            verify(&flipped),
            Err(CorruptionKind::ChecksumMismatch { .. })
        ));
        assert_eq!(
            verify(&good[..good.len() - 1]),
            Err(CorruptionKind::Truncated)
        );
        let mut magic = good.clone();
        magic[16] = 1;
        assert_eq!(verify(&magic), Err(CorruptionKind::BadMagic(1)));
        assert!(BatchHeader::parse(&[0u8; 61]).is_err());
        assert!(RecordBatch::new(Bytes::from([&good[..], &[0u8]].concat())).is_err());
    }

    #[test]
    fn an_empty_batch_is_refused() {
        let empty = BatchBuilder::new(0).finish(ProducerStamp::NONE);
        assert!(verify(&empty).is_err());
    }

    #[test]
    fn batch_iter_walks_concatenated_batches_and_stops_at_damage() {
        let mut chunk = BytesMut::new();
        for base in [0, 3] {
            let mut batch = sample();
            stamp_base_offset(&mut batch, base);
            chunk.extend_from_slice(&batch);
        }
        chunk.extend_from_slice(&sample()[..30]);
        let results: Vec<_> = BatchIter::new(chunk.freeze()).collect();
        assert_eq!(results.len(), 3);
        assert_eq!(results[1].as_ref().unwrap().header().base_offset, 3);
        assert_eq!(results[2].as_ref().unwrap_err(), &CorruptionKind::Truncated);
    }

    use crate::error::CorruptionKind;
}
