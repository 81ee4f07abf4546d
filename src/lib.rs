//! tidelog: Apache Kafka's model as an embeddable, synchronous, in-process library.
//!
//! (Crate tour pending.)

mod cluster;
mod config;
mod consumer;
mod error;
mod group;
mod log;
mod producer;
mod record;
mod storage;
mod topic;

pub use cluster::{Broker, Cluster, PartitionReplicas};
pub use config::{
    Acks, AssignmentStrategy, CleanupPolicy, ConsumerConfig, LogBuilder, OffsetReset,
    ProducerConfig, TimestampType, TopicConfig,
};
pub use consumer::Consumer;
pub use error::{CorruptionKind, Error, Result};
pub use group::ConsumerGroup;
pub use log::{Log, PartitionInfo, Topic};
pub use producer::{Partitioner, Producer};
pub use record::{ConsumerRecord, Header, ProducerRecord, RecordMetadata};
pub use topic::TopicPartition;
