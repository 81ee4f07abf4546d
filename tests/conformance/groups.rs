//! Consumer groups: members sharing partitions, the rebalance listener, a
//! member leaving, independent groups, and the admin handle.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidelog::{
    Consumer, ConsumerConfig, ConsumerRecord, Error, GroupState, OffsetReset, OffsetSpec,
    ProducerConfig, ProducerRecord, RebalanceListener, Result, TopicPartition,
};

use crate::target::{poll_records, retrying, text, Target, PATIENCE};

conformance!(
    two_members_split_and_hand_over,
    groups_read_independently,
    group_admin_describe_lag_reset,
);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Revoked(BTreeSet<TopicPartition>),
    Assigned(BTreeSet<TopicPartition>),
}

/// Records what the rebalance listener was told, for the test to read.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
}

impl RebalanceListener for Recorder {
    fn on_partitions_revoked(&mut self, _: &mut Consumer, tps: &[TopicPartition]) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(Event::Revoked(tps.iter().cloned().collect()));
        Ok(())
    }

    fn on_partitions_assigned(&mut self, _: &mut Consumer, tps: &[TopicPartition]) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(Event::Assigned(tps.iter().cloned().collect()));
        Ok(())
    }
}

fn member_config(group: &str) -> ConsumerConfig {
    ConsumerConfig::new()
        .group_id(group)
        .auto_offset_reset(OffsetReset::Earliest)
}

fn all_partitions(topic: &str, count: u32) -> BTreeSet<TopicPartition> {
    (0..count).map(|p| TopicPartition::new(topic, p)).collect()
}

fn owned(consumer: &Consumer) -> BTreeSet<TopicPartition> {
    consumer.assignment().into_iter().collect()
}

/// Polls every member in turn (a member's rebalance steps run inside its
/// poll), keeping what they read, until `done` holds.
fn poll_members_until(
    members: &mut [&mut Consumer],
    read: &mut [Vec<ConsumerRecord>],
    what: &str,
    mut done: impl FnMut(&[&mut Consumer], &[Vec<ConsumerRecord>]) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    while !done(members, read) {
        assert!(
            Instant::now() < deadline,
            "still waiting for {what} after {PATIENCE:?}"
        );
        for (member, records) in members.iter_mut().zip(read.iter_mut()) {
            records.extend(retrying(member.poll(Duration::from_millis(100)))?);
        }
    }
    Ok(())
}

/// One record to each partition, valued `{tag}-{partition}`.
fn one_per_partition(t: &Target, topic: &str, partitions: u32, tag: &str) -> Result<()> {
    let producer = t.log().producer(ProducerConfig::new())?;
    for p in 0..partitions {
        producer.send_sync(ProducerRecord::new(topic, format!("{tag}-{p}")).partition(p))?;
    }
    Ok(())
}

fn two_members_split_and_hand_over(t: &Target) -> Result<()> {
    const PARTITIONS: u32 = 4;
    let topic = t.create_topic("split", PARTITIONS)?;
    let group = t.unique("splitters");
    let all = all_partitions(&topic, PARTITIONS);

    let (a_events, b_events) = (Recorder::default(), Recorder::default());
    let mut a = t.consumer(member_config(&group))?;
    a.subscribe_with_listener([topic.as_str()], a_events.clone())?;
    let mut b = t.consumer(member_config(&group))?;
    b.subscribe_with_listener([topic.as_str()], b_events.clone())?;

    let mut read = [Vec::new(), Vec::new()];
    poll_members_until(&mut [&mut a, &mut b], &mut read, "a split", |m, _| {
        let (oa, ob) = (owned(m[0]), owned(m[1]));
        !oa.is_empty()
            && !ob.is_empty()
            && oa.is_disjoint(&ob)
            && oa.union(&ob).cloned().collect::<BTreeSet<_>>() == all
    })?;
    // Records sent once the split stands go to their partition's owner.
    one_per_partition(t, &topic, PARTITIONS, "before")?;
    poll_members_until(&mut [&mut a, &mut b], &mut read, "every record", |_, r| {
        r[0].len() + r[1].len() >= PARTITIONS as usize
    })?;
    let (a_owns, b_owns) = (owned(&a), owned(&b));
    // Each member read exactly its own partitions' records, nothing twice.
    for (records, owns) in [(&read[0], &a_owns), (&read[1], &b_owns)] {
        let partitions: BTreeSet<_> = records.iter().map(|r| r.topic_partition()).collect();
        assert_eq!(&partitions, owns);
        assert_eq!(
            records.len(),
            owns.len(),
            "a record read twice: {records:?}"
        );
    }
    // The listener was told what each member owns now.
    for (events, owns) in [(&a_events, &a_owns), (&b_events, &b_owns)] {
        let assigned_last = events.events().into_iter().rev().find_map(|e| match e {
            Event::Assigned(tps) => Some(tps),
            Event::Revoked(_) => None,
        });
        assert!(
            assigned_last.is_some_and(|tps| tps.is_subset(owns) && !tps.is_empty()),
            "listener events {:?} for assignment {owns:?}",
            events.events()
        );
    }
    a.commit_sync()?;
    b.commit_sync()?;

    // A leaves: its partitions are revoked from it and handed to b, which
    // resumes from a's commits (no record of "before" comes again).
    a.close()?;
    assert!(
        a_events
            .events()
            .iter()
            .any(|e| *e == Event::Revoked(a_owns.clone())),
        "a's listener on close: {:?}",
        a_events.events()
    );
    one_per_partition(t, &topic, PARTITIONS, "after")?;
    let mut read = [Vec::new()];
    let expected: BTreeSet<_> = (0..PARTITIONS).map(|p| format!("after-{p}")).collect();
    poll_members_until(&mut [&mut b], &mut read, "b to own everything", |m, r| {
        let values: BTreeSet<_> = r[0].iter().map(text).collect();
        owned(m[0]) == all && values.is_superset(&expected)
    })?;
    let values: Vec<_> = read[0]
        .iter()
        .map(|r| format!("{}@{}:{}", r.partition(), r.offset(), text(r)))
        .collect();
    // Delivery is at least once: a record b read but had not committed when
    // the group rebalanced may come again (Kafka resumes moved partitions
    // from the committed offset). Committed ones never do.
    assert!(
        read[0].iter().all(|r| text(r).starts_with("after-")),
        "b read {values:?}"
    );
    let b_saw = b_events.events();
    assert!(
        b_saw
            .iter()
            .any(|e| matches!(e, Event::Assigned(tps) if !tps.is_disjoint(&a_owns))),
        "b's listener after a left: {b_saw:?}"
    );
    b.close()?;
    Ok(())
}

