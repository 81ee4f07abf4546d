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
    consumer.assign(std::slice::from_ref(&tp))?;
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

    consumer.seek_to_end(std::slice::from_ref(&tp))?;
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
    let expected = [
        Some((0, 1_000)),
        Some((0, 1_000)),
        Some((1, 2_000)),
        Some((1, 2_000)),
        Some((4, 5_000)),
        Some((4, 5_000)),
        None,
    ];
    for ((_, ts), want) in query.iter().zip(expected) {
        let found = consumer.offsets_for_times(&[(tp.clone(), *ts)])?;
        let found = found[&tp].map(|f| (f.offset(), f.timestamp()));
        assert_eq!(found, want, "timestamp {ts}");
    }
    // Any iterable of pairs: a HashMap of queries answers all at once.
    let by_map: std::collections::HashMap<_, _> = [(tp.clone(), 3_000)].into_iter().collect();
    let found = consumer.offsets_for_times(by_map)?;
    assert_eq!(found[&tp].map(|f| f.offset()), Some(3));
    assert_eq!(
        consumer.beginning_offsets(std::slice::from_ref(&tp))?[&tp],
        0
    );
    assert_eq!(consumer.end_offsets(std::slice::from_ref(&tp))?[&tp], 5);
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
        consumer.assign(std::slice::from_ref(&tp))?;
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
    latest.assign(std::slice::from_ref(&tp))?;
    assert_eq!(latest.position(&tp)?, 3);

    let mut none = log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::None))?;
    none.assign(std::slice::from_ref(&tp))?;
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

#[test]
fn tiny_fetch_limits_still_make_progress_one_batch_at_a_time() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("tiny", TopicConfig::new())?;
    let producer = log.producer(ProducerConfig::new().batch_size(200))?;
    for i in 0..300 {
        producer.send(ProducerRecord::new("tiny", format!("{i:04}")).partition(0))?;
    }
    producer.flush();
    let mut consumer = log.consumer(
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .set("max.partition.fetch.bytes", "1")?
            .set("fetch.max.bytes", "1")?,
    )?;
    consumer.assign(&[TopicPartition::new("tiny", 0)])?;
    let records = read_records(&mut consumer, 300)?;
    let offsets: Vec<u64> = records.iter().map(|r| r.offset()).collect();
    assert_eq!(offsets, (0..300).collect::<Vec<u64>>());
    Ok(())
}

#[test]
fn log_append_time_topics_report_the_brokers_timestamp_to_both_sides() -> Result<()> {
    let (_dir, log) = open_log();
    let config = TopicConfig::new().set("message.timestamp.type", "LogAppendTime")?;
    log.create_topic("stamped", config)?;
    let producer = log.producer(ProducerConfig::new())?;
    let metadata = producer.send_sync(ProducerRecord::new("stamped", "x").timestamp(1_000))?;
    assert!(
        metadata.timestamp() > 1_000,
        "the producer's timestamp was kept"
    );
    let mut consumer = crate::support::consumer_from_start(&log, "stamped")?;
    let records = read_records(&mut consumer, 1)?;
    assert_eq!(records[0].timestamp(), metadata.timestamp());
    Ok(())
}

#[test]
fn records_keep_their_keys_headers_and_tombstones() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("shapes", TopicConfig::new())?;
    let producer = log.producer(ProducerConfig::new())?;
    producer.send(
        ProducerRecord::new("shapes", "v")
            .key("k")
            .header("h1", "a")
            .header("h2", "")
            .timestamp(42),
    )?;
    producer.send(ProducerRecord::tombstone("shapes").key("k"))?;
    producer.flush();
    let mut consumer = crate::support::consumer_from_start(&log, "shapes")?;
    let records = read_records(&mut consumer, 2)?;
    let first = &records[0];
    assert_eq!(first.key(), Some(&b"k"[..]));
    assert_eq!(first.timestamp(), 42);
    let headers: Vec<_> = first
        .headers()
        .iter()
        .map(|h| (h.name(), h.value()))
        .collect();
    assert_eq!(headers, vec![("h1", &b"a"[..]), ("h2", &b""[..])]);
    assert_eq!(first.topic(), "shapes");
    assert!(records[1].value().is_none());
    Ok(())
}

#[test]
fn a_position_removed_by_retention_resets_to_the_log_start_with_earliest() -> Result<()> {
    let (_dir, log) =
        crate::support::open_log_with(|b| b.set("log.retention.check.interval.ms", "20").unwrap());
    let config = TopicConfig::new()
        .set("segment.bytes", "1000")?
        .set("retention.bytes", "3000")?;
    let topic = log.create_topic("retained", config)?;
    let tp = TopicPartition::new("retained", 0);
    let mut consumer =
        log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    consumer.assign(std::slice::from_ref(&tp))?;
    assert_eq!(consumer.position(&tp)?, 0);

    let producer = log.producer(ProducerConfig::new())?;
    for i in 0..200 {
        producer.send_sync(ProducerRecord::new("retained", format!("value-{i:05}")))?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while topic.partition(0)?.log_start_offset() == 0 {
        assert!(Instant::now() < deadline, "retention never ran");
        // Retention runs on its own thread; there is no event to wait on.
        thread::sleep(Duration::from_millis(10));
    }
    let records = consumer.poll(Duration::from_secs(5))?;
    let log_start = topic.partition(0)?.log_start_offset();
    let first = records.first().map(|r| r.offset()).unwrap();
    assert!(
        first > 0 && first <= log_start,
        "restarted at {first}, log start {log_start}"
    );
    Ok(())
}

/// Every `.log` file under `dir` whose directory is `topic-partition`.
fn segment_files(dir: &std::path::Path, partition_dir: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "log")
                && path
                    .parent()
                    .and_then(|p| p.file_name())
                    .is_some_and(|n| n == partition_dir)
            {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn records_before_damage_are_returned_and_the_damage_reported_next() -> Result<()> {
    let (dir, log) = open_log();
    log.create_topic("damaged", TopicConfig::new())?;
    let producer = log.producer(ProducerConfig::new())?;
    for i in 0..10 {
        producer.send_sync(ProducerRecord::new("damaged", format!("good-{i}")))?;
    }
    let last = producer.send_sync(ProducerRecord::new("damaged", "the last one"))?;
    assert_eq!(last.offset(), 10);
    // Flip the last byte of the log (inside the last batch's record).
    for path in segment_files(dir.path(), "damaged-0") {
        let mut bytes = std::fs::read(&path).unwrap();
        if let Some(byte) = bytes.last_mut() {
            *byte ^= 0xff;
            std::fs::write(&path, &bytes).unwrap();
        }
    }
    let mut consumer = crate::support::consumer_from_start(&log, "damaged")?;
    let first = consumer.poll(Duration::from_secs(5))?;
    assert_eq!(first.len(), 10, "the ten good records come first");
    let second = consumer.poll(Duration::from_secs(5));
    assert!(matches!(second, Err(Error::Corrupt { .. })), "{second:?}");
    Ok(())
}
