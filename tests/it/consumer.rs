//! Polling, positions, seeks, offset look-ups and resets.

use std::thread;
use std::time::{Duration, Instant};

use tidelog::{
    ConsumerConfig, Error, OffsetReset, ProducerConfig, ProducerRecord, Result, TopicConfig,
    TopicPartition,
};

use crate::support::{consumer_from_start, open_log, read_records, text};

fn produce(
    log: &tidelog::Log,
    topic: &str,
    values: impl IntoIterator<Item = String>,
) -> Result<()> {
    let producer = log.producer(ProducerConfig::new())?;
    for value in values {
        producer.send(ProducerRecord::new(topic, value).partition(0))?;
    }
    producer.flush();
    Ok(())
}

#[test]
fn poll_wakes_when_data_arrives_during_the_wait() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("wake", TopicConfig::new())?;
    let mut consumer = consumer_from_start(&log, "wake")?;
    assert!(consumer.poll(Duration::ZERO)?.is_empty());
    let producer = log.producer(ProducerConfig::new())?;
    let records = thread::scope(|scope| {
        let poller = scope.spawn(|| consumer.poll(Duration::from_secs(60)));
        producer
            .send_sync(ProducerRecord::new("wake", "hello"))
            .unwrap();
        poller.join().unwrap()
    })?;
    // Returned with the record, long before the minute was up.
    assert_eq!(records.len(), 1);
    assert_eq!(text(&records[0]), "hello");
    Ok(())
}

#[test]
fn poll_returns_empty_after_the_timeout_without_data() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("quiet", TopicConfig::new())?;
    let mut consumer = consumer_from_start(&log, "quiet")?;
    let started = Instant::now();
    assert!(consumer.poll(Duration::from_millis(30))?.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(30));
    Ok(())
}

#[test]
fn poll_returns_at_most_max_poll_records_and_resumes_where_it_stopped() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("paged", TopicConfig::new())?;
    produce(&log, "paged", (0..1000).map(|i| format!("{i}")))?;
    let mut consumer = log.consumer(
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .max_poll_records(7),
    )?;
    let tp = TopicPartition::new("paged", 0);
    consumer.assign(&[tp.clone()])?;
    let mut seen = Vec::new();
    while seen.len() < 1000 {
        let page = consumer.poll(Duration::from_secs(5))?;
        assert!(!page.is_empty() && page.len() <= 7);
        seen.extend(page.iter().map(|r| r.offset()));
        assert_eq!(consumer.position(&tp)?, seen.len() as u64);
    }
    assert_eq!(seen, (0..1000).collect::<Vec<u64>>());
    Ok(())
}

#[test]
fn seek_and_seek_to_end_move_the_position() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("seeking", TopicConfig::new())?;
    produce(&log, "seeking", (0..100).map(|i| format!("{i}")))?;
    let mut consumer = consumer_from_start(&log, "seeking")?;
    let tp = TopicPartition::new("seeking", 0);

    consumer.seek(&tp, 42)?;
    let records = read_records(&mut consumer, 58)?;
    assert_eq!(records.first().map(|r| r.offset()), Some(42));
    assert_eq!(records.len(), 58);

    consumer.seek_to_beginning(&[])?;
    assert_eq!(consumer.position(&tp)?, 0);
    assert_eq!(consumer.poll(Duration::from_secs(5))?[0].offset(), 0);

    consumer.seek_to_end(&[tp.clone()])?;
    assert_eq!(consumer.position(&tp)?, 100);
    assert!(consumer.poll(Duration::from_millis(20))?.is_empty());
    produce(&log, "seeking", ["after".to_string()])?;
    let after = read_records(&mut consumer, 1)?;
    assert_eq!(
        (after[0].offset(), text(&after[0])),
        (100, "after".to_string())
    );

    let elsewhere = TopicPartition::new("seeking", 5);
    assert!(matches!(
        consumer.seek(&elsewhere, 0),
        Err(Error::NotAssigned { .. })
    ));
    Ok(())
}