fn groups_read_independently(t: &Target) -> Result<()> {
    let topic = t.create_topic("shared", 2)?;
    one_per_partition(t, &topic, 2, "x")?;
    let (first, second) = (t.unique("first"), t.unique("second"));
    let mut one = t.consumer(member_config(&first))?;
    one.subscribe([topic.as_str()])?;
    let read_one = poll_records(&mut one, 2)?;
    one.commit_sync()?;
    // The second group starts from the beginning: the first group's
    // commits are its own.
    let mut two = t.consumer(member_config(&second))?;
    two.subscribe([topic.as_str()])?;
    let read_two = poll_records(&mut two, 2)?;
    let values = |records: &[ConsumerRecord]| records.iter().map(text).collect::<BTreeSet<_>>();
    assert_eq!(values(&read_one), values(&read_two));
    assert_eq!(owned(&one), all_partitions(&topic, 2));
    assert_eq!(owned(&two), all_partitions(&topic, 2));
    let lag_of = |group: &str| -> Result<Vec<Option<u64>>> {
        Ok(t.log()
            .consumer_group(group)
            .lag()?
            .iter()
            .map(|l| l.lag())
            .collect())
    };
    assert_eq!(lag_of(&first)?, [Some(0), Some(0)]);
    assert_eq!(
        lag_of(&second)?,
        [None, None],
        "nothing committed by the second group yet"
    );
    one.close()?;
    two.close()?;
    Ok(())
}

fn group_admin_describe_lag_reset(t: &Target) -> Result<()> {
    let topic = t.create_topic("admin-group", 2)?;
    let group_id = t.unique("admin");
    one_per_partition(t, &topic, 2, "a")?;
    one_per_partition(t, &topic, 2, "b")?;
    let group = t.log().consumer_group(&group_id);

    let mut member = t.consumer(member_config(&group_id))?;
    member.subscribe([topic.as_str()])?;
    poll_records(&mut member, 4)?;
    member.commit_sync()?;
    let described = group.describe()?;
    assert_eq!(described.group_id(), group_id);
    assert_eq!(described.state(), GroupState::Stable);
    assert_eq!(described.members().len(), 1);
    let assigned: BTreeSet<_> = described.members()[0]
        .assignment()
        .iter()
        .cloned()
        .collect();
    assert_eq!(assigned, all_partitions(&topic, 2));
    // Kafka refuses to move the offsets of a group with active members.
    let busy = group.reset_offsets(&topic, OffsetSpec::Earliest);
    assert!(
        matches!(busy, Err(Error::GroupNotEmpty(_))),
        "reset while active gave {busy:?}"
    );
    member.close()?;

    t.eventually("the group to be empty", || {
        Ok(group.describe()?.state() == GroupState::Empty)
    })?;
    assert!(group.describe()?.members().is_empty());
    let lags: Vec<_> = group
        .lag()?
        .iter()
        .map(|l| (l.high_watermark(), l.lag()))
        .collect();
    assert_eq!(lags, [(2, Some(0)), (2, Some(0))]);
    assert!(t.log().list_groups()?.contains(&group_id));

    let moved = group.reset_offsets(&topic, OffsetSpec::Earliest)?;
    let offsets: Vec<_> = moved.iter().map(|(tp, o)| (tp.partition(), *o)).collect();
    assert_eq!(offsets, [(0, 0), (1, 0)]);
    let lags: Vec<_> = group.lag()?.iter().map(|l| l.lag()).collect();
    assert_eq!(lags, [Some(2), Some(2)]);
    let moved = group.reset_offsets(&topic, OffsetSpec::ShiftBy(1))?;
    assert!(moved.iter().all(|(_, o)| *o == 1), "{moved:?}");

    // A new member reads from the reset offsets.
    let mut again = t.consumer(member_config(&group_id))?;
    again.subscribe([topic.as_str()])?;
    let records = poll_records(&mut again, 2)?;
    let values: BTreeSet<_> = records.iter().map(text).collect();
    assert_eq!(
        values,
        BTreeSet::from(["b-0".to_string(), "b-1".to_string()])
    );
    again.close()?;
    Ok(())
}
