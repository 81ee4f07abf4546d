//! Rebuilding a batch around a subset of its records (log compaction).
//!
//! The rebuilt batch keeps everything that identifies the original: base
//! offset, last offset delta (so it still spans the same offsets), leader
//! epoch, timestamps, producer id, epoch and base sequence, timestamp type
//! and codec. Each kept record keeps its offset, so readers see gaps where
//! records were removed. A batch left with no records is written
//! uncompressed, as a bare header: it still carries the producer's identity
//! and the batch's last offset.

use bytes::{BufMut, BytesMut};

use super::batch::{BatchHeader, DecodedRecord, HEADER_LEN};
use super::builder::{put_record, seal};
use super::compression::{compress, Compression, CODEC_MASK};

/// A batch like `header`'s holding only `records` (a subset of its records,
/// in offset order).
pub(crate) fn rebuild_batch(header: &BatchHeader, records: &[DecodedRecord]) -> BytesMut {
    let mut buf = BytesMut::with_capacity(HEADER_LEN + 64 * records.len());
    buf.put_bytes(0, HEADER_LEN);
    for record in records {
        let delta = record.offset.saturating_sub(header.base_offset);
        put_record(
            &mut buf,
            i32::try_from(delta).unwrap_or(i32::MAX),
            record.timestamp.wrapping_sub(header.first_timestamp),
            record.key.as_deref(),
            record.value.as_deref(),
            &record.headers,
        );
    }
    let mut codec = if records.is_empty() {
        Compression::None
    } else {
        header.compression()
    };
    if codec != Compression::None {
        match compress(codec, buf.get(HEADER_LEN..).unwrap_or_default()) {
            Ok(packed) => {
                buf.truncate(HEADER_LEN);
                buf.extend_from_slice(&packed);
            }
            // Stored uncompressed instead, which every reader accepts.
            Err(_) => codec = Compression::None,
        }
    }
    let rebuilt = BatchHeader {
        attributes: (header.attributes & !CODEC_MASK) | codec.id(),
        record_count: i32::try_from(records.len()).unwrap_or(i32::MAX),
        ..*header
    };
    seal(&mut buf, &rebuilt);
    buf
}

/// The batch of `header` with `records` (all of its records) stored in
/// `codec` instead: how a leader converts to a topic's `compression.type`.
pub(crate) fn recompress_batch(
    header: &BatchHeader,
    records: &[DecodedRecord],
    codec: Compression,
) -> BytesMut {
    let target = BatchHeader {
        attributes: (header.attributes & !CODEC_MASK) | codec.id(),
        ..*header
    };
    rebuild_batch(&target, records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch::{stamp_base_offset, RecordBatch};
    use crate::record::{BatchBuilder, ProducerStamp};

    fn original(codec: Compression) -> RecordBatch {
        let mut builder = BatchBuilder::new(0).compressed(codec);
        for i in 0..6 {
            let key = format!("k{}", i % 3);
            builder.push(1_000 + i, Some(key.as_bytes()), Some(b"v"), &[]);
        }
        let stamp = ProducerStamp {
            producer_id: 7,
            producer_epoch: 2,
            base_sequence: 40,
        };
        let mut bytes = builder.finish(stamp);
        stamp_base_offset(&mut bytes, 100);
        RecordBatch::new(bytes.freeze()).unwrap()
    }

    #[test]
    fn a_subset_keeps_offsets_timestamps_producer_and_codec() {
        for codec in Compression::ALL.into_iter().filter(|c| c.is_available()) {
            let batch = original(codec);
            let all: Vec<DecodedRecord> = batch.records().map(Result::unwrap).collect();
            let kept = vec![all[1].clone(), all[4].clone()];
            let rebuilt = RecordBatch::new(rebuild_batch(batch.header(), &kept).freeze()).unwrap();
            let (a, b) = (batch.header(), rebuilt.header());
            assert_eq!(b.compression(), codec);
            assert_eq!((b.base_offset, b.last_offset()), (100, 105));
            assert_eq!(
                (b.producer_id, b.producer_epoch, b.base_sequence),
                (7, 2, 40)
            );
            assert_eq!(
                (b.first_timestamp, b.max_timestamp),
                (a.first_timestamp, a.max_timestamp)
            );
            assert_eq!(b.record_count, 2);
            let got: Vec<DecodedRecord> = rebuilt.records().map(Result::unwrap).collect();
            assert_eq!(got, kept);
        }
    }

    #[test]
    fn an_emptied_batch_is_a_bare_valid_header() {
        let batch = original(Compression::Lz4);
        let rebuilt = RecordBatch::new(rebuild_batch(batch.header(), &[]).freeze()).unwrap();
        assert_eq!(rebuilt.header().size(), HEADER_LEN);
        assert_eq!(rebuilt.header().record_count, 0);
        assert_eq!(rebuilt.header().last_offset(), 105);
        assert_eq!(rebuilt.header().compression(), Compression::None);
        assert_eq!(rebuilt.records().count(), 0);
    }
}
