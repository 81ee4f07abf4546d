//! Producer behaviour that needs a stalled sender, which only a crate-internal
//! hook can arrange honestly.

use std::time::Duration;

use crate::config::TopicConfig;
use crate::consumer::{ConsumerConfig, OffsetReset};
use crate::error::Error;
use crate::log::Log;
use crate::producer::ProducerConfig;
use crate::record::ProducerRecord;
use crate::topic::TopicPartition;

#[test]
fn a_full_buffer_blocks_send_then_fails_without_losing_or_duplicating_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("pressure", TopicConfig::new().partitions(2))
        .unwrap();
    let config = ProducerConfig::new()
        .batch_size(1024)
        .buffer_memory(4096)
        .max_block(Duration::from_millis(50));
    let producer = log.producer(config).unwrap();
    producer.pause_sender(true);

    let mut accepted = 0u32;
    let failure = loop {
        let record = ProducerRecord::new("pressure", format!("{accepted:06}"));
        match producer.send(record) {
            Ok(()) => accepted += 1,
            Err(error) => break error,
        }
        assert!(accepted < 100_000, "send never blocked");
    };
    assert!(
        matches!(
            failure,
            Error::Timeout {
                op: "max.block.ms",
                ..
            }
        ),
        "{failure}"
    );
    assert!(accepted > 0);

    producer.pause_sender(false);
    producer.flush();
    // The refused send only: no accepted record failed.
    assert_eq!(producer.failed_sends(), 1);

    let mut consumer = log
        .consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))
        .unwrap();
    consumer
        .assign(&[
            TopicPartition::new("pressure", 0),
            TopicPartition::new("pressure", 1),
        ])
        .unwrap();
    let mut values = Vec::new();
    while values.len() < accepted as usize {
        let records = consumer.poll(Duration::from_secs(10)).unwrap();
        assert!(!records.is_empty(), "records missing");
        values.extend(records.iter().map(|r| r.value_bytes().unwrap().clone()));
    }
    assert!(consumer.poll(Duration::from_millis(20)).unwrap().is_empty());
    values.sort();
    values.dedup();
    assert_eq!(values.len(), accepted as usize);
}

#[test]
fn a_stalled_batch_fails_its_callbacks_after_delivery_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    let config = ProducerConfig::new()
        .set("linger.ms", "0")
        .unwrap()
        .set("request.timeout.ms", "20")
        .unwrap()
        .set("delivery.timeout.ms", "50")
        .unwrap();
    let producer = log.producer(config).unwrap();
    producer.pause_sender(true);
    let (tx, rx) = std::sync::mpsc::channel();
    producer
        .send_with_callback(ProducerRecord::new("stalled", "x"), move |r| {
            tx.send(r).unwrap();
        })
        .unwrap();
    let outcome = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(matches!(
        outcome,
        Err(Error::Timeout {
            op: "delivery.timeout.ms",
            ..
        })
    ));
    assert_eq!(producer.failed_sends(), 1);
}

/// Sends `count` keyless records with callbacks; returns each callback's outcome
/// (offset or error text) once all have fired.
fn send_with_callbacks(
    producer: &crate::producer::Producer,
    topic: &str,
    count: usize,
) -> Vec<std::result::Result<u64, String>> {
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..count {
        let tx = tx.clone();
        producer
            .send_with_callback(
                ProducerRecord::new(topic, format!("{i:05}")).partition(0),
                move |r| {
                    tx.send((i, r.map(|m| m.offset()).map_err(|e| e.to_string())))
                        .unwrap()
                },
            )
            .unwrap();
    }
    producer.flush();
    drop(tx);
    let mut outcomes: Vec<_> = rx.iter().collect();
    assert_eq!(outcomes.len(), count, "every callback fires once");
    outcomes.sort_by_key(|(i, _)| *i);
    outcomes.into_iter().map(|(_, r)| r).collect()
}

