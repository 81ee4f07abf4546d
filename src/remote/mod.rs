//! The Kafka backend: the same handles over a real Apache Kafka cluster,
//! through librdkafka (the `rdkafka` crate) used synchronously.
//!
//! This module holds the connection a remote `Log` shares (configuration,
//! admin and metadata clients) and librdkafka's conversions; each handle's
//! Kafka half lives beside its embedded one (`producer/remote.rs`,
//! `consumer/remote.rs`, `group/remote.rs`).
//!
//! No async runtime: admin requests are futures whose results librdkafka
//! delivers from its own thread, so [`wait`] parks the caller until the
//! future is ready; producers run delivery callbacks on one poll thread;
//! consumers are polled in the caller's thread, where rebalances run too.

mod config;
pub(crate) mod errors;
mod log;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};

use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

pub use self::config::KafkaConfig;
pub(crate) use self::errors::{kafka_error, Subject};
pub(crate) use self::log::KafkaLog;
use crate::error::Result;
use crate::topic::TopicPartition;

/// Wakes the thread that waits in [`wait`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the calling thread. Every future waited
/// on here completes from librdkafka's background thread (or fails at
/// once), so parking until woken never spins.
pub(crate) fn wait<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        // A wake between the poll and the park leaves the token set, so
        // the park returns at once.
        thread::park();
    }
}

/// Runs `call` until it succeeds, fails for good, or `timeout` passes.
/// Retried: the errors of a partition whose leader is still being
/// settled (a topic just created, a leader moving), which Kafka's own
/// admin client retries too.
pub(crate) fn retrying<T>(
    timeout: Duration,
    mut call: impl FnMut() -> KafkaResult<T>,
) -> KafkaResult<T> {
    let deadline = Instant::now() + timeout;
    let mut backoff = Duration::from_millis(5);
    loop {
        let result = call();
        let settling = result
            .as_ref()
            .err()
            .and_then(KafkaError::rdkafka_error_code)
            .is_some_and(|code| {
                matches!(
                    code,
                    RDKafkaErrorCode::NotLeaderForPartition
                        | RDKafkaErrorCode::LeaderNotAvailable
                        | RDKafkaErrorCode::UnknownLeaderEpoch
                        | RDKafkaErrorCode::NotCoordinator
                        | RDKafkaErrorCode::CoordinatorNotAvailable
                        | RDKafkaErrorCode::CoordinatorLoadInProgress
                )
            });
        if !settling || Instant::now() >= deadline {
            return result;
        }
        // Kafka's retry.backoff.ms: the cluster sends no signal to wait on.
        thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
}

/// librdkafka's offsets are signed; tidelog's never negative ones.
pub(crate) fn non_negative(offset: i64) -> u64 {
    u64::try_from(offset).unwrap_or(0)
}

pub(crate) fn partition_i32(partition: u32) -> i32 {
    i32::try_from(partition).unwrap_or(i32::MAX)
}

pub(crate) fn offset_at(offset: u64) -> Offset {
    Offset::Offset(i64::try_from(offset).unwrap_or(i64::MAX))
}

pub(crate) fn tp_of(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, u32::try_from(partition).unwrap_or_default())
}

/// The offsets an offsets-for-times answer found, `None` where the
/// partition has no record at or after the timestamp.
pub(crate) fn found_offsets(
    found: &TopicPartitionList,
) -> impl Iterator<Item = (TopicPartition, Option<u64>)> + '_ {
    found.elements().into_iter().map(|e| {
        let offset = match e.offset() {
            Offset::Offset(o) if o >= 0 => Some(non_negative(o)),
            _ => None,
        };
        (tp_of(e.topic(), e.partition()), offset)
    })
}

/// Adds `tp` at `offset` to a librdkafka partition list.
pub(crate) fn add(tpl: &mut TopicPartitionList, tp: &TopicPartition, offset: Offset) -> Result<()> {
    tpl.add_partition_offset(tp.topic(), partition_i32(tp.partition()), offset)
        .map_err(|e| kafka_error("partition list", Subject::topic(tp.topic()), &e))
}

/// `partitions` as a librdkafka list, each without an offset.
pub(crate) fn tpl_of(partitions: &[TopicPartition]) -> Result<TopicPartitionList> {
    let mut tpl = TopicPartitionList::new();
    for tp in partitions {
        add(&mut tpl, tp, Offset::Invalid)?;
    }
    Ok(tpl)
}

/// The partitions of a librdkafka list.
pub(crate) fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| tp_of(e.topic(), e.partition()))
        .collect()
}
