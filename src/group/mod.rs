//! Consumer groups: membership and rebalancing, assignors, committed offsets
//! and the admin handle.

mod assignor;

/// Admin handle on one consumer group.
pub struct ConsumerGroup {}
