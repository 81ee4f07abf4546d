//! Consumer groups through the public API: ownership, failures, rebalances.
//!
//! The consumers of one test are driven from the test's thread, each `poll`
//! with a short timeout, round-robin; their heartbeat threads run on their
//! own. Session timeouts are short (300 ms) so failures are noticed quickly;
//! every wait is bounded by a generous deadline and nothing asserts on time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use tidelog::{
    AssignmentStrategy, Consumer, ConsumerConfig, Error, GroupState, Log, OffsetReset,
    ProducerConfig, ProducerRecord, RebalanceListener, Result, TopicConfig, TopicPartition,
};

pub(crate) const SESSION: Duration = Duration::from_millis(300);
const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(5);

/// A log whose `__consumer_offsets` has 3 partitions instead of 50: each
/// partition costs directories, files and fsyncs on creation and close.
pub(crate) fn open_log_in(dir: &std::path::Path) -> Result<Log> {
    Log::builder(dir)
        .set("offsets.topic.num.partitions", "3")?
        .open()
}

pub(crate) fn open_log() -> (tempfile::TempDir, Log) {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log_in(dir.path()).unwrap();
    (dir, log)
}

/// A member config with short timeouts, reading from the start.
pub(crate) fn member_config(group: &str) -> ConsumerConfig {
    ConsumerConfig::new()
        .group_id(group)
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
        .session_timeout(SESSION)
        .heartbeat_interval(Duration::from_millis(50))
        .max_poll_records(20)
}

/// `count` records spread evenly over the topic's partitions; values are
/// `"{partition}-{n}"`.
pub(crate) fn produce(log: &Log, topic: &str, partitions: u32, count: u32) -> Result<()> {
    let producer = log.producer(ProducerConfig::new())?;
    for n in 0..count {
        let partition = n % partitions;
        producer
            .send(ProducerRecord::new(topic, format!("{partition}-{n}")).partition(partition))?;
    }
    producer.flush();
    Ok(())
}

fn value(record: &tidelog::ConsumerRecord) -> String {
    String::from_utf8_lossy(record.value().unwrap_or_default()).into_owned()
}

/// Polls every consumer in turn, adding the values read to `read`, until
/// `done` holds.
pub(crate) fn poll_until(
    consumers: &mut [Consumer],
    read: &mut Vec<String>,
    mut done: impl FnMut(&[Consumer], &[String]) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        for i in 0..consumers.len() {
            read.extend(consumers[i].poll(POLL)?.iter().map(value));
            // Not only in stable generations: at no moment do two live
            // members hold the same partition.
            assert_disjoint(consumers);
        }
        if done(consumers, read) {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "the group did not settle in time"
        );
    }
}

fn distinct(read: &[String]) -> usize {
    read.iter().collect::<BTreeSet<_>>().len()
}

/// Whether the group is stable and every consumer holds the current
/// generation's assignment.
pub(crate) fn settled(log: &Log, group: &str, consumers: &[Consumer]) -> bool {
    let description = log.consumer_group(group).describe().unwrap();
    description.state() == GroupState::Stable
        && description.members().len() == consumers.len()
        && consumers
            .iter()
            .all(|c| c.generation() == Some(description.generation()))
}

/// Checks that no partition is in two members' own assignments.
fn assert_disjoint(consumers: &[Consumer]) {
    let mut seen = BTreeSet::new();
    for consumer in consumers {
        for tp in consumer.assignment() {
            assert!(seen.insert(tp.clone()), "{tp} is held by two members");
        }
    }
}

/// Checks, from the members' own assignments, that every partition has
/// exactly one owner.
fn assert_exactly_one_owner(consumers: &[Consumer], topic: &str, partitions: u32) {
    let mut owners: BTreeMap<TopicPartition, usize> = BTreeMap::new();
    for consumer in consumers {
        for tp in consumer.assignment() {
            *owners.entry(tp).or_default() += 1;
        }
    }
    let expected: BTreeMap<TopicPartition, usize> = (0..partitions)
        .map(|p| (TopicPartition::new(topic, p), 1))
        .collect();
    assert_eq!(owners, expected);
}

fn join(log: &Log, config: ConsumerConfig, topic: &str) -> Result<Consumer> {
    let mut consumer = log.consumer(config)?;
    consumer.subscribe([topic])?;
    Ok(consumer)
}

