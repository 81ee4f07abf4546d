//! Decoding arbitrary bytes as record batches never panics; whatever
//! decodes re-encodes to batches that decode to the same records.
//!
//! Kept in step with `tests/it/fuzz_corpus.rs`, which replays the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidelog::{decode_batches, encode_batch, Error, ProducerRecord};

fuzz_target!(|data: &[u8]| {
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
            assert_eq!((a.key(), a.value(), a.headers()), (b.key(), b.value(), b.headers()));
        }
    }
});
