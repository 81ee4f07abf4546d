//! Consumer groups: membership and rebalancing, assignors, committed offsets
//! and the admin handle.

mod assignor;
mod coordinator;
mod description;

pub use description::{GroupDescription, GroupState, MemberDescription};

/// Admin handle on one consumer group.
pub struct ConsumerGroup {}
