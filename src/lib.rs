//! tidelog: Apache Kafka's model as an embeddable, synchronous, in-process library.
//!
//! A [`Log`] is a data directory holding topics, each split into partitions;
//! each partition is an append-only commit log of record batches on disk.
//! [`Producer`]s append, [`Consumer`]s read (alone or in consumer groups),
//! and every partition can be replicated across simulated brokers — threads
//! in your process, each with its own directory — with leader failover.
//! Semantics and configuration names follow Kafka's.
//!
//! # Quick start
//!
//! ```
//! # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
//! use std::time::Duration;
//! use tidelog::{ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition};
//!
//! let log = Log::open(dir.path())?;
//! log.create_topic("orders", TopicConfig::new().partitions(3))?;
//!
//! let producer = log.producer(ProducerConfig::new())?;
//! let sent = producer.send_sync(ProducerRecord::new("orders", "order-42").key("customer-7"))?;
//!
//! let mut consumer = log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
//! consumer.assign(&[TopicPartition::new("orders", sent.partition())])?;
//! let records = consumer.poll(Duration::from_secs(1))?;
//! assert_eq!(records[0].value().map(|v| &v[..]), Some(&b"order-42"[..]));
//! # Ok::<(), tidelog::Error>(())
//! ```
//!
//! # Topics and partitions
//!
//! [`Log::create_topic`] takes a [`TopicConfig`]: the partition count and
//! Kafka's topic-level settings (`retention.ms`, `segment.bytes`,
//! `max.message.bytes`, ...). Order holds within a partition, not across
//! partitions. Topic names follow Kafka's rules and can never address a path
//! outside the data directory. [`Topic::partitions`] reports each
//! partition's log start offset, high watermark and log end offset.
//!
//! # Producing: three send modes
//!
//! - [`Producer::send`]: fire and forget. Errors known at once are returned;
//!   later failures are counted in [`Producer::failed_sends`].
//! - [`Producer::send_sync`]: waits for the acknowledgement (per [`Acks`]).
//! - [`Producer::send_with_callback`]: returns at once; the callback runs
//!   exactly once with the outcome, in offset order per partition.
//!
//! Records with a key go to `murmur2(key) % partitions`, the partition Kafka's
//! own clients would choose; keyless records stick to one partition per batch.
//! Records are batched per partition (`batch.size`, `linger.ms`) in the
//! caller's thread and appended by one sender thread per producer.
//!
//! # Consuming
//!
//! A [`Consumer`] reads assigned partitions ([`Consumer::assign`]) or, with a
//! `group.id`, subscribes to topics as a member of a consumer group.
//! [`Consumer::poll`] blocks until records arrive or the timeout passes; it
//! only returns records below the high watermark. Positions can be moved with
//! [`Consumer::seek`], [`Consumer::seek_to_beginning`],
//! [`Consumer::seek_to_end`] and [`Consumer::offsets_for_times`].
//!
//! # Configuration
//!
//! Every config type has typed setters and accepts Kafka's names through
//! `set(key, value)`: [`Log::builder`] (broker level: `message.max.bytes`,
//! `log.retention.minutes`, `log.cleanup.policy`, ...), [`TopicConfig`],
//! [`ProducerConfig`] and [`ConsumerConfig`] (`group.id`,
//! `auto.offset.reset`, ...). An unknown key or a bad value is an
//! [`Error::InvalidConfig`] naming the key.
//!
//! # Errors
//!
//! Every failure is a variant of [`Error`], whose message says what happened
//! and what to do. [`Error::is_retriable`] tells whether the same call may
//! succeed later (leader changes, too few in-sync replicas, rebalances).
//! Nothing tidelog reads from disk or receives from a caller makes it panic.

mod cluster;
mod config;
mod consumer;
mod error;
mod group;
#[cfg(feature = "kafka")]
pub mod kafka;
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
pub use consumer::{Consumer, RebalanceListener};
pub use error::{CorruptionKind, Error, Result};
pub use group::{
    ConsumerGroup, GroupDescription, GroupState, MemberDescription, OffsetAndMetadata, OffsetSpec,
    PartitionLag,
};
pub use log::{Log, PartitionInfo, Topic};
pub use producer::{Partitioner, Producer};
pub use record::{ConsumerRecord, Header, ProducerRecord, RecordMetadata};
pub use storage::{
    decode_batches, dump_segment, encode_batch, recover_partition, BatchSummary, PartitionSummary,
};
pub use topic::TopicPartition;

/// The README's code blocks, compiled as doctests so the tour cannot drift
/// from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
