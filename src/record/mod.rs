//! Records and the record batch format (the bytes on disk and in flight).

mod batch;
mod builder;
mod codec;
mod compression;
mod payload;
mod rewrite;
mod spans;
mod types;

#[allow(unused_imports, reason = "part of the record API contract")]
pub(crate) use batch::{
    stamp_base_offset, stamp_leader_epoch, stamp_log_append_time, stamp_producer, verify,
    BatchHeader, BatchIter, DecodedRecord, ProducerStamp, RecordBatch, HEADER_LEN, MAGIC,
};
pub(crate) use builder::{fields_size, BatchBuilder, RECORD_FIXED_BOUND};
pub use compression::Compression;
pub use payload::IntoPayload;
pub(crate) use rewrite::{rebuild_batch, recompress_batch};
pub(crate) use spans::{decode_spans, HeaderIter, HeaderSpans, Span};
pub use types::{ConsumerRecord, Header, ProducerRecord, RecordMetadata, TimestampType};

#[cfg(test)]
mod props;
