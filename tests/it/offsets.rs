//! Committed offsets: independence of groups, restart, admin resets.

use std::collections::BTreeSet;
use std::time::Duration;

use tidelog::{
    Consumer, Error, GroupState, Log, OffsetAndMetadata, OffsetSpec, ProducerConfig,
    ProducerRecord, Result, TopicConfig, TopicPartition,
};

use super::groups::{member_config, open_log, open_log_in, poll_until, produce, settled};

fn subscribed(log: &Log, group: &str, topic: &str) -> Result<Consumer> {
    let mut consumer = log.consumer(member_config(group))?;
    consumer.subscribe([topic])?;
    Ok(consumer)
}

/// Reads until `count` distinct values have arrived; returns every value read.
fn read_all(consumer: Consumer, count: usize) -> Result<(Consumer, Vec<String>)> {
    let mut consumers = [consumer];
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |_, read| {
        read.iter().collect::<BTreeSet<_>>().len() >= count
    })?;
    let [consumer] = consumers;
    Ok((consumer, read))
}

#[test]
fn two_groups_each_read_every_record() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(3))?;
    produce(&log, "orders", 3, 90)?;
    let (mut billing, read_billing) = read_all(subscribed(&log, "billing", "orders")?, 90)?;
    let (audit, read_audit) = read_all(subscribed(&log, "audit", "orders")?, 90)?;
    assert_eq!(read_billing.len(), 90);
    assert_eq!(read_audit.len(), 90);
    billing.commit_sync()?;
    assert_eq!(
        log.list_groups()?,
        vec!["audit".to_string(), "billing".to_string()]
    );
    let lag = log.consumer_group("billing").lag()?;
    assert_eq!(
        lag.iter().map(|l| l.lag()).collect::<Vec<_>>(),
        vec![Some(0); 3]
    );
    assert!(log
        .consumer_group("audit")
        .lag()?
        .iter()
        .all(|l| l.committed().is_none()));
    drop(audit);
    Ok(())
}

#[test]
fn committed_offsets_survive_reopening_the_log() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open_log_in(dir.path())?;
        log.create_topic("orders", TopicConfig::new().partitions(2))?;
        produce(&log, "orders", 2, 20)?;
        let (mut consumer, _) = read_all(subscribed(&log, "billing", "orders")?, 20)?;
        consumer.commit_sync()?;
        consumer.commit_offsets(&[(
            TopicPartition::new("orders", 0),
            OffsetAndMetadata::new(4).with_metadata("half way"),
        )])?;
        consumer.close()?;
        log.close()?;
    }
    let log = open_log_in(dir.path())?;
    let group = log.consumer_group("billing");
    let committed = group.committed(&TopicPartition::new("orders", 0))?.unwrap();
    assert_eq!((committed.offset(), committed.metadata()), (4, "half way"));
    assert_eq!(
        group
            .committed(&TopicPartition::new("orders", 1))?
            .unwrap()
            .offset(),
        10
    );
    assert_eq!(group.describe()?.state(), GroupState::Empty);
    // A new member resumes where the group left off.
    produce(&log, "orders", 2, 2)?;
    let (_, read) = read_all(subscribed(&log, "billing", "orders")?, 8)?;
    assert_eq!(read.len(), 8, "6 uncommitted on partition 0, 1 new on each");
    Ok(())
}

#[test]
fn reset_moves_committed_offsets_as_each_spec_says() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("prices", TopicConfig::new().partitions(1))?;
    let producer = log.producer(ProducerConfig::new())?;
    for n in 0..10i64 {
        producer
            .send_sync(ProducerRecord::new("prices", format!("p{n}")).timestamp(1_000 + n * 10))?;
    }
    let group = log.consumer_group("dashboard");
    let tp = TopicPartition::new("prices", 0);
    let reset = |spec| -> Result<u64> { Ok(group.reset_offsets("prices", spec)?[0].1) };
    assert_eq!(reset(OffsetSpec::Earliest)?, 0);
    assert_eq!(reset(OffsetSpec::Latest)?, 10);
    assert_eq!(reset(OffsetSpec::ShiftBy(-3))?, 7);
    assert_eq!(
        reset(OffsetSpec::ShiftBy(-30))?,
        0,
        "clamped to the log start"
    );
    assert_eq!(reset(OffsetSpec::Offset(4))?, 4);
    assert_eq!(
        reset(OffsetSpec::Offset(400))?,
        10,
        "clamped to the high watermark"
    );
    assert_eq!(reset(OffsetSpec::Timestamp(1_035))?, 4);
    assert_eq!(reset(OffsetSpec::Timestamp(9_999))?, 10);
    assert_eq!(group.committed(&tp)?.unwrap().offset(), 10);
    assert!(matches!(
        group.reset_offsets("nope", OffsetSpec::Latest),
        Err(Error::UnknownTopic(_))
    ));
    Ok(())
}

