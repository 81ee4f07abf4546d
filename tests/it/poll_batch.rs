//! `Consumer::poll_batch`: the records lent out of the fetched batches are
//! exactly what `poll` returns (order, offsets, fields), positions and
//! commits move the same way, and compressed and compacted topics read the
//! same through both.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tidelog::{
    Acks, Compression, Consumer, ConsumerConfig, ConsumerRecord, ConsumerRecords, Log, OffsetReset,
    ProducerConfig, ProducerRecord, Result, TopicConfig, TopicPartition,
};

use crate::support::{consumer_from_start, open_log, open_log_with};

/// Sends `count` records spread over the partitions of `topic` in
/// multi-record batches (a linger lets them gather), with keys, headers
/// and a tombstone now and then.
fn produce(log: &Log, topic: &str, count: usize, compression: Compression) -> Result<()> {
    let producer = log.producer(
        ProducerConfig::new()
            .compression(compression)
            .linger(Duration::from_millis(20))
            .batch_size(4 << 10),
    )?;
    for i in 0..count {
        let record = if i % 17 == 5 {
            ProducerRecord::tombstone(topic).key(format!("k{i}"))
        } else {
            ProducerRecord::new(topic, format!("value-{i}")).key(format!("k{i}"))
        };
        let record = if i % 3 == 0 {
            record.header("n", i.to_string()).header("empty", "")
        } else {
            record
        };
        producer.send(record)?;
    }
    producer.flush();
    assert_eq!(producer.failed_sends(), 0);
    producer.close();
    Ok(())
}

/// Reads `count` records with `poll_batch`, as owned records, checking
/// each borrowed record against its owned form on the way.
fn read_batches(consumer: &mut Consumer, count: usize) -> Result<Vec<ConsumerRecord>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        let records = consumer.poll_batch(Duration::from_millis(200))?;
        assert_eq!(records.len(), records.iter().count());
        assert_eq!(records.is_empty(), records.iter().next().is_none());
        for record in &records {
            let owned = record.to_record();
            assert_eq!(record.key(), owned.key());
            assert_eq!(record.value(), owned.value());
            let headers: Vec<_> = owned
                .headers()
                .iter()
                .map(|h| (h.name(), h.value()))
                .collect();
            assert_eq!(record.headers().collect::<Vec<_>>(), headers);
            assert_eq!(
                (record.topic(), record.partition(), record.offset()),
                (owned.topic(), owned.partition(), owned.offset())
            );
            assert_eq!(record.timestamp(), owned.timestamp());
            assert_eq!(record.leader_epoch(), owned.leader_epoch());
            assert_eq!(record.topic_partition(), owned.topic_partition());
        }
        let owned = records.to_vec();
        assert_eq!(owned.len(), records.len());
        out.extend(owned);
    }
    Ok(out)
}

/// Everything `poll` returns for the same reads.
fn read_polls(consumer: &mut Consumer, count: usize) -> Result<Vec<ConsumerRecord>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        out.extend(consumer.poll(Duration::from_millis(200))?);
    }
    Ok(out)
}

fn assert_ascending_per_partition(records: &[ConsumerRecord]) {
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    for r in records {
        if let Some(previous) = last.insert(r.partition(), r.offset()) {
            assert!(r.offset() > previous, "{} after {previous}", r.offset());
        }
    }
}

#[test]
fn poll_batch_returns_what_poll_returns_across_batches_and_partitions() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(3))?;
    produce(&log, "orders", 600, Compression::None)?;
    let lent = read_batches(&mut consumer_from_start(&log, "orders")?, 600)?;
    let owned = read_polls(&mut consumer_from_start(&log, "orders")?, 600)?;
    assert_eq!(lent.len(), 600);
    // Same visiting order, same records, field by field.
    assert_eq!(lent, owned);
    assert_ascending_per_partition(&lent);
    for p in 0..3 {
        let offsets: Vec<u64> = lent
            .iter()
            .filter(|r| r.partition() == p)
            .map(ConsumerRecord::offset)
            .collect();
        let expected: Vec<u64> = (0..offsets.len() as u64).collect();
        assert_eq!(offsets, expected, "partition {p} has no gaps");
    }
    assert!(
        lent.iter().any(|r| r.value().is_none()),
        "tombstones read as None"
    );
    assert!(lent.iter().any(|r| r.headers().len() == 2));
    Ok(())
}

