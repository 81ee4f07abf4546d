//! The quickstart, unchanged, against a real Kafka cluster: only the way
//! the `Log` is opened differs. Then a consumer group reads the topic and
//! the group admin reports its lag.
//!
//! ```text
//! cargo run --release --features kafka-client --example kafka_cluster -- --bootstrap HOST:PORT
//! ```
//!
//! Without `--bootstrap`, `TIDELOG_KAFKA_BOOTSTRAP` names the cluster
//! (`kafka-harness/with-kafka.sh` sets it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tidelog::{ConsumerConfig, KafkaConfig, Log, OffsetReset, TopicConfig};

// Its `main` opens a data directory; this example opens the Log its own way.
#[allow(dead_code)]
#[path = "quickstart.rs"]
mod quickstart;

use quickstart::TOPIC;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bootstrap = bootstrap()?;
    let log = Log::connect(KafkaConfig::new().set("bootstrap.servers", &bootstrap)?)?;
    println!("connected to the Kafka cluster at {bootstrap}");

    // From here on, the quickstart's own code.
    let topic = log.create_topic_if_not_exists(TOPIC, TopicConfig::new().partitions(3))?;
    println!(
        "topic {:?} has {} partitions",
        topic.name(),
        topic.partition_count()
    );
    let before = quickstart::end_offsets(&log, topic.partition_count())?;
    quickstart::produce(&log)?;
    quickstart::consume(&log, topic.partition_count(), &before)?;

    read_as_a_group(&log)?;

    // What only an embedded log has is a typed error, not a surprise.
    if let Err(error) = log.cluster().broker(0) {
        println!("failure injection: {error}");
    }
    log.close()?;
    Ok(())
}

/// A group member reads the whole topic, commits, and leaves; the group's
/// lag is then zero on every partition.
fn read_as_a_group(log: &Log) -> tidelog::Result<()> {
    let group = format!("kafka-cluster-example-{}", std::process::id());
    let config = ConsumerConfig::new()
        .group_id(&group)
        .auto_offset_reset(OffsetReset::Earliest)
        .enable_auto_commit(false);
    let mut consumer = log.consumer(config)?;
    consumer.subscribe([TOPIC])?;
    let topic = log.topic(TOPIC)?;
    let total: u64 = topic
        .partitions()?
        .iter()
        .map(|p| p.high_watermark() - p.log_start_offset())
        .sum();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut read = 0;
    while read < total && Instant::now() < deadline {
        read += consumer.poll(Duration::from_millis(500))?.len() as u64;
    }
    consumer.commit_sync()?;
    println!(
        "group {group:?} read {read} of {total} records with {} partitions assigned",
        consumer.assignment().len()
    );
    consumer.close()?;
    let lag: u64 = log
        .consumer_group(&group)
        .lag()?
        .iter()
        .filter_map(|p| p.lag())
        .sum();
    println!("group {group:?} lag after its commit: {lag}");
    Ok(())
}

fn bootstrap() -> Result<String, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--bootstrap" {
            return Ok(args.next().ok_or("--bootstrap needs HOST:PORT")?);
        }
        if let Some(value) = arg.strip_prefix("--bootstrap=") {
            return Ok(value.to_string());
        }
    }
    std::env::var("TIDELOG_KAFKA_BOOTSTRAP").map_err(|_| {
        "usage: kafka_cluster --bootstrap HOST:PORT (or set TIDELOG_KAFKA_BOOTSTRAP)".into()
    })
}
