//! Kafka's classic group protocol, coordinator side: members join, the
//! leader member assigns (client-side assignment), everyone syncs and
//! heartbeats. Joins and syncs block the caller's connection thread until
//! the round completes, as Kafka holds those requests in its purgatory.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::codes;

/// Where a group is in its rebalance cycle (Kafka's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Empty => "Empty",
            Phase::PreparingRebalance => "PreparingRebalance",
            Phase::CompletingRebalance => "CompletingRebalance",
            Phase::Stable => "Stable",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) client_id: String,
    pub(crate) protocols: Vec<(String, Bytes)>,
    pub(crate) session_timeout: Duration,
    pub(crate) rebalance_timeout: Duration,
    pub(crate) last_seen: Instant,
    /// Joined the round being prepared.
    pub(crate) joined: bool,
    pub(crate) assignment: Bytes,
}

impl Member {
    pub(crate) fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

/// One group's state; the caller holds it under a mutex.
#[derive(Debug)]
pub(crate) struct GroupState {
    pub(crate) phase: Phase,
    pub(crate) generation: i32,
    pub(crate) protocol_type: String,
    pub(crate) protocol: Option<String>,
    pub(crate) leader: Option<String>,
    pub(crate) members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not joined yet.
    pub(crate) pending_ids: Vec<String>,
    /// When the round being prepared stops waiting for slow members.
    pub(crate) join_deadline: Option<Instant>,
    /// Counts completed joins rounds; a joiner waits for it to pass its round.
    pub(crate) rounds: u64,
}

impl Default for GroupState {
    fn default() -> Self {
        GroupState {
            phase: Phase::Empty,
            generation: 0,
            protocol_type: String::new(),
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending_ids: Vec::new(),
            join_deadline: None,
            rounds: 0,
        }
    }
}

impl GroupState {
    /// Drops members whose session ran out; starts a rebalance if any did.
    pub(crate) fn expire(&mut self, now: Instant) {
        let before = self.members.len();
        self.members.retain(|_, m| {
            m.joined || now.saturating_duration_since(m.last_seen) <= m.session_timeout
        });
        if self.members.len() != before {
            self.start_rebalance(now);
        }
        if self.phase == Phase::PreparingRebalance && self.join_deadline.is_some_and(|d| now >= d) {
            self.complete_join();
        }
    }

    /// Moves to PreparingRebalance (or Empty without members).
    pub(crate) fn start_rebalance(&mut self, now: Instant) {
        if self.members.is_empty() {
            self.phase = Phase::Empty;
            self.leader = None;
            self.protocol = None;
            self.join_deadline = None;
            return;
        }
        if self.phase != Phase::PreparingRebalance {
            self.phase = Phase::PreparingRebalance;
            let wait = self
                .members
                .values()
                .map(|m| m.rebalance_timeout)
                .max()
                .unwrap_or_default();
            self.join_deadline = Some(now + wait);
            for member in self.members.values_mut() {
                member.joined = false;
            }
        }
    }

    /// Records a join; completes the round when every member has joined.
    /// Returns the round the joiner waits for.
    pub(crate) fn join(&mut self, member_id: &str, member: Member, now: Instant) -> u64 {
        self.pending_ids.retain(|id| id != member_id);
        let changed = self
            .members
            .get(member_id)
            .is_none_or(|old| old.protocols != member.protocols);
        if changed || self.phase != Phase::PreparingRebalance {
            self.start_rebalance_with(member_id, member, now);
        } else if let Some(m) = self.members.get_mut(member_id) {
            m.joined = true;
            m.last_seen = now;
        }
        let round = self.rounds;
        if self.members.values().all(|m| m.joined) {
            self.complete_join();
        }
        round
    }

    fn start_rebalance_with(&mut self, member_id: &str, mut member: Member, now: Instant) {
        member.joined = true;
        member.last_seen = now;
        if self.phase != Phase::PreparingRebalance {
            self.members.insert(member_id.to_string(), member);
            self.phase = Phase::Empty;
            self.start_rebalance(now);
            if let Some(m) = self.members.get_mut(member_id) {
                m.joined = true;
            }
        } else {
            self.members.insert(member_id.to_string(), member);
        }
    }