#[test]
fn every_partition_has_exactly_one_owner_in_each_stable_generation() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(6))?;
    let mut consumers = Vec::new();
    let mut generations = BTreeSet::new();
    for size in 1..=7usize {
        consumers.push(join(&log, member_config("billing"), "orders")?);
        poll_until(&mut consumers, &mut Vec::new(), |c, _| {
            settled(&log, "billing", c)
        })?;
        assert_exactly_one_owner(&consumers, "orders", 6);
        generations.insert(consumers[0].generation());
        let idle = consumers
            .iter()
            .filter(|c| c.assignment().is_empty())
            .count();
        assert_eq!(idle, size.saturating_sub(6), "{size} members");
    }
    assert_eq!(generations.len(), 7, "each join made a new generation");
    // Range: the idle one is the last by member id.
    let description = log.consumer_group("billing").describe()?;
    assert_eq!(description.strategy(), Some(AssignmentStrategy::Range));
    assert!(description
        .members()
        .last()
        .unwrap()
        .assignment()
        .is_empty());
    Ok(())
}

#[test]
fn subscribe_without_a_group_id_is_refused_but_assign_works() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let mut consumer = log.consumer(ConsumerConfig::new())?;
    assert!(matches!(
        consumer.subscribe(["orders"]),
        Err(Error::NoGroupId(_))
    ));
    assert!(matches!(consumer.commit_sync(), Err(Error::NoGroupId(_))));
    consumer.assign(&[TopicPartition::new("orders", 1)])?;
    assert_eq!(
        consumer.assignment(),
        vec![TopicPartition::new("orders", 1)]
    );
    Ok(())
}

#[test]
fn heartbeat_interval_must_be_below_the_session_timeout() -> Result<()> {
    let (_dir, log) = open_log();
    let config = member_config("g").heartbeat_interval(SESSION);
    let mut consumer = log.consumer(config)?;
    assert!(matches!(
        consumer.subscribe(["orders"]),
        Err(Error::InvalidConfig { .. })
    ));
    Ok(())
}

/// Commits whatever was read before giving partitions up.
struct CommitOnRevoke;

impl RebalanceListener for CommitOnRevoke {
    fn on_partitions_revoked(
        &mut self,
        consumer: &mut Consumer,
        _: &[TopicPartition],
    ) -> Result<()> {
        consumer.commit_sync()
    }
}

fn committing_member(log: &Log, group: &str, topic: &str) -> Result<Consumer> {
    let mut consumer = log.consumer(member_config(group))?;
    consumer.subscribe_with_listener([topic], CommitOnRevoke)?;
    Ok(consumer)
}

#[test]
fn a_killed_member_loses_its_partitions_and_nothing_is_lost() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(6))?;
    produce(&log, "orders", 6, 600)?;
    let mut consumers: Vec<Consumer> = (0..3)
        .map(|_| committing_member(&log, "billing", "orders"))
        .collect::<Result<_>>()?;
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |c, _| {
        settled(&log, "billing", c)
    })?;
    // Read some more, committing as we go, then kill a member holding
    // records it read but did not commit.
    for consumer in &mut consumers {
        read.extend(consumer.poll(POLL)?.iter().map(value));
        consumer.commit_sync()?;
        read.extend(consumer.poll(POLL)?.iter().map(value));
    }
    let victim = consumers.remove(0);
    assert!(!victim.assignment().is_empty());
    victim.kill();
    poll_until(&mut consumers, &mut read, |c, _| {
        settled(&log, "billing", c) && c.iter().map(|c| c.assignment().len()).sum::<usize>() == 6
    })?;
    assert_exactly_one_owner(&consumers, "orders", 6);
    poll_until(&mut consumers, &mut read, |_, read| distinct(read) == 600)?;
    Ok(())
}

#[test]
fn a_clean_handover_reads_every_record_exactly_once() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(6))?;
    produce(&log, "orders", 6, 600)?;
    let mut consumers: Vec<Consumer> = (0..3)
        .map(|_| committing_member(&log, "billing", "orders"))
        .collect::<Result<_>>()?;
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |c, _| {
        settled(&log, "billing", c)
    })?;
    for consumer in &mut consumers {
        read.extend(consumer.poll(POLL)?.iter().map(value));
    }
    // close() revokes (the listener commits) and leaves at once.
    consumers.remove(0).close()?;
    poll_until(&mut consumers, &mut read, |c, read| {
        distinct(read) == 600 && c.iter().all(|c| c.assignment().len() == 3)
    })?;
    // A few more rounds: nothing is read twice.
    for _ in 0..20 {
        for consumer in &mut consumers {
            read.extend(consumer.poll(POLL)?.iter().map(value));
        }
    }
    assert_eq!(read.len(), 600, "no record was read twice");
    Ok(())
}

