//! The producer (STUB — the clients helper implements).
#![allow(dead_code, unused_variables, clippy::todo, missing_docs)]

use std::sync::Arc;

use crate::cluster::ClusterCore;
use crate::config::ProducerConfig;
use crate::error::Result;

/// Sends records to topics.
pub struct Producer {}

impl Producer {
    pub(crate) fn new(core: Arc<ClusterCore>, config: ProducerConfig) -> Result<Producer> {
        todo!()
    }
}

/// Chooses a partition for records the user did not place.
pub trait Partitioner: Send + Sync {
    /// The partition (below `partitions`) for a record.
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: u32,
    ) -> u32;
}
