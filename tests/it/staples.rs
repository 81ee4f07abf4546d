//! The Java client's everyday calls: pause/resume, wakeup, partitionsFor,
//! per-partition lag, pattern subscription, create-if-absent topics.

use std::collections::BTreeSet;
use std::time::Duration;

use tidelog::{
    ConsumerConfig, Error, OffsetReset, ProducerConfig, ProducerRecord, Result, TopicConfig,
    TopicPartition,
};

use crate::groups::{member_config, open_log, poll_until, produce, settled};
use crate::support::{consumer_from_start, read_records};

fn values(records: &[tidelog::ConsumerRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value().unwrap_or_default()).into_owned())
        .collect()
}

#[test]
fn a_paused_partition_is_skipped_and_keeps_its_position_until_resumed() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    produce(&log, "orders", 2, 10)?;
    let mut consumer = consumer_from_start(&log, "orders")?;
    let (p0, p1) = (
        TopicPartition::new("orders", 0),
        TopicPartition::new("orders", 1),
    );
    consumer.pause(std::slice::from_ref(&p0))?;
    assert_eq!(consumer.paused(), std::slice::from_ref(&p0));
    let read = read_records(&mut consumer, 5)?;
    assert!(
        read.iter().all(|r| r.partition() == 1),
        "a paused partition was read"
    );
    assert!(consumer.poll(Duration::from_millis(20))?.is_empty());
    assert_eq!(consumer.position(&p0)?, 0);

    // Kept across an assign that keeps the partition.
    consumer.assign(&[p0.clone(), p1.clone()])?;
    assert_eq!(consumer.paused(), std::slice::from_ref(&p0));

    // Pausing an unassigned partition changes nothing.
    let other = TopicPartition::new("elsewhere", 0);
    assert!(matches!(
        consumer.pause(&[p1.clone(), other]),
        Err(Error::NotAssigned { .. })
    ));
    assert_eq!(consumer.paused(), std::slice::from_ref(&p0));

    consumer.resume(std::slice::from_ref(&p0))?;
    assert!(consumer.paused().is_empty());
    let read = read_records(&mut consumer, 5)?;
    assert_eq!(values(&read), ["0-0", "0-2", "0-4", "0-6", "0-8"]);
    Ok(())
}

#[test]
fn a_pause_ends_when_the_partition_is_revoked() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let mut consumers = [log.consumer(member_config("billing"))?];
    consumers[0].subscribe(["orders"])?;
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c) && c[0].assignment().len() == 2
    })?;
    consumers[0].pause(&consumers[0].assignment())?;
    assert_eq!(consumers[0].paused().len(), 2);
    // Resubscribing revokes everything (eager), and with it the pauses.
    consumers[0].subscribe(["orders", "other"])?;
    poll_until(&mut consumers, &mut Vec::new(), |c, _| {
        settled(&log, "billing", c) && c[0].assignment().len() == 2
    })?;
    assert!(consumers[0].paused().is_empty());
    Ok(())
}

#[test]
fn wakeup_interrupts_a_blocking_poll_and_the_next_poll_works() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("quiet", TopicConfig::new())?;
    let mut consumer = consumer_from_start(&log, "quiet")?;
    let handle = consumer.wakeup_handle();
    let waker = std::thread::spawn(move || handle.wakeup());
    // Nothing to read: only the wakeup can end this poll.
    let interrupted = consumer.poll(Duration::from_secs(3600));
    assert!(matches!(interrupted, Err(Error::Wakeup)), "{interrupted:?}");
    waker.join().unwrap();
    assert!(consumer.poll(Duration::ZERO)?.is_empty());

    produce(&log, "quiet", 1, 3)?;
    assert_eq!(read_records(&mut consumer, 3)?.len(), 3);
    Ok(())
}

#[test]
fn wakeup_interrupts_a_group_member_without_a_deadline() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new())?;
    let mut member = log.consumer(member_config("billing"))?;
    member.subscribe(["orders"])?;
    let handle = member.wakeup_handle();
    let waker = std::thread::spawn(move || handle.wakeup());
    // The join happens in this poll, then it waits for data: only the
    // wakeup ends it (Kafka's poll(Long.MAX_VALUE)).
    let result = loop {
        match member.poll(Duration::MAX) {
            Ok(records) if records.is_empty() => continue,
            other => break other,
        }
    };
    assert!(matches!(result, Err(Error::Wakeup)), "{result:?}");
    waker.join().unwrap();
    member.poll(Duration::from_millis(10))?;
    member.close()?;
    Ok(())
}

