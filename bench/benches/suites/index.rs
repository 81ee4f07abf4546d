//! Index lookups through the public API: offset by timestamp (time index,
//! then offset index, then a short scan) and seek-then-fetch at random
//! offsets (offset index, then a short scan).

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;

use tidelog::{ConsumerConfig, OffsetReset};

use crate::fixtures::{fill, open_log, partition};

const RECORDS: usize = 100_000;

/// A small deterministic sequence of lookup targets.
fn targets() -> impl Iterator<Item = u64> {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    std::iter::repeat_with(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % RECORDS as u64
    })
}

pub(crate) fn benches(c: &mut Criterion) {
    let (_dir, log) = open_log(&[("segment.bytes", "4194304")]);
    fill(&log, RECORDS);
    // Small fetches, so a lookup is measured rather than a bulk read.
    let mut consumer = log
        .consumer(
            ConsumerConfig::new()
                .auto_offset_reset(OffsetReset::Earliest)
                .enable_auto_commit(false)
                .set("max.partition.fetch.bytes", "1")
                .unwrap()
                .set("max.poll.records", "1")
                .unwrap(),
        )
        .unwrap();
    consumer.assign(&[partition()]).unwrap();
    let tp = partition();
    let mut group = c.benchmark_group("index");
    let mut next = targets();
    group.bench_function("offset_for_timestamp", |b| {
        b.iter(|| {
            let ts = 1_000_000 + next.next().unwrap_or(0) as i64;
            black_box(consumer.offsets_for_times(&[(tp.clone(), ts)]).unwrap())
        });
    });
    let mut next = targets();
    group.bench_function("seek_and_fetch_random_offset", |b| {
        b.iter(|| {
            consumer.seek(&tp, next.next().unwrap_or(0)).unwrap();
            black_box(consumer.poll(Duration::from_secs(10)).unwrap().len())
        });
    });
    group.finish();
}
