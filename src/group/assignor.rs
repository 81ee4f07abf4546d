//! Partition assignors: pure functions from a group's members and the topics'
//! partition counts to who owns what.
//!
//! - `range`: Kafka's `RangeAssignor`. Per topic, the subscribers sorted by
//!   member id take consecutive ranges; the first `partitions % members` take
//!   one extra.
//! - `roundrobin`: Kafka's `RoundRobinAssignor`. Every subscribed
//!   topic-partition, sorted by topic then partition, is dealt to the sorted
//!   members in turn, skipping members that do not subscribe to its topic.
//! - `cooperative-sticky`: balanced within one partition (for members with the
//!   same subscription), keeping every partition where it is unless balance
//!   needs it elsewhere. This function only computes the *target*; the
//!   coordinator turns a target into Kafka's two cooperative rounds (moved
//!   partitions are first revoked from their old owner, then handed to the new
//!   one in a follow-up generation).

use std::collections::{BTreeMap, BTreeSet};

use crate::config::AssignmentStrategy;
use crate::topic::TopicPartition;

/// What the assignor knows about one member.
#[derive(Debug, Clone)]
pub(crate) struct MemberSubscription {
    pub(crate) member_id: String,
    pub(crate) topics: BTreeSet<String>,
    /// The partitions the member holds now (used by the sticky assignor).
    pub(crate) owned: BTreeSet<TopicPartition>,
}

/// Member id → the partitions it should own.
pub(crate) type Assignment = BTreeMap<String, BTreeSet<TopicPartition>>;

/// Runs `strategy` over `members`; `partitions` maps each existing topic to
/// its partition count (subscribed topics missing from it are skipped).
/// Every member appears in the result, idle ones with an empty set.
pub(crate) fn assign(
    strategy: AssignmentStrategy,
    members: &[MemberSubscription],
    partitions: &BTreeMap<String, u32>,
) -> Assignment {
    let mut sorted: Vec<&MemberSubscription> = members.iter().collect();
    sorted.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    match strategy {
        AssignmentStrategy::RoundRobin => roundrobin(&sorted, partitions),
        AssignmentStrategy::CooperativeSticky => sticky(&sorted, partitions),
        _ => range(&sorted, partitions),
    }
}

fn empty_assignment(members: &[&MemberSubscription]) -> Assignment {
    members
        .iter()
        .map(|m| (m.member_id.clone(), BTreeSet::new()))
        .collect()
}

fn range(members: &[&MemberSubscription], partitions: &BTreeMap<String, u32>) -> Assignment {
    let mut assignment = empty_assignment(members);
    for (topic, &count) in partitions {
        let subscribers: Vec<&str> = members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .map(|m| m.member_id.as_str())
            .collect();
        let Ok(n) = u32::try_from(subscribers.len()) else {
            continue;
        };
        if n == 0 {
            continue;
        }
        let (per_member, extra) = (count / n, count % n);
        for (i, member) in (0u32..).zip(&subscribers) {
            let start = per_member * i + i.min(extra);
            let len = per_member + u32::from(i < extra);
            if let Some(owned) = assignment.get_mut(*member) {
                owned.extend((start..start + len).map(|p| TopicPartition::new(topic.as_str(), p)));
            }
        }
    }
    assignment
}

/// Every partition of the topics in `topics` that exist, sorted.
fn sorted_partitions<'a>(
    topics: impl IntoIterator<Item = &'a String>,
    partitions: &BTreeMap<String, u32>,
) -> Vec<TopicPartition> {
    let topics: BTreeSet<&String> = topics.into_iter().collect();
    topics
        .into_iter()
        .filter_map(|t| partitions.get(t).map(|&n| (t, n)))
        .flat_map(|(t, n)| (0..n).map(move |p| TopicPartition::new(t.as_str(), p)))
        .collect()
}

