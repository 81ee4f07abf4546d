//! Offset look-ups of a Kafka-backed consumer: by time and at the ends.

use std::collections::HashMap;
use std::time::Instant;

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::{Message, Timestamp};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::remote::KafkaConsumer;
use super::OffsetAndTimestamp;
use crate::error::{Error, Result};
use crate::remote::{kafka_error, partition_i32, Subject};
use crate::topic::TopicPartition;

/// Kafka's `offsetsForTimes`: the first offset at or after each timestamp,
/// with that record's timestamp; `None` where no record is that late.
pub(crate) fn offsets_for_times(
    kafka: &KafkaConsumer,
    query: &[(TopicPartition, i64)],
) -> Result<HashMap<TopicPartition, Option<OffsetAndTimestamp>>> {
    let offsets = kafka.offsets_for_times(query)?;
    let mut found = HashMap::new();
    for (tp, _) in query {
        let answer = match offsets.get(tp).copied().flatten() {
            Some(offset) => record_timestamp(kafka, tp, offset)?
                .map(|timestamp| OffsetAndTimestamp::new(offset, timestamp, None)),
            None => None,
        };
        found.insert(tp.clone(), answer);
    }
    Ok(found)
}

/// librdkafka answers a time query with offsets only; Kafka's answer also
/// carries the record's timestamp, read here with a consumer of its own
/// (so the caller's positions stay as they are).
fn record_timestamp(
    kafka: &KafkaConsumer,
    tp: &TopicPartition,
    offset: u64,
) -> Result<Option<i64>> {
    let log = kafka.log();
    let reader: BaseConsumer = log
        .config()
        .client_config()
        .set("enable.partition.eof", "true")
        .set("group.id", super::remote_convert::private_group())
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| kafka_error("create consumer", Subject::default(), &e))?;
    let mut tpl = TopicPartitionList::new();
    let at = Offset::Offset(i64::try_from(offset).unwrap_or(i64::MAX));
    tpl.add_partition_offset(tp.topic(), partition_i32(tp.partition()), at)
        .map_err(|e| kafka_error("offsets_for_times", Subject::topic(tp.topic()), &e))?;
    reader
        .assign(&tpl)
        .map_err(|e| kafka_error("offsets_for_times", Subject::topic(tp.topic()), &e))?;
    let deadline = Instant::now() + log.timeout();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match reader.poll(left) {
            Some(Ok(message)) => {
                return Ok(match message.timestamp() {
                    Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => Some(t),
                    Timestamp::NotAvailable => None,
                })
            }
            Some(Err(error)) => {
                // The end of the partition: retention removed the record.
                if matches!(error, rdkafka::error::KafkaError::PartitionEOF(_)) {
                    return Ok(None);
                }
                return Err(kafka_error(
                    "offsets_for_times",
                    Subject::topic(tp.topic()),
                    &error,
                ));
            }
            None => {}
        }
    }
    Err(Error::Timeout {
        op: "offsets_for_times",
        timeout: log.timeout(),
    })
}

/// The log start offsets (`end` false) or high watermarks (`end` true).
pub(crate) fn watermark_offsets(
    kafka: &KafkaConsumer,
    partitions: &[TopicPartition],
    end: bool,
) -> Result<HashMap<TopicPartition, u64>> {
    partitions
        .iter()
        .map(|tp| {
            let (low, high) = kafka.log().watermarks(tp.topic(), tp.partition())?;
            Ok((tp.clone(), if end { high } else { low }))
        })
        .collect()
}
