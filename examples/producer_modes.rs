//! The three ways to send, side by side.
//!
//! ```text
//! cargo run --release --example producer_modes
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tidelog::{Log, ProducerConfig, ProducerRecord, TopicConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let log = Log::open(dir.path())?;
    log.create_topic("modes", TopicConfig::new().partitions(3))?;
    let producer = log.producer(ProducerConfig::new())?;

    // 1. Fire and forget: returns as soon as the record is in a batch.
    let started = Instant::now();
    for i in 0..100_000 {
        producer.send(ProducerRecord::new("modes", format!("fire {i}")))?;
    }
    producer.flush();
    println!(
        "send:               100000 records in {:?}, {} failed",
        started.elapsed(),
        producer.failed_sends()
    );

    // 2. Synchronous: waits for the acknowledgement and says where it went.
    let started = Instant::now();
    let metadata = producer.send_sync(ProducerRecord::new("modes", "sync").key("customer-7"))?;
    println!(
        "send_sync:          partition {} offset {} in {:?}",
        metadata.partition(),
        metadata.offset(),
        started.elapsed()
    );

    // 3. Callback: runs on the producer's sender thread once the record is stored.
    let (tx, rx) = mpsc::channel();
    producer.send_with_callback(ProducerRecord::new("modes", "callback"), move |result| {
        let _ = tx.send(result);
    })?;
    let metadata = rx.recv_timeout(Duration::from_secs(30))??;
    println!(
        "send_with_callback: partition {} offset {}",
        metadata.partition(),
        metadata.offset()
    );

    // Errors come back right away where they can: this partition does not exist.
    match producer.send(ProducerRecord::new("modes", "nowhere").partition(9)) {
        Err(error) => println!("deliberate error, send to partition 9 is refused: {error}"),
        Ok(()) => return Err("a send to a partition that does not exist was accepted".into()),
    }
    producer.close();
    log.close()?;
    Ok(())
}