#[test]
fn a_member_that_stops_polling_is_removed_and_its_commits_are_fenced() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(4))?;
    produce(&log, "orders", 4, 40)?;
    let slow_config = member_config("billing").max_poll_interval(Duration::from_millis(400));
    let mut slow = log.consumer(slow_config)?;
    let lost = LostRecorder::default();
    slow.subscribe_with_listener(["orders"], lost.clone())?;
    let mut consumers = vec![slow, join(&log, member_config("billing"), "orders")?];
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c)
    })?;
    let mut slow = consumers.remove(0);
    slow.commit_sync()?;
    let owned = slow.assignment();
    let tp = owned[0].clone();
    let before = slow.committed(&tp)?;
    let old_generation = slow.generation();
    // Only the other member polls; the slow one's heartbeats go on, but it
    // exceeds max.poll.interval.ms and is removed.
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c) && c[0].assignment().len() == 4
    })?;
    let description = log.consumer_group("billing").describe()?;
    assert_eq!(description.members().len(), 1);
    assert!(description.generation() > old_generation.unwrap());
    // The zombie still thinks it owns its partitions; its commit is refused
    // and moves nothing.
    slow.seek(&tp, 7)?;
    assert!(matches!(
        slow.commit_sync(),
        Err(Error::CommitFailed { .. })
    ));
    assert_eq!(slow.committed(&tp)?, before);
    // Polling again tells it the partitions were lost, and rejoins it as a
    // new member.
    consumers.insert(0, slow);
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c) && c.iter().all(|c| c.assignment().len() == 2)
    })?;
    assert_eq!(*lost.0.lock(), owned);
    Ok(())
}

/// Records the partitions a member lost (and commits nothing: they are gone).
#[derive(Clone, Default)]
struct LostRecorder(std::sync::Arc<parking_lot::Mutex<Vec<TopicPartition>>>);

impl RebalanceListener for LostRecorder {
    fn on_partitions_lost(&mut self, _: &mut Consumer, lost: &[TopicPartition]) -> Result<()> {
        self.0.lock().extend(lost.iter().cloned());
        Ok(())
    }
}

#[test]
fn auto_commit_covers_previous_polls_and_close() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(1))?;
    produce(&log, "orders", 1, 30)?;
    let config = member_config("billing")
        .enable_auto_commit(true)
        .set("auto.commit.interval.ms", "1")?
        .max_poll_records(10);
    let mut consumers = [join(&log, config, "orders")?];
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |_, read| read.len() == 30)?;
    let [consumer] = consumers;
    let tp = TopicPartition::new("orders", 0);
    // Committed at the start of each poll: the last poll's records are not.
    let committed = consumer.committed(&tp)?.map_or(0, |c| c.offset());
    assert!(committed < 30, "committed {committed}");
    consumer.close()?;
    let group = log.consumer_group("billing");
    assert_eq!(group.committed(&tp)?.map(|c| c.offset()), Some(30));
    Ok(())
}

/// Records every partition a member was told to revoke or lose.
#[derive(Clone, Default)]
struct Recorder(std::sync::Arc<parking_lot::Mutex<Vec<TopicPartition>>>);

impl RebalanceListener for Recorder {
    fn on_partitions_revoked(
        &mut self,
        consumer: &mut Consumer,
        revoked: &[TopicPartition],
    ) -> Result<()> {
        self.0.lock().extend(revoked.iter().cloned());
        consumer.commit_sync()
    }
}

