//! Offline tools for the on-disk format, apart from the client API.
//!
//! In the spirit of Kafka's `kafka-dump-log` and `kafka-log-dirs`: decode
//! record batches from bytes ([`decode_batches`]) or a segment file
//! ([`dump_segment`]), check and repair a partition directory
//! ([`recover_partition`]), and encode records into batch bytes
//! ([`encode_batch`], [`encode_compressed_batch`]) for tools and tests that
//! build segment files.
//!
//! # Examples
//! ```
//! use tidelog::inspect::{decode_batches, encode_batch};
//! use tidelog::ProducerRecord;
//! let bytes = encode_batch(&[ProducerRecord::new("t", "a"), ProducerRecord::new("t", "b")]);
//! let batches = decode_batches(&bytes)?;
//! assert_eq!(batches[0].records()[1].value(), Some(&b"b"[..]));
//! # Ok::<(), tidelog::Error>(())
//! ```

pub use crate::storage::{
    decode_batches, dump_segment, encode_batch, encode_compressed_batch, recover_partition,
    BatchSummary, PartitionSummary,
};