#[test]
fn reset_and_delete_are_refused_while_the_group_has_members() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(1))?;
    let mut consumers = [subscribed(&log, "billing", "orders")?];
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c)
    })?;
    let group = log.consumer_group("billing");
    assert!(matches!(
        group.reset_offsets("orders", OffsetSpec::Earliest),
        Err(Error::GroupNotEmpty(_))
    ));
    assert!(matches!(group.delete(), Err(Error::GroupNotEmpty(_))));
    let [consumer] = consumers;
    consumer.close()?;
    group.reset_offsets("orders", OffsetSpec::Earliest)?;
    assert_eq!(log.list_groups()?, vec!["billing".to_string()]);
    group.delete()?;
    assert_eq!(group.describe()?.state(), GroupState::Dead);
    assert!(log.list_groups()?.is_empty());
    assert!(group
        .committed(&TopicPartition::new("orders", 0))?
        .is_none());
    assert!(matches!(group.delete(), Err(Error::UnknownGroup(_))));
    Ok(())
}

#[test]
fn the_latest_message_pattern_reads_only_the_newest_record() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("prices", TopicConfig::new().partitions(1))?;
    let producer = log.producer(ProducerConfig::new())?;
    for n in 0..5 {
        producer.send_sync(ProducerRecord::new("prices", format!("price-{n}")))?;
    }
    let group = log.consumer_group("dashboard");
    group.reset_offsets("prices", OffsetSpec::Latest)?;
    group.reset_offsets("prices", OffsetSpec::ShiftBy(-1))?;
    let mut consumer = subscribed(&log, "dashboard", "prices")?;
    let mut records = Vec::new();
    for _ in 0..100 {
        records = consumer.poll(Duration::from_millis(100))?;
        if !records.is_empty() {
            break;
        }
    }
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].value(), Some(&b"price-4"[..]));
    Ok(())
}

#[test]
fn async_commits_report_back_inside_a_later_poll() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(1))?;
    produce(&log, "orders", 1, 10)?;
    let (mut consumer, _) = read_all(subscribed(&log, "billing", "orders")?, 10)?;
    let outcome = std::sync::Arc::new(parking_lot::Mutex::new(None));
    let sink = std::sync::Arc::clone(&outcome);
    consumer.commit_async(move |result| *sink.lock() = Some(result.is_ok()))?;
    for _ in 0..100 {
        consumer.poll(Duration::from_millis(10))?;
        if outcome.lock().is_some() {
            break;
        }
    }
    assert_eq!(*outcome.lock(), Some(true));
    let tp = TopicPartition::new("orders", 0);
    assert_eq!(consumer.committed(&tp)?.map(|c| c.offset()), Some(10));
    Ok(())
}

#[test]
fn a_consumer_with_manual_assignment_commits_while_the_group_is_empty() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(1))?;
    produce(&log, "orders", 1, 5)?;
    let tp = TopicPartition::new("orders", 0);
    let mut manual = log.consumer(member_config("billing"))?;
    manual.assign(std::slice::from_ref(&tp))?;
    manual.commit_offsets(&[(tp.clone(), OffsetAndMetadata::new(3))])?;
    assert_eq!(manual.committed(&tp)?.map(|c| c.offset()), Some(3));
    // Once the group has members, an outsider's commit is refused.
    let mut consumers = [subscribed(&log, "billing", "orders")?];
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |c, _| {
        settled(&log, "billing", c)
    })?;
    let refused = manual.commit_offsets(&[(tp.clone(), OffsetAndMetadata::new(5))]);
    assert!(matches!(
        refused,
        Err(Error::CommitFailed {
            refusal: tidelog::CommitRefusal::UnknownMember,
            ..
        })
    ));
    assert_eq!(manual.committed(&tp)?.map(|c| c.offset()), Some(3));
    // The member started at the committed offset: it reads offsets 3 and 4.
    poll_until(&mut consumers, &mut read, |_, read| read.len() >= 2)?;
    assert_eq!(read, ["0-3", "0-4"]);
    Ok(())
}

#[test]
fn committed_offsets_survive_the_loss_of_a_broker() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let (tp0, tp1) = (
        TopicPartition::new("orders", 0),
        TopicPartition::new("orders", 1),
    );
    let expected = {
        let log = tidelog::Log::builder(dir.path())
            .set("offsets.topic.num.partitions", "3")?
            .set("broker.session.timeout.ms", "300")?
            .open()?;
        log.create_topic("orders", TopicConfig::new().partitions(2))?;
        produce(&log, "orders", 2, 20)?;
        let (mut consumer, _) = read_all(subscribed(&log, "billing", "orders")?, 20)?;
        consumer.commit_sync()?;
        let cluster = log.cluster();
        let expected = if cluster.brokers().len() > 1 {
            // Kill the leader of the offsets partition holding the group's
            // commits (the only one written to); the next commit waits for
            // leadership to move, then succeeds.
            let offsets = log.topic("__consumer_offsets")?.partitions()?;
            let used = offsets
                .iter()
                .find(|p| p.high_watermark() > 0)
                .unwrap()
                .partition();
            let leader = cluster
                .partition("__consumer_offsets", used)?
                .leader()
                .unwrap();
            cluster.broker(leader)?.kill()?;
            consumer.commit_offsets(&[(tp0.clone(), OffsetAndMetadata::new(4))])?;
            4
        } else {
            10
        };
        assert_eq!(
            consumer.committed(&tp0)?.map(|c| c.offset()),
            Some(expected)
        );
        consumer.close()?;
        log.close()?;
        expected
    };
    // Reopened, the offsets come back from the replicas that survived.
    let log = open_log_in(dir.path())?;
    let group = log.consumer_group("billing");
    assert_eq!(group.committed(&tp0)?.map(|c| c.offset()), Some(expected));
    assert_eq!(group.committed(&tp1)?.map(|c| c.offset()), Some(10));
    Ok(())
}