#[test]
fn cooperative_join_moves_only_the_partitions_the_newcomer_takes() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(6))?;
    let config =
        member_config("billing").assignment_strategy(AssignmentStrategy::CooperativeSticky);
    let recorders = [Recorder::default(), Recorder::default()];
    let mut consumers = Vec::new();
    for recorder in &recorders {
        let mut consumer = log.consumer(config.clone())?;
        consumer.subscribe_with_listener(["orders"], recorder.clone())?;
        consumers.push(consumer);
    }
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c) && c.iter().all(|c| c.assignment().len() == 3)
    })?;
    let before: Vec<BTreeSet<TopicPartition>> = consumers
        .iter()
        .map(|c| c.assignment().into_iter().collect())
        .collect();
    for recorder in &recorders {
        recorder.0.lock().clear();
    }
    consumers.push(join(&log, config, "orders")?);
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c) && c.iter().all(|c| c.assignment().len() == 2)
    })?;
    assert_exactly_one_owner(&consumers, "orders", 6);
    let taken: BTreeSet<TopicPartition> = consumers[2].assignment().into_iter().collect();
    let mut revoked = BTreeSet::new();
    for (i, recorder) in recorders.iter().enumerate() {
        let now: BTreeSet<TopicPartition> = consumers[i].assignment().into_iter().collect();
        assert!(now.is_subset(&before[i]), "member {i} gained partitions");
        let theirs: BTreeSet<TopicPartition> = recorder.0.lock().iter().cloned().collect();
        assert_eq!(
            theirs,
            &before[i] - &now,
            "member {i} revoked only what moved"
        );
        revoked.extend(theirs);
    }
    assert_eq!(revoked, taken);
    Ok(())
}

#[test]
fn a_member_with_another_assignment_strategy_is_refused_at_join() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let mut consumers = [join(&log, member_config("billing"), "orders")?];
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c)
    })?;
    let other = member_config("billing").assignment_strategy(AssignmentStrategy::RoundRobin);
    let mut odd = join(&log, other, "orders")?;
    assert!(matches!(odd.poll(POLL), Err(Error::InvalidConfig { .. })));
    assert!(odd.assignment().is_empty());
    assert_eq!(log.consumer_group("billing").describe()?.members().len(), 1);
    Ok(())
}

#[test]
fn a_subscribed_topic_created_later_is_assigned_when_it_appears() -> Result<()> {
    let (_dir, log) = open_log();
    let mut consumers = [join(&log, member_config("billing"), "later")?];
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c)
    })?;
    assert!(consumers[0].assignment().is_empty());
    log.create_topic("later", TopicConfig::new().partitions(2))?;
    produce(&log, "later", 2, 4)?;
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |c, read| {
        c[0].assignment().len() == 2 && read.len() == 4
    })?;
    Ok(())
}

#[test]
fn assigning_partitions_by_hand_ends_the_subscription() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let mut consumers = [join(&log, member_config("billing"), "orders")?];
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c)
    })?;
    let [mut consumer] = consumers;
    consumer.assign(&[TopicPartition::new("orders", 1)])?;
    assert!(consumer.subscription().is_empty());
    assert_eq!(
        consumer.assignment(),
        vec![TopicPartition::new("orders", 1)]
    );
    // No members and no committed offsets: Kafka reports such a group Dead.
    let description = log.consumer_group("billing").describe()?;
    assert!(description.members().is_empty());
    assert_eq!(description.state(), GroupState::Dead);
    Ok(())
}

#[test]
fn a_dead_member_is_evicted_at_its_deadline_without_a_coordinator_thread() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let mut consumers = [join(&log, member_config("billing"), "orders")?];
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c)
    })?;
    let [consumer] = consumers;
    consumer.kill();
    // The newcomer's join waits for the dead member to rejoin; its poll and
    // its heartbeat thread both wake at the dead member's session deadline,
    // and the first to run evicts it.
    let mut consumers = [join(&log, member_config("billing"), "orders")?];
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c) && c[0].assignment().len() == 2
    })?;
    Ok(())
}

/// Tracks who owns what, from the listeners' point of view, and fails on a
/// partition handed to a member while another still holds it.
#[derive(Clone, Default)]
struct Ledger(std::sync::Arc<parking_lot::Mutex<BTreeMap<TopicPartition, String>>>);

struct LedgerListener {
    ledger: Ledger,
    name: String,
}

impl RebalanceListener for LedgerListener {
    fn on_partitions_assigned(&mut self, _: &mut Consumer, added: &[TopicPartition]) -> Result<()> {
        let mut owners = self.ledger.0.lock();
        for tp in added {
            if let Some(owner) = owners.insert(tp.clone(), self.name.clone()) {
                panic!("{tp} given to {} while {owner} holds it", self.name);
            }
        }
        Ok(())
    }

