//! Conversions between a Kafka-backed consumer and librdkafka: its
//! settings as librdkafka properties, librdkafka's messages as records.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use rdkafka::config::ClientConfig;
use rdkafka::message::{BorrowedMessage, Headers, Message, Timestamp};

use super::{ConsumerConfig, OffsetReset};
use crate::config::AssignmentStrategy;
use crate::record::{ConsumerRecord, Header, TimestampType};
use crate::remote::non_negative;

pub(super) fn record_of(
    message: &BorrowedMessage<'_>,
    names: &mut HashMap<String, Arc<str>>,
) -> ConsumerRecord {
    let topic = match names.get(message.topic()) {
        Some(name) => Arc::clone(name),
        None => {
            let name: Arc<str> = Arc::from(message.topic());
            names.insert(message.topic().to_string(), Arc::clone(&name));
            name
        }
    };
    let (timestamp, timestamp_type) = match message.timestamp() {
        Timestamp::LogAppendTime(t) => (t, TimestampType::LogAppendTime),
        Timestamp::CreateTime(t) => (t, TimestampType::CreateTime),
        Timestamp::NotAvailable => (-1, TimestampType::CreateTime),
    };
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| Header::new(h.key, Bytes::copy_from_slice(h.value.unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default();
    ConsumerRecord {
        topic,
        partition: u32::try_from(message.partition()).unwrap_or_default(),
        offset: non_negative(message.offset()),
        timestamp,
        key: message.key().map(Bytes::copy_from_slice),
        value: message.payload().map(Bytes::copy_from_slice),
        headers,
        timestamp_type,
        leader_epoch: -1,
    }
}

/// `config` plus the consumer's settings.
pub(super) fn consumer_properties(base: ClientConfig, config: &ConsumerConfig) -> ClientConfig {
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
pub(super) fn private_group() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("tidelog-assign-{}-{nanos}-{next}", std::process::id())
}
