//! Shared bench inputs: 100-byte records, and logs filled with them.

use std::time::Duration;

use tidelog::{
    ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition,
};

/// The record size the performance goals are stated for.
pub(crate) const VALUE_BYTES: usize = 100;

/// `count` records with 100-byte values and increasing timestamps.
pub(crate) fn records(count: usize) -> Vec<ProducerRecord> {
    (0..count)
        .map(|i| {
            let mut value = vec![b'v'; VALUE_BYTES];
            value[..8].copy_from_slice(&(i as u64).to_be_bytes());
            ProducerRecord::new("bench", value).timestamp(1_000_000 + i as i64)
        })
        .collect()
}

/// A single-partition topic `bench` in a fresh log, with `extra` topic settings.
pub(crate) fn open_log(extra: &[(&str, &str)]) -> (tempfile::TempDir, Log) {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    let mut config = TopicConfig::new().partitions(1);
    for (key, value) in extra {
        config = config.set(key, value).unwrap();
    }
    log.create_topic("bench", config).unwrap();
    (dir, log)
}

/// A producer tuned for throughput (acks=1, 64 KiB batches).
pub(crate) fn producer_config() -> ProducerConfig {
    ProducerConfig::new()
        .set("acks", "1")
        .unwrap()
        .set("batch.size", "65536")
        .unwrap()
        .set("linger.ms", "5")
        .unwrap()
}

/// Appends `count` 100-byte records to `bench` and waits for them.
pub(crate) fn fill(log: &Log, count: usize) {
    let producer = log.producer(producer_config()).unwrap();
    for record in records(count) {
        producer.send(record).unwrap();
    }
    producer.flush();
    producer.close();
}

/// A consumer assigned to `bench`-0 with large fetches.
pub(crate) fn consumer(log: &Log) -> tidelog::Consumer {
    let mut consumer = log
        .consumer(
            ConsumerConfig::new()
                .auto_offset_reset(OffsetReset::Earliest)
                .enable_auto_commit(false)
                .set("max.poll.records", "100000")
                .unwrap()
                .set("max.partition.fetch.bytes", "4194304")
                .unwrap()
                .set("fetch.max.bytes", "4194304")
                .unwrap(),
        )
        .unwrap();
    consumer.assign(&[partition()]).unwrap();
    consumer
}

pub(crate) fn partition() -> TopicPartition {
    TopicPartition::new("bench", 0)
}

/// Polls until `count` records arrived.
pub(crate) fn consume(consumer: &mut tidelog::Consumer, count: usize) -> usize {
    let mut seen = 0;
    let mut bytes = 0;
    while seen < count {
        let records = consumer.poll(Duration::from_secs(10)).unwrap();
        assert!(!records.is_empty(), "consumer stalled at {seen} of {count}");
        seen += records.len();
        bytes += records
            .iter()
            .map(|r| r.value().map_or(0, |v| v.len()))
            .sum::<usize>();
    }
    bytes
}

/// Like [`consume`], with the records lent out by `poll_batch`.
pub(crate) fn consume_batches(consumer: &mut tidelog::Consumer, count: usize) -> usize {
    let mut seen = 0;
    let mut bytes = 0;
    while seen < count {
        let records = consumer.poll_batch(Duration::from_secs(10)).unwrap();
        assert!(!records.is_empty(), "consumer stalled at {seen} of {count}");
        seen += records.len();
        bytes += records
            .iter()
            .map(|r| r.value().map_or(0, <[u8]>::len))
            .sum::<usize>();
    }
    bytes
}
