//! "Always start from the newest record": a dashboard that, whenever it
//! starts, shows the latest price and then follows new ones.
//!
//! Before the group's consumers start, an administrator moves the group's
//! committed offsets to the end of each partition (`OffsetSpec::Latest`) and
//! then one record back (`OffsetSpec::ShiftBy(-1)`). A member then starts
//! each partition at its newest record.
//!
//! ```text
//! cargo run --release --example latest_message
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tidelog::{ConsumerConfig, Log, OffsetSpec, ProducerConfig, ProducerRecord, TopicConfig};

const TOPIC: &str = "prices";
const GROUP: &str = "dashboard";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let log = Log::builder(dir.path())
        .set("offsets.topic.num.partitions", "3")?
        .open()?;
    log.create_topic(TOPIC, TopicConfig::new().partitions(2))?;
    let producer = log.producer(ProducerConfig::new())?;
    for (n, price) in [101, 103, 102, 107, 104, 105].iter().enumerate() {
        // One symbol per partition.
        let (symbol, partition) = if n % 2 == 0 {
            ("ACME", 0)
        } else {
            ("INITECH", 1)
        };
        let record = ProducerRecord::new(TOPIC, format!("{symbol} {price}")).partition(partition);
        producer.send_sync(record.key(symbol))?;
    }
    println!("six prices written to {TOPIC:?}");

    let group = log.consumer_group(GROUP);
    group.reset_offsets(TOPIC, OffsetSpec::Latest)?;
    for (partition, offset) in group.reset_offsets(TOPIC, OffsetSpec::ShiftBy(-1))? {
        println!("group {GROUP:?} will start {partition} at offset {offset}");
    }

    let mut consumer = log.consumer(ConsumerConfig::new().group_id(GROUP))?;
    consumer.subscribe([TOPIC])?;
    let mut latest = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while latest.len() < 2 && Instant::now() < deadline {
        for record in consumer.poll(Duration::from_millis(100))? {
            latest.push(String::from_utf8_lossy(record.value().unwrap()).into_owned());
        }
    }
    latest.sort();
    println!("latest prices: {latest:?}");
    assert_eq!(latest, ["ACME 104", "INITECH 105"]);
    consumer.close()?;
    Ok(())
}
