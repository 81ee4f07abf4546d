//! Records and the record batch format (the bytes on disk and in flight).

mod batch;
mod codec;
mod types;

pub(crate) use batch::{
    stamp_base_offset, stamp_leader_epoch, stamp_log_append_time, verify, BatchBuilder,
    BatchHeader, BatchIter, DecodedRecord, ProducerStamp, RecordBatch, HEADER_LEN, MAGIC,
};
pub use types::{ConsumerRecord, Header, ProducerRecord, RecordMetadata};
