//! The group coordinator: membership, generations and rebalances of one
//! consumer group, as a sans-IO state machine.
//!
//! Every call takes `now`; nothing here sleeps, spawns or touches a file, so
//! tests drive time by hand. The shell around it (`group::registry`) holds it
//! in a mutex, calls it from members' `poll` and heartbeat threads, and wakes
//! waiters when it changes.
//!
//! # Protocol
//!
//! Kafka's join/sync round trip, in process: the coordinator runs the assignor
//! itself instead of asking a leader member to.
//!
//! 1. A join, a clean leave, an eviction (no heartbeat for the member's
//!    `session.timeout.ms`, or no poll for its `max.poll.interval.ms`) or a
//!    change in the subscribed topics' partition counts starts a rebalance:
//!    state `PreparingRebalance`; every member must rejoin.
//! 2. Members learn that in their own poll (`MemberStatus::RejoinNeeded`).
//!    With an eager strategy (range, roundrobin) a member revokes *all* its
//!    partitions (listener, commit) *before* it rejoins, so the coordinator
//!    clears its ownership on join. With cooperative-sticky it rejoins
//!    keeping them.
//! 3. When every member has rejoined, the assignment is computed, the
//!    generation bumped, and the state becomes `CompletingRebalance`. Each
//!    member picks its assignment up in its next poll (`Assigned`); when all
//!    have, the group is `Stable`.
//! 4. Cooperative: a partition that moves is withheld from its new owner in
//!    this generation, and its old owner's assignment no longer contains it
//!    (the member revokes it when it picks the assignment up). Once every
//!    member has picked up, a follow-up rebalance starts at once; by then the
//!    partition is free and goes to its new owner. Kafka's cooperative
//!    protocol does the same with a second join round.
//!
//! The invariant this buys: the `owned` sets of current members are always
//! disjoint, so a partition never has two owners in the coordinator's view.
//! A member evicted by timeout may still believe it owns partitions (a
//! zombie); its commits are refused because it is no longer a member.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::assignor::{self, MemberSubscription};
use super::description::{GroupDescription, GroupState, MemberDescription};
use crate::config::AssignmentStrategy;
use crate::topic::TopicPartition;

/// What a member asks for when it joins.
#[derive(Debug, Clone)]
pub(crate) struct JoinRequest {
    pub(crate) client_id: String,
    pub(crate) topics: BTreeSet<String>,
    pub(crate) strategy: AssignmentStrategy,
    pub(crate) session_timeout: Duration,
    pub(crate) max_poll_interval: Duration,
}

/// Why the coordinator refused a member's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The member id is not (or no longer) in the group.
    UnknownMember,
    /// The request carries a generation other than the group's.
    IllegalGeneration,
    /// The group is between generations; retry after rejoining.
    RebalanceInProgress,
    /// The member's strategy differs from the one the group uses.
    InconsistentStrategy(AssignmentStrategy),
}

/// What a member must do, as answered to its poll or heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemberStatus {
    /// Nothing changed: keep the partitions of `generation`.
    Stable { generation: u32 },
    /// A rebalance started: revoke (eager: everything) and rejoin.
    RejoinNeeded,
    /// Joined; other members have not rejoined yet.
    AwaitingJoin,
    /// A new generation: the member now owns exactly `partitions`.
    Assigned {
        generation: u32,
        partitions: BTreeSet<TopicPartition>,
    },
    /// Not a member (evicted, or never joined): its partitions are lost.
    Unknown,
}

#[derive(Debug)]
struct Member {
    client_id: String,
    topics: BTreeSet<String>,
    session_timeout: Duration,
    max_poll_interval: Duration,
    last_heartbeat: Instant,
    last_poll: Instant,
    /// Joined the rebalance in progress.
    joined: bool,
    /// Generation of the assignment the member holds (0: none yet).
    generation: u32,
    owned: BTreeSet<TopicPartition>,
    /// Assignment computed for the current generation, not yet picked up.
    pending: Option<BTreeSet<TopicPartition>>,
}

impl Member {
    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_heartbeat) > self.session_timeout
            || now.saturating_duration_since(self.last_poll) > self.max_poll_interval
    }

    /// When the member expires; `None` if both timeouts are too large to
    /// ever run out (`Instant` cannot represent the sum).
    fn deadline(&self) -> Option<Instant> {
        let session = self.last_heartbeat.checked_add(self.session_timeout);
        let poll = self.last_poll.checked_add(self.max_poll_interval);
        match (session, poll) {
            (Some(s), Some(p)) => Some(s.min(p)),
            (s, p) => s.or(p),
        }
    }
}

/// Membership and generations of one consumer group.
#[derive(Debug)]
pub(crate) struct GroupCoordinator {
    group: String,
    state: GroupState,
    generation: u32,
    strategy: Option<AssignmentStrategy>,
    members: BTreeMap<String, Member>,
    next_member: u64,
    /// Partition counts of the subscribed topics that exist.
    metadata: BTreeMap<String, u32>,
    /// Cooperative: partitions were withheld; rebalance again once stable.
    follow_up: bool,
    /// Bumped by every change a member or waiter may care about.
    version: u64,
}

