//! Property tests of the on-disk format through the public inspection API,
//! with the fuzz targets' bodies as the checks: arbitrary and damaged bytes
//! never panic, and recovery of any directory is idempotent.

use proptest::prelude::*;
use tidelog::inspect::{decode_batches, encode_batch};
use tidelog::ProducerRecord;

use crate::fuzz_corpus::{record_batch_decode, segment_recovery};

fn records() -> impl Strategy<Value = Vec<ProducerRecord>> {
    proptest::collection::vec(
        (
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16)),
            proptest::collection::vec(any::<u8>(), 0..200),
            any::<i64>(),
        ),
        1..12,
    )
    .prop_map(|items| {
        items
            .into_iter()
            .map(|(key, value, timestamp)| {
                let record = ProducerRecord::new("t", value).timestamp(timestamp);
                match key {
                    Some(key) => record.key(key),
                    None => record,
                }
            })
            .collect()
    })
}

/// Packs log bytes as `segment_recovery` input: no marker, no checkpoint.
fn pack(log: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    out.extend_from_slice(&(log.len() as u32).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(log);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn encoded_batches_decode_to_their_records(records in records()) {
        let batches = decode_batches(&encode_batch(&records)).unwrap();
        prop_assert_eq!(batches.len(), 1);
        prop_assert_eq!(batches[0].records().len(), records.len());
        record_batch_decode(&encode_batch(&records));
    }

    #[test]
    fn damaged_batches_never_panic(
        records in records(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = encode_batch(&records).to_vec();
        for (at, mask) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        bytes.extend_from_slice(&tail);
        record_batch_decode(&bytes);
        segment_recovery(&pack(&bytes));
    }

    #[test]
    fn arbitrary_directories_recover_without_panicking(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        segment_recovery(&data);
    }
}
