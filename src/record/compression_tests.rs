//! Tests of the codecs and of compressed batches.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::record::batch::{compute_crc, RecordBatch, HEADER_LEN};
use crate::record::builder::BatchBuilder;
use crate::record::ProducerStamp;

/// The codecs this build has, `None` included.
fn available() -> Vec<Compression> {
    Compression::ALL
        .into_iter()
        .filter(|c| c.is_available())
        .collect()
}

/// The compressing codecs this build has.
fn codecs() -> Vec<Compression> {
    available()
        .into_iter()
        .filter(|c| *c != Compression::None)
        .collect()
}

/// JSON-like records with repeating field names: the data producers compress.
fn json_like(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        let line = format!(
            "{{\"user_id\":{i},\"event\":\"page_view\",\"page\":\"/items/{}\",\"ok\":true}}",
            i % 17
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn build(codec: Compression, values: &[Vec<u8>]) -> Bytes {
    let mut builder = BatchBuilder::new(0).compressed(codec);
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        builder.push(100 + i as i64, Some(key.as_bytes()), Some(v), &[]);
    }
    builder.finish(ProducerStamp::NONE).freeze()
}

fn values_of(batch: &RecordBatch) -> Vec<Vec<u8>> {
    batch
        .records()
        .map(|r| r.unwrap().value.unwrap().to_vec())
        .collect()
}

/// Rewrites the records of a valid batch with `body` under `codec`, with a
/// correct length and CRC, as a hostile or buggy client could send it.
fn forge(codec: Compression, record_count: i32, body: &[u8]) -> Bytes {
    let mut bytes = build(Compression::None, &[b"x".to_vec()])[..HEADER_LEN].to_vec();
    bytes.extend_from_slice(body);
    let length = (bytes.len() - 12) as i32;
    bytes[8..12].copy_from_slice(&length.to_be_bytes());
    bytes[21..23].copy_from_slice(&codec.id().to_be_bytes());
    let delta = record_count.max(1) - 1;
    bytes[23..27].copy_from_slice(&delta.to_be_bytes());
    bytes[57..61].copy_from_slice(&record_count.to_be_bytes());
    let crc = compute_crc(&bytes);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(bytes)
}

#[test]
fn names_and_attribute_codes_are_kafkas() {
    let ids: Vec<i16> = Compression::ALL.iter().map(|c| c.id()).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
    for c in Compression::ALL {
        assert_eq!(Compression::from_name(c.name()), Some(c));
        assert_eq!(Compression::from_attributes(c.id() | 0x08), Ok(c));
    }
    assert_eq!(Compression::from_name("brotli"), None);
    assert_eq!(
        Compression::from_attributes(5),
        Err(CorruptionKind::UnsupportedCodec(5))
    );
}

#[test]
fn every_codec_round_trips_empty_small_and_compressible_data() {
    for codec in available() {
        for data in [Vec::new(), b"a".to_vec(), json_like(2_000)] {
            let packed = compress(codec, &data).unwrap();
            let back = decompress(codec, &packed, MAX_DECOMPRESSED_BYTES).unwrap();
            assert_eq!(back, data, "{codec}");
        }
    }
    let text = json_like(2_000);
    for codec in codecs() {
        let packed = compress(codec, &text).unwrap();
        assert!(packed.len() * 3 < text.len(), "{codec} did not compress");
    }
}

#[test]
fn compressed_batches_decode_to_their_records() {
    let values: Vec<Vec<u8>> = (0..50).map(|i| json_like(i % 5 + 1)).collect();
    for codec in available() {
        let batch = RecordBatch::new(build(codec, &values)).unwrap();
        assert_eq!(batch.header().compression(), codec);
        assert_eq!(values_of(&batch), values);
        let offsets: Vec<i64> = batch.records().map(|r| r.unwrap().offset).collect();
        assert_eq!(offsets, (0..50).collect::<Vec<_>>());
    }
}

#[test]
fn one_huge_record_round_trips_under_every_codec() {
    let huge: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
    for codec in available() {
        let batch = RecordBatch::new(build(codec, std::slice::from_ref(&huge))).unwrap();
        assert_eq!(values_of(&batch), std::slice::from_ref(&huge), "{codec}");
    }
}

#[test]
fn an_empty_compressed_batch_decodes_to_no_records() {
    for codec in codecs() {
        let body = compress(codec, &[]).unwrap();
        let batch = RecordBatch::new(forge(codec, 0, &body)).unwrap();
        assert_eq!(batch.records().count(), 0, "{codec}");
    }
}

#[cfg(feature = "snappy")]
#[test]
fn snappy_reads_the_raw_block_some_clients_send() {
    let text = json_like(100);
    let raw = snap::raw::Encoder::new().compress_vec(&text).unwrap();
    assert_eq!(
        decompress(Compression::Snappy, &raw, 1 << 20).unwrap(),
        text
    );
    let framed = compress(Compression::Snappy, &text).unwrap();
    assert_eq!(&framed[..8], b"\x82SNAPPY\0");
    assert_eq!(&framed[8..16], [0, 0, 0, 1, 0, 0, 0, 1]);
}

#[test]
fn truncated_and_damaged_data_are_typed_errors() {
    let text = json_like(500);
    for codec in codecs() {
        let packed = compress(codec, &text).unwrap();
        for cut in [1, packed.len() / 2, packed.len() - 1] {
            let result = decompress(codec, &packed[..cut], MAX_DECOMPRESSED_BYTES);
            assert!(
                matches!(
                    result,
                    Err(CorruptionKind::Decompression(_) | CorruptionKind::Truncated)
                ),
                "{codec} cut at {cut}: {:?}",
                result.map(|v| v.len())
            );
        }
        let junk: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        assert!(decompress(codec, &junk, MAX_DECOMPRESSED_BYTES).is_err());
    }
}

#[test]
fn a_decompression_bomb_is_refused_at_the_cap() {
    let zeros = vec![0u8; 4 << 20];
    for codec in codecs() {
        let packed = compress(codec, &zeros).unwrap();
        assert!(packed.len() < 256 << 10, "{codec}");
        assert_eq!(
            decompress(codec, &packed, 1 << 20),
            Err(CorruptionKind::DecompressedTooLarge { limit: 1 << 20 }),
            "{codec}"
        );
    }
}

#[test]
fn a_batch_claiming_too_many_records_is_refused_before_inflating() {
    for codec in codecs() {
        let body = compress(codec, &[]).unwrap();
        let batch = RecordBatch::new(forge(codec, i32::MAX, &body)).unwrap();
        let first = batch.records().next().unwrap();
        assert!(matches!(
            first,
            Err(CorruptionKind::DecompressedTooLarge { .. })
        ));
    }
}

#[test]
fn garbage_under_a_valid_crc_is_an_error_not_a_panic() {
    for codec in codecs() {
        let batch = RecordBatch::new(forge(codec, 3, b"not compressed at all")).unwrap();
        let results: Vec<_> = batch.records().collect();
        assert_eq!(results.len(), 1, "{codec}");
        assert!(results[0].is_err());
    }
    // Valid compression of bytes that are not records.
    for codec in codecs() {
        let body = compress(codec, b"\x7f\x7f\x7f").unwrap();
        let batch = RecordBatch::new(forge(codec, 1, &body)).unwrap();
        assert!(batch.records().any(|r| r.is_err()));
    }
}

fn codec() -> impl Strategy<Value = Compression> {
    proptest::sample::select(available())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn batches_round_trip_under_any_codec(
        codec in codec(),
        values in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..600), 1..20),
    ) {
        let batch = RecordBatch::new(build(codec, &values)).unwrap();
        prop_assert_eq!(values_of(&batch), values);
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_decoder(
        codec in codec(),
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let _ = decompress(codec, &bytes, 1 << 16);
        if let Ok(batch) = RecordBatch::new(forge(codec, 2, &bytes)) {
            for _ in batch.records() {}
        }
    }

    #[test]
    fn damaged_compressed_data_never_panics(
        codec in codec(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let mut packed = compress(codec, &json_like(50)).unwrap();
        for (at, mask) in &flips {
            let i = at.index(packed.len());
            packed[i] ^= mask;
        }
        let _ = decompress(codec, &packed, 1 << 16);
    }
}
