//! Every send mode reports bad records, topics, partitions and configs.

use std::sync::mpsc;
use std::time::Duration;

use tidelog::{Error, Producer, ProducerConfig, ProducerRecord, Result, TopicConfig};

use crate::support::{open_log, open_log_with};

/// Sends `record` in each mode; returns the three errors (the callback's
/// for `send_with_callback`, which reports a refused record there only).
fn errors_in_each_mode(producer: &Producer, record: ProducerRecord) -> Vec<Error> {
    let failed_before = producer.failed_sends();
    let fire = producer.send(record.clone()).unwrap_err();
    let sync = producer.send_sync(record.clone()).unwrap_err();
    let (tx, rx) = mpsc::channel();
    producer
        .send_with_callback(record, move |r| tx.send(r.map(|_| ())).unwrap())
        .expect("a refused record is the callback's to report");
    let delivered = rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap_err();
    assert!(rx.try_recv().is_err(), "the callback ran twice");
    // Each refused record counts once, whichever mode sent it.
    assert_eq!(producer.failed_sends() - failed_before, 3);
    vec![fire, sync, delivered]
}

#[test]
fn a_record_above_max_request_size_is_refused_in_every_mode() -> Result<()> {
    let (_dir, log) = open_log();
    let producer = log.producer(ProducerConfig::new().set("max.request.size", "1000")?)?;
    let big = ProducerRecord::new("big", vec![7u8; 2000]);
    for error in errors_in_each_mode(&producer, big) {
        assert!(
            matches!(error, Error::RecordTooLarge { max: 1000, .. }),
            "{error}"
        );
    }
    producer.send_sync(ProducerRecord::new("big", vec![7u8; 500]))?;
    Ok(())
}

#[test]
fn a_record_above_message_max_bytes_is_refused_in_every_mode() -> Result<()> {
    let (_dir, log) = open_log_with(|b| b.message_max_bytes(4096));
    let producer = log.producer(ProducerConfig::new())?;
    let big = ProducerRecord::new("limited", vec![1u8; 10_000]);
    for error in errors_in_each_mode(&producer, big) {
        assert!(
            matches!(error, Error::RecordTooLarge { max: 4096, .. }),
            "{error}"
        );
    }
    Ok(())
}

#[test]
fn an_unknown_topic_fails_when_auto_create_is_off() -> Result<()> {
    let (_dir, log) = open_log_with(|b| b.set("auto.create.topics.enable", "false").unwrap());
    let producer = log.producer(ProducerConfig::new())?;
    for error in errors_in_each_mode(&producer, ProducerRecord::new("nowhere", "x")) {
        assert!(
            matches!(&error, Error::UnknownTopic(t) if t == "nowhere"),
            "{error}"
        );
    }
    assert!(log.topics().is_empty());
    Ok(())
}

#[test]
fn an_unknown_topic_is_created_when_auto_create_is_on() -> Result<()> {
    let (_dir, log) = open_log_with(|b| b.set("num.partitions", "3").unwrap());
    let producer = log.producer(ProducerConfig::new())?;
    producer.send_sync(ProducerRecord::new("fresh", "x"))?;
    assert_eq!(log.topic("fresh")?.partition_count(), 3);
    Ok(())
}

#[test]
fn an_invalid_partition_is_refused_in_every_mode() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("three", TopicConfig::new().partitions(3))?;
    let producer = log.producer(ProducerConfig::new())?;
    let record = ProducerRecord::new("three", "x").partition(3);
    for error in errors_in_each_mode(&producer, record) {
        assert!(
            matches!(
                error,
                Error::InvalidPartition {
                    partition: 3,
                    partitions: 3,
                    ..
                }
            ),
            "{error}"
        );
    }
    Ok(())
}

#[test]
fn a_wrong_config_key_or_value_is_named_in_the_error() -> Result<()> {
    let unknown = ProducerConfig::new().set("linger.msec", "5").unwrap_err();
    assert!(matches!(&unknown, Error::InvalidConfig { key, .. } if key == "linger.msec"));
    let bad_value = ProducerConfig::new().set("acks", "2").unwrap_err();
    assert!(matches!(&bad_value, Error::InvalidConfig { key, .. } if key == "acks"));
    let negative = ProducerConfig::new().set("batch.size", "-1").unwrap_err();
    assert!(matches!(&negative, Error::InvalidConfig { key, .. } if key == "batch.size"));

    // Values only wrong together are caught when the producer is created.
    let (_dir, log) = open_log();
    let config = ProducerConfig::new()
        .set("delivery.timeout.ms", "1000")?
        .set("request.timeout.ms", "30000")?;
    let refused = log.producer(config).unwrap_err();
    assert!(matches!(&refused, Error::InvalidConfig { key, .. } if key == "delivery.timeout.ms"));
    Ok(())
}

#[test]
fn an_invalid_topic_name_is_refused_in_every_mode() -> Result<()> {
    let (_dir, log) = open_log();
    let producer = log.producer(ProducerConfig::new())?;
    for error in errors_in_each_mode(&producer, ProducerRecord::new("no spaces/allowed", "x")) {
        assert!(matches!(error, Error::InvalidTopicName { .. }), "{error}");
    }
    Ok(())
}

#[test]
fn producers_are_shared_between_threads_and_consumers_move_between_them() {
    fn shared<T: Send + Sync>() {}
    fn movable<T: Send>() {}
    shared::<tidelog::Producer>();
    movable::<tidelog::Consumer>();
}

#[test]
fn batches_stay_below_a_topic_max_message_bytes_smaller_than_batch_size() -> Result<()> {
    let (_dir, log) = open_log();
    let config = TopicConfig::new().set("max.message.bytes", "2000")?;
    log.create_topic("small-batches", config)?;
    let producer = log.producer(ProducerConfig::new().batch_size(64 * 1024))?;
    for i in 0..2000 {
        producer.send(ProducerRecord::new("small-batches", format!("{i:060}")))?;
    }
    producer.flush();
    assert_eq!(
        producer.failed_sends(),
        0,
        "a batch grew past max.message.bytes"
    );
    assert_eq!(
        crate::support::read_topic(&log, "small-batches", 2000)?.len(),
        2000
    );
    Ok(())
}
