//! The controller: broker liveness, replica placement, leader election and
//! ISR bookkeeping, over the cluster metadata.
//!
//! A pure state machine driven by `heartbeat`, `tick` and explicit requests;
//! every call returns the partitions whose state changed, which the caller
//! persists (before acting on them) and hands to the brokers.
//!
//! Election rule: the new leader is the first replica, in assignment order,
//! that is alive and in the ISR. When none is, the partition goes offline and
//! its last in-sync replica stays recorded in the ISR, so that replica (and
//! only it) may lead again when it returns: electing anyone else could
//! silently drop records that were acknowledged to producers. With
//! `unclean.leader.election.enable` the first live replica leads instead,
//! losing whatever it had not replicated.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::leader::BrokerId;
use super::metadata::{ClusterMetadata, PartitionState, TopicState};
use super::placement::place;
use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::topic::TopicPartition;

#[derive(Debug, Clone, Copy)]
struct Liveness {
    last_heartbeat: Instant,
    alive: bool,
}

/// A partition whose leader, ISR or epoch changed.
pub(crate) type Change = (TopicPartition, PartitionState);

/// Controller state of one cluster.
pub(crate) struct Controller {
    metadata: ClusterMetadata,
    brokers: BTreeMap<BrokerId, Liveness>,
    session_timeout: Duration,
    unclean_default: bool,
}

impl Controller {
    /// Takes over `metadata`; every broker counts as alive from `now` until
    /// its session runs out without a heartbeat.
    pub(crate) fn new(
        metadata: ClusterMetadata,
        brokers: u32,
        session_timeout: Duration,
        unclean_default: bool,
        now: Instant,
    ) -> Self {
        let live = Liveness {
            last_heartbeat: now,
            alive: true,
        };
        Controller {
            metadata,
            brokers: (0..brokers).map(|id| (id, live)).collect(),
            session_timeout,
            unclean_default,
        }
    }

    pub(crate) fn metadata(&self) -> &ClusterMetadata {
        &self.metadata
    }

    pub(crate) fn is_alive(&self, id: BrokerId) -> bool {
        self.brokers.get(&id).is_some_and(|b| b.alive)
    }

    pub(crate) fn allocate_producer_id(&mut self) -> i64 {
        let id = self.metadata.next_producer_id;
        self.metadata.next_producer_id = id.saturating_add(1);
        id
    }

    /// A broker is alive at `now`; a returning broker may restore offline partitions.
    pub(crate) fn heartbeat(&mut self, id: BrokerId, now: Instant) -> Vec<Change> {
        let Some(b) = self.brokers.get_mut(&id) else {
            return Vec::new();
        };
        b.last_heartbeat = now;
        if b.alive {
            return Vec::new();
        }
        b.alive = true;
        self.for_each_partition(|c, _, s| s.leader.is_none() && c.elect(s))
    }

    /// A broker (re)starts. A new incarnation means the old one stopped,
    /// perhaps losing unflushed data, so it is fenced first (its leaderships
    /// move to in-sync peers); then it is alive and may restore partitions
    /// that went offline waiting for it.
    pub(crate) fn register(&mut self, id: BrokerId, now: Instant) -> Vec<Change> {
        let mut changes = self.fence(id);
        changes.extend(self.heartbeat(id, now));
        changes
    }

    /// Elects leaders for partitions that have none (e.g. after a reopen).
    pub(crate) fn elect_offline(&mut self) -> Vec<Change> {
        self.for_each_partition(|c, _, s| s.leader.is_none() && c.elect(s))
    }

