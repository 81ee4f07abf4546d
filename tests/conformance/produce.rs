//! Producing: the three send modes, where keys land, order under
//! concurrent producers, what a record carries, and records too large.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use tidelog::{
    ConsumerConfig, Error, OffsetReset, ProducerConfig, ProducerRecord, Result, TimestampType,
    TopicConfig, TopicPartition,
};

use crate::target::{poll_records, text, Target, PATIENCE};

conformance!(
    three_send_modes,
    keys_land_where_kafka_puts_them,
    order_per_partition_under_concurrent_producers,
    record_fields_round_trip,
    oversize_records_are_refused,
);

/// A consumer of every partition of `topic` from the start.
fn read_all(t: &Target, topic: &str, count: usize) -> Result<Vec<tidelog::ConsumerRecord>> {
    let partitions = t.log().topic(topic)?.partition_count();
    let mut consumer =
        t.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    let all: Vec<_> = (0..partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    consumer.assign(&all)?;
    poll_records(&mut consumer, count)
}

fn three_send_modes(t: &Target) -> Result<()> {
    let topic = t.create_topic("modes", 1)?;
    let producer = t.log().producer(ProducerConfig::new())?;
    producer.send(ProducerRecord::new(topic.as_str(), "fire-and-forget"))?;
    producer.flush_timeout(PATIENCE)?;
    let meta = producer.send_sync(ProducerRecord::new(topic.as_str(), "sync"))?;
    assert_eq!(
        (meta.topic(), meta.partition(), meta.offset()),
        (topic.as_str(), 0, 1)
    );
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    producer.send_with_callback(ProducerRecord::new(topic.as_str(), "callback"), move |r| {
        let _ = tx.send(r);
    })?;
    let called = rx.recv_timeout(PATIENCE).expect("the callback runs")?;
    assert_eq!((called.partition(), called.offset()), (0, 2));
    // Nothing is left over for a flush, and no send failed.
    producer.flush_timeout(PATIENCE)?;
    assert_eq!(producer.failed_sends(), 0);

    let values: Vec<_> = read_all(t, &topic, 3)?.iter().map(text).collect();
    assert_eq!(values, ["fire-and-forget", "sync", "callback"]);
    Ok(())
}

/// Kafka's `Utils.murmur2` of these keys, from Kafka's own unit tests: the
/// partition is `(hash & 0x7fffffff) % partitions` with every Kafka client
/// that follows the Java producer.
const MURMUR2: [(&str, i32); 6] = [
    ("21", -973_932_308),
    ("foobar", -790_332_482),
    ("a-little-bit-long-string", -985_981_536),
    ("a-little-bit-longer-string", -1_486_304_829),
    (
        "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
        -58_897_971,
    ),
    ("abc", 479_470_107),
];

fn keys_land_where_kafka_puts_them(t: &Target) -> Result<()> {
    const PARTITIONS: u32 = 7;
    let topic = t.create_topic("keys", PARTITIONS)?;
    let producer = t.log().producer(ProducerConfig::new())?;
    for (key, hash) in MURMUR2 {
        let expected = (hash & 0x7fff_ffff) as u32 % PARTITIONS;
        for round in 0..2 {
            let record = ProducerRecord::new(topic.as_str(), format!("{round}")).key(key);
            let meta = producer.send_sync(record)?;
            assert_eq!(meta.partition(), expected, "key {key:?}, round {round}");
        }
    }
    Ok(())
}

fn order_per_partition_under_concurrent_producers(t: &Target) -> Result<()> {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 200;
    let topic = t.create_topic("order", 3)?;
    let producers = (0..THREADS)
        .map(|_| t.log().producer(ProducerConfig::new()))
        .collect::<Result<Vec<_>>>()?;
    std::thread::scope(|scope| {
        let handles: Vec<_> = producers
            .iter()
            .enumerate()
            .map(|(id, producer)| {
                let topic = topic.as_str();
                scope.spawn(move || -> Result<()> {
                    for seq in 0..PER_THREAD {
                        let key = format!("key-{}", seq % 5);
                        let value = format!("{id}:{seq}");
                        producer.send(ProducerRecord::new(topic, value).key(key))?;
                    }
                    producer.flush_timeout(PATIENCE)
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("a producer thread"))
    })?;

    let records = read_all(t, &topic, THREADS * PER_THREAD)?;
    assert_eq!(records.len(), THREADS * PER_THREAD);
    // Per partition, each producer's records appear in the order it sent them.
    let mut last: HashMap<(u32, usize), usize> = HashMap::new();
    let mut offsets: HashMap<u32, u64> = HashMap::new();
    for record in &records {
        let value = text(record);
        let (id, seq) = value.split_once(':').expect("id:seq");
        let (id, seq): (usize, usize) = (id.parse().unwrap(), seq.parse().unwrap());
        if let Some(&before) = last.get(&(record.partition(), id)) {
            assert!(
                seq > before,
                "{value} after {id}:{before} in partition {}",
                record.partition()
            );
        }
        last.insert((record.partition(), id), seq);
        let next = offsets.entry(record.partition()).or_insert(0);
        assert_eq!(
            record.offset(),
            *next,
            "offsets in partition {} have gaps",
            record.partition()
        );
        *next += 1;
    }
    Ok(())
}

fn record_fields_round_trip(t: &Target) -> Result<()> {
    let topic = t.create_topic("fields", 1)?;
    let producer = t.log().producer(ProducerConfig::new())?;
    // A minute ago: inside every broker's accepted timestamp window.
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64
        - 60_000;
    let full = ProducerRecord::new(topic.as_str(), vec![0u8, 255, 7])
        .key("the-key")
        .header("trace", "abc")
        .header("trace", "def")
        .header("empty", "")
        .timestamp(created);
    let sent = producer.send_sync(full)?;
    assert_eq!(sent.timestamp(), created);
    producer.send_sync(ProducerRecord::tombstone(topic.as_str()).key("gone"))?;
    producer.send_sync(ProducerRecord::new(topic.as_str(), "no key"))?;

    let records = read_all(t, &topic, 3)?;
    let first = &records[0];
    assert_eq!(first.key(), Some(&b"the-key"[..]));
    assert_eq!(first.value(), Some(&[0u8, 255, 7][..]));
    assert_eq!(first.timestamp(), created);
    assert_eq!(first.timestamp_type(), TimestampType::CreateTime);
    let headers: Vec<_> = first
        .headers()
        .iter()
        .map(|h| (h.name(), h.value()))
        .collect();
    assert_eq!(
        headers,
        [
            ("trace", &b"abc"[..]),
            ("trace", &b"def"[..]),
            ("empty", &b""[..])
        ]
    );
    assert_eq!(
        (records[1].key(), records[1].value()),
        (Some(&b"gone"[..]), None)
    );
    assert_eq!(
        (records[2].key(), text(&records[2]).as_str()),
        (None, "no key")
    );
    // A record without a timestamp gets the send time, still CreateTime.
    assert!(records[2].timestamp() >= created);
    assert_eq!(records[2].timestamp_type(), TimestampType::CreateTime);
    Ok(())
}

fn oversize_records_are_refused(t: &Target) -> Result<()> {
    let log = t.log();
    // Above the producer's max.request.size (1 MiB by default).
    let topic = t.create_topic("oversize", 1)?;
    let producer = log.producer(ProducerConfig::new())?;
    let huge = vec![7u8; 2 << 20];
    let sent = producer.send_sync(ProducerRecord::new(topic.as_str(), huge));
    assert!(
        matches!(sent, Err(Error::RecordTooLarge { .. })),
        "2 MiB gave {sent:?}"
    );

    // Above the topic's max.message.bytes, within the producer's limit: the
    // broker refuses the batch.
    let small = t.unique("small-messages");
    t.create_named_topic(
        &small,
        TopicConfig::new()
            .partitions(1)
            .set("max.message.bytes", "2000")?,
    )?;
    let refused = producer.send_sync(ProducerRecord::new(small.as_str(), vec![1u8; 10_000]));
    // Known gap of the Kafka backend: it passes the broker's
    // MESSAGE_TOO_LARGE on as `Error::Kafka` instead of `RecordTooLarge`
    // (ARCHITECTURE.md, "Embedded and Kafka: where they differ").
    let typed = match &refused {
        Err(Error::RecordTooLarge { .. }) => true,
        Err(Error::Kafka { code, .. }) if !t.is_embedded() => code == "MessageSizeTooLarge",
        _ => false,
    };
    assert!(typed, "10 kB gave {refused:?}");
    // The producer goes on working, and nothing of the refused record was stored.
    producer.send_sync(ProducerRecord::new(small.as_str(), "fits"))?;
    let records = read_all(t, &small, 1)?;
    assert_eq!(
        (records[0].offset(), text(&records[0]).as_str()),
        (0, "fits")
    );
    Ok(())
}
