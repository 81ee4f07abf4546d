//! Replays the committed fuzz seed corpus (`fuzz/corpus/<target>/`) through
//! the fuzz targets' own bodies (`fuzz/fuzz_targets/bodies.rs`). Fuzz runs
//! themselves need a nightly toolchain; this keeps the seeds honest on
//! stable.

use std::fs;
use std::path::{Path, PathBuf};

use tidelog::inspect::{decode_batches, dump_segment, recover_partition};
use tidelog::{Compression, Error};

#[path = "../../fuzz/fuzz_targets/bodies.rs"]
mod bodies;

pub(crate) use bodies::{compressed_batch_decode, record_batch_decode, segment_recovery};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
}

#[test]
fn record_batch_decode_seeds_replay_without_panicking() {
    let mut decoded = 0;
    for (_, bytes) in corpus("record_batch_decode") {
        record_batch_decode(&bytes);
        decoded += usize::from(decode_batches(&bytes).is_ok());
    }
    assert!(decoded >= 3, "the valid seeds must decode");
}

#[test]
fn compressed_batch_decode_seeds_replay_and_cover_every_codec() {
    let mut decoded = Vec::new();
    for (_, bytes) in corpus("compressed_batch_decode") {
        compressed_batch_decode(&bytes);
        let codec = Compression::ALL[usize::from(bytes[0] & 7) % Compression::ALL.len()];
        let batch = bodies::forge_batch(codec, i32::from(bytes[0] >> 3), &bytes[1..]);
        if decode_batches(&batch).is_ok_and(|b| !b[0].records().is_empty()) {
            decoded.push(codec);
        }
    }
    for codec in Compression::ALL.into_iter().filter(|c| c.is_available()) {
        assert!(decoded.contains(&codec), "no valid {codec} seed");
    }
}

#[test]
fn segment_recovery_seeds_replay_and_recover_idempotently() {
    for (_, bytes) in corpus("segment_recovery") {
        segment_recovery(&bytes);
    }
}

#[test]
fn a_recovered_torn_seed_keeps_only_its_whole_batches() {
    let (_, bytes) = corpus("segment_recovery")
        .into_iter()
        .find(|(p, _)| p.ends_with("unclean-torn"))
        .unwrap();
    let log_len = u32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
    let dir = tempfile::tempdir().unwrap();
    let segment = dir.path().join("00000000000000000000.log");
    fs::write(&segment, &bytes[7..7 + log_len]).unwrap();
    assert!(matches!(dump_segment(&segment), Err(Error::Corrupt { .. })));
    let summary = recover_partition(dir.path()).unwrap();
    let batches = dump_segment(&segment).unwrap();
    assert_eq!(
        batches.last().unwrap().last_offset() + 1,
        summary.log_end_offset()
    );
}
