//! The data path: Metadata, Produce, Fetch, ListOffsets, OffsetForLeaderEpoch
//! and InitProducerId.
//!
//! Produce appends the client's batch as sent (the leader stamps only the
//! base offset and its epoch), so its producer id, epoch and sequence reach
//! the partition's idempotence table; Fetch returns stored batch bytes.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    BrokerId, FetchRequest, FetchResponse, InitProducerIdRequest, InitProducerIdResponse,
    ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, MetadataResponse,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ProduceRequest, ProduceResponse,
    ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::codes;
use super::conn::Ctx;
use crate::cluster::AppendInfo;
use crate::config::Acks;
use crate::error::{CorruptionKind, Result};
use crate::record::{BatchIter, RecordBatch, HEADER_LEN};
use crate::topic::TopicPartition;

/// Attribute bits 0-2 of a batch: its compression codec.
const COMPRESSION_MASK: u8 = 0x07;
const ATTRIBUTES_LOW_BYTE_AT: usize = 22;

pub(crate) fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub(crate) fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn tp_of(topic: &TopicName, partition: i32) -> Option<TopicPartition> {
    Some(TopicPartition::new(
        topic.0.as_str(),
        u32::try_from(partition).ok()?,
    ))
}

/// The leader epoch when this broker leads `tp`, else the error to answer.
fn lead(ctx: &Ctx<'_>, tp: &TopicPartition) -> std::result::Result<i32, i16> {
    let state = ctx
        .shared
        .log
        .core()
        .partition_state(tp)
        .map_err(|e| codes::of(&e))?;
    match state.leader {
        Some(leader) if leader == ctx.broker => Ok(state.leader_epoch),
        None => Err(codes::LEADER_NOT_AVAILABLE),
        Some(_) => Err(codes::NOT_LEADER_OR_FOLLOWER),
    }
}

fn broker_id(id: u32) -> BrokerId {
    BrokerId(i32::try_from(id).unwrap_or(-1))
}

/// The brokers a client can reach, with their advertised addresses.
pub(crate) fn live_brokers(ctx: &Ctx<'_>) -> Vec<MetadataResponseBroker> {
    let core = ctx.shared.log.core();
    core.broker_ids()
        .into_iter()
        .filter(|id| core.broker_serving(*id))
        .filter_map(|id| {
            let addr = ctx.shared.addrs.get(id as usize)?;
            Some(
                MetadataResponseBroker::default()
                    .with_node_id(broker_id(id))
                    .with_host(str_bytes(&ctx.shared.host))
                    .with_port(i32::from(addr.port())),
            )
        })
        .collect()
}

pub(crate) fn metadata(ctx: &Ctx<'_>, request: MetadataRequest, version: i16) -> MetadataResponse {
    let core = ctx.shared.log.core();
    let requested: Option<Vec<String>> = match request.topics {
        None => None,
        Some(topics) if topics.is_empty() && version == 0 => None,
        Some(topics) => Some(
            topics
                .into_iter()
                .filter_map(|t| t.name.map(|n| n.0.as_str().to_string()))
                .collect(),
        ),
    };
    let auto_create = request.allow_auto_topic_creation || version < 4;
    let names = requested.unwrap_or_else(|| core.topics());
    let topics = names
        .iter()
        .map(|topic| topic_metadata(ctx, topic, auto_create))
        .collect();
    let controller = core
        .broker_ids()
        .into_iter()
        .find(|id| core.broker_serving(*id))
        .map_or(BrokerId(-1), broker_id);
    MetadataResponse::default()
        .with_brokers(live_brokers(ctx))
        .with_cluster_id(Some(str_bytes("tidelog")))
        .with_controller_id(controller)
        .with_topics(topics)
}