fn read_values(log: &Log, topic: &str) -> Vec<String> {
    let mut consumer = log
        .consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))
        .unwrap();
    consumer.assign(&[TopicPartition::new(topic, 0)]).unwrap();
    let mut values = Vec::new();
    loop {
        let records = consumer.poll(Duration::from_millis(100)).unwrap();
        if records.is_empty() {
            return values;
        }
        values.extend(
            records
                .iter()
                .map(|r| String::from_utf8(r.value().unwrap().to_vec()).unwrap()),
        );
    }
}

#[test]
fn retriable_failures_are_retried_in_order_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    let config = ProducerConfig::new()
        .batch_size(256)
        .retry_backoff(Duration::from_millis(1))
        .set("retry.backoff.max.ms", "4")
        .unwrap();
    let producer = log.producer(config).unwrap();
    producer
        .send_sync(ProducerRecord::new("retried", "warm-up"))
        .unwrap();
    producer.fail_next_attempts(5);
    let outcomes = send_with_callbacks(&producer, "retried", 400);
    let offsets: Vec<u64> = outcomes.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(offsets, (1..=400).collect::<Vec<u64>>());
    let values = read_values(&log, "retried");
    let expected: Vec<String> = std::iter::once("warm-up".to_string())
        .chain((0..400).map(|i| format!("{i:05}")))
        .collect();
    assert_eq!(values, expected);
    assert_eq!(producer.failed_sends(), 0);
}

#[test]
fn a_batch_fails_once_its_retries_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    let config = ProducerConfig::new()
        .retries(2)
        .retry_backoff(Duration::from_millis(1));
    let producer = log.producer(config).unwrap();
    producer
        .send_sync(ProducerRecord::new("exhausted", "warm-up"))
        .unwrap();
    producer.fail_next_attempts(3);
    let outcome = producer.send_sync(ProducerRecord::new("exhausted", "lost"));
    assert!(
        matches!(outcome, Err(Error::NotLeader { .. })),
        "{outcome:?}"
    );
    assert_eq!(producer.failed_sends(), 1);
    // The next record goes through.
    assert_eq!(
        producer
            .send_sync(ProducerRecord::new("exhausted", "kept"))
            .unwrap()
            .offset(),
        1
    );
}

/// (producer id, base sequence) of every batch of `topic`-0, in log order.
fn stamps(producer: &crate::producer::Producer, topic: &str) -> Vec<(i64, i32)> {
    let tp = TopicPartition::new(topic, 0);
    let fetched = producer
        .embedded()
        .shared
        .core
        .fetch(&tp, 0, 1 << 20)
        .unwrap();
    crate::record::BatchIter::new(fetched.data)
        .map(|batch| {
            let header = *batch.unwrap().header();
            (header.producer_id, header.base_sequence)
        })
        .collect()
}

#[test]
fn a_lost_batch_gives_its_partition_a_new_producer_id_from_sequence_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    let config = ProducerConfig::new()
        .retries(1)
        .retry_backoff(Duration::from_millis(1));
    let producer = log.producer(config).unwrap();
    producer.send_sync(ProducerRecord::new("ids", "a")).unwrap();
    producer.send_sync(ProducerRecord::new("ids", "b")).unwrap();
    producer.fail_next_attempts(2);
    assert!(producer
        .send_sync(ProducerRecord::new("ids", "lost"))
        .is_err());
    producer.send_sync(ProducerRecord::new("ids", "c")).unwrap();
    producer.send_sync(ProducerRecord::new("ids", "d")).unwrap();

    let stamps = stamps(&producer, "ids");
    assert_eq!(stamps.len(), 4);
    let (first_id, second_id) = (stamps[0].0, stamps[2].0);
    assert_ne!(first_id, second_id, "a new identity after the loss");
    assert_eq!(
        stamps,
        vec![(first_id, 0), (first_id, 1), (second_id, 0), (second_id, 1)]
    );
}