#[test]
fn without_a_committed_offset_a_member_starts_per_auto_offset_reset() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(1))?;
    produce(&log, "orders", 1, 5)?;
    // latest: only records produced after the member got the partition.
    let latest = member_config("latest").auto_offset_reset(tidelog::OffsetReset::Latest);
    let mut consumer = log.consumer(latest)?;
    consumer.subscribe(["orders"])?;
    let mut consumers = [consumer];
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |c, _| settled(&log, "latest", c))?;
    let tp = TopicPartition::new("orders", 0);
    assert_eq!(consumers[0].position(&tp)?, 5);
    produce(&log, "orders", 1, 1)?;
    poll_until(&mut consumers, &mut read, |_, read| !read.is_empty())?;
    assert_eq!(
        read,
        ["0-0"],
        "only the new record (value numbering restarts)"
    );
    // none: polling fails until the application seeks or commits.
    let none = member_config("none").auto_offset_reset(tidelog::OffsetReset::None);
    let mut consumer = log.consumer(none)?;
    consumer.subscribe(["orders"])?;
    let mut outcome = Ok(Vec::new());
    for _ in 0..100 {
        outcome = consumer.poll(Duration::from_millis(10));
        if outcome.is_err() {
            break;
        }
    }
    assert!(matches!(outcome, Err(Error::NoOffsetForPartition { .. })));
    Ok(())
}

fn short_retention_log(dir: &std::path::Path) -> Result<Log> {
    Log::builder(dir)
        .brokers(1)
        .set("offsets.topic.num.partitions", "1")?
        .set("log.retention.ms", "1")?
        .set("log.retention.check.interval.ms", "10")?
        .open()
}

#[test]
fn committed_offsets_outlive_a_short_broker_retention() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let tp = TopicPartition::new("orders", 0);
    {
        let log = short_retention_log(dir.path())?;
        log.create_topic("orders", TopicConfig::new().retention(None))?;
        produce(&log, "orders", 1, 5)?;
        log.consumer_group("billing")
            .reset_offsets("orders", OffsetSpec::Offset(3))?;
        // A topic that inherits the broker's retention, written after the
        // commit: once its record is gone, a retention pass has run on
        // everything at least as old, the commit included.
        log.create_topic("ticks", TopicConfig::new())?;
        produce(&log, "ticks", 1, 1)?;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while log.topic("ticks")?.partition(0)?.log_start_offset() == 0 {
            assert!(std::time::Instant::now() < deadline, "retention never ran");
            std::thread::sleep(Duration::from_millis(10));
        }
        let committed = log.consumer_group("billing").committed(&tp)?;
        assert_eq!(committed.map(|c| c.offset()), Some(3));
        log.close()?;
    }
    let log = short_retention_log(dir.path())?;
    let committed = log.consumer_group("billing").committed(&tp)?;
    assert_eq!(committed.map(|c| c.offset()), Some(3));
    Ok(())
}

#[test]
fn a_consumer_subscribed_before_a_delete_shares_the_group_with_later_ones() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(4))?;
    produce(&log, "orders", 4, 40)?;
    let group = log.consumer_group("billing");
    group.reset_offsets("orders", OffsetSpec::Offset(2))?;
    // Subscribed (so it knows the group) but not joined yet: deleting is
    // allowed, and afterwards it must meet new subscribers in one group.
    let early = subscribed(&log, "billing", "orders")?;
    group.delete()?;
    assert_eq!(group.describe()?.state(), GroupState::Dead);
    let late = subscribed(&log, "billing", "orders")?;
    let mut consumers = [early, late];
    let mut read = Vec::new();
    // poll_until checks at every step that no partition has two owners.
    poll_until(&mut consumers, &mut read, |c, _| {
        settled(&log, "billing", c) && c.iter().all(|c| c.assignment().len() == 2)
    })?;
    // The deleted commits are gone: every record is read from the start.
    poll_until(&mut consumers, &mut read, |_, read| {
        read.iter().collect::<BTreeSet<_>>().len() == 40
    })?;
    consumers[0].commit_sync()?;
    assert_eq!(group.describe()?.state(), GroupState::Stable);
    Ok(())
}
