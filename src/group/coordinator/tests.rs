use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

const SESSION: Duration = Duration::from_millis(300);
const MAX_POLL: Duration = Duration::from_millis(1000);

fn request(strategy: AssignmentStrategy) -> JoinRequest {
    JoinRequest {
        client_id: "c".to_string(),
        topics: ["t".to_string()].into_iter().collect(),
        strategy,
        session_timeout: SESSION,
        max_poll_interval: MAX_POLL,
    }
}

fn coordinator(partitions: u32, now: Instant) -> GroupCoordinator {
    let mut c = GroupCoordinator::new("g");
    c.update_metadata([("t".to_string(), partitions)].into_iter().collect(), now);
    c
}

fn assigned(status: MemberStatus) -> (u32, BTreeSet<TopicPartition>) {
    match status {
        MemberStatus::Assigned {
            generation,
            partitions,
        } => (generation, partitions),
        other => panic!("expected an assignment, got {other:?}"),
    }
}

/// Drives every member through rejoin and pick-up, as consumers' polls
/// would, until the group is stable; returns each member's partitions.
fn settle(
    c: &mut GroupCoordinator,
    members: &[String],
    strategy: AssignmentStrategy,
    now: Instant,
) -> BTreeMap<String, BTreeSet<TopicPartition>> {
    let mut owned: BTreeMap<String, BTreeSet<TopicPartition>> = BTreeMap::new();
    for _ in 0..10 {
        for id in members {
            match c.poll(id, now) {
                MemberStatus::RejoinNeeded => {
                    c.join(Some(id), request(strategy), now).unwrap();
                }
                MemberStatus::Assigned { partitions, .. } => {
                    owned.insert(id.clone(), partitions);
                }
                _ => {}
            }
        }
        if c.state() == GroupState::Stable {
            return owned;
        }
    }
    panic!("group did not settle: {:?}", c.describe());
}

fn check_disjoint(c: &GroupCoordinator) {
    let mut seen = BTreeSet::new();
    for member in c.describe().members() {
        for tp in member.assignment() {
            assert!(
                seen.insert(tp.clone()),
                "{tp} owned twice: {:?}",
                c.describe()
            );
        }
    }
}

#[test]
fn first_member_gets_every_partition_and_the_group_becomes_stable() {
    let now = Instant::now();
    let mut c = coordinator(6, now);
    assert_eq!(c.state(), GroupState::Empty);
    let a = c
        .join(None, request(AssignmentStrategy::Range), now)
        .unwrap();
    assert_eq!(c.state(), GroupState::CompletingRebalance);
    let (generation, partitions) = assigned(c.poll(&a, now));
    assert_eq!(generation, 1);
    assert_eq!(partitions.len(), 6);
    assert_eq!(c.state(), GroupState::Stable);
    assert_eq!(c.poll(&a, now), MemberStatus::Stable { generation: 1 });
}

#[test]
fn a_join_makes_existing_members_rejoin_before_anyone_is_assigned() {
    let now = Instant::now();
    let mut c = coordinator(6, now);
    let a = c
        .join(None, request(AssignmentStrategy::Range), now)
        .unwrap();
    assigned(c.poll(&a, now));
    let b = c
        .join(None, request(AssignmentStrategy::Range), now)
        .unwrap();
    assert_eq!(c.state(), GroupState::PreparingRebalance);
    assert_eq!(c.poll(&b, now), MemberStatus::AwaitingJoin);
    assert_eq!(c.heartbeat(&a, now, now), MemberStatus::RejoinNeeded);
    assert_eq!(c.poll(&a, now), MemberStatus::RejoinNeeded);
    c.join(Some(&a), request(AssignmentStrategy::Range), now)
        .unwrap();
    assert_eq!(c.state(), GroupState::CompletingRebalance);
    let (gen_a, part_a) = assigned(c.poll(&a, now));
    let (gen_b, part_b) = assigned(c.poll(&b, now));
    assert_eq!((gen_a, gen_b), (2, 2));
    assert_eq!((part_a.len(), part_b.len()), (3, 3));
    assert!(part_a.is_disjoint(&part_b));
    assert_eq!(c.state(), GroupState::Stable);
}

