//! Record batch encode and decode, 100-byte values, ~16 KiB batches; then
//! the same per compression codec on JSON-like and on random values.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use tidelog::inspect::{decode_batches, encode_batch, encode_compressed_batch};
use tidelog::{Compression, ProducerRecord};

use crate::fixtures::records;

const PER_BATCH: usize = 128;

pub(crate) fn benches(c: &mut Criterion) {
    let input = records(PER_BATCH);
    let encoded = encode_batch(&input);
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(PER_BATCH as u64));
    group.bench_function("encode_batch_100b_values", |b| {
        b.iter(|| black_box(encode_batch(black_box(&input))));
    });
    group.bench_function("decode_batch_100b_values", |b| {
        b.iter(|| black_box(decode_batches(black_box(&encoded)).unwrap()));
    });
    group.finish();
}

/// JSON-like values with repeating field names, as producers send them.
fn json_like(count: usize) -> Vec<ProducerRecord> {
    (0..count)
        .map(|i| {
            let value = format!(
                "{{\"user\":{i},\"event\":\"page_view\",\"page\":\"/items/{}\",\"ok\":true}}",
                i % 17
            );
            ProducerRecord::new("t", value).timestamp(1_700_000_000_000)
        })
        .collect()
}

/// 100-byte values from a xorshift generator: data no codec can shrink.
fn random(count: usize) -> Vec<ProducerRecord> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..count)
        .map(|_| {
            let value: Vec<u8> = (0..100)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            ProducerRecord::new("t", value).timestamp(1_700_000_000_000)
        })
        .collect()
}

pub(crate) fn compression_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("compression");
    group.throughput(Throughput::Elements(PER_BATCH as u64));
    for (data, input) in [
        ("json", json_like(PER_BATCH)),
        ("random", random(PER_BATCH)),
    ] {
        for codec in Compression::ALL {
            let encoded = encode_compressed_batch(&input, codec);
            group.bench_function(format!("encode_{data}_{codec}"), |b| {
                b.iter(|| black_box(encode_compressed_batch(black_box(&input), codec)));
            });
            group.bench_function(format!("decode_{data}_{codec}"), |b| {
                b.iter(|| black_box(decode_batches(black_box(&encoded)).unwrap()));
            });
        }
    }
    group.finish();
}
