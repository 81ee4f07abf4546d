//! Records land where Kafka's clients would put them.

use std::collections::{HashMap, HashSet};

use tidelog::{Partitioner, ProducerConfig, ProducerRecord, Result, TopicConfig};

use crate::support::{open_log, read_topic, text};

#[test]
fn keyed_records_land_on_kafkas_murmur2_partition() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("keyed", TopicConfig::new().partitions(6))?;
    let producer = log.producer(ProducerConfig::new())?;
    // murmur2 as Kafka's Java client computes it, masked to positive, modulo 6.
    let expected = [
        ("21", (-973_932_308i32 & 0x7fff_ffff) as u32 % 6),
        ("foobar", (-790_332_482i32 & 0x7fff_ffff) as u32 % 6),
        ("abc", 479_470_107u32 % 6),
        ("12345", (-1_188_365_604i32 & 0x7fff_ffff) as u32 % 6),
    ];
    for (key, partition) in expected {
        let metadata = producer.send_sync(ProducerRecord::new("keyed", "v").key(key))?;
        assert_eq!(metadata.partition(), partition, "key {key}");
    }
    Ok(())
}

#[test]
fn one_key_always_lands_on_one_partition() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("stable", TopicConfig::new().partitions(5))?;
    let producer = log.producer(ProducerConfig::new())?;
    for i in 0..500 {
        producer
            .send(ProducerRecord::new("stable", format!("{i}")).key(format!("key-{}", i % 7)))?;
    }
    producer.flush();
    let mut partitions_of_key: HashMap<Vec<u8>, HashSet<u32>> = HashMap::new();
    for record in read_topic(&log, "stable", 500)? {
        let key = record.key().unwrap().to_vec();
        partitions_of_key
            .entry(key)
            .or_default()
            .insert(record.partition());
    }
    assert_eq!(partitions_of_key.len(), 7);
    assert!(partitions_of_key.values().all(|p| p.len() == 1));
    Ok(())
}

#[test]
fn keyless_records_fill_one_batch_at_a_time_and_spread_over_partitions() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("sticky", TopicConfig::new().partitions(3))?;
    let config = ProducerConfig::new()
        .batch_size(1024)
        .set("linger.ms", "600000")?
        .set("delivery.timeout.ms", "700000")?;
    let producer = log.producer(config)?;
    for i in 0..3000 {
        producer.send(ProducerRecord::new("sticky", format!("{i:08}")))?;
    }
    producer.flush();
    let records = read_topic(&log, "sticky", 3000)?;
    let mut per_partition: HashMap<u32, Vec<String>> = HashMap::new();
    for record in &records {
        per_partition
            .entry(record.partition())
            .or_default()
            .push(text(record));
    }
    // Every partition got a share ...
    assert_eq!(per_partition.len(), 3);
    // ... in runs: the first ten records share the first one's partition.
    let home = |value: String| {
        records
            .iter()
            .find(|r| text(r) == value)
            .unwrap()
            .partition()
    };
    let first = home(format!("{:08}", 0));
    assert!(
        (1..10).all(|i| home(format!("{i:08}")) == first),
        "keyless records did not stick"
    );
    Ok(())
}

struct EverythingToTwo;

impl Partitioner for EverythingToTwo {
    fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, partitions: u32) -> u32 {
        2.min(partitions - 1)
    }
}

#[test]
fn a_user_partitioner_places_records_without_an_explicit_partition() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("custom", TopicConfig::new().partitions(4))?;
    let producer = log.producer(ProducerConfig::new().partitioner(EverythingToTwo))?;
    let keyed = producer.send_sync(ProducerRecord::new("custom", "a").key("k"))?;
    let keyless = producer.send_sync(ProducerRecord::new("custom", "b"))?;
    let explicit = producer.send_sync(ProducerRecord::new("custom", "c").partition(0))?;
    assert_eq!(
        (keyed.partition(), keyless.partition(), explicit.partition()),
        (2, 2, 0)
    );
    Ok(())
}

/// Sends a copy of every record to "audit" from inside `partition`, through
/// the producer it partitions for.
struct Auditing(std::sync::Arc<std::sync::OnceLock<std::sync::Weak<tidelog::Producer>>>);

impl Partitioner for Auditing {
    fn partition(&self, topic: &str, _: Option<&[u8]>, value: Option<&[u8]>, n: u32) -> u32 {
        if topic != "audit" {
            if let Some(producer) = self.0.get().and_then(std::sync::Weak::upgrade) {
                let copy = value.unwrap_or_default().to_vec();
                producer.send(ProducerRecord::new("audit", copy)).unwrap();
            }
        }
        n - 1
    }
}

#[test]
fn a_partitioner_may_send_through_its_own_producer() -> Result<()> {
    use std::sync::{Arc, OnceLock};
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    log.create_topic("audit", TopicConfig::new().partitions(1))?;
    let cell = Arc::new(OnceLock::new());
    let producer =
        Arc::new(log.producer(ProducerConfig::new().partitioner(Auditing(Arc::clone(&cell))))?);
    cell.set(Arc::downgrade(&producer)).unwrap();
    for i in 0..20 {
        producer.send(ProducerRecord::new("orders", format!("{i}")))?;
    }
    producer.flush();
    let orders = read_topic(&log, "orders", 20)?;
    assert!(orders.iter().all(|r| r.partition() == 1));
    let audit: Vec<String> = read_topic(&log, "audit", 20)?.iter().map(text).collect();
    assert_eq!(audit, (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
    Ok(())
}