#[test]
fn a_clean_leave_rebalances_the_rest() {
    let now = Instant::now();
    let mut c = coordinator(6, now);
    let ids: Vec<String> = (0..3)
        .map(|_| {
            c.join(None, request(AssignmentStrategy::Range), now)
                .unwrap()
        })
        .collect();
    settle(&mut c, &ids, AssignmentStrategy::Range, now);
    c.leave(&ids[2], now);
    assert_eq!(c.state(), GroupState::PreparingRebalance);
    let owned = settle(&mut c, &ids[..2], AssignmentStrategy::Range, now);
    assert_eq!(owned.values().map(BTreeSet::len).sum::<usize>(), 6);
    c.leave(&ids[0], now);
    c.leave(&ids[1], now);
    assert_eq!(c.state(), GroupState::Empty);
    assert_eq!(c.describe().strategy(), None);
}

#[test]
fn a_member_without_heartbeats_is_evicted_after_the_session_timeout() {
    let start = Instant::now();
    let mut c = coordinator(6, start);
    let a = c
        .join(None, request(AssignmentStrategy::Range), start)
        .unwrap();
    let b = c
        .join(None, request(AssignmentStrategy::Range), start)
        .unwrap();
    let ids = [a.clone(), b.clone()];
    settle(&mut c, &ids, AssignmentStrategy::Range, start);
    assert_eq!(c.next_deadline(), Some(start + SESSION));
    // b keeps heartbeating; a goes silent.
    let almost = start + SESSION;
    c.heartbeat(&b, almost, almost);
    assert!(!c.tick(almost));
    let later = almost + Duration::from_millis(1);
    assert!(c.tick(later));
    assert_eq!(c.poll(&a, later), MemberStatus::Unknown);
    let owned = settle(
        &mut c,
        std::slice::from_ref(&b),
        AssignmentStrategy::Range,
        later,
    );
    assert_eq!(owned[&b].len(), 6);
}

#[test]
fn a_member_that_stops_polling_is_evicted_after_max_poll_interval() {
    let start = Instant::now();
    let mut c = coordinator(6, start);
    let a = c
        .join(None, request(AssignmentStrategy::Range), start)
        .unwrap();
    let b = c
        .join(None, request(AssignmentStrategy::Range), start)
        .unwrap();
    settle(
        &mut c,
        &[a.clone(), b.clone()],
        AssignmentStrategy::Range,
        start,
    );
    // Both heartbeat (their background threads live), only b polls.
    let mut now = start;
    while now < start + MAX_POLL {
        now += Duration::from_millis(100);
        c.heartbeat(&a, start, now);
        assert!(!matches!(c.poll(&b, now), MemberStatus::Unknown));
    }
    now += Duration::from_millis(100);
    c.heartbeat(&b, now, now);
    assert_eq!(c.heartbeat(&a, start, now), MemberStatus::Unknown);
    let owned = settle(
        &mut c,
        std::slice::from_ref(&b),
        AssignmentStrategy::Range,
        now,
    );
    assert_eq!(owned[&b].len(), 6);
}

#[test]
fn commits_from_an_old_generation_or_unknown_member_are_refused() {
    let now = Instant::now();
    let mut c = coordinator(6, now);
    let a = c
        .join(None, request(AssignmentStrategy::Range), now)
        .unwrap();
    // Not yet picked up its first assignment: retriable.
    assert_eq!(
        c.validate_commit(Some(&a), 0, now),
        Err(Refusal::RebalanceInProgress)
    );
    assigned(c.poll(&a, now));
    assert_eq!(c.validate_commit(Some(&a), 1, now), Ok(()));
    // While a rebalance is prepared, the current generation may still commit.
    let b = c
        .join(None, request(AssignmentStrategy::Range), now)
        .unwrap();
    assert_eq!(c.validate_commit(Some(&a), 1, now), Ok(()));
    settle(
        &mut c,
        &[a.clone(), b.clone()],
        AssignmentStrategy::Range,
        now,
    );
    assert_eq!(
        c.validate_commit(Some(&a), 1, now),
        Err(Refusal::IllegalGeneration)
    );
    assert_eq!(c.validate_commit(Some(&a), 2, now), Ok(()));
    assert_eq!(
        c.validate_commit(Some("nobody"), 2, now),
        Err(Refusal::UnknownMember)
    );
    assert_eq!(c.validate_commit(None, 0, now), Err(Refusal::UnknownMember));
    c.leave(&a, now);
    c.leave(&b, now);
    assert_eq!(c.validate_commit(None, 0, now), Ok(()));
}

