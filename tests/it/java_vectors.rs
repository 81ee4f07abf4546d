//! Batches built by Kafka's own Java producer (kafka-clients 4.4.0): the
//! program `kafka-harness/VectorProducer.java` sent the same sixty records
//! once per codec to a real Kafka broker, which stored the batches as sent,
//! and `kafka-harness/make-vectors.sh` copied each topic's segment file here.
//! The records mix null and present keys, headers (one with an empty value),
//! empty values and one 150 kB value that spans several blocks of every
//! codec's framing; the producer was idempotent, so the batches carry a
//! producer id and sequence numbers too.

use tidelog::inspect::{dump_segment, BatchSummary};
use tidelog::Compression;

const RECORDS: usize = 60;
const LARGE: usize = 30;
const LARGE_BYTES: usize = 150_000;

fn vector(codec: &str) -> Vec<BatchSummary> {
    let path = format!(
        "{}/tests/it/vectors/java-{codec}.log",
        env!("CARGO_MANIFEST_DIR")
    );
    dump_segment(path).unwrap()
}

fn expected_key(i: usize) -> Option<Vec<u8>> {
    (i != 7).then(|| format!("key-{}", i % 9).into_bytes())
}

/// The large value: lines of a 64-bit LCG's high bits in hex, as Java's
/// `Long.toHexString(x >>> 20)` prints them, cut at `LARGE_BYTES`.
fn large_value() -> Vec<u8> {
    let mut text = String::with_capacity(LARGE_BYTES + 64);
    let mut x: i64 = 12345;
    while text.len() < LARGE_BYTES {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Java's `b.append("line ").append(b.length())` reads the length
        // after "line " went in.
        text.push_str("line ");
        text.push_str(&format!("{} {:x}\n", text.len(), (x as u64) >> 20));
    }
    text.truncate(LARGE_BYTES);
    text.into_bytes()
}

fn expected_value(i: usize) -> Vec<u8> {
    if i == LARGE {
        return large_value();
    }
    if i.is_multiple_of(10) && i > 0 {
        return Vec::new();
    }
    format!(
        r#"{{"id":{i},"name":"user-{}","active":{}}}"#,
        i % 9,
        i.is_multiple_of(2)
    )
    .into_bytes()
}

fn expected_headers(i: usize) -> Vec<(String, Vec<u8>)> {
    let mut headers = Vec::new();
    if i.is_multiple_of(3) {
        headers.push(("trace".to_string(), format!("t-{i}").into_bytes()));
    }
    if i.is_multiple_of(5) {
        headers.push(("empty".to_string(), Vec::new()));
    }
    headers
}

fn check(codec: &str, compression: Compression) {
    let batches = vector(codec);
    // The program flushed after half the records: two batches per codec.
    assert_eq!(batches.len(), 2, "{codec}");
    let mut offset = 0u64;
    for batch in &batches {
        assert_eq!(batch.compression(), compression, "{codec}");
        assert_eq!(batch.base_offset(), offset, "{codec}");
        assert!(batch.producer_id() >= 0, "{codec}: idempotent batches");
        assert_eq!(batch.base_sequence() as u64, offset, "{codec}");
        for record in batch.records() {
            let i = offset as usize;
            assert_eq!(record.offset(), offset, "{codec}");
            assert_eq!(record.key(), expected_key(i).as_deref(), "{codec} #{i}");
            // Compared without printing 150 kB on a mismatch.
            let value = record.value().unwrap_or_default();
            assert!(
                value == expected_value(i).as_slice(),
                "{codec} #{i}: value of {} bytes differs from the expected {}",
                value.len(),
                expected_value(i).len()
            );
            assert!(record.value().is_some(), "{codec} #{i}: null value");
            let headers: Vec<(String, Vec<u8>)> = record
                .headers()
                .iter()
                .map(|h| (h.name().to_string(), h.value().to_vec()))
                .collect();
            assert_eq!(headers, expected_headers(i), "{codec} #{i}");
            offset += 1;
        }
    }
    assert_eq!(offset as usize, RECORDS, "{codec}");
}

#[test]
fn uncompressed_batches_from_the_java_producer_decode_record_for_record() {
    check("none", Compression::None);
}

#[cfg(feature = "gzip")]
#[test]
fn gzip_batches_from_the_java_producer_decode_record_for_record() {
    check("gzip", Compression::Gzip);
}

#[cfg(feature = "snappy")]
#[test]
fn snappy_batches_from_the_java_producer_decode_record_for_record() {
    check("snappy", Compression::Snappy);
}

#[cfg(feature = "lz4")]
#[test]
fn lz4_batches_from_the_java_producer_decode_record_for_record() {
    check("lz4", Compression::Lz4);
}

#[cfg(feature = "zstd")]
#[test]
fn zstd_batches_from_the_java_producer_decode_record_for_record() {
    check("zstd", Compression::Zstd);
}