#[test]
fn small_max_poll_records_splits_batches_and_positions_follow() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    produce(&log, "orders", 200, Compression::None)?;
    let config = || {
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .enable_auto_commit(false)
            .max_poll_records(7)
    };
    let tps = [
        TopicPartition::new("orders", 0),
        TopicPartition::new("orders", 1),
    ];
    let mut lending = log.consumer(config())?;
    lending.assign(&tps)?;
    let mut owning = log.consumer(config())?;
    owning.assign(&tps)?;
    let mut seen = 0;
    while seen < 200 {
        let owned = owning.poll(Duration::from_secs(5))?;
        let records = lending.poll_batch(Duration::from_secs(5))?;
        assert!(records.len() <= 7);
        assert_eq!(records.to_vec(), owned);
        seen += records.len();
        // Each partition's position is one past its last returned record.
        let last: BTreeMap<TopicPartition, u64> = records
            .iter()
            .map(|r| (r.topic_partition(), r.offset()))
            .collect();
        drop(records);
        for (tp, offset) in last {
            assert_eq!(lending.position(&tp)?, offset + 1);
            assert_eq!(owning.position(&tp)?, offset + 1);
        }
    }
    assert!(lending.poll_batch(Duration::ZERO)?.is_empty());
    Ok(())
}

#[test]
fn per_partition_views_and_owned_results() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(3))?;
    produce(&log, "orders", 90, Compression::None)?;
    let mut consumer = consumer_from_start(&log, "orders")?;
    let mut by_partition: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while by_partition.values().map(Vec::len).sum::<usize>() < 90 && Instant::now() < deadline {
        let records = consumer.poll_batch(Duration::from_millis(200))?;
        let partitions = records.partitions();
        let mut total = 0;
        for tp in &partitions {
            let offsets: Vec<u64> = records.records(tp).map(|r| r.offset()).collect();
            assert!(!offsets.is_empty(), "{tp:?} is listed, so it has records");
            assert!(records.records(tp).all(|r| r.topic_partition() == *tp));
            total += offsets.len();
            by_partition
                .entry(tp.partition())
                .or_default()
                .extend(offsets);
        }
        assert_eq!(total, records.len(), "the views cover every record once");
        assert_eq!(records.records(&TopicPartition::new("other", 0)).count(), 0);

        // The same views over owned records (what a remote source gives).
        let owned = ConsumerRecords::from(records.to_vec());
        assert_eq!(owned.len(), records.len());
        assert_eq!(owned.partitions(), partitions);
        for tp in &partitions {
            let a: Vec<ConsumerRecord> = owned.records(tp).map(|r| r.to_record()).collect();
            let b: Vec<ConsumerRecord> = records.records(tp).map(|r| r.to_record()).collect();
            assert_eq!(a, b);
        }
        assert_eq!(owned.into_vec(), records.to_vec());
    }
    for offsets in by_partition.values() {
        assert_eq!(*offsets, (0..offsets.len() as u64).collect::<Vec<_>>());
    }
    Ok(())
}

#[test]
fn committed_positions_are_those_poll_batch_moved_to() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new())?;
    produce(&log, "orders", 50, Compression::None)?;
    let tp = TopicPartition::new("orders", 0);
    let config = ConsumerConfig::new()
        .group_id("billing")
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false)
        .max_poll_records(20);
    let mut consumer = log.consumer(config.clone())?;
    consumer.assign(std::slice::from_ref(&tp))?;
    let last = consumer
        .poll_batch(Duration::from_secs(5))?
        .iter()
        .last()
        .map(|r| r.offset());
    assert_eq!(last, Some(19));
    consumer.commit_sync()?;
    let committed = consumer.committed(&tp)?.map(|c| c.offset());
    assert_eq!(committed, Some(20));
    drop(consumer);

    // A member of the group resumes right after what was lent out.
    let mut next = log.consumer(config)?;
    next.subscribe(["orders"])?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut first = None;
    while first.is_none() && Instant::now() < deadline {
        first = next
            .poll_batch(Duration::from_millis(100))?
            .iter()
            .next()
            .map(|r| r.offset());
    }
    assert_eq!(first, Some(20));
    Ok(())
}