#[test]
fn partitions_for_reports_leader_replicas_and_isr() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(3))?;
    let producer = log.producer(ProducerConfig::new())?;
    let consumer = log.consumer(ConsumerConfig::new())?;
    let from_producer = producer.partitions_for("orders")?;
    assert_eq!(from_producer, consumer.partitions_for("orders")?);
    assert_eq!(from_producer.len(), 3);
    for (p, info) in from_producer.iter().enumerate() {
        assert_eq!(
            info.topic_partition(),
            &TopicPartition::new("orders", p as u32)
        );
        let leader = info.leader().unwrap();
        assert!(info.replicas().contains(&leader));
        assert!(info.in_sync_replicas().contains(&leader));
        assert_eq!(log.cluster().partition("orders", p as u32)?, *info);
    }
    assert!(matches!(
        producer.partitions_for("missing"),
        Err(Error::UnknownTopic(_))
    ));
    Ok(())
}

#[test]
fn lag_is_the_high_watermark_minus_the_position() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new())?;
    produce(&log, "orders", 1, 10)?;
    let config = ConsumerConfig::new()
        .auto_offset_reset(OffsetReset::Earliest)
        .max_poll_records(4);
    let mut consumer = log.consumer(config)?;
    let tp = TopicPartition::new("orders", 0);
    consumer.assign(std::slice::from_ref(&tp))?;
    assert_eq!(consumer.lag(&tp), None);
    let mut read = 0;
    while read < 10 {
        read += consumer.poll(Duration::from_secs(5))?.len();
        assert_eq!(consumer.lag(&tp), Some(10 - read as u64));
    }
    assert_eq!(consumer.lag(&TopicPartition::new("orders", 1)), None);
    Ok(())
}

#[test]
fn a_pattern_subscription_follows_topics_created_later() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("metrics.cpu", TopicConfig::new())?;
    log.create_topic("orders", TopicConfig::new())?;
    let mut consumers = [log.consumer(member_config("dash"))?];
    consumers[0].subscribe_pattern(r"metrics\.[a-z]+")?;
    assert_eq!(consumers[0].subscription(), ["metrics.cpu"]);
    let producer = log.producer(ProducerConfig::new())?;
    let send = |topic: &str, n: u32| -> Result<()> {
        for i in 0..n {
            producer.send_sync(ProducerRecord::new(topic, format!("{topic}-{i}")))?;
        }
        Ok(())
    };
    send("metrics.cpu", 2)?;
    send("orders", 2)?;
    let mut read = Vec::new();
    poll_until(&mut consumers, &mut read, |_, read| read.len() == 2)?;

    log.create_topic("metrics.disk", TopicConfig::new())?;
    log.create_topic("metrics.disk.v2", TopicConfig::new())?; // a whole-name match only
    send("metrics.disk", 3)?;
    // The rejoin restarts from the committed offsets (none here), so the
    // first topic's records may come again: count distinct ones.
    poll_until(&mut consumers, &mut read, |_, read| {
        read.iter().collect::<BTreeSet<_>>().len() == 5
    })?;
    assert!(read.iter().all(|v| v.starts_with("metrics.")), "{read:?}");
    let topics: BTreeSet<_> = consumers[0]
        .assignment()
        .iter()
        .map(|tp| tp.topic().to_string())
        .collect();
    assert_eq!(
        topics,
        BTreeSet::from(["metrics.cpu".to_string(), "metrics.disk".to_string()])
    );
    assert_eq!(
        consumers[0].subscription_pattern(),
        Some(r"metrics\.[a-z]+")
    );
    assert!(matches!(
        consumers[0].subscribe_pattern("metrics.(["),
        Err(Error::InvalidPattern { .. })
    ));
    Ok(())
}

#[test]
fn create_topic_if_not_exists_returns_the_existing_topic() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    for run in 0..2 {
        let log = crate::groups::open_log_in(dir.path())?;
        let topic = log.create_topic_if_not_exists("orders", TopicConfig::new().partitions(3))?;
        assert_eq!(topic.partition_count(), 3, "run {run}");
        assert!(matches!(
            log.create_topic("orders", TopicConfig::new()),
            Err(Error::TopicAlreadyExists(_))
        ));
        log.producer(ProducerConfig::new())?
            .send_sync(ProducerRecord::new("orders", format!("run-{run}")))?;
        log.close()?;
    }
    Ok(())
}
