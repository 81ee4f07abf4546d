//! Consumer groups: membership and rebalancing, assignors, committed offsets
//! and the admin handle.

mod assignor;
mod coordinator;
mod description;
mod offset_record;
mod offsets;

pub use description::{GroupDescription, GroupState, MemberDescription};
pub use offset_record::OffsetAndMetadata;

/// Admin handle on one consumer group.
pub struct ConsumerGroup {}