#[test]
fn compressed_topics_read_the_same_through_both_calls() -> Result<()> {
    let codecs = Compression::ALL
        .into_iter()
        .filter(|c| *c != Compression::None && c.is_available());
    for codec in codecs {
        let (_dir, log) = open_log();
        let topic = format!("zipped-{}", codec.name());
        log.create_topic(&topic, TopicConfig::new().partitions(2))?;
        produce(&log, &topic, 300, codec)?;
        let lent = read_batches(&mut consumer_from_start(&log, &topic)?, 300)?;
        let owned = read_polls(&mut consumer_from_start(&log, &topic)?, 300)?;
        assert_eq!(lent.len(), 300, "{codec}");
        assert_eq!(lent, owned, "{codec}");
        assert_ascending_per_partition(&lent);
    }
    Ok(())
}

#[test]
fn compaction_gaps_are_stepped_over_alike() -> Result<()> {
    let (_dir, log) = open_log_with(|b| b.brokers(1));
    let config = TopicConfig::new()
        .set("cleanup.policy", "compact")?
        .set("segment.bytes", "600")?;
    let topic = log.create_topic("table", config)?;
    let producer = log.producer(ProducerConfig::new().acks(Acks::Leader))?;
    for round in 0..6 {
        for k in 0..8 {
            producer.send_sync(
                ProducerRecord::new("table", format!("v{k}-{round}")).key(format!("key-{k}")),
            )?;
        }
    }
    producer.close();
    topic.clean()?;
    let end = topic.partition(0)?.high_watermark();
    let tp = TopicPartition::new("table", 0);

    let mut lending = consumer_from_start(&log, "table")?;
    let mut lent = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while lending.position(&tp)? < end && Instant::now() < deadline {
        lent.extend(lending.poll_batch(Duration::from_millis(100))?.to_vec());
    }
    let mut owning = consumer_from_start(&log, "table")?;
    let mut owned = Vec::new();
    while owning.position(&tp)? < end && Instant::now() < deadline {
        owned.extend(owning.poll(Duration::from_millis(100))?);
    }
    assert_eq!(lent, owned);
    assert!(lent.len() < 48, "compaction removed records");
    let gap_at_start = lent.first().is_some_and(|r| r.offset() > 0);
    assert!(gap_at_start || lent.windows(2).any(|w| w[1].offset() > w[0].offset() + 1));
    assert_eq!(lending.position(&tp)?, end);
    assert_eq!(owning.position(&tp)?, end);
    Ok(())
}

/// A value that tells which record it is, in every byte.
fn numbered_value(i: usize) -> String {
    format!("{i:06}|").repeat(24)
}

/// The record number of a value `numbered_value` made, checking every byte.
fn number_of(value: Option<&[u8]>) -> usize {
    let value = std::str::from_utf8(value.expect("a value")).expect("utf-8");
    let i: usize = value[..6].parse().expect("a number");
    assert_eq!(value, numbered_value(i), "record {i} intact");
    i
}

fn produce_numbered(log: &Log, range: std::ops::Range<usize>) -> Result<()> {
    let producer = log.producer(ProducerConfig::new().acks(Acks::Leader))?;
    for i in range {
        producer.send(ProducerRecord::new("numbers", numbered_value(i)).key(format!("k{i}")))?;
    }
    producer.flush();
    assert_eq!(producer.failed_sends(), 0);
    producer.close();
    Ok(())
}

/// Reads until `total` records were seen, with `poll` and `poll_batch` in
/// turn, keeping the records of every third poll as owned records.
fn read_keeping_some(
    consumer: &mut Consumer,
    seen: &mut Vec<usize>,
    kept: &mut Vec<ConsumerRecord>,
    total: usize,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut polls = 0;
    while seen.len() < total && Instant::now() < deadline {
        polls += 1;
        let records = if polls % 2 == 0 {
            consumer.poll(Duration::from_millis(200))?
        } else {
            let lent = consumer.poll_batch(Duration::from_millis(200))?;
            for record in &lent {
                number_of(record.value());
            }
            lent.to_vec()
        };
        seen.extend(records.iter().map(|r| number_of(r.value())));
        if polls % 3 == 0 {
            kept.extend(records);
        }
    }
    Ok(())
}

