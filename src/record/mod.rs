//! Records and the record batch format (the bytes on disk and in flight).
// The producer, consumer and cluster layers are the users of this module;
// until they land, parts of it are only reached from tests.
#![allow(dead_code, unused_imports)]

mod batch;
mod builder;
mod codec;
mod types;

pub(crate) use batch::{
    stamp_base_offset, stamp_leader_epoch, stamp_log_append_time, verify, BatchHeader, BatchIter,
    DecodedRecord, ProducerStamp, RecordBatch, HEADER_LEN, MAGIC,
};
pub(crate) use builder::BatchBuilder;
pub use types::{ConsumerRecord, Header, ProducerRecord, RecordMetadata};

#[cfg(test)]
mod props;
