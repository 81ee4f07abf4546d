//! The consumer (STUB — the clients helper implements).
#![allow(dead_code, unused_variables, clippy::todo, missing_docs)]

use std::sync::Arc;

use crate::cluster::ClusterCore;
use crate::config::ConsumerConfig;
use crate::error::Result;

/// Reads records from assigned or subscribed partitions.
pub struct Consumer {}

impl Consumer {
    pub(crate) fn new(core: Arc<ClusterCore>, config: ConsumerConfig) -> Result<Consumer> {
        todo!()
    }
}