fn topic_metadata(ctx: &Ctx<'_>, topic: &str, auto_create: bool) -> MetadataResponseTopic {
    let core = ctx.shared.log.core();
    let found = if auto_create {
        core.partition_count_or_create(topic)
    } else {
        core.partition_count(topic)
    };
    let response = MetadataResponseTopic::default()
        .with_name(Some(name(topic)))
        .with_is_internal(topic.starts_with("__"));
    if let Err(e) = found {
        return response.with_error_code(codes::of(&e));
    }
    let routes = core.routes();
    let Some(state) = routes.topics.get(topic) else {
        return response.with_error_code(codes::UNKNOWN_TOPIC_OR_PARTITION);
    };
    let partitions = state
        .partitions
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let ids = |v: &[u32]| v.iter().map(|id| broker_id(*id)).collect::<Vec<_>>();
            let offline: Vec<u32> = p
                .replicas
                .iter()
                .copied()
                .filter(|id| !core.broker_serving(*id))
                .collect();
            // A leader whose broker is down is no leader a client can reach.
            let leader = p.leader.filter(|id| core.broker_serving(*id));
            MetadataResponsePartition::default()
                .with_partition_index(i32::try_from(index).unwrap_or(i32::MAX))
                .with_error_code(leader.map_or(codes::LEADER_NOT_AVAILABLE, |_| codes::NONE))
                .with_leader_id(leader.map_or(BrokerId(-1), broker_id))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(ids(&p.replicas))
                .with_isr_nodes(ids(&p.isr))
                .with_offline_replicas(ids(&offline))
        })
        .collect();
    response.with_partitions(partitions)
}

/// `None` for acks=0, which Kafka answers with no response at all.
pub(crate) fn produce(ctx: &Ctx<'_>, request: ProduceRequest) -> Option<ProduceResponse> {
    let acks = match request.acks {
        0 => Some(Acks::None),
        1 => Some(Acks::Leader),
        -1 => Some(Acks::All),
        _ => None,
    };
    let timeout = Duration::from_millis(u64::try_from(request.timeout_ms).unwrap_or(0));
    let mut pending = Vec::new();
    for topic in &request.topic_data {
        for partition in &topic.partition_data {
            let outcome = match acks {
                Some(acks) => submit(
                    ctx,
                    &topic.name,
                    partition.index,
                    &partition.records,
                    acks,
                    timeout,
                ),
                None => Outcome::Failed(codes::INVALID_REQUEST),
            };
            pending.push((topic.name.clone(), partition.index, outcome));
        }
    }
    if request.acks == 0 {
        return None;
    }
    let mut responses: Vec<TopicProduceResponse> = Vec::new();
    for (topic, index, outcome) in pending {
        let partition = finish(ctx, &topic, index, outcome);
        match responses.iter_mut().find(|r| r.name == topic) {
            Some(r) => r.partition_responses.push(partition),
            None => responses.push(
                TopicProduceResponse::default()
                    .with_name(topic)
                    .with_partition_responses(vec![partition]),
            ),
        }
    }
    Some(ProduceResponse::default().with_responses(responses))
}

enum Outcome {
    Failed(i16),
    Waiting(crossbeam_channel::Receiver<Result<AppendInfo>>),
}

fn submit(
    ctx: &Ctx<'_>,
    topic: &TopicName,
    index: i32,
    records: &Option<Bytes>,
    acks: Acks,
    timeout: Duration,
) -> Outcome {
    let Some(tp) = tp_of(topic, index) else {
        return Outcome::Failed(codes::UNKNOWN_TOPIC_OR_PARTITION);
    };
    if let Err(code) = lead(ctx, &tp) {
        return Outcome::Failed(code);
    }
    let Some(records) = records.as_ref().filter(|r| r.len() >= HEADER_LEN) else {
        return Outcome::Failed(codes::CORRUPT_MESSAGE);
    };
    // A compressed batch is stored as the client sent it (Kafka's
    // `compression.type=producer`), but only once its records decode: a
    // broker must not keep bytes that no consumer can read.
    let compressed = records
        .get(ATTRIBUTES_LOW_BYTE_AT)
        .is_some_and(|a| a & COMPRESSION_MASK != 0);
    if compressed {
        if let Err(code) = records_decode(records) {
            return Outcome::Failed(code);
        }
    }
    let (done, outcome) = crossbeam_channel::bounded(1);
    let on_complete = Box::new(move |result| {
        let _ = done.send(result);
    });
    let batch = BytesMut::from(&records[..]);
    ctx.shared
        .log
        .core()
        .produce(&tp, batch, acks, timeout, on_complete);
    Outcome::Waiting(outcome)
}