    /// Fences brokers whose session expired and moves their leaderships.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<Change> {
        let expired: Vec<BrokerId> = self
            .brokers
            .iter()
            .filter(|(_, b)| {
                b.alive && now.saturating_duration_since(b.last_heartbeat) > self.session_timeout
            })
            .map(|(&id, _)| id)
            .collect();
        let mut changes = Vec::new();
        for id in expired {
            changes.extend(self.fence(id));
        }
        changes
    }

    /// Takes `id` out of service at once (clean shutdown, or death detected
    /// some other way): out of every ISR it is not the last member of, and
    /// its leaderships handed to other in-sync replicas.
    pub(crate) fn fence(&mut self, id: BrokerId) -> Vec<Change> {
        if let Some(b) = self.brokers.get_mut(&id) {
            b.alive = false;
        }
        self.for_each_partition(|c, _, s| {
            if !s.replicas.contains(&id) {
                return false;
            }
            let mut changed = false;
            if s.isr.contains(&id) && s.isr.len() > 1 {
                s.isr.retain(|&r| r != id);
                s.partition_epoch += 1;
                changed = true;
            }
            if s.leader == Some(id) {
                s.leader = None;
                c.elect(s);
                changed = true;
            }
            changed
        })
    }

    /// Hands each partition back to its preferred leader (the first
    /// assigned replica) where that replica is alive, in sync and not
    /// leading, as Kafka's preferred leader election does.
    pub(crate) fn elect_preferred_leaders(&mut self) -> Vec<Change> {
        self.for_each_partition(|c, _, s| {
            let Some(&preferred) = s.replicas.first() else {
                return false;
            };
            let eligible = s.leader.is_some()
                && s.leader != Some(preferred)
                && s.isr.contains(&preferred)
                && c.is_alive(preferred);
            if eligible {
                s.leader = Some(preferred);
                s.leader_epoch += 1;
                s.partition_epoch += 1;
            }
            eligible
        })
    }

    /// The leader of `tp` asks to set its ISR (shrink on lag, expand on
    /// catch-up). Refused when it no longer leads at `leader_epoch`, or when
    /// the ISR changed since the one it proposes from (`partition_epoch`):
    /// a late proposal could otherwise undo a shrink the leader has already
    /// committed records under. Brokers that are not alive are never added.
    pub(crate) fn alter_isr(
        &mut self,
        tp: &TopicPartition,
        leader: BrokerId,
        (leader_epoch, partition_epoch): (i32, i32),
        isr: &[BrokerId],
    ) -> Option<Change> {
        let alive: Vec<BrokerId> = self
            .brokers
            .iter()
            .filter(|(_, b)| b.alive)
            .map(|(&id, _)| id)
            .collect();
        let s = self.metadata.partition_mut(tp.topic(), tp.partition())?;
        if s.leader != Some(leader)
            || s.leader_epoch != leader_epoch
            || s.partition_epoch != partition_epoch
        {
            return None;
        }
        let mut next: Vec<BrokerId> = vec![leader];
        for &id in isr {
            let joins = !s.isr.contains(&id);
            let eligible = s.replicas.contains(&id) && !next.contains(&id);
            if eligible && (!joins || alive.contains(&id)) {
                next.push(id);
            }
        }
        if next == s.isr {
            return None;
        }
        s.isr = next;
        s.partition_epoch += 1;
        Some((tp.clone(), s.clone()))
    }

    /// Places a new topic's replicas over the brokers and elects its leaders.
    pub(crate) fn create_topic(
        &mut self,
        name: &str,
        config: TopicConfig,
        partitions: u32,
        replication_factor: u32,
    ) -> Result<Vec<Change>> {
        if self.metadata.topics.contains_key(name) {
            return Err(Error::TopicAlreadyExists(name.to_string()));
        }
        let brokers: Vec<BrokerId> = self.brokers.keys().copied().collect();
        let count = u32::try_from(brokers.len()).unwrap_or(u32::MAX);
        if replication_factor == 0 || replication_factor > count {
            return Err(Error::InvalidReplicationFactor {
                requested: replication_factor,
                brokers: count,
            });
        }
        let states = self.place_partitions(partitions, replication_factor);
        let topic = TopicState {
            config,
            partitions: states,
        };
        self.metadata.topics.insert(name.to_string(), topic);
        Ok(self.for_each_partition(|c, t, s| t == name && c.elect(s)))
    }

    /// Grows topic `name` to `total` partitions (Kafka's CreatePartitions):
    /// the new ones are placed like a new topic's, with the topic's
    /// replication factor, and get their leaders. A topic never shrinks.
    pub(crate) fn create_partitions(&mut self, name: &str, total: u32) -> Result<Vec<Change>> {
        let topic = self
            .metadata
            .topics
            .get(name)
            .ok_or_else(|| Error::UnknownTopic(name.to_string()))?;
        let current = u32::try_from(topic.partitions.len()).unwrap_or(u32::MAX);
        if total <= current {
            return Err(Error::config(
                "partitions",
                total.to_string(),
                format!("topic {name:?} has {current} partitions; a topic can only grow"),
            ));
        }
        let rf = topic.partitions.first().map_or(0, |p| p.replicas.len());
        let rf = u32::try_from(rf).unwrap_or(u32::MAX);
        let states = self.place_partitions(total - current, rf);
        let Some(topic) = self.metadata.topics.get_mut(name) else {
            return Err(Error::UnknownTopic(name.to_string()));
        };
        topic.partitions.extend(states);
        topic.config.partitions = Some(total);
        // New partitions are the ones never led (epoch 0).
        Ok(self.for_each_partition(|c, t, s| {
            t == name && s.leader.is_none() && s.leader_epoch == 0 && c.elect(s)
        }))
    }

    /// States for `count` new partitions with `rf` replicas each, placed
    /// from where the last placement stopped; the ISR is the live replicas.
    fn place_partitions(&mut self, count: u32, rf: u32) -> Vec<PartitionState> {
        let brokers: Vec<BrokerId> = self.brokers.keys().copied().collect();
        let seed = self.metadata.placements;
        let assignment = place(&brokers, count, rf, seed);
        self.metadata.placements = seed.wrapping_add(u64::from(count));
        assignment
            .into_iter()
            .map(|replicas| {
                let isr: Vec<BrokerId> = replicas
                    .iter()
                    .copied()
                    .filter(|&r| self.is_alive(r))
                    .collect();
                let isr = if isr.is_empty() {
                    replicas.clone()
                } else {
                    isr
                };
                PartitionState {
                    leader: None,
                    isr,
                    replicas,
                    leader_epoch: 0,
                    partition_epoch: 0,
                }
            })
            .collect()
    }

    /// Replaces topic `name`'s settings (validated by the caller) and
    /// returns the old ones; no partition changes state.
    pub(crate) fn set_topic_config(
        &mut self,
        name: &str,
        config: TopicConfig,
    ) -> Result<TopicConfig> {
        let topic = self
            .metadata
            .topics
            .get_mut(name)
            .ok_or_else(|| Error::UnknownTopic(name.to_string()))?;
        Ok(std::mem::replace(&mut topic.config, config))
    }

    /// Forgets a topic; `false` if it did not exist.
    pub(crate) fn delete_topic(&mut self, name: &str) -> bool {
        self.metadata.topics.remove(name).is_some()
    }

    /// Applies `f` to every partition; collects those it reports changed.
    fn for_each_partition(
        &mut self,
        mut f: impl FnMut(&Electorate<'_>, &str, &mut PartitionState) -> bool,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        for (name, topic) in &mut self.metadata.topics {
            let electorate = Electorate {
                brokers: &self.brokers,
                unclean: topic
                    .config
                    .unclean_leader_election
                    .unwrap_or(self.unclean_default),
            };
            for (p, s) in topic.partitions.iter_mut().enumerate() {
                if f(&electorate, name, s) {
                    let p = u32::try_from(p).unwrap_or(u32::MAX);
                    changes.push((TopicPartition::new(name.clone(), p), s.clone()));
                }
            }
        }
        changes
    }
}

