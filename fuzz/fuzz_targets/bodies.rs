//! The bodies of the fuzz targets, shared with the stable test that replays
//! the committed corpus (`tests/it/fuzz_corpus.rs` includes this file), so
//! both run exactly the same checks.

use std::fs;

use tidelog::inspect::{
    decode_batches, dump_segment, encode_batch, encode_compressed_batch, recover_partition,
    BatchSummary,
};
use tidelog::{Compression, CorruptionKind, Error, ProducerRecord};

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
        assert_reencodes(batch, batch.compression());
    }
}

/// Arbitrary bytes as the compressed records of a batch with a valid
/// header and checksum (so every input reaches the decompressors) decode or
/// fail with a corruption error, never a panic or an unbounded allocation;
/// whatever decodes re-encodes with the same codec to the same records.
///
/// Input layout: one selector byte (bits 0-2: codec code modulo 5, bits
/// 3-7: declared record count), then the records bytes.
pub(crate) fn compressed_batch_decode(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let codec = Compression::ALL[usize::from(selector & 0x07) % Compression::ALL.len()];
    let batch = forge_batch(codec, i32::from(selector >> 3), body);
    match decode_batches(&batch) {
        Ok(batches) => {
            assert_eq!(batches.len(), 1);
            assert_eq!(batches[0].compression(), codec);
            assert_reencodes(&batches[0], codec);
        }
        Err(Error::Corrupt {
            kind: CorruptionKind::ChecksumMismatch { .. },
            ..
        }) => panic!("forge_batch must compute the batch checksum as the decoder does"),
        Err(Error::Corrupt { .. }) => {}
        Err(other) => panic!("decode returned a non-corruption error: {other}"),
    }
}

/// Builds one batch around `records` (the bytes after the header) under
/// `codec`, with a consistent length, record count and checksum.
pub(crate) fn forge_batch(codec: Compression, record_count: i32, records: &[u8]) -> Vec<u8> {
    let template = encode_batch(&[ProducerRecord::new("t", "x").timestamp(0)]);
    let mut batch = template[..HEADER_LEN].to_vec();
    batch.extend_from_slice(records);
    let length = i32::try_from(batch.len() - 12).expect("fuzz inputs are small");
    let code: i16 = match codec {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Snappy => 2,
        Compression::Lz4 => 3,
        Compression::Zstd => 4,
    };
    batch[8..12].copy_from_slice(&length.to_be_bytes());
    batch[21..23].copy_from_slice(&code.to_be_bytes());
    batch[23..27].copy_from_slice(&(record_count.max(1) - 1).to_be_bytes());
    batch[57..61].copy_from_slice(&record_count.to_be_bytes());
    // The batch checksum: CRC-32C (Kafka's) over everything after the CRC field.
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch
}

const HEADER_LEN: usize = 61;

/// Re-encoding a decoded batch's records with `codec` gives the same records.
fn assert_reencodes(batch: &BatchSummary, codec: Compression) {
    let records: Vec<ProducerRecord> = batch
        .records()
        .iter()
        .map(|r| {
            let mut out = match r.value_bytes() {
                Some(v) => ProducerRecord::new("t", v.clone()),
                None => ProducerRecord::tombstone("t"),
            };
            if let Some(k) = r.key_bytes() {
                out = out.key(k.clone());
            }
            for h in r.headers() {
                out = out.header(h.name(), h.value_bytes().clone());
            }
            out.timestamp(r.timestamp())
        })
        .collect();
    if records.is_empty() {
        return;
    }
    let bytes = encode_compressed_batch(&records, codec);
    let again = decode_batches(&bytes).expect("re-encoded batch decodes");
    let decoded = again[0].records();
    assert_eq!(decoded.len(), batch.records().len());
    for (a, b) in decoded.iter().zip(batch.records()) {
        assert_eq!(
            (a.key(), a.value(), a.headers()),
            (b.key(), b.value(), b.headers())
        );
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