fn roundrobin(members: &[&MemberSubscription], partitions: &BTreeMap<String, u32>) -> Assignment {
    let mut assignment = empty_assignment(members);
    let all = sorted_partitions(members.iter().flat_map(|m| &m.topics), partitions);
    let mut next = 0usize;
    for tp in all {
        // At least one member subscribes to every topic in `all`, so the scan
        // finds one within `members.len()` steps.
        let found = (0..members.len())
            .map(|step| (next + step) % members.len())
            .find(|&i| {
                members
                    .get(i)
                    .is_some_and(|m| m.topics.contains(tp.topic()))
            });
        if let Some(i) = found {
            if let Some(m) = members.get(i) {
                if let Some(owned) = assignment.get_mut(&m.member_id) {
                    owned.insert(tp);
                }
            }
            next = (i + 1) % members.len();
        }
    }
    assignment
}

/// Balanced, sticky target assignment.
///
/// 1. Each member keeps the partitions it owns that still exist and that it
///    still subscribes to (a partition claimed twice goes to the first member
///    by id).
/// 2. Free partitions go, one at a time, to the least-loaded eligible member.
/// 3. While some partition's owner holds at least two more partitions than an
///    eligible member, it moves from the most loaded owner to the least loaded
///    member. Each move lowers the sum of squared loads, so this ends; with
///    equal subscriptions it ends balanced within one, having moved only what
///    balance requires.
fn sticky(members: &[&MemberSubscription], partitions: &BTreeMap<String, u32>) -> Assignment {
    let mut assignment = empty_assignment(members);
    let all = sorted_partitions(members.iter().flat_map(|m| &m.topics), partitions);
    let eligible = |tp: &TopicPartition| -> Vec<&str> {
        members
            .iter()
            .filter(|m| m.topics.contains(tp.topic()))
            .map(|m| m.member_id.as_str())
            .collect()
    };
    let mut free = Vec::new();
    for tp in &all {
        let keeper = members
            .iter()
            .find(|m| m.owned.contains(tp) && m.topics.contains(tp.topic()));
        match keeper.and_then(|m| assignment.get_mut(&m.member_id)) {
            Some(owned) => {
                owned.insert(tp.clone());
            }
            None => free.push(tp.clone()),
        }
    }
    for tp in free {
        if let Some(target) = least_loaded(&assignment, &eligible(&tp)) {
            if let Some(owned) = assignment.get_mut(&target) {
                owned.insert(tp);
            }
        }
    }
    while let Some((tp, from, to)) = best_move(&assignment, &eligible) {
        if let Some(owned) = assignment.get_mut(&from) {
            owned.remove(&tp);
        }
        if let Some(owned) = assignment.get_mut(&to) {
            owned.insert(tp);
        }
    }
    assignment
}

fn load(assignment: &Assignment, member: &str) -> usize {
    assignment.get(member).map_or(0, BTreeSet::len)
}

fn least_loaded(assignment: &Assignment, candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .min_by_key(|m| (load(assignment, m), **m))
        .map(|m| (*m).to_string())
}

