//! Appending: the machine's sequential write speed next to appends through
//! a `Log` (producer → partition log), without and with an fsync per batch.
//!
//! The partition log's own append path is internal; appending pre-built
//! batches is measured through the producer, whose sender thread writes one
//! batch per `write`.

use std::fs::File;
use std::hint::black_box;
use std::io::Write;

use criterion::{BatchSize, Criterion, Throughput};

use crate::fixtures::{open_log, producer_config, records, VALUE_BYTES};

const CHUNK: usize = 1 << 20;
const CHUNKS: usize = 16;
const RECORDS: usize = 20_000;

pub(crate) fn benches(c: &mut Criterion) {
    baseline(c);
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Bytes((RECORDS * VALUE_BYTES) as u64));
    for (name, extra) in [
        ("producer_100b_records", &[][..]),
        (
            "producer_100b_records_fsync_each_batch",
            &[("flush.messages", "1")][..],
        ),
    ] {
        let (_dir, log) = open_log(extra);
        let producer = log.producer(producer_config()).unwrap();
        group.bench_function(name, |b| {
            b.iter_batched(
                || records(RECORDS),
                |batch| {
                    for record in batch {
                        producer.send(record).unwrap();
                    }
                    producer.flush();
                },
                BatchSize::PerIteration,
            );
        });
        producer.close();
    }
    group.finish();
}

/// Plain sequential writes of 1 MiB chunks to a fresh file: the ceiling.
fn baseline(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baseline");
    let chunk = vec![0x5a_u8; CHUNK];
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Bytes((CHUNK * CHUNKS) as u64));
    for sync in [false, true] {
        let name = if sync {
            "baseline_write_1mib_chunks_then_fdatasync"
        } else {
            "baseline_write_1mib_chunks"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut file = File::create(&path).unwrap();
                for _ in 0..CHUNKS {
                    file.write_all(black_box(&chunk)).unwrap();
                }
                if sync {
                    file.sync_data().unwrap();
                }
            });
        });
    }
    group.finish();
}
