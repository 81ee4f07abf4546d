//! Consumer groups (STUB — the groups helper implements).
#![allow(dead_code, unused_variables, clippy::todo, missing_docs)]

/// Admin handle on one consumer group.
pub struct ConsumerGroup {}
