//! The front door: `Log` (STUB — the lead implements).
#![allow(dead_code, unused_variables, clippy::todo, missing_docs)]

use std::path::Path;

use crate::config::{ConsumerConfig, LogBuilder, ProducerConfig, TopicConfig};
use crate::consumer::Consumer;
use crate::error::Result;
use crate::group::ConsumerGroup;
use crate::producer::Producer;

/// An open data directory: topics, producers, consumers, groups and brokers.
pub struct Log {}

/// A handle on one topic.
pub struct Topic {}

impl Log {
    pub fn open(dir: impl AsRef<Path>) -> Result<Log> {
        todo!()
    }
    pub fn builder(dir: impl AsRef<Path>) -> LogBuilder {
        LogBuilder::new(dir.as_ref().to_path_buf())
    }
    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<Topic> {
        todo!()
    }
    pub fn producer(&self, config: ProducerConfig) -> Result<Producer> {
        todo!()
    }
    pub fn consumer(&self, config: ConsumerConfig) -> Result<Consumer> {
        todo!()
    }
    pub fn consumer_group(&self, group: &str) -> ConsumerGroup {
        todo!()
    }
}
