//! A first tour: create a topic, produce with each send mode, read it back.
//!
//! ```text
//! cargo run --release --example quickstart            # in a temporary directory
//! cargo run --release --example quickstart -- ./data  # in ./data (kept)
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tidelog::{
    ConsumerConfig, Log, OffsetReset, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition,
};

pub(crate) const TOPIC: &str = "quickstart";
const RECORDS: u64 = 1_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temporary = tempfile::tempdir()?;
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| temporary.path().to_path_buf(), Into::into);
    let log = Log::open(&dir)?;
    println!("opened a log in {}", dir.display());

    // Also runs a second time on the same directory.
    let topic = log.create_topic_if_not_exists(TOPIC, TopicConfig::new().partitions(3))?;
    println!(
        "topic {:?} has {} partitions",
        topic.name(),
        topic.partition_count()
    );

    let before = end_offsets(&log, topic.partition_count())?;
    produce(&log)?;
    consume(&log, topic.partition_count(), &before)?;
    log.close()?;
    Ok(())
}

/// Sends 1,000 keyed records, a third with each send mode.
pub(crate) fn produce(log: &Log) -> tidelog::Result<()> {
    let producer = log.producer(ProducerConfig::new())?;
    let acknowledged = Arc::new(AtomicU64::new(0));
    for i in 0..RECORDS {
        let record =
            ProducerRecord::new(TOPIC, format!("order #{i}")).key(format!("customer-{}", i % 10));
        match i % 3 {
            0 => producer.send(record)?,
            1 => {
                producer.send_sync(record)?;
            }
            _ => {
                let acknowledged = Arc::clone(&acknowledged);
                producer.send_with_callback(record, move |result| {
                    if result.is_ok() {
                        acknowledged.fetch_add(1, Ordering::Relaxed);
                    }
                })?;
            }
        }
    }
    producer.flush();
    println!(
        "sent {RECORDS} records: {} fire-and-forget, {} waited for, {} acknowledged by callback, {} failed",
        RECORDS.div_ceil(3),
        RECORDS / 3,
        acknowledged.load(Ordering::Relaxed),
        producer.failed_sends()
    );
    Ok(())
}

/// Reads back what this run produced and prints a line per partition.
pub(crate) fn consume(
    log: &Log,
    partitions: u32,
    from: &BTreeMap<u32, u64>,
) -> tidelog::Result<()> {
    let mut consumer =
        log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    let assignment: Vec<_> = (0..partitions)
        .map(|p| TopicPartition::new(TOPIC, p))
        .collect();
    consumer.assign(&assignment)?;
    for tp in &assignment {
        consumer.seek(tp, from.get(&tp.partition()).copied().unwrap_or(0))?;
    }
    // partition -> (count, first offset, last offset)
    let mut seen: BTreeMap<u32, (u64, u64, u64)> = BTreeMap::new();
    let mut total = 0;
    while total < RECORDS {
        let records = consumer.poll(Duration::from_secs(5))?;
        if records.is_empty() {
            break;
        }
        for record in &records {
            let entry = seen
                .entry(record.partition())
                .or_insert((0, record.offset(), 0));
            entry.0 += 1;
            entry.2 = record.offset();
        }
        total += records.len() as u64;
    }
    println!("read {total} records back:");
    for (partition, (count, first, last)) in seen {
        println!("  partition {partition}: {count:>4} records, offsets {first}..={last}");
    }
    Ok(())
}

pub(crate) fn end_offsets(log: &Log, partitions: u32) -> tidelog::Result<BTreeMap<u32, u64>> {
    let consumer = log.consumer(ConsumerConfig::new())?;
    let tps: Vec<_> = (0..partitions)
        .map(|p| TopicPartition::new(TOPIC, p))
        .collect();
    Ok(consumer
        .end_offsets(&tps)?
        .into_iter()
        .map(|(tp, offset)| (tp.partition(), offset))
        .collect())
}
