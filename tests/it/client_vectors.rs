//! Batches built by a Kafka client nobody here wrote: kcat (librdkafka
//! 2.0.2) produced forty keyed JSON records with each codec
//! (`kcat -P -z gzip|snappy|lz4|zstd`) to a tidelog listener, and the
//! leader's segment file was checked in as it was stored. Decoding it proves
//! the CRC-32C, the header layout and every codec's framing agree with what
//! a real client writes.

use tidelog::inspect::dump_segment;
use tidelog::Compression;

const SEGMENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/vectors/kcat-gzip-snappy-lz4-zstd.log"
);

#[test]
fn batches_compressed_by_librdkafka_decode_record_for_record() {
    let batches = dump_segment(SEGMENT).unwrap();
    let codecs: Vec<Compression> = batches.iter().map(|b| b.compression()).collect();
    assert_eq!(
        codecs,
        [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd
        ]
    );
    let mut offset = 0;
    for (batch, codec) in batches.iter().zip(["gzip", "snappy", "lz4", "zstd"]) {
        assert_eq!(batch.base_offset(), offset);
        assert_eq!(batch.records().len(), 40, "{codec}");
        for (i, record) in batch.records().iter().enumerate() {
            let customer = i % 4;
            let value = format!(
                r#"{{"order":{i},"state":"new","customer":"customer-{customer}","codec":"{codec}"}}"#
            );
            assert_eq!(record.offset(), offset + i as u64);
            assert_eq!(record.key(), Some(format!("k{customer}").as_bytes()));
            assert_eq!(record.value(), Some(value.as_bytes()), "{codec}");
        }
        offset += 40;
    }
}
