//! Producer behaviour that needs a stalled sender, which only a crate-internal
//! hook can arrange honestly.

use std::time::Duration;

use crate::config::{ConsumerConfig, OffsetReset, ProducerConfig, TopicConfig};
use crate::error::Error;
use crate::log::Log;
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
    assert_eq!(producer.failed_sends(), 0);

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
        values.extend(records.iter().map(|r| r.value().unwrap().clone()));
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