/// Checks that every record of `batch` decodes (decompressing it first);
/// a codec this build lacks is Kafka's UNSUPPORTED_COMPRESSION_TYPE.
fn records_decode(batch: &Bytes) -> std::result::Result<(), i16> {
    let code = |kind| match kind {
        CorruptionKind::UnsupportedCodec(_) => codes::UNSUPPORTED_COMPRESSION_TYPE,
        _ => codes::CORRUPT_MESSAGE,
    };
    let batch = RecordBatch::new(batch.clone()).map_err(code)?;
    for record in batch.records() {
        record.map_err(code)?;
    }
    Ok(())
}

fn finish(
    ctx: &Ctx<'_>,
    topic: &TopicName,
    index: i32,
    outcome: Outcome,
) -> PartitionProduceResponse {
    let response = PartitionProduceResponse::default()
        .with_index(index)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1);
    let result = match outcome {
        Outcome::Failed(code) => return response.with_error_code(code),
        // The callback runs exactly once, at the latest after the timeout.
        Outcome::Waiting(outcome) => outcome.recv().unwrap_or(Err(crate::Error::Closed("log"))),
    };
    match result {
        Ok(info) => {
            let log_start = tp_of(topic, index)
                .and_then(|tp| ctx.shared.log.core().offsets(&tp).ok())
                .map_or(-1, |o| offset_i64(o.log_start_offset));
            response
                .with_base_offset(offset_i64(info.base_offset))
                .with_log_append_time_ms(info.log_append_time.unwrap_or(-1))
                .with_log_start_offset(log_start)
        }
        Err(e) => response.with_error_code(codes::of(&e)),
    }
}

fn offset_i64(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

/// Waits up to `max_wait_ms` for `min_bytes`, woken by every high-watermark
/// advance rather than by polling.
pub(crate) fn fetch(ctx: &Ctx<'_>, request: &FetchRequest) -> FetchResponse {
    let signal = ctx.shared.log.core().data_signal();
    let wait = Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0));
    let deadline = Instant::now() + wait;
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
    loop {
        let seen = signal.current();
        let (response, bytes, failed) = fetch_once(ctx, request);
        if bytes >= min_bytes || failed || Instant::now() >= deadline || ctx.shared.stopping() {
            return response;
        }
        signal.wait_past(seen, deadline);
    }
}

fn fetch_once(ctx: &Ctx<'_>, request: &FetchRequest) -> (FetchResponse, usize, bool) {
    let core = ctx.shared.log.core();
    let mut left = usize::try_from(request.max_bytes).unwrap_or(0);
    let mut total = 0;
    let mut failed = false;
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let data = PartitionData::default()
                .with_partition_index(p.partition)
                .with_preferred_read_replica(BrokerId(-1));
            let Some(tp) = tp_of(&topic.topic, p.partition) else {
                failed = true;
                partitions.push(data.with_error_code(codes::UNKNOWN_TOPIC_OR_PARTITION));
                continue;
            };
            if let Err(code) = lead(ctx, &tp) {
                failed = true;
                partitions.push(data.with_error_code(code));
                continue;
            }
            // The first partition with data gets at least one whole batch,
            // as in Kafka, even past max_bytes.
            let budget = usize::try_from(p.partition_max_bytes)
                .unwrap_or(0)
                .min(left);
            let offset = u64::try_from(p.fetch_offset).unwrap_or(u64::MAX);
            let result = if budget == 0 && total > 0 {
                core.offsets(&tp).map(|offsets| (Bytes::new(), offsets))
            } else {
                core.fetch(&tp, offset, budget.max(1))
                    .map(|r| (r.data, r.offsets))
            };
            match result {
                Ok((bytes, offsets)) => {
                    total += bytes.len();
                    left = left.saturating_sub(bytes.len());
                    let hw = offset_i64(offsets.high_watermark);
                    partitions.push(
                        data.with_high_watermark(hw)
                            .with_last_stable_offset(hw)
                            .with_log_start_offset(offset_i64(offsets.log_start_offset))
                            .with_records(Some(bytes)),
                    );
                }
                Err(e) => {
                    failed = true;
                    let offsets = core.offsets(&tp).ok();
                    partitions.push(
                        data.with_error_code(codes::of(&e))
                            .with_high_watermark(
                                offsets.map_or(-1, |o| offset_i64(o.high_watermark)),
                            )
                            .with_log_start_offset(
                                offsets.map_or(-1, |o| offset_i64(o.log_start_offset)),
                            ),
                    );
                }
            }
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    (
        FetchResponse::default().with_responses(topics),
        total,
        failed,
    )
}