#[test]
fn offsets_for_times_finds_the_first_record_at_or_after_the_timestamp() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("timed", TopicConfig::new())?;
    let producer = log.producer(ProducerConfig::new())?;
    for (i, ts) in [1_000i64, 2_000, 2_000, 3_000, 5_000].iter().enumerate() {
        producer.send(
            ProducerRecord::new("timed", format!("{i}"))
                .partition(0)
                .timestamp(*ts),
        )?;
    }
    producer.flush();
    let consumer = log.consumer(ConsumerConfig::new())?;
    let tp = TopicPartition::new("timed", 0);
    let query: Vec<_> = [0, 1_000, 1_500, 2_000, 4_000, 5_000, 5_001]
        .iter()
        .map(|ts| (tp.clone(), *ts))
        .collect();
    let expected = [Some(0), Some(0), Some(1), Some(1), Some(4), Some(4), None];
    for ((_, ts), want) in query.iter().zip(expected) {
        let found = consumer.offsets_for_times(&[(tp.clone(), *ts)])?;
        assert_eq!(found[&tp], want, "timestamp {ts}");
    }
    assert_eq!(consumer.beginning_offsets(&[tp.clone()])?[&tp], 0);
    assert_eq!(consumer.end_offsets(&[tp.clone()])?[&tp], 5);
    Ok(())
}

#[test]
fn out_of_range_positions_follow_auto_offset_reset() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("ranged", TopicConfig::new())?;
    produce(&log, "ranged", (0..10).map(|i| format!("{i}")))?;
    let tp = TopicPartition::new("ranged", 0);
    let consumer_with = |reset| -> Result<tidelog::Consumer> {
        let mut consumer = log.consumer(ConsumerConfig::new().auto_offset_reset(reset))?;
        consumer.assign(&[tp.clone()])?;
        consumer.seek(&tp, 1_000)?;
        Ok(consumer)
    };

    let mut earliest = consumer_with(OffsetReset::Earliest)?;
    assert_eq!(
        read_records(&mut earliest, 10)?.first().map(|r| r.offset()),
        Some(0)
    );

    let mut latest = consumer_with(OffsetReset::Latest)?;
    assert!(latest.poll(Duration::from_millis(20))?.is_empty());
    assert_eq!(latest.position(&tp)?, 10);

    let mut none = consumer_with(OffsetReset::None)?;
    assert!(matches!(
        none.poll(Duration::from_millis(20)),
        Err(Error::OffsetOutOfRange { offset: 1_000, .. })
    ));
    Ok(())
}

#[test]
fn a_partition_without_position_follows_auto_offset_reset() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("fresh", TopicConfig::new())?;
    produce(&log, "fresh", (0..3).map(|i| format!("{i}")))?;
    let tp = TopicPartition::new("fresh", 0);

    let mut latest = log.consumer(ConsumerConfig::new())?;
    latest.assign(&[tp.clone()])?;
    assert_eq!(latest.position(&tp)?, 3);

    let mut none = log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::None))?;
    none.assign(&[tp.clone()])?;
    assert!(matches!(
        none.poll(Duration::ZERO),
        Err(Error::NoOffsetForPartition { .. })
    ));
    assert!(matches!(
        none.position(&tp),
        Err(Error::NoOffsetForPartition { .. })
    ));
    none.seek(&tp, 1)?;
    assert_eq!(read_records(&mut none, 2)?.len(), 2);
    Ok(())
}

#[test]
fn assigning_a_missing_partition_fails_and_keeps_the_assignment() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("two", TopicConfig::new().partitions(2))?;
    let mut consumer = log.consumer(ConsumerConfig::new())?;
    consumer.assign(&[TopicPartition::new("two", 1)])?;
    assert!(matches!(
        consumer.assign(&[TopicPartition::new("two", 2)]),
        Err(Error::InvalidPartition { .. })
    ));
    assert!(matches!(
        consumer.assign(&[TopicPartition::new("missing", 0)]),
        Err(Error::UnknownTopic(_))
    ));
    assert_eq!(consumer.assignment(), vec![TopicPartition::new("two", 1)]);
    Ok(())
}
