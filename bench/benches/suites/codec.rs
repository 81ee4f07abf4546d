//! Record batch encode and decode, 100-byte values, ~16 KiB batches.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use tidelog::inspect::{decode_batches, encode_batch};

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
