//! Replays the committed fuzz seed corpus (`fuzz/corpus/<target>/`) through
//! the same public functions, and the same checks, as the fuzz targets in
//! `fuzz/fuzz_targets/`. Keep the two in step. Fuzz runs themselves need a
//! nightly toolchain; this keeps the seeds honest on stable.

use std::fs;
use std::path::{Path, PathBuf};

use tidelog::{
    decode_batches, dump_segment, encode_batch, recover_partition, Error, ProducerRecord,
};

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

/// The body of `fuzz_targets/record_batch_decode.rs`.
pub(crate) fn record_batch_decode(data: &[u8]) {
    let batches = match decode_batches(data) {
        Ok(batches) => batches,
        Err(Error::Corrupt { .. }) => return,
        Err(other) => panic!("decode returned a non-corruption error: {other}"),
    };
    for batch in &batches {
        assert!(batch.base_offset() <= batch.last_offset());
        let records: Vec<ProducerRecord> = batch
            .records()
            .iter()
            .map(|r| {
                let mut out = match r.value() {
                    Some(v) => ProducerRecord::new("t", v.clone()),
                    None => ProducerRecord::tombstone("t"),
                };
                if let Some(k) = r.key() {
                    out = out.key(k.clone());
                }
                for h in r.headers() {
                    out = out.header(h.name(), h.value().clone());
                }
                out.timestamp(r.timestamp())
            })
            .collect();
        if records.is_empty() {
            continue;
        }
        let again = decode_batches(&encode_batch(&records)).expect("re-encoded batch decodes");
        let decoded = again[0].records();
        assert_eq!(decoded.len(), batch.records().len());
        for (a, b) in decoded.iter().zip(batch.records()) {
            assert_eq!(
                (a.key(), a.value(), a.headers()),
                (b.key(), b.value(), b.headers())
            );
        }
    }
}

/// The body of `fuzz_targets/segment_recovery.rs`.
pub(crate) fn segment_recovery(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some((log_len, rest)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let Some((index_len, rest)) = rest.split_first_chunk::<2>() else {
        return;
    };
    let log_len = (u32::from_be_bytes(*log_len) as usize).min(rest.len());
    let (log, rest) = rest.split_at(log_len);
    let index_len = (u16::from_be_bytes(*index_len) as usize).min(rest.len());
    let (index, time_index) = rest.split_at(index_len);

    let dir = tempfile::tempdir().expect("temp dir");
    let part = dir.path().join("t-0");
    fs::create_dir(&part).expect("partition dir");
    let segment = part.join("00000000000000000000.log");
    fs::write(&segment, log).expect("write log");
    fs::write(part.join("00000000000000000000.index"), index).expect("write index");
    fs::write(part.join("00000000000000000000.timeindex"), time_index).expect("write time index");
    if flags & 1 != 0 {
        fs::write(part.join("clean-shutdown"), b"").expect("write marker");
    }
    if flags & 2 != 0 {
        fs::write(
            part.join("recovery-point.checkpoint"),
            log.get(..8).unwrap_or_default(),
        )
        .expect("write checkpoint");
    }

    let first = match recover_partition(&part) {
        Ok(summary) => summary,
        Err(Error::Corrupt { .. }) => return,
        Err(other) => panic!("recovery failed with a non-corruption error: {other}"),
    };
    let second = recover_partition(&part).expect("recovering a recovered directory");
    assert_eq!(first, second);
    match dump_segment(&segment) {
        Ok(batches) => {
            let end = batches.last().map_or(0, |b| b.last_offset() + 1);
            assert!(end <= first.log_end_offset());
        }
        Err(Error::Corrupt { .. }) => {}
        Err(other) => panic!("dump failed: {other}"),
    }
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