    /// Ends the join round: members that did not rejoin leave, the
    /// generation moves on, the leader and protocol are chosen.
    fn complete_join(&mut self) {
        self.members.retain(|_, m| m.joined);
        self.rounds += 1;
        self.join_deadline = None;
        if self.members.is_empty() {
            self.phase = Phase::Empty;
            self.leader = None;
            return;
        }
        self.generation += 1;
        self.phase = Phase::CompletingRebalance;
        let leader_kept = self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l));
        if !leader_kept {
            self.leader = self.members.keys().next().cloned();
        }
        self.protocol = self.choose_protocol();
        for member in self.members.values_mut() {
            member.assignment = Bytes::new();
        }
    }

    /// The leader's first protocol that every member supports.
    fn choose_protocol(&self) -> Option<String> {
        let leader = self.members.get(self.leader.as_ref()?)?;
        leader
            .protocols
            .iter()
            .map(|(name, _)| name)
            .find(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == *name))
            })
            .cloned()
    }

    /// Checks a member and generation as Heartbeat, SyncGroup and
    /// OffsetCommit do; `Err` is the Kafka error code.
    pub(crate) fn check_member(&self, member_id: &str, generation: i32) -> Result<(), i16> {
        if !self.members.contains_key(member_id) {
            return Err(codes::UNKNOWN_MEMBER_ID);
        }
        if generation != self.generation {
            return Err(codes::ILLEGAL_GENERATION);
        }
        Ok(())
    }

    /// The leader's SyncGroup: stores every member's assignment.
    pub(crate) fn assign(&mut self, assignments: Vec<(String, Bytes)>) {
        for (member_id, assignment) in assignments {
            if let Some(member) = self.members.get_mut(&member_id) {
                member.assignment = assignment;
            }
        }
        self.phase = Phase::Stable;
    }

    /// Removes a member; the others rebalance.
    pub(crate) fn leave(&mut self, member_id: &str, now: Instant) -> bool {
        if self.members.remove(member_id).is_none() {
            return false;
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = None;
        }
        self.phase = Phase::Empty;
        self.start_rebalance(now);
        if self.phase == Phase::PreparingRebalance && self.members.values().all(|m| m.joined) {
            self.complete_join();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(protocols: &[&str], now: Instant) -> Member {
        Member {
            client_id: "c".into(),
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::from_static(b"m")))
                .collect(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(30),
            last_seen: now,
            joined: false,
            assignment: Bytes::new(),
        }
    }

    #[test]
    fn two_members_join_sync_and_one_leaves() {
        let now = Instant::now();
        let mut group = GroupState::default();
        group.join("a", member(&["range"], now), now);
        assert_eq!(group.phase, Phase::CompletingRebalance);
        assert_eq!(group.generation, 1);
        group.assign(vec![("a".into(), Bytes::from_static(b"all"))]);
        assert_eq!(group.phase, Phase::Stable);
        // b joins: a must rejoin before the round completes.
        group.join("b", member(&["range", "roundrobin"], now), now);
        assert_eq!(group.phase, Phase::PreparingRebalance);
        assert_eq!(group.check_member("a", 1), Ok(()));
        group.join("a", member(&["range"], now), now);
        assert_eq!(group.phase, Phase::CompletingRebalance);
        assert_eq!(group.generation, 2);
        assert_eq!(group.leader.as_deref(), Some("a"));
        assert_eq!(group.protocol.as_deref(), Some("range"));
        assert_eq!(group.check_member("a", 1), Err(codes::ILLEGAL_GENERATION));
        assert!(group.leave("a", now));
        group.join("b", member(&["range", "roundrobin"], now), now);
        assert_eq!(group.generation, 3);
        assert_eq!(group.leader.as_deref(), Some("b"));
    }

    #[test]
    fn a_silent_member_is_dropped_at_the_join_deadline() {
        let now = Instant::now();
        let mut group = GroupState::default();
        group.join("a", member(&["range"], now), now);
        group.join("b", member(&["range"], now), now);
        assert_eq!(group.phase, Phase::PreparingRebalance);
        group.expire(now + Duration::from_secs(31));
        assert_eq!(group.phase, Phase::CompletingRebalance);
        assert_eq!(group.members.keys().collect::<Vec<_>>(), vec!["b"]);
    }
}