impl GroupCoordinator {
    pub(crate) fn new(group: &str) -> Self {
        GroupCoordinator {
            group: group.to_string(),
            state: GroupState::Empty,
            generation: 0,
            strategy: None,
            members: BTreeMap::new(),
            next_member: 0,
            metadata: BTreeMap::new(),
            follow_up: false,
            version: 0,
        }
    }

    /// Changes whenever the state, the generation or the membership does.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> GroupState {
        self.state
    }

    pub(crate) fn has_members(&self) -> bool {
        !self.members.is_empty()
    }

    /// Every topic some member subscribes to.
    pub(crate) fn subscribed_topics(&self) -> BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| m.topics.iter().cloned())
            .collect()
    }

    /// Records the partition counts of the subscribed topics (absent topics
    /// omitted). A change rebalances a group that has members.
    pub(crate) fn update_metadata(&mut self, metadata: BTreeMap<String, u32>, now: Instant) {
        if metadata == self.metadata {
            return;
        }
        self.metadata = metadata;
        if matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance
        ) {
            self.start_rebalance(now);
        }
    }

    /// Adds a member (`member_id` `None`) or rejoins an existing one; returns
    /// the member id.
    pub(crate) fn join(
        &mut self,
        member_id: Option<&str>,
        request: JoinRequest,
        now: Instant,
    ) -> Result<String, Refusal> {
        self.tick(now);
        if self.state == GroupState::Dead {
            // Deleted, now used again: a new group (generations keep
            // counting, so nothing from before the deletion is accepted).
            self.state = GroupState::Empty;
        }
        if let Some(strategy) = self.strategy.filter(|s| *s != request.strategy) {
            return Err(Refusal::InconsistentStrategy(strategy));
        }
        let cooperative = request.strategy == AssignmentStrategy::CooperativeSticky;
        let id = match member_id {
            Some(id) if self.members.contains_key(id) => id.to_string(),
            Some(_) => return Err(Refusal::UnknownMember),
            None => self.add_member(&request, now),
        };
        self.strategy = Some(request.strategy);
        if self.state != GroupState::PreparingRebalance {
            self.start_rebalance(now);
        }
        if let Some(member) = self.members.get_mut(&id) {
            member.topics = request.topics;
            member.session_timeout = request.session_timeout;
            member.max_poll_interval = request.max_poll_interval;
            member.last_heartbeat = now;
            member.last_poll = now;
            member.joined = true;
            if !cooperative {
                // Eager members revoke everything before they rejoin.
                member.owned.clear();
            }
        }
        self.complete_join_if_ready();
        Ok(id)
    }

    fn add_member(&mut self, request: &JoinRequest, now: Instant) -> String {
        self.next_member += 1;
        let id = format!("{}-{:08}", request.client_id, self.next_member);
        self.members.insert(
            id.clone(),
            Member {
                client_id: request.client_id.clone(),
                topics: request.topics.clone(),
                session_timeout: request.session_timeout,
                max_poll_interval: request.max_poll_interval,
                last_heartbeat: now,
                last_poll: now,
                joined: false,
                generation: 0,
                owned: BTreeSet::new(),
                pending: None,
            },
        );
        id
    }

    /// A member's poll: counts as liveness, and picks up a new assignment.
    pub(crate) fn poll(&mut self, member_id: &str, now: Instant) -> MemberStatus {
        self.tick(now);
        let generation = self.generation;
        let state = self.state;
        let Some(member) = self.members.get_mut(member_id) else {
            return MemberStatus::Unknown;
        };
        member.last_poll = now;
        member.last_heartbeat = now;
        let status = match (state, member.pending.take()) {
            (GroupState::PreparingRebalance, _) if !member.joined => MemberStatus::RejoinNeeded,
            (GroupState::PreparingRebalance, _) => MemberStatus::AwaitingJoin,
            (_, Some(partitions)) => {
                member.owned = partitions.clone();
                member.generation = generation;
                MemberStatus::Assigned {
                    generation,
                    partitions,
                }
            }
            _ => MemberStatus::Stable {
                generation: member.generation,
            },
        };
        self.stabilize_if_ready(now);
        status
    }

    /// A heartbeat: liveness, and `last_poll`, when the member's user thread
    /// last polled (so polls need not take the coordinator's lock). Answers
    /// what the member's next poll would find, without picking anything up.
    pub(crate) fn heartbeat(
        &mut self,
        member_id: &str,
        last_poll: Instant,
        now: Instant,
    ) -> MemberStatus {
        if let Some(member) = self.members.get_mut(member_id) {
            member.last_poll = member.last_poll.max(last_poll);
        }
        self.tick(now);
        let state = self.state;
        let Some(member) = self.members.get_mut(member_id) else {
            return MemberStatus::Unknown;
        };
        member.last_heartbeat = now;
        match (state, &member.pending) {
            (GroupState::PreparingRebalance, _) if !member.joined => MemberStatus::RejoinNeeded,
            (GroupState::PreparingRebalance, _) => MemberStatus::AwaitingJoin,
            (_, Some(partitions)) => MemberStatus::Assigned {
                generation: self.generation,
                partitions: partitions.clone(),
            },
            _ => MemberStatus::Stable {
                generation: member.generation,
            },
        }
    }

    /// A clean leave: the member's partitions are free at once.
    pub(crate) fn leave(&mut self, member_id: &str, now: Instant) {
        if self.members.remove(member_id).is_some() {
            self.membership_changed(now);
        }
    }

    /// Whether a member may commit offsets now. A member of the current
    /// generation may commit while the group is stable or while it prepares
    /// a rebalance (so eager members commit on revoke). `member_id` `None`
    /// is a consumer with manual assignment: allowed only while the group
    /// has no members.
    pub(crate) fn validate_commit(
        &mut self,
        member_id: Option<&str>,
        generation: u32,
        now: Instant,
    ) -> Result<(), Refusal> {
        self.tick(now);
        let Some(member_id) = member_id else {
            return match self.members.is_empty() {
                true => Ok(()),
                false => Err(Refusal::UnknownMember),
            };
        };
        let member = self.members.get(member_id).ok_or(Refusal::UnknownMember)?;
        if generation != self.generation || member.generation != generation {
            return Err(match self.state {
                GroupState::CompletingRebalance if member.pending.is_some() => {
                    Refusal::RebalanceInProgress
                }
                _ => Refusal::IllegalGeneration,
            });
        }
        Ok(())
    }

    /// Evicts members whose session or poll interval ran out; returns
    /// whether anything changed.
    pub(crate) fn tick(&mut self, now: Instant) -> bool {
        let before = self.members.len();
        self.members.retain(|_, m| !m.expired(now));
        let changed = self.members.len() != before;
        if changed {
            self.membership_changed(now);
        }
        changed
    }

    /// The earliest instant at which `tick` could evict someone.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.members.values().filter_map(Member::deadline).min()
    }

    /// Marks the group deleted; only valid when it has no members.
    pub(crate) fn mark_dead(&mut self) {
        self.version += 1;
        self.state = GroupState::Dead;
        // A later group of the same name may pick any strategy.
        self.strategy = None;
    }

    pub(crate) fn describe(&self) -> GroupDescription {
        GroupDescription {
            group: self.group.clone(),
            state: self.state,
            generation: self.generation,
            strategy: self.strategy,
            members: self
                .members
                .iter()
                .map(|(id, m)| MemberDescription {
                    member_id: id.clone(),
                    client_id: m.client_id.clone(),
                    assignment: m.owned.iter().cloned().collect(),
                })
                .collect(),
        }
    }

    fn membership_changed(&mut self, now: Instant) {
        self.version += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.strategy = None;
            self.follow_up = false;
        } else if self.state == GroupState::PreparingRebalance {
            self.complete_join_if_ready();
        } else {
            self.start_rebalance(now);
        }
    }

    fn start_rebalance(&mut self, now: Instant) {
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            return;
        }
        let _ = now;
        self.version += 1;
        self.state = GroupState::PreparingRebalance;
        for member in self.members.values_mut() {
            member.joined = false;
            member.pending = None;
        }
    }

    fn complete_join_if_ready(&mut self) {
        if self.state != GroupState::PreparingRebalance || !self.members.values().all(|m| m.joined)
        {
            return;
        }
        let strategy = self.strategy.unwrap_or_default();
        let subscriptions: Vec<MemberSubscription> = self
            .members
            .iter()
            .map(|(id, m)| MemberSubscription {
                member_id: id.clone(),
                topics: m.topics.clone(),
                owned: m.owned.clone(),
            })
            .collect();
        let mut target = assignor::assign(strategy, &subscriptions, &self.metadata);
        if strategy == AssignmentStrategy::CooperativeSticky {
            self.withhold_owned_elsewhere(&mut target);
        }
        self.generation = self.generation.wrapping_add(1);
        for (id, member) in &mut self.members {
            member.pending = Some(target.remove(id).unwrap_or_default());
        }
        self.state = GroupState::CompletingRebalance;
        self.version += 1;
    }

    /// Cooperative first round: a partition still owned by another member is
    /// not handed out yet; its owner's assignment drops it (a revoke).
    fn withhold_owned_elsewhere(&mut self, target: &mut assignor::Assignment) {
        for (id, partitions) in target.iter_mut() {
            let before = partitions.len();
            partitions.retain(|tp| {
                !self
                    .members
                    .iter()
                    .any(|(other, m)| other != id && m.owned.contains(tp))
            });
            if partitions.len() != before {
                self.follow_up = true;
            }
        }
    }

    fn stabilize_if_ready(&mut self, now: Instant) {
        if self.state != GroupState::CompletingRebalance
            || self.members.values().any(|m| m.pending.is_some())
        {
            return;
        }
        self.state = GroupState::Stable;
        self.version += 1;
        if std::mem::take(&mut self.follow_up) {
            self.start_rebalance(now);
        }
    }
}

#[cfg(test)]
mod tests;
