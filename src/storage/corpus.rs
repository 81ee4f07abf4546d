//! Writes the fuzz seed corpus (`fuzz/corpus/<target>/`) from real logs.
//! Run by hand after a format change:
//! `cargo test --lib storage::corpus -- --ignored`.

use std::fs;
use std::path::{Path, PathBuf};

use super::partition_log::PartitionLogConfig;
use super::tests::{batch, config, open};
use crate::record::TimestampType;
use crate::record::{BatchBuilder, Compression, Header, ProducerStamp, HEADER_LEN};

fn corpus_dir(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A partition directory's files packed as `segment_recovery` input.
fn pack(flags: u8, log: &[u8], index: &[u8], time_index: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(log.len() as u32).to_be_bytes());
    out.extend_from_slice(&(index.len() as u16).to_be_bytes());
    out.extend_from_slice(log);
    out.extend_from_slice(index);
    out.extend_from_slice(time_index);
    out
}

/// A small closed log: (log, index, time index) bytes of its one segment.
fn sample_segment(timestamp_type: TimestampType) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PartitionLogConfig {
        index_interval_bytes: 100,
        timestamp_type,
        ..config()
    };
    let log = open(dir.path(), cfg);
    for i in 0..6 {
        log.append_as_leader(
            &mut batch(&format!("r{i}"), 1 + i % 3, 1_000 + i as i64),
            2,
            false,
        )
        .unwrap();
    }
    log.close().unwrap();
    let read =
        |ext: &str| fs::read(dir.path().join(format!("00000000000000000000.{ext}"))).unwrap();
    (read("log"), read("index"), read("timeindex"))
}

#[test]
#[ignore = "writes fuzz/corpus; run by hand to regenerate the seeds"]
fn write_fuzz_seed_corpus() {
    let decode = corpus_dir("record_batch_decode");
    let mut builder = BatchBuilder::new(0);
    builder.push(5, Some(b"key"), Some(b"value"), &[Header::new("h", "v")]);
    builder.push(3, None, None, &[]);
    builder.push(9, Some(b""), Some(&[0xab; 100]), &[Header::new("", "")]);
    let one = builder.finish(ProducerStamp::NONE).to_vec();
    let (log, index, time_index) = sample_segment(TimestampType::CreateTime);
    let (append_time_log, _, _) = sample_segment(TimestampType::LogAppendTime);
    let mut flipped = log.clone();
    flipped[HEADER_LEN + 5] ^= 0x40;
    fs::write(decode.join("one-batch"), &one).unwrap();
    fs::write(decode.join("segment"), &log).unwrap();
    fs::write(decode.join("log-append-time"), &append_time_log).unwrap();
    fs::write(decode.join("torn-tail"), &log[..log.len() - 7]).unwrap();
    fs::write(decode.join("flipped-bit"), &flipped).unwrap();
    fs::write(decode.join("zero-header"), [0u8; HEADER_LEN]).unwrap();

    let compressed = corpus_dir("compressed_batch_decode");
    for codec in Compression::ALL {
        let mut builder = BatchBuilder::new(0).compressed(codec);
        for i in 0..4 {
            let value = format!("{{\"id\":{i},\"kind\":\"sample\"}}");
            builder.push(i, Some(b"key"), Some(value.as_bytes()), &[]);
        }
        let batch = builder.finish(ProducerStamp::NONE).to_vec();
        fs::write(decode.join(format!("compressed-{codec}")), &batch).unwrap();
        // Selector: codec code in bits 0-2, record count (4) in bits 3-7.
        let mut seed = vec![codec.id() as u8 | 4 << 3];
        seed.extend_from_slice(&batch[HEADER_LEN..]);
        fs::write(compressed.join(codec.name()), &seed).unwrap();
        let mut cut = seed.clone();
        cut.truncate(seed.len() / 2);
        fs::write(compressed.join(format!("{codec}-truncated")), &cut).unwrap();
    }

    let recovery = corpus_dir("segment_recovery");
    let mut zero_tail = log.clone();
    zero_tail.extend_from_slice(&[0; 200]);
    let torn = &log[..log.len() - 30];
    fs::write(recovery.join("clean"), pack(1, &log, &index, &time_index)).unwrap();
    fs::write(
        recovery.join("unclean-torn"),
        pack(0, torn, &index, &time_index),
    )
    .unwrap();
    fs::write(
        recovery.join("zero-tail"),
        pack(0, &zero_tail, &index, &time_index),
    )
    .unwrap();
    fs::write(
        recovery.join("garbage-index"),
        pack(1, &log, b"TLOI\x01\x08\0\0junk", b""),
    )
    .unwrap();
    fs::write(
        recovery.join("flipped-bit-checkpoint"),
        pack(2, &flipped, &index, &[]),
    )
    .unwrap();
}
