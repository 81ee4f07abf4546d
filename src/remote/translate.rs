//! tidelog's producer and consumer settings as librdkafka properties.
//!
//! The keys are Kafka's on both sides, but librdkafka names a few
//! differently and cannot express some: those are translated here, or
//! refused with an error naming the key.

use rdkafka::config::ClientConfig;

use crate::config::{Acks, AssignmentStrategy};
use crate::consumer::{ConsumerConfig, OffsetReset};
use crate::error::{Error, Result};
use crate::producer::ProducerConfig;
use crate::record::Compression;

/// `config` plus the producer's settings.
pub(crate) fn producer_properties(
    base: ClientConfig,
    config: &ProducerConfig,
) -> Result<ClientConfig> {
    if config.partitioner.is_some() {
        return Err(Error::config(
            "partitioner",
            "custom",
            "a Log connected to Kafka places records with librdkafka's murmur2 partitioner \
             (the Java client's choice for keyed records); a custom Partitioner needs the embedded log",
        ));
    }
    let compression = match config.compression {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Snappy => "snappy",
        Compression::Lz4 => "lz4",
        Compression::Zstd => {
            return Err(Error::config(
                "compression.type",
                "zstd",
                "the Kafka client is built without zstd; use gzip, snappy or lz4",
            ))
        }
    };
    let acks = match config.acks {
        Acks::None => "0",
        Acks::Leader => "1",
        Acks::All => "all",
    };
    let mut props = base;
    props
        .set("acks", acks)
        .set("linger.ms", millis(config.linger))
        .set("batch.size", config.batch_size.to_string())
        // librdkafka's limit on the producer's queue, in KiB.
        .set(
            "queue.buffering.max.kbytes",
            (config.buffer_memory / 1024)
                .clamp(1, 2_147_483_647)
                .to_string(),
        )
        // Java's max.request.size bounds one record; librdkafka's
        // message.max.bytes is the same bound.
        .set(
            "message.max.bytes",
            config.max_request_size.max(1000).to_string(),
        )
        .set("delivery.timeout.ms", millis(config.delivery_timeout))
        .set("request.timeout.ms", millis(config.request_timeout))
        .set("enable.idempotence", config.enable_idempotence.to_string())
        .set("retries", config.retries.min(2_147_483_647).to_string())
        .set("retry.backoff.ms", millis(config.retry_backoff))
        .set("retry.backoff.max.ms", millis(config.retry_backoff_max))
        .set("client.id", &config.client_id)
        .set("compression.type", compression)
        // The Java client's placement of keyed records.
        .set("partitioner", "murmur2_random");
    Ok(props)
}

/// `config` plus the consumer's settings.
pub(crate) fn consumer_properties(base: ClientConfig, config: &ConsumerConfig) -> ClientConfig {
    let reset = match config.auto_offset_reset {
        OffsetReset::Earliest => "earliest",
        OffsetReset::Latest => "latest",
        // librdkafka reports a missing offset as an error event.
        OffsetReset::None => "error",
    };
    let strategy = match config.assignment_strategy {
        AssignmentStrategy::Range => "range",
        AssignmentStrategy::RoundRobin => "roundrobin",
        AssignmentStrategy::CooperativeSticky => "cooperative-sticky",
    };
    let mut props = base;
    props
        .set("client.id", &config.client_id)
        .set("auto.offset.reset", reset)
        .set("enable.auto.commit", config.enable_auto_commit.to_string())
        .set(
            "auto.commit.interval.ms",
            millis(config.auto_commit_interval),
        )
        .set("fetch.max.bytes", config.fetch_max_bytes.to_string())
        .set(
            "max.partition.fetch.bytes",
            config.max_partition_fetch_bytes.to_string(),
        )
        .set("session.timeout.ms", millis(config.session_timeout))
        .set("heartbeat.interval.ms", millis(config.heartbeat_interval))
        .set("max.poll.interval.ms", millis(config.max_poll_interval))
        .set("partition.assignment.strategy", strategy)
        // End-of-partition events are not records; tidelog has none.
        .set("enable.partition.eof", "false");
    match &config.group_id {
        Some(group) => props.set("group.id", group),
        // librdkafka's consumer cannot even assign without a group; Kafka's
        // can. A group of its own that never commits stands in: tidelog
        // refuses commits without group.id before librdkafka sees them.
        None => props
            .set("group.id", private_group())
            .set("enable.auto.commit", "false"),
    };
    props
}

fn millis(duration: std::time::Duration) -> String {
    duration.as_millis().min(2_147_483_647).to_string()
}

/// A group id no other consumer uses.
fn private_group() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("tidelog-assign-{}-{nanos}-{next}", std::process::id())
}