/// Who may lead a partition of one topic.
struct Electorate<'a> {
    brokers: &'a BTreeMap<BrokerId, Liveness>,
    unclean: bool,
}

impl Electorate<'_> {
    fn is_alive(&self, id: BrokerId) -> bool {
        self.brokers.get(&id).is_some_and(|b| b.alive)
    }

    /// Picks a leader for `s` (whose leader is gone); true when it changed.
    fn elect(&self, s: &mut PartitionState) -> bool {
        let clean = s
            .replicas
            .iter()
            .copied()
            .find(|&r| s.isr.contains(&r) && self.is_alive(r));
        let leader = match clean {
            Some(r) => Some(r),
            None if self.unclean => {
                let r = s.replicas.iter().copied().find(|&r| self.is_alive(r));
                if let Some(r) = r {
                    s.isr = vec![r];
                }
                r
            }
            None => None,
        };
        let Some(leader) = leader else {
            return false;
        };
        s.leader = Some(leader);
        s.leader_epoch += 1;
        s.partition_epoch += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: Duration = Duration::from_millis(1000);

    fn controller(brokers: u32, unclean: bool) -> (Controller, Instant) {
        let now = Instant::now();
        let c = Controller::new(ClusterMetadata::default(), brokers, SESSION, unclean, now);
        (c, now)
    }

    fn state(c: &Controller, p: u32) -> PartitionState {
        c.metadata().partition("t", p).cloned().unwrap()
    }

    #[test]
    fn a_dead_leader_is_replaced_by_the_next_in_sync_replica() {
        let (mut c, t) = controller(3, false);
        c.create_topic("t", TopicConfig::new(), 1, 3).unwrap();
        let before = state(&c, 0);
        let first = before.replicas[0];
        assert_eq!(before.leader, Some(first));
        assert_eq!(before.leader_epoch, 1);
        for id in 0..3 {
            if id != first {
                c.heartbeat(id, t + SESSION);
            }
        }
        let changes = c.tick(t + SESSION + Duration::from_millis(1));
        assert_eq!(changes.len(), 1);
        let after = state(&c, 0);
        assert_eq!(after.leader, Some(before.replicas[1]));
        assert_eq!(after.leader_epoch, 2);
        assert!(after.partition_epoch > before.partition_epoch);
        assert!(!after.isr.contains(&first));
    }

    #[test]
    fn without_unclean_election_only_the_last_in_sync_replica_may_lead_again() {
        let (mut c, t) = controller(3, false);
        c.create_topic("t", TopicConfig::new(), 1, 3).unwrap();
        let r = state(&c, 0).replicas;
        let epoch = state(&c, 0).partition_epoch;
        c.fence(r[1]);
        c.fence(r[2]);
        assert_eq!(state(&c, 0).isr, vec![r[0]]);
        assert_eq!(
            state(&c, 0).partition_epoch,
            epoch + 2,
            "every ISR change is a new epoch"
        );
        c.fence(r[0]);
        let s = state(&c, 0);
        assert_eq!((s.leader, s.isr.clone()), (None, vec![r[0]]));
        c.heartbeat(r[1], t);
        c.heartbeat(r[2], t);
        assert_eq!(
            state(&c, 0).leader,
            None,
            "out-of-sync replicas must not lead"
        );
        let changes = c.heartbeat(r[0], t);
        assert_eq!(changes.len(), 1);
        assert_eq!(state(&c, 0).leader, Some(r[0]));
    }

    #[test]
    fn unclean_election_lets_a_live_out_of_sync_replica_lead() {
        let (mut c, t) = controller(3, false);
        let config = TopicConfig::new()
            .set("unclean.leader.election.enable", "true")
            .unwrap();
        c.create_topic("t", config, 1, 3).unwrap();
        let r = state(&c, 0).replicas;
        c.fence(r[1]);
        c.fence(r[2]);
        c.fence(r[0]);
        assert_eq!(state(&c, 0).leader, None);
        c.heartbeat(r[2], t);
        let s = state(&c, 0);
        assert_eq!((s.leader, s.isr), (Some(r[2]), vec![r[2]]));
    }

    #[test]
    fn isr_changes_need_the_current_leader_and_epoch() {
        let (mut c, _) = controller(3, false);
        c.create_topic("t", TopicConfig::new(), 1, 3).unwrap();
        let s = state(&c, 0);
        let leader = s.replicas[0];
        let tp = TopicPartition::new("t", 0);
        let epochs = (s.leader_epoch, s.partition_epoch);
        assert!(c
            .alter_isr(
                &tp,
                leader,
                (s.leader_epoch + 1, s.partition_epoch),
                &[leader]
            )
            .is_none());
        assert!(c.alter_isr(&tp, s.replicas[1], epochs, &[leader]).is_none());
        let (_, shrunk) = c.alter_isr(&tp, leader, epochs, &[leader]).unwrap();
        assert_eq!(shrunk.isr, vec![leader]);
        let grow = [leader, s.replicas[1], s.replicas[2]];
        assert!(
            c.alter_isr(&tp, leader, epochs, &grow).is_none(),
            "a proposal from before the shrink must not undo it"
        );
        c.fence(s.replicas[2]);
        let s = state(&c, 0);
        let epochs = (s.leader_epoch, s.partition_epoch);
        let (_, grown) = c.alter_isr(&tp, leader, epochs, &grow).unwrap();
        assert_eq!(
            grown.isr,
            vec![leader, s.replicas[1]],
            "a dead broker cannot join"
        );
    }

    #[test]
    fn preferred_leaders_take_back_their_partitions_once_in_sync() {
        let (mut c, t) = controller(3, false);
        c.create_topic("t", TopicConfig::new(), 3, 3).unwrap();
        let preferred: Vec<BrokerId> = (0..3).map(|p| state(&c, p).replicas[0]).collect();
        c.fence(preferred[0]);
        assert_ne!(state(&c, 0).leader, Some(preferred[0]));
        assert!(
            c.elect_preferred_leaders().is_empty(),
            "not back in sync yet"
        );
        c.heartbeat(preferred[0], t);
        let tp = TopicPartition::new("t", 0);
        let s = state(&c, 0);
        let mut isr = s.isr.clone();
        isr.push(preferred[0]);
        c.alter_isr(
            &tp,
            s.leader.unwrap(),
            (s.leader_epoch, s.partition_epoch),
            &isr,
        )
        .unwrap();
        let moved = c.elect_preferred_leaders();
        assert_eq!(moved.len(), 1);
        assert_eq!(state(&c, 0).leader, Some(preferred[0]));
        assert_eq!(state(&c, 0).leader_epoch, s.leader_epoch + 1);
        assert!(c.elect_preferred_leaders().is_empty());
    }

    #[test]
    fn a_topic_grows_with_placed_and_led_partitions_but_never_shrinks() {
        let (mut c, _) = controller(3, false);
        c.create_topic("t", TopicConfig::new().partitions(2), 2, 2)
            .unwrap();
        let before: Vec<_> = (0..2).map(|p| state(&c, p)).collect();
        let changes = c.create_partitions("t", 5).unwrap();
        assert_eq!(changes.len(), 3, "only the new partitions change");
        for p in 2..5 {
            let s = state(&c, p);
            assert_eq!(s.replicas.len(), 2);
            assert_eq!((s.leader, s.leader_epoch), (Some(s.replicas[0]), 1));
        }
        assert_eq!(before, vec![state(&c, 0), state(&c, 1)]);
        assert_eq!(c.metadata().topics["t"].config.partitions, Some(5));
        assert!(matches!(
            c.create_partitions("t", 5),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            c.create_partitions("u", 9),
            Err(Error::UnknownTopic(_))
        ));
    }

    #[test]
    fn replication_factor_may_not_exceed_the_broker_count() {
        let (mut c, _) = controller(3, false);
        let err = c.create_topic("t", TopicConfig::new(), 1, 4).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidReplicationFactor {
                requested: 4,
                brokers: 3
            }
        ));
        c.create_topic("t", TopicConfig::new(), 1, 3).unwrap();
        assert!(c.create_topic("t", TopicConfig::new(), 1, 3).is_err());
    }
}
