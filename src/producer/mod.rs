//! The producer (STUB — the clients helper implements).
#![allow(dead_code, unused_variables, clippy::todo, missing_docs)]

/// Sends records to topics.
pub struct Producer {}

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