    fn on_partitions_revoked(
        &mut self,
        consumer: &mut Consumer,
        gone: &[TopicPartition],
    ) -> Result<()> {
        consumer.commit_sync()?;
        let mut owners = self.ledger.0.lock();
        for tp in gone {
            owners.remove(tp);
        }
        Ok(())
    }
}

#[test]
fn concurrent_members_never_share_a_partition() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(6))?;
    produce(&log, "orders", 6, 3000)?;
    concurrent_members(&log, "eager", AssignmentStrategy::Range)?;
    concurrent_members(&log, "cooperative", AssignmentStrategy::CooperativeSticky)
}

/// Four members on their own threads: one closes, one dies, two stay until
/// every record has been read by someone.
fn concurrent_members(log: &Log, group: &str, strategy: AssignmentStrategy) -> Result<()> {
    let ledger = Ledger::default();
    let read = parking_lot::Mutex::new(BTreeSet::new());
    let (closed, killed) = (
        std::sync::atomic::AtomicBool::new(false),
        std::sync::atomic::AtomicBool::new(false),
    );
    std::thread::scope(|scope| {
        for (n, ending) in ["close", "kill", "stay", "stay"].into_iter().enumerate() {
            let (ledger, read, closed, killed) = (ledger.clone(), &read, &closed, &killed);
            let name = format!("member-{n}");
            scope.spawn(move || -> Result<()> {
                // A much longer session than elsewhere: a live member evicted
                // because a loaded machine starved its heartbeat thread is a
                // zombie that still holds its partitions until its next poll,
                // and would (rightly) trip the ledger. Starvation of close to
                // a second has been seen on a loaded 2-core machine.
                let config = member_config(group)
                    .assignment_strategy(strategy)
                    .session_timeout(Duration::from_secs(3))
                    .max_poll_records(5);
                let mut consumer = log.consumer(config)?;
                let listener = LedgerListener {
                    ledger: ledger.clone(),
                    name: name.clone(),
                };
                consumer.subscribe_with_listener(["orders"], listener)?;
                let deadline = Instant::now() + DEADLINE;
                let mut polls = 0;
                // The leaving members act at a fixed poll; the staying ones
                // read on until every record is read and both have acted.
                let finished = || {
                    read.lock().len() >= 3000
                        && closed.load(std::sync::atomic::Ordering::Acquire)
                        && killed.load(std::sync::atomic::Ordering::Acquire)
                };
                while ending != "stay" || !finished() {
                    assert!(Instant::now() < deadline, "records were left unread");
                    let records = consumer.poll(POLL)?;
                    read.lock().extend(records.iter().map(value));
                    polls += 1;
                    if polls == 20 && ending == "close" {
                        closed.store(true, std::sync::atomic::Ordering::Release);
                        return consumer.close();
                    }
                    if polls == 30 && ending == "kill" {
                        // A dead member holds nothing: forget its partitions
                        // (the group hands them out after its session ends).
                        ledger.0.lock().retain(|_, owner| *owner != name);
                        killed.store(true, std::sync::atomic::Ordering::Release);
                        consumer.kill();
                        return Ok(());
                    }
                }
                consumer.close()
            });
        }
    });
    assert_eq!(read.lock().len(), 3000);
    assert!(
        closed.into_inner() && killed.into_inner(),
        "every ending happened"
    );
    Ok(())
}

#[test]
fn heartbeats_keep_a_slow_member_in_the_group() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let mut consumers = vec![
        join(&log, member_config("billing"), "orders")?,
        join(&log, member_config("billing"), "orders")?,
    ];
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c)
    })?;
    let generation = log.consumer_group("billing").describe()?.generation();
    // The first member does not poll for three session timeouts (it is
    // "processing"); only the other one does.
    let slow = consumers.remove(0);
    let until = Instant::now() + SESSION * 3;
    poll_until(&mut consumers, &mut Vec::new(), |_, _| {
        Instant::now() > until
    })?;
    let description = log.consumer_group("billing").describe()?;
    assert_eq!(description.members().len(), 2);
    assert_eq!(
        description.generation(),
        generation,
        "no rebalance happened"
    );
    assert_eq!(slow.generation(), Some(generation));
    Ok(())
}

