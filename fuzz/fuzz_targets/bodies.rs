//! The bodies of the fuzz targets, shared with the stable test that replays
//! the committed corpus (`tests/it/fuzz_corpus.rs` includes this file), so
//! both run exactly the same checks.

use std::fs;

use tidelog::inspect::{decode_batches, dump_segment, encode_batch, recover_partition};
use tidelog::{Error, ProducerRecord};

/// Decoding arbitrary bytes as record batches never panics; whatever
/// decodes re-encodes to batches that decode to the same records.
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
                    Some(v) => ProducerRecord::new("t", v),
                    None => ProducerRecord::tombstone("t"),
                };
                if let Some(k) = r.key() {
                    out = out.key(k);
                }
                for h in r.headers() {
                    out = out.header(h.name(), h.value_bytes().clone());
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

/// Arbitrary bytes written as a partition directory (segment, indexes,
/// checkpoint) recover without panicking, and recovery is idempotent.
///
/// Input layout: flags (1 byte: bit 0 = clean-shutdown marker, bit 1 =
/// garbage recovery-point checkpoint), log length (u32 BE), offset index
/// length (u16 BE), then the log, offset index and time index bytes.
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
