//! Rebalances of a Kafka-backed consumer, in the polling thread.
//!
//! librdkafka hands rebalances to the thread that polls, as the Java
//! client does. The context only queues them: `poll` (which has the whole
//! [`Consumer`] at hand) runs the [`RebalanceListener`] and then tells
//! librdkafka to take or give up the partitions, so the listener can commit
//! and seek on the consumer it is given.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext, RebalanceProtocol};
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::types::RDKafkaRespErr;

use super::{Consumer, RebalanceListener};
use crate::error::Result;
use crate::record::ConsumerRecord;
use crate::remote::partitions_of;
use crate::topic::TopicPartition;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RebalanceKind {
    Assign,
    Revoke,
    /// A rebalance error: librdkafka asks to drop the assignment.
    Failed,
}

pub(super) struct RebalanceEvent {
    pub(super) kind: RebalanceKind,
    pub(super) partitions: Vec<TopicPartition>,
}

/// Queues rebalances for `poll` instead of applying them in the callback.
#[derive(Default)]
pub(crate) struct Context {
    pub(super) events: Mutex<VecDeque<RebalanceEvent>>,
    /// Set when the consumer is dropped: nobody polls for the queue then.
    pub(super) closing: AtomicBool,
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let kind = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => RebalanceKind::Assign,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => RebalanceKind::Revoke,
            _ => RebalanceKind::Failed,
        };
        if self.closing.load(Ordering::SeqCst) {
            apply_directly(consumer, kind, tpl);
            return;
        }
        let partitions = partitions_of(tpl);
        self.events
            .lock()
            .push_back(RebalanceEvent { kind, partitions });
    }
}

/// What librdkafka's own callback does, for the rebalances of a closing consumer.
fn apply_directly(consumer: &BaseConsumer<Context>, kind: RebalanceKind, tpl: &TopicPartitionList) {
    let cooperative = matches!(
        consumer.rebalance_protocol(),
        RebalanceProtocol::Cooperative
    );
    // Nobody is left to tell: the consumer is going away.
    let _ = match (kind, cooperative) {
        (RebalanceKind::Assign, true) => consumer.incremental_assign(tpl),
        (RebalanceKind::Assign, false) => consumer.assign(tpl),
        (_, true) => consumer.incremental_unassign(tpl),
        (_, false) => consumer.unassign(),
    };
}

/// Closes a Kafka-backed consumer as Kafka's `close()` does: it leaves its
/// group, the listener hears of the revocation, and pending asynchronous
/// commits report.
pub(crate) fn close(consumer: &mut Consumer) -> Result<()> {
    if let Some(kafka) = consumer.kafka_mut() {
        kafka.run_commit_callbacks();
    }
    leave(consumer)
}

/// `assign` of a Kafka-backed consumer: a subscription ends first, the
/// listener hearing of the revocation (its error comes back once the new
/// assignment is in place, as the embedded consumer reports it).
pub(crate) fn assign(consumer: &mut Consumer, partitions: &[TopicPartition]) -> Result<()> {
    let Some(kafka) = consumer.kafka_mut() else {
        return Ok(());
    };
    kafka.check_exist(partitions)?;
    let left = leave(consumer);
    match consumer.kafka_mut() {
        Some(kafka) => kafka.assign(partitions).and(left),
        None => left,
    }
}

/// Leaves the group, running the revocation through the listener.
fn leave(consumer: &mut Consumer) -> Result<()> {
    let Some(kafka) = consumer.kafka_mut() else {
        return Ok(());
    };
    if !kafka.subscribed() {
        return Ok(());
    }
    let deadline = Instant::now() + kafka.timeout();
    kafka.base.unsubscribe();
    kafka.subscription.clear();
    kafka.pattern = None;
    let mut first_error = None;
    while let Some(kafka) = consumer.kafka_mut() {
        if kafka.assignment.is_empty() || Instant::now() >= deadline {
            break;
        }
        // Records fetched before the revocation are dropped, as Kafka's are.
        if let Err(error) = kafka.fetch(Some(deadline)) {
            first_error.get_or_insert(error);
        }
        if let Err(error) = handle_rebalances(consumer) {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Polls a Kafka-backed consumer: records, and rebalances through the
/// listener, all in the caller's thread.
pub(crate) fn poll(consumer: &mut Consumer, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let Some(kafka) = consumer.kafka_mut() else {
            return Ok(Vec::new());
        };
        kafka.run_commit_callbacks();
        let records = kafka.fetch(deadline)?;
        let in_listener = kafka.in_listener;
        if !in_listener {
            handle_rebalances(consumer)?;
        }
        if !records.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(records);
        }
    }
}

/// Runs every queued rebalance: the listener first for a revocation (so it
/// can still commit), librdkafka first for an assignment (so positions and
/// seeks work in the listener).
fn handle_rebalances(consumer: &mut Consumer) -> Result<()> {
    let mut first_error = None;
    loop {
        let Some(kafka) = consumer.kafka_mut() else {
            return Ok(());
        };
        let Some(event) = kafka.next_rebalance() else {
            break;
        };
        let lost = kafka.base.assignment_lost() || event.kind == RebalanceKind::Failed;
        let partitions = event.partitions;
        let outcome = match event.kind {
            RebalanceKind::Revoke | RebalanceKind::Failed => {
                let heard = call_listener(consumer, |l, c| match lost {
                    true => l.on_partitions_lost(c, &partitions),
                    false => l.on_partitions_revoked(c, &partitions),
                });
                let given_up = match consumer.kafka_mut() {
                    Some(kafka) => kafka.finish_revoke(&partitions),
                    None => Ok(()),
                };
                heard.and(given_up)
            }
            RebalanceKind::Assign => {
                let taken = match consumer.kafka_mut() {
                    Some(kafka) => kafka.finish_assign(&partitions),
                    None => Ok(()),
                };
                taken.and_then(|()| {
                    call_listener(consumer, |l, c| l.on_partitions_assigned(c, &partitions))
                })
            }
        };
        if let Err(error) = outcome {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn call_listener(
    consumer: &mut Consumer,
    call: impl FnOnce(&mut dyn RebalanceListener, &mut Consumer) -> Result<()>,
) -> Result<()> {
    let Some(kafka) = consumer.kafka_mut() else {
        return Ok(());
    };
    let Some(mut listener) = kafka.listener.take() else {
        return Ok(());
    };
    kafka.in_listener = true;
    let result = call(listener.as_mut(), consumer);
    if let Some(kafka) = consumer.kafka_mut() {
        kafka.in_listener = false;
        kafka.listener = Some(listener);
    }
    result
}