#[test]
fn huge_timeouts_mean_no_deadline_rather_than_a_panic() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    produce(&log, "orders", 2, 40)?;
    let patient = member_config("billing")
        .session_timeout(Duration::MAX)
        .heartbeat_interval(Duration::MAX / 2)
        .max_poll_interval(Duration::MAX)
        .enable_auto_commit(true)
        .set("auto.commit.interval.ms", &i64::MAX.to_string())?;
    let mut consumers = Vec::new();
    for config in [patient, member_config("billing")] {
        let mut consumer = log.consumer(config)?;
        consumer.subscribe(["orders"])?;
        consumers.push(consumer);
    }
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |c, _| {
        settled(&log, "billing", c)
    })?;
    consumers[0].commit_sync()?;
    // The other member dies; its session deadline is the only one left,
    // and the patient member's waits must still end on time.
    consumers.remove(1).kill();
    poll_until(&mut consumers, &mut read, |c, read| {
        settled(&log, "billing", c) && distinct(read) == 40
    })?;
    assert_eq!(consumers[0].assignment().len(), 2);
    consumers.remove(0).close()?;
    Ok(())
}

#[test]
fn a_consumer_that_has_not_joined_yet_still_evicts_dead_members() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let mut consumers = vec![log.consumer(member_config("billing"))?];
    consumers[0].subscribe(["orders"])?;
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |c, _| {
        settled(&log, "billing", c)
    })?;
    // Subscribed but never polled: its heartbeat thread has no member id,
    // and it is the only thread left to notice the dead member's deadline
    // (listing groups does not evict anyone).
    let mut waiting = log.consumer(member_config("billing"))?;
    waiting.subscribe(["orders"])?;
    consumers.remove(0).kill();
    let deadline = Instant::now() + DEADLINE;
    while log.list_groups()?.contains(&"billing".to_string()) {
        assert!(
            Instant::now() < deadline,
            "the dead member was never evicted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(waiting);
    Ok(())
}

#[test]
fn time_blocked_inside_poll_does_not_count_against_max_poll_interval() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let config = member_config("billing")
        .session_timeout(Duration::from_secs(2))
        .max_poll_interval(Duration::from_millis(200));
    let mut consumers = vec![log.consumer(config)?];
    consumers[0].subscribe(["orders"])?;
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c)
    })?;
    let generation = consumers[0].generation();
    // Nothing to read: the poll waits its whole timeout, five intervals.
    assert!(consumers[0].poll(Duration::from_secs(1))?.is_empty());
    assert_eq!(consumers[0].generation(), generation);
    assert!(settled(&log, "billing", &consumers));
    Ok(())
}

/// Tries to commit the partitions it lost; keeps what the commit answered.
#[derive(Clone, Default)]
struct CommitOnLost(std::sync::Arc<parking_lot::Mutex<Vec<Result<()>>>>);

impl RebalanceListener for CommitOnLost {
    fn on_partitions_lost(&mut self, consumer: &mut Consumer, _: &[TopicPartition]) -> Result<()> {
        let outcome = consumer.commit_sync();
        self.0.lock().push(outcome);
        Ok(())
    }
}

#[test]
fn a_commit_inside_on_partitions_lost_fails_for_good() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    produce(&log, "orders", 2, 20)?;
    let config = member_config("billing")
        .session_timeout(Duration::from_secs(2))
        .max_poll_interval(Duration::from_millis(200));
    let mut consumer = log.consumer(config)?;
    let outcomes = CommitOnLost::default();
    consumer.subscribe_with_listener(["orders"], outcomes.clone())?;
    let mut consumers = [consumer];
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c) && c[0].assignment().len() == 2
    })?;
    // Not polling: max.poll.interval.ms runs out and the member is removed.
    let deadline = Instant::now() + DEADLINE;
    while !log
        .consumer_group("billing")
        .describe()?
        .members()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the member was never removed");
        std::thread::sleep(Duration::from_millis(10));
    }
    poll_until(&mut consumers, &mut Vec::new(), |_, _| {
        !outcomes.0.lock().is_empty()
    })?;
    let outcome = outcomes.0.lock().remove(0);
    assert!(
        matches!(outcome, Err(Error::CommitFailed { .. })),
        "{outcome:?}"
    );
    Ok(())
}
