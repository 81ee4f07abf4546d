//! Consumer groups: membership and rebalancing (`coordinator`, driven through
//! `registry`), assignors, committed offsets and the admin handle.

mod admin;
mod assignor;
mod coordinator;
mod description;
mod offset_record;
mod offsets;
mod registry;

pub use admin::{ConsumerGroup, OffsetSpec, PartitionLag};
pub(crate) use coordinator::{JoinRequest, MemberStatus};
pub use description::{GroupDescription, GroupState, MemberDescription};
pub use offset_record::OffsetAndMetadata;
pub(crate) use registry::{Group, Groups, Offsets};
