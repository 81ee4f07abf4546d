//! Helpers shared by the integration tests.

use std::time::{Duration, Instant};

use tidelog::{
    ConsumerConfig, ConsumerRecord, Log, LogBuilder, OffsetReset, Result, TopicPartition,
};

/// A log in a fresh temporary directory (kept alive by the returned guard).
pub(crate) fn open_log() -> (tempfile::TempDir, Log) {
    open_log_with(|builder| builder)
}

/// Like [`open_log`], with builder overrides.
pub(crate) fn open_log_with(
    configure: impl FnOnce(LogBuilder) -> LogBuilder,
) -> (tempfile::TempDir, Log) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = configure(Log::builder(dir.path()))
        .open()
        .expect("open the log");
    (dir, log)
}

/// A consumer assigned to every partition of `topic`, reading from the start.
pub(crate) fn consumer_from_start(log: &Log, topic: &str) -> Result<tidelog::Consumer> {
    let partitions = log.topic(topic)?.partition_count();
    let mut consumer = log.consumer(
        ConsumerConfig::new()
            .auto_offset_reset(OffsetReset::Earliest)
            .enable_auto_commit(false),
    )?;
    let assignment: Vec<_> = (0..partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// Polls until `count` records arrived (or a generous deadline passed).
pub(crate) fn read_records(
    consumer: &mut tidelog::Consumer,
    count: usize,
) -> Result<Vec<ConsumerRecord>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut records = Vec::with_capacity(count);
    while records.len() < count && Instant::now() < deadline {
        records.extend(consumer.poll(Duration::from_millis(200))?);
    }
    Ok(records)
}

/// Every record of `topic`, from the start, expecting exactly `count`.
pub(crate) fn read_topic(log: &Log, topic: &str, count: usize) -> Result<Vec<ConsumerRecord>> {
    let mut consumer = consumer_from_start(log, topic)?;
    let records = read_records(&mut consumer, count)?;
    // Nothing beyond what was expected.
    let extra = consumer.poll(Duration::from_millis(50))?;
    assert!(extra.is_empty(), "{} unexpected extra records", extra.len());
    Ok(records)
}

/// The value of a record as text.
pub(crate) fn text(record: &ConsumerRecord) -> String {
    String::from_utf8_lossy(record.value().unwrap_or_default()).into_owned()
}