#[test]
fn a_member_with_another_strategy_is_refused() {
    let now = Instant::now();
    let mut c = coordinator(6, now);
    c.join(None, request(AssignmentStrategy::Range), now)
        .unwrap();
    let refused = c.join(None, request(AssignmentStrategy::RoundRobin), now);
    assert_eq!(
        refused,
        Err(Refusal::InconsistentStrategy(AssignmentStrategy::Range))
    );
}

#[test]
fn cooperative_join_revokes_only_what_the_newcomer_takes() {
    let now = Instant::now();
    let strategy = AssignmentStrategy::CooperativeSticky;
    let mut c = coordinator(6, now);
    let mut ids: Vec<String> = (0..2)
        .map(|_| c.join(None, request(strategy), now).unwrap())
        .collect();
    let before = settle(&mut c, &ids, strategy, now);
    ids.push(c.join(None, request(strategy), now).unwrap());
    // Round one: the old members rejoin keeping their partitions; moved ones
    // are revoked, and the newcomer gets nothing that is still owned.
    let mut revoked = BTreeSet::new();
    for id in &ids[..2] {
        assert_eq!(c.poll(id, now), MemberStatus::RejoinNeeded);
        c.join(Some(id), request(strategy), now).unwrap();
        check_disjoint(&c);
    }
    for id in &ids[..2] {
        let (_, partitions) = assigned(c.poll(id, now));
        assert!(partitions.is_subset(&before[id]));
        revoked.extend(before[id].difference(&partitions).cloned());
    }
    assert_eq!(assigned(c.poll(&ids[2], now)).1, BTreeSet::new());
    // Round two hands the revoked partitions to the newcomer.
    let after = settle(&mut c, &ids, strategy, now);
    assert_eq!(after[&ids[2]], revoked);
    assert_eq!(revoked.len(), 2);
    check_disjoint(&c);
}

#[derive(Debug, Clone)]
enum Op {
    Join,
    Poll(usize),
    Heartbeat(usize),
    Leave(usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Join),
        6 => (0usize..6).prop_map(Op::Poll),
        3 => (0usize..6).prop_map(Op::Heartbeat),
        1 => (0usize..6).prop_map(Op::Leave),
        2 => (0u64..400).prop_map(Op::Advance),
    ]
}

proptest! {
    /// Members behave as consumers do (rejoin when told); whatever happens,
    /// no partition ever has two owners, and a stable group owns them all.
    #[test]
    fn no_partition_ever_has_two_owners(
        cooperative in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let strategy = match cooperative {
            true => AssignmentStrategy::CooperativeSticky,
            false => AssignmentStrategy::Range,
        };
        let mut now = Instant::now();
        let mut c = coordinator(7, now);
        let mut ids: Vec<String> = Vec::new();
        for op in ops {
            match op {
                Op::Join => ids.push(c.join(None, request(strategy), now).unwrap()),
                Op::Poll(i) => if let Some(id) = ids.get(i).cloned() {
                    match c.poll(&id, now) {
                        MemberStatus::RejoinNeeded => { c.join(Some(&id), request(strategy), now).unwrap(); }
                        MemberStatus::Unknown => { ids.remove(i); }
                        _ => {}
                    }
                },
                Op::Heartbeat(i) => if let Some(id) = ids.get(i) { c.heartbeat(id, now, now); },
                Op::Leave(i) => if i < ids.len() { let id = ids.remove(i); c.leave(&id, now); },
                Op::Advance(ms) => { now += Duration::from_millis(ms); c.tick(now); }
            }
            check_disjoint(&c);
            let description = c.describe();
            if description.state() == GroupState::Stable {
                let owned: usize = description.members().iter().map(|m| m.assignment().len()).sum();
                prop_assert_eq!(owned, 7);
            }
        }
    }
}
