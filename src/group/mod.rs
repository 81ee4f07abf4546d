//! Consumer groups: membership and rebalancing (`coordinator`, driven through
//! `registry`), assignors, committed offsets and the admin handle.

mod admin;
mod assignor;
mod coordinator;
mod description;
mod offset_record;
mod offsets;
mod registry;
#[cfg(feature = "kafka-client")]
mod remote;

pub use admin::{ConsumerGroup, OffsetSpec, PartitionLag};
pub(crate) use coordinator::{JoinRequest, MemberStatus};
pub use description::{GroupDescription, GroupState, MemberDescription};
pub use offset_record::OffsetAndMetadata;
pub(crate) use registry::{Group, Groups, Offsets};
#[cfg(feature = "kafka-client")]
pub(crate) use remote::KafkaGroup;
