//! Reading: page-cache reads of 1 MiB chunks next to reading a partition
//! from the start, as a consumer (`poll` and `poll_batch`) and as an
//! offline segment dump.

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::os::unix::fs::FileExt;

use criterion::{Criterion, Throughput};
use tidelog::inspect::dump_segment;

use crate::fixtures::{consume, consume_batches, consumer, fill, open_log, partition, VALUE_BYTES};

const CHUNK: usize = 1 << 20;
const FILE_BYTES: usize = 32 << 20;
const RECORDS: usize = 200_000;

pub(crate) fn benches(c: &mut Criterion) {
    baseline(c);
    let (dir, log) = open_log(&[]);
    fill(&log, RECORDS);
    let mut consumer = consumer(&log);
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Bytes((RECORDS * VALUE_BYTES) as u64));
    group.bench_function("consumer_sequential_100b_records", |b| {
        b.iter(|| {
            consumer.seek(&partition(), 0).unwrap();
            black_box(consume(&mut consumer, RECORDS))
        });
    });
    group.bench_function("consumer_sequential_100b_records_poll_batch", |b| {
        b.iter(|| {
            consumer.seek(&partition(), 0).unwrap();
            black_box(consume_batches(&mut consumer, RECORDS))
        });
    });
    let segment = find_segment(dir.path());
    let bytes = std::fs::metadata(&segment).unwrap().len();
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("dump_segment_decode_all", |b| {
        b.iter(|| black_box(dump_segment(&segment).unwrap().len()));
    });
    group.finish();
}

fn find_segment(root: &std::path::Path) -> std::path::PathBuf {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "log") {
                return path;
            }
        }
    }
    panic!("no segment under {}", root.display());
}

/// Page-cache reads of a file in 1 MiB chunks: the ceiling.
fn baseline(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baseline");
    let mut file = File::create(&path).unwrap();
    let chunk = vec![0xa5_u8; CHUNK];
    for _ in 0..FILE_BYTES / CHUNK {
        file.write_all(&chunk).unwrap();
    }
    let file = File::open(&path).unwrap();
    let mut buf = vec![0u8; CHUNK];
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Bytes(FILE_BYTES as u64));
    group.bench_function("baseline_page_cache_read_1mib_chunks", |b| {
        b.iter(|| {
            for i in 0..FILE_BYTES / CHUNK {
                file.read_exact_at(&mut buf, (i * CHUNK) as u64).unwrap();
            }
            black_box(buf[0])
        });
    });
    group.finish();
}
