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
//! # let dir = tempfile::tempdir()?;
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
//! assert_eq!(records[0].value(), Some(&b"order-42"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
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
//!   later failures are counted in [`Producer::failed_sends`], and the
//!   first one since the previous flush comes back from
//!   [`Producer::flush_timeout`].
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
//! [`Consumer::pause`] holds partitions back while polling goes on,
//! [`Consumer::subscribe_pattern`] follows topics by regular expression,
//! and a [`WakeupHandle`] lets another thread interrupt a blocking poll.
//! Keys and values read as `&[u8]`; records are built from owned buffers
//! (moved) or borrowed bytes (copied), see [`IntoPayload`].
//!
//! The offline tools for the on-disk format are in [`inspect`].
//!
//! # Configuration
//!
//! Every config type has typed setters and accepts Kafka's names through
//! `set(key, value)`: [`Log::builder`] (broker level: `message.max.bytes`,
//! `log.retention.minutes`, `log.cleanup.policy`, ...), [`TopicConfig`],
//! [`ProducerConfig`] and [`ConsumerConfig`] (`group.id`,
//! `auto.offset.reset`, ...). Values are checked when the config is used,
//! whichever setter filled them. A bad value or an unknown key is an
//! [`Error::InvalidConfig`] naming the key (and the closest known key for a
//! typo). Kafka's own config files load with `load_file(path)` or
//! `set_all(pairs)`: keys that mean nothing in-process (`bootstrap.servers`,
//! serializers, `ssl.*`, ...) are accepted and listed by `ignored_keys()`.
//!
//! # Kafka features and their status
//!
//! Only what the code does today is listed as working.
//!
//! | feature | status |
//! |---|---|
//! | topics and partitions | works: [`Log::create_topic`], [`TopicConfig`], [`Topic::partitions`] |
//! | send modes, `acks`, batching, idempotence | works: [`Producer::send`], [`Producer::send_sync`], [`Producer::send_with_callback`], [`Acks`]; `enable.idempotence` is on by default |
//! | keys, headers, timestamps, partitioners | works: [`ProducerRecord::key`], [`ProducerRecord::header`], [`ProducerRecord::timestamp`], murmur2 placement, [`Partitioner`], [`TimestampType`] |
//! | consuming, seeking, offsets by time | works: [`Consumer::poll`], [`Consumer::seek`], [`Consumer::offsets_for_times`] |
//! | consumer groups | works: [`Consumer::subscribe`], [`AssignmentStrategy`] (range, roundrobin, cooperative-sticky), [`RebalanceListener`], commits |
//! | group admin (lag, reset) | works: [`ConsumerGroup::lag`], [`ConsumerGroup::reset_offsets`], [`ConsumerGroup::plan_reset_offsets`] |
//! | replication and failover | works, with simulated brokers (threads): [`Cluster`], [`Broker`] |
//! | retention by time and size | works (`cleanup.policy=delete`) |
//! | segment inspection | works: [`inspect::dump_segment`], [`inspect::decode_batches`], [`inspect::recover_partition`] |
//! | Kafka's command-line tools | works offline: the `tidelog` binary (cargo feature `cli`) |
//! | compression | works: [`ProducerConfig::compression`] (gzip, snappy, lz4, zstd; [`Compression`]), topic and broker `compression.type`; compressed batches from Kafka clients are stored as sent |
//! | log compaction | works: `cleanup.policy=compact` and `compact,delete`, a cleaner thread, [`Topic::clean`], [`Topic::cleaner_state`] |
//! | Kafka wire protocol | works behind the cargo feature `kafka`: `tidelog::kafka::KafkaServer` serves a `Log` to kcat, librdkafka, kafka-python and the Java client |
//! | a Kafka backend for more than one machine | works behind the cargo feature `kafka-client`: `Log::connect(KafkaConfig)` returns the same handles over a Kafka cluster, through librdkafka |
//! | pause/resume, wakeup, regex subscribe, lag | works: [`Consumer::pause`], [`Consumer::resume`], [`Consumer::wakeup_handle`], [`Consumer::subscribe_pattern`], [`Consumer::lag`] |
//! | topic administration | works: [`Topic::create_partitions`], [`Topic::delete_records`], [`Topic::alter_config`], [`Topic::describe_config`] |
//! | static membership, metrics | missing, not scheduled |
//! | transactions, `read_committed`, exactly-once | out of scope: they need a transaction coordinator, markers in the log and a last stable offset; the idempotent producer already removes retry duplicates |
//! | SASL, SSL, ACLs, quotas | out of scope: there is no network; the process is the security boundary |
//! | KRaft, multi-machine clusters | out of scope: the controller is a thread and the metadata a file |
//! | Kafka's batch bytes | works: batches are Kafka's v2 batches byte for byte (CRC-32C); index and checkpoint files are tidelog's own |
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
pub mod inspect;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(test)]
mod layering_tests;
mod log;
mod producer;
mod record;
#[cfg(feature = "kafka-client")]
mod remote;
mod storage;
mod topic;

pub use bytes::Bytes;
pub use cluster::{Broker, Cluster, PartitionReplicas};
pub use config::{
    Acks, AssignmentStrategy, CleanupPolicy, ConfigChange, ConfigEntry, ConfigSource, TopicConfig,
};
pub use consumer::{
    Consumer, ConsumerConfig, OffsetAndTimestamp, OffsetReset, RebalanceListener, WakeupHandle,
};
pub use error::{CommitRefusal, CorruptionKind, Error, Result};
pub use group::{
    ConsumerGroup, GroupDescription, GroupState, MemberDescription, OffsetAndMetadata, OffsetSpec,
    PartitionLag,
};
pub use log::{Log, LogBuilder, PartitionOffsets, Topic};
pub use producer::{Partitioner, Producer, ProducerConfig};
pub use record::{
    Compression, ConsumerRecord, Header, IntoPayload, ProducerRecord, RecordMetadata, TimestampType,
};
#[cfg(feature = "kafka-client")]
pub use remote::KafkaConfig;
pub use storage::CleanerState;
pub use topic::TopicPartition;

/// The README's code blocks, compiled as doctests so the tour cannot drift
/// from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