/// Kafka's special timestamps in ListOffsets.
const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

pub(crate) fn list_offsets(
    ctx: &Ctx<'_>,
    request: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|p| list_partition(ctx, &topic.name, p.partition_index, p.timestamp, version))
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

fn list_partition(
    ctx: &Ctx<'_>,
    topic: &TopicName,
    index: i32,
    timestamp: i64,
    version: i16,
) -> ListOffsetsPartitionResponse {
    let response = ListOffsetsPartitionResponse::default()
        .with_partition_index(index)
        .with_timestamp(-1)
        .with_offset(-1);
    let Some(tp) = tp_of(topic, index) else {
        return response.with_error_code(codes::UNKNOWN_TOPIC_OR_PARTITION);
    };
    let epoch = match lead(ctx, &tp) {
        // The field exists from version 4 on; the codec refuses it before.
        Ok(epoch) if version >= 4 => epoch,
        Ok(_) => -1,
        Err(code) => return response.with_error_code(code),
    };
    let core = ctx.shared.log.core();
    let found = match timestamp {
        LATEST => core.offsets(&tp).map(|o| Some((o.high_watermark, -1))),
        EARLIEST => core.offsets(&tp).map(|o| Some((o.log_start_offset, -1))),
        t if t >= 0 => core.offset_for_timestamp(&tp, t).map(|found| {
            found.map(|offset| (offset, record_timestamp(ctx, &tp, offset).unwrap_or(t)))
        }),
        _ => return response.with_error_code(codes::INVALID_REQUEST),
    };
    match found {
        Ok(Some((offset, ts))) => response
            .with_offset(offset_i64(offset))
            .with_timestamp(ts)
            .with_leader_epoch(epoch),
        Ok(None) => response.with_leader_epoch(epoch),
        Err(e) => response.with_error_code(codes::of(&e)),
    }
}

/// The timestamp of the record at `offset`, read from its stored batch.
fn record_timestamp(ctx: &Ctx<'_>, tp: &TopicPartition, offset: u64) -> Option<i64> {
    let fetched = ctx.shared.log.core().fetch(tp, offset, 1).ok()?;
    let target = i64::try_from(offset).ok()?;
    BatchIter::new(fetched.data)
        .filter_map(|b| b.ok())
        .find_map(|batch| {
            batch
                .records()
                .filter_map(|r| r.ok())
                .find(|r| r.offset == target)
                .map(|r| r.timestamp)
        })
}

/// A fresh producer id per call (epoch 0): idempotence without
/// transactions. A transactional id is refused, since tidelog has no
/// transaction coordinator.
pub(crate) fn init_producer_id(
    ctx: &Ctx<'_>,
    request: &InitProducerIdRequest,
) -> InitProducerIdResponse {
    let response = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if request
        .transactional_id
        .as_ref()
        .is_some_and(|t| !t.0.is_empty())
    {
        return response.with_error_code(codes::INVALID_REQUEST);
    }
    let id = ctx.shared.log.core().allocate_producer_id();
    response
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(0)
}

/// Where a leader epoch's records end, so a consumer can tell whether the
/// log it read from was truncated under it (KIP-320).
pub(crate) fn offset_for_leader_epoch(
    ctx: &Ctx<'_>,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let response = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    let Some(tp) = tp_of(&topic.topic, p.partition) else {
                        return response.with_error_code(codes::UNKNOWN_TOPIC_OR_PARTITION);
                    };
                    if let Err(code) = lead(ctx, &tp) {
                        return response.with_error_code(code);
                    }
                    match ctx.shared.log.core().epoch_end_offset(&tp, p.leader_epoch) {
                        Ok(Some((epoch, end))) => response
                            .with_leader_epoch(epoch)
                            .with_end_offset(offset_i64(end)),
                        Ok(None) => response,
                        Err(e) => response.with_error_code(codes::of(&e)),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