#[test]
fn records_kept_across_polls_stay_intact_while_read_buffers_are_reused() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("numbers", TopicConfig::new().partitions(2))?;
    // About 1.3 MB: many full-size reads per partition.
    produce_numbered(&log, 0..7_000)?;
    let mut consumer = log.consumer(
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .enable_auto_commit(false)
            .max_poll_records(150),
    )?;
    consumer.assign(&[
        TopicPartition::new("numbers", 0),
        TopicPartition::new("numbers", 1),
    ])?;
    let (mut seen, mut kept) = (Vec::new(), Vec::new());
    read_keeping_some(&mut consumer, &mut seen, &mut kept, 7_000)?;
    // Short reads at the tail now, into buffers long reads filled.
    for round in 0..5 {
        let from = 7_000 + round * 40;
        produce_numbered(&log, from..from + 40)?;
        read_keeping_some(&mut consumer, &mut seen, &mut kept, from + 40)?;
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..7_200).collect::<Vec<_>>());
    assert!(kept.len() > 1_000);
    for record in &kept {
        number_of(record.value());
    }
    Ok(())
}

/// `count` records on each of `partitions` partitions of `topic` (values
/// `p-i`), in small batches.
fn produce_per_partition(log: &Log, topic: &str, partitions: u32, count: usize) -> Result<()> {
    let producer = log.producer(ProducerConfig::new().batch_size(256))?;
    for i in 0..count {
        for p in 0..partitions {
            producer.send(ProducerRecord::new(topic, format!("{p}-{i}")).partition(p))?;
        }
    }
    producer.flush();
    assert_eq!(producer.failed_sends(), 0);
    producer.close();
    Ok(())
}

/// (partition, offset) of every record of one `poll_batch`.
fn poll_places(consumer: &mut Consumer) -> Result<Vec<(u32, u64)>> {
    Ok(consumer
        .poll_batch(Duration::from_secs(5))?
        .iter()
        .map(|r| (r.partition(), r.offset()))
        .collect())
}

#[test]
fn a_poll_resumes_the_partition_whose_fetched_records_the_last_one_stopped_in() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    produce_per_partition(&log, "orders", 2, 100)?;
    let mut consumer = log.consumer(
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .max_poll_records(30),
    )?;
    consumer.assign(&[
        TopicPartition::new("orders", 0),
        TopicPartition::new("orders", 1),
    ])?;
    // One fetch holds all 100 records of a partition: the second poll
    // goes on with them instead of fetching the other partition.
    let first = poll_places(&mut consumer)?;
    let second = poll_places(&mut consumer)?;
    let partition = first[0].0;
    let expected: Vec<_> = (0..60).map(|o| (partition, o)).collect();
    assert_eq!([first, second].concat(), expected);
    Ok(())
}

#[test]
fn a_partition_with_a_backlog_does_not_starve_the_others() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(3))?;
    produce_per_partition(&log, "orders", 3, 400)?;
    // Small fetches: each partition's backlog takes many of them.
    let mut consumer = log.consumer(
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .max_poll_records(25)
            .set("max.partition.fetch.bytes", "2048")?,
    )?;
    let partitions: Vec<_> = (0..3).map(|p| TopicPartition::new("orders", p)).collect();
    consumer.assign(&partitions)?;
    let mut next = [0u64; 3];
    let mut first_done = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while next.iter().any(|&n| n < 400) && Instant::now() < deadline {
        for (partition, offset) in poll_places(&mut consumer)? {
            let expected = &mut next[partition as usize];
            assert_eq!(offset, *expected, "partition {partition} out of order");
            *expected += 1;
        }
        if first_done.is_none() && next.contains(&400) {
            first_done = Some(next);
        }
    }
    assert_eq!(next, [400; 3]);
    // When the first partition is done, the others are well under way.
    let when = first_done.unwrap_or_default();
    assert!(
        when.iter().all(|&n| n >= 200),
        "partitions at {when:?} when the first was done"
    );
    Ok(())
}