/// The move that narrows the widest gap: from the most loaded owner to the
/// least loaded eligible member, when they differ by two or more.
fn best_move<'a>(
    assignment: &Assignment,
    eligible: &impl Fn(&TopicPartition) -> Vec<&'a str>,
) -> Option<(TopicPartition, String, String)> {
    let mut best: Option<(usize, TopicPartition, String, String)> = None;
    let mut owners: Vec<(&String, &BTreeSet<TopicPartition>)> = assignment.iter().collect();
    owners.sort_by_key(|(id, owned)| (std::cmp::Reverse(owned.len()), *id));
    for (owner, owned) in owners {
        if best.as_ref().is_some_and(|(gap, ..)| owned.len() <= *gap) {
            break;
        }
        for tp in owned.iter().rev() {
            let Some(to) = least_loaded(assignment, &eligible(tp)) else {
                continue;
            };
            let gap = owned.len().saturating_sub(load(assignment, &to));
            if gap >= 2 && best.as_ref().is_none_or(|(g, ..)| gap > *g) {
                best = Some((gap, tp.clone(), owner.clone(), to));
            }
        }
    }
    best.map(|(_, tp, from, to)| (tp, from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn member(id: &str, topics: &[&str], owned: &[(&str, u32)]) -> MemberSubscription {
        MemberSubscription {
            member_id: id.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned: owned
                .iter()
                .map(|(t, p)| TopicPartition::new(*t, *p))
                .collect(),
        }
    }

    fn topics(list: &[(&str, u32)]) -> BTreeMap<String, u32> {
        list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    fn partitions_of(a: &Assignment, id: &str) -> Vec<(String, u32)> {
        a[id]
            .iter()
            .map(|tp| (tp.topic().to_string(), tp.partition()))
            .collect()
    }

    fn tps(list: &[(&str, u32)]) -> Vec<(String, u32)> {
        list.iter().map(|(t, p)| (t.to_string(), *p)).collect()
    }

    #[test]
    fn range_gives_consecutive_ranges_with_extras_to_the_first_members() {
        let members = [
            member("c", &["t"], &[]),
            member("a", &["t"], &[]),
            member("b", &["t"], &[]),
        ];
        let a = assign(AssignmentStrategy::Range, &members, &topics(&[("t", 7)]));
        assert_eq!(partitions_of(&a, "a"), tps(&[("t", 0), ("t", 1), ("t", 2)]));
        assert_eq!(partitions_of(&a, "b"), tps(&[("t", 3), ("t", 4)]));
        assert_eq!(partitions_of(&a, "c"), tps(&[("t", 5), ("t", 6)]));
    }

    #[test]
    fn range_works_per_topic_so_extras_pile_up_on_the_first_member() {
        let members = [member("a", &["x", "y"], &[]), member("b", &["x", "y"], &[])];
        let a = assign(
            AssignmentStrategy::Range,
            &members,
            &topics(&[("x", 3), ("y", 3)]),
        );
        assert_eq!(a["a"].len(), 4);
        assert_eq!(a["b"].len(), 2);
    }

    #[test]
    fn roundrobin_deals_sorted_partitions_skipping_non_subscribers() {
        let members = [member("a", &["x", "y"], &[]), member("b", &["y"], &[])];
        let a = assign(
            AssignmentStrategy::RoundRobin,
            &members,
            &topics(&[("x", 2), ("y", 2)]),
        );
        // x-0 → a, x-1 → a (b skipped), y-0 → b, y-1 → a.
        assert_eq!(partitions_of(&a, "a"), tps(&[("x", 0), ("x", 1), ("y", 1)]));
        assert_eq!(partitions_of(&a, "b"), tps(&[("y", 0)]));
    }

    #[test]
    fn more_members_than_partitions_leaves_members_idle() {
        let members: Vec<_> = (0..7)
            .map(|i| member(&format!("m{i}"), &["t"], &[]))
            .collect();
        for strategy in [
            AssignmentStrategy::Range,
            AssignmentStrategy::RoundRobin,
            AssignmentStrategy::CooperativeSticky,
        ] {
            let a = assign(strategy, &members, &topics(&[("t", 6)]));
            assert_eq!(a.len(), 7);
            assert_eq!(a.values().filter(|s| s.is_empty()).count(), 1);
        }
    }

    #[test]
    fn sticky_newcomer_takes_only_what_balance_needs() {
        let members = [
            member("a", &["t"], &[("t", 0), ("t", 1), ("t", 2)]),
            member("b", &["t"], &[("t", 3), ("t", 4), ("t", 5)]),
            member("c", &["t"], &[]),
        ];
        let a = assign(
            AssignmentStrategy::CooperativeSticky,
            &members,
            &topics(&[("t", 6)]),
        );
        assert_eq!(a["a"].len(), 2);
        assert_eq!(a["b"].len(), 2);
        assert_eq!(a["c"].len(), 2);
        assert!(a["a"].iter().all(|tp| members[0].owned.contains(tp)));
        assert!(a["b"].iter().all(|tp| members[1].owned.contains(tp)));
    }

    #[test]
    fn sticky_ignores_partitions_of_topics_no_longer_subscribed() {
        let members = [member("a", &["y"], &[("x", 0)]), member("b", &["x"], &[])];
        let a = assign(
            AssignmentStrategy::CooperativeSticky,
            &members,
            &topics(&[("x", 1), ("y", 1)]),
        );
        assert_eq!(partitions_of(&a, "a"), tps(&[("y", 0)]));
        assert_eq!(partitions_of(&a, "b"), tps(&[("x", 0)]));
    }

    /// Members (same subscription to `t` and maybe `u`) with a random
    /// disjoint prior ownership.
    fn scenario() -> impl Strategy<Value = (Vec<MemberSubscription>, BTreeMap<String, u32>)> {
        (
            1usize..9,
            0u32..20,
            0u32..5,
            proptest::collection::vec(0usize..12, 25),
        )
            .prop_map(|(m, t, u, owners)| {
                let parts = topics(&[("t", t), ("u", u)]);
                let all = sorted_partitions(parts.keys(), &parts);
                let mut members: Vec<_> = (0..m)
                    .map(|i| member(&format!("m{i}"), &["t", "u"], &[]))
                    .collect();
                for (tp, owner) in all.into_iter().zip(owners) {
                    if let Some(mem) = members.get_mut(owner) {
                        mem.owned.insert(tp);
                    }
                }
                (members, parts)
            })
    }

    fn check_exactly_one_owner(a: &Assignment, parts: &BTreeMap<String, u32>) {
        let mut seen = BTreeSet::new();
        for owned in a.values() {
            for tp in owned {
                assert!(seen.insert(tp.clone()), "{tp} assigned twice");
            }
        }
        let all: BTreeSet<_> = sorted_partitions(parts.keys(), parts).into_iter().collect();
        assert_eq!(seen, all);
    }

    fn spread(a: &Assignment) -> usize {
        let max = a.values().map(BTreeSet::len).max().unwrap_or(0);
        let min = a.values().map(BTreeSet::len).min().unwrap_or(0);
        max - min
    }

    proptest! {
        #[test]
        fn every_partition_has_exactly_one_owner((members, parts) in scenario()) {
            for strategy in [
                AssignmentStrategy::Range,
                AssignmentStrategy::RoundRobin,
                AssignmentStrategy::CooperativeSticky,
            ] {
                let a = assign(strategy, &members, &parts);
                prop_assert_eq!(a.len(), members.len());
                check_exactly_one_owner(&a, &parts);
            }
        }

        #[test]
        fn roundrobin_and_sticky_are_balanced_within_one((members, parts) in scenario()) {
            prop_assert!(spread(&assign(AssignmentStrategy::RoundRobin, &members, &parts)) <= 1);
            prop_assert!(spread(&assign(AssignmentStrategy::CooperativeSticky, &members, &parts)) <= 1);
        }

        #[test]
        fn sticky_moves_the_minimum((members, parts) in scenario()) {
            let a = assign(AssignmentStrategy::CooperativeSticky, &members, &parts);
            let total: usize = a.values().map(BTreeSet::len).sum();
            let (floor, extra) = (total / members.len(), total % members.len());
            // The fewest moves: the `extra` members owning the most keep
            // floor + 1, the others floor; everything above that moves.
            let mut owned: Vec<usize> = members.iter().map(|m| m.owned.len()).collect();
            owned.sort_unstable_by(|x, y| y.cmp(x));
            let minimum: usize = owned
                .iter()
                .enumerate()
                .map(|(i, &n)| n.saturating_sub(floor + usize::from(i < extra)))
                .sum();
            let moved: usize = members
                .iter()
                .map(|m| m.owned.difference(&a[&m.member_id]).count())
                .sum();
            prop_assert_eq!(moved, minimum);
        }

        #[test]
        fn sticky_is_stable_when_already_balanced((members, parts) in scenario()) {
            let first = assign(AssignmentStrategy::CooperativeSticky, &members, &parts);
            let again: Vec<_> = members
                .iter()
                .map(|m| MemberSubscription { owned: first[&m.member_id].clone(), ..m.clone() })
                .collect();
            prop_assert_eq!(assign(AssignmentStrategy::CooperativeSticky, &again, &parts), first);
        }
    }
}
