//! What `ConsumerGroup::describe` reports: the group's state and members.

use std::fmt;

use crate::config::AssignmentStrategy;
use crate::topic::TopicPartition;

/// The life-cycle states of a consumer group, as Kafka names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupState {
    /// No members. Committed offsets may still exist.
    Empty,
    /// Membership changed; waiting for every member to rejoin.
    PreparingRebalance,
    /// The new assignment is computed; waiting for every member to pick it up.
    CompletingRebalance,
    /// Every member holds its assignment for the current generation.
    Stable,
    /// The group was deleted (or never existed).
    Dead,
}

impl fmt::Display for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        })
    }
}

/// One member of a group, as the coordinator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub(crate) member_id: String,
    pub(crate) client_id: String,
    pub(crate) assignment: Vec<TopicPartition>,
}

impl MemberDescription {
    /// The id the coordinator gave the member (`{client.id}-{sequence}`).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The member's `client.id`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The partitions the member holds, sorted.
    pub fn assignment(&self) -> &[TopicPartition] {
        &self.assignment
    }
}

/// A snapshot of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub(crate) group: String,
    pub(crate) state: GroupState,
    pub(crate) generation: u32,
    pub(crate) strategy: Option<AssignmentStrategy>,
    pub(crate) members: Vec<MemberDescription>,
}

impl GroupDescription {
    /// The group id (Kafka's `groupId`).
    pub fn group_id(&self) -> &str {
        &self.group
    }

    /// The group's state.
    pub fn state(&self) -> GroupState {
        self.state
    }

    /// The generation: bumped by every completed rebalance.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The assignment strategy in use; `None` while the group has no members.
    pub fn strategy(&self) -> Option<AssignmentStrategy> {
        self.strategy
    }

    /// The members, sorted by member id.
    pub fn members(&self) -> &[MemberDescription] {
        &self.members
    }
}
