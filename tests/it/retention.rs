//! Retention through the public API: old segments go, the newest data stays.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tidelog::{
    Acks, ConsumerConfig, Error, Log, OffsetReset, ProducerConfig, ProducerRecord, TopicConfig,
    TopicPartition,
};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Checks `condition` until it holds or a generous deadline passes.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn one_minute_retention_deletes_old_segments_and_keeps_the_newest() -> tidelog::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::builder(dir.path())
        .set("log.retention.minutes", "1")?
        .set("log.retention.check.interval.ms", "20")?
        .open()?;
    // Tiny segments so every few records roll a new one.
    let topic = log.create_topic("events", TopicConfig::new().set("segment.bytes", "300")?)?;
    let producer = log.producer(ProducerConfig::new().acks(Acks::Leader))?;
    let old = now_ms() - 5 * 60_000;
    for i in 0..40 {
        let record = ProducerRecord::new("events", format!("old-{i:03}")).timestamp(old);
        producer.send_sync(record)?;
    }
    let fresh = producer.send_sync(ProducerRecord::new("events", "fresh"))?;
    wait_until("retention to delete the old segments", || {
        topic.partition(0).unwrap().log_start_offset() > 0
    });
    let info = topic.partition(0)?;
    assert!(
        info.log_start_offset() <= fresh.offset(),
        "the newest record was deleted"
    );
    assert_eq!(info.log_end_offset(), fresh.offset() + 1);

    let tp = TopicPartition::new("events", 0);
    let mut consumer = log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::None))?;
    consumer.assign(std::slice::from_ref(&tp))?;
    consumer.seek(&tp, 0)?;
    assert!(matches!(
        consumer.poll(Duration::from_millis(100)),
        Err(Error::OffsetOutOfRange { .. }) | Err(Error::NoOffsetForPartition { .. })
    ));
    consumer.seek(&tp, fresh.offset())?;
    let records = consumer.poll(Duration::from_secs(5))?;
    assert_eq!(records.first().map(|r| r.offset()), Some(fresh.offset()));
    drop(consumer);
    producer.close();
    log.close()
}

#[test]
fn retention_bytes_keeps_the_partition_bounded() -> tidelog::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::builder(dir.path())
        .set("log.retention.check.interval.ms", "20")?
        .open()?;
    let config = TopicConfig::new()
        .set("segment.bytes", "1000")?
        .set("retention.bytes", "3000")?;
    let topic = log.create_topic("bounded", config)?;
    let producer = log.producer(ProducerConfig::new().acks(Acks::Leader))?;
    let mut last = 0;
    for i in 0..200 {
        last = producer
            .send_sync(ProducerRecord::new("bounded", format!("value-{i:05}")))?
            .offset();
    }
    wait_until("size retention", || {
        topic.partition(0).unwrap().log_start_offset() > 100
    });
    let info = topic.partition(0)?;
    assert_eq!(info.log_end_offset(), last + 1);
    producer.close();
    log.close()
}

#[test]
fn a_hundred_megabyte_limit_takes_large_records() -> tidelog::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::builder(dir.path())
        .set("message.max.bytes", "100000000")?
        .open()?;
    log.create_topic("big", TopicConfig::new())?;
    let producer = log.producer(ProducerConfig::new().set("max.request.size", "100000000")?)?;
    let value = vec![7u8; 20 << 20];
    let meta = producer.send_sync(ProducerRecord::new("big", value.clone()))?;
    let tp = TopicPartition::new("big", 0);
    let mut consumer = log.consumer(ConsumerConfig::new())?;
    consumer.assign(std::slice::from_ref(&tp))?;
    consumer.seek(&tp, meta.offset())?;
    let records = consumer.poll(Duration::from_secs(10))?;
    assert_eq!(records[0].value().map(|v| v.len()), Some(value.len()));

    let small = Log::builder(dir.path().join("small")).open()?;
    small.create_topic("big", TopicConfig::new())?;
    let producer2 = small.producer(ProducerConfig::new().set("max.request.size", "100000000")?)?;
    let result = producer2.send_sync(ProducerRecord::new("big", value));
    assert!(
        matches!(result, Err(Error::RecordTooLarge { .. })),
        "{result:?}"
    );
    assert_eq!(
        small.topic("big")?.partition(0)?.log_end_offset(),
        0,
        "something was written"
    );
    producer2.close();
    producer.close();
    small.close()?;
    log.close()
}
