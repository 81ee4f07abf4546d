//! Integration tests: one binary, one module per concern.
//!
//! The library's unwrap/expect/panic lints guard against panics on user input
//! and disk contents; a test that fails should panic, so they are off here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod borrowed;
mod bounce;
#[cfg(feature = "zstd")]
mod client_vectors;
mod compaction;
mod compression;
mod config_files;
mod consumer;
mod errors;
mod failover;
mod flush;
mod fuzz_corpus;
mod groups;
#[cfg(all(feature = "kafka", feature = "kafka-client"))]
mod kafka_client;
#[cfg(feature = "kafka")]
mod kafka_data;
mod kafka_format;
#[cfg(feature = "kafka")]
mod kafka_groups;
#[cfg(feature = "kafka")]
mod kafka_wire;
mod log;
mod offsets;
mod ordering;
mod partitioner;
mod produce_consume;
mod producer_errors;
mod randomized;
mod recovery;
mod replication;
mod retention;
mod staples;
mod storage_props;
mod support;
mod topic_config;
