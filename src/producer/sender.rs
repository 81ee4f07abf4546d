//! The one sender thread: takes sealed and lingered batches, appends them
//! to the leaders through `ClusterCore::produce_in_place`, retries retriable
//! failures with backoff until `delivery.timeout.ms`, and runs callbacks.
//!
//! Batches of one partition are sent in sealing order with at most
//! `MAX_IN_FLIGHT` outstanding (Kafka's
//! `max.in.flight.requests.per.connection` default); a retried batch goes
//! back in front of its successors, and with idempotence the leader's
//! sequence check keeps a successor that overtook it from being appended.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::batch::ProducerBatch;
use super::identity::Identity;
use super::queue::Work;
use super::shared::Shared;
use crate::cluster::AppendInfo;
use crate::error::{Error, Result};

const MAX_IN_FLIGHT: usize = 5;

#[derive(Default)]
struct PartitionSend {
    /// Sorted by `order`.
    queue: VecDeque<ProducerBatch>,
    /// The order of the next batch never sent yet: batches go out only
    /// in sealing order even if they reached the sender out of it.
    next_fresh: u64,
    in_flight: usize,
    /// A batch of this partition is waiting to be retried: until it is
    /// through, one batch at a time, so successors cannot overtake it.
    retrying: bool,
    /// Producer id and sequences (idempotence only).
    identity: Identity,
}

pub(crate) struct Sender {
    shared: Arc<Shared>,
    /// Indexed by `PartitionAccumulator::slot`.
    partitions: Vec<PartitionSend>,
    /// Slots whose queue holds a batch: the only partitions a pass looks
    /// at, so an idle partition costs nothing however many there are.
    queued: BTreeSet<usize>,
    /// Batches handed to the core and not yet completed, over all slots.
    in_flight: usize,
    /// The bytes of batches in flight, by batch id. The leader appends
    /// them in place and leaves them here, and a retry resends them (the
    /// offset and epoch it stamped are rewritten by the next append), so
    /// no batch is copied on its way out.
    sent_data: HashMap<u64, BytesMut>,
}

impl Sender {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Sender {
            shared,
            partitions: Vec::new(),
            queued: BTreeSet::new(),
            in_flight: 0,
            sent_data: HashMap::new(),
        }
    }

    /// The thread's body; returns once the producer is closed and every
    /// batch has completed.
    pub(crate) fn run(mut self) {
        let mut work = Work::default();
        let mut worked = false;
        loop {
            let idle = self.is_idle();
            let deadline = self.next_deadline();
            self.shared
                .queue
                .take_work(&mut work, deadline, idle, worked);
            worked = !work.is_empty();
            if work.closing && work.is_empty() && self.is_idle() {
                return;
            }
            for (batch, result) in work.completions.drain(..) {
                self.on_complete(batch, result);
            }
            let now = Instant::now();
            for due in work.due.drain(..) {
                let sealed = due.partition.linger_due(&self.shared, now, work.closing);
                if let Some(batch) = sealed {
                    self.enqueue(batch);
                }
            }
            for batch in work.ready.drain(..) {
                self.enqueue(batch);
            }
            self.dispatch_all();
        }
    }

    fn is_idle(&self) -> bool {
        self.queued.is_empty() && self.in_flight == 0
    }

    /// The earliest future retry or delivery timeout among waiting batches.
    /// Moments already past are left out: a batch held back then waits for
    /// a completion (in-flight limit) or an un-pause, both of which wake
    /// the sender, and counting them would spin it.
    fn next_deadline(&self) -> Option<Instant> {
        let delivery = self.shared.config.delivery_timeout;
        if self.queued.is_empty() {
            return None;
        }
        let now = Instant::now();
        self.queued
            .iter()
            .filter_map(|&slot| self.partitions.get(slot)?.queue.front())
            .flat_map(|head| [head.retry_at, head.created.checked_add(delivery)])
            .flatten()
            .filter(|at| *at > now)
            .min()
    }

    fn enqueue(&mut self, batch: ProducerBatch) {
        let slot = batch.partition.slot;
        if self.partitions.len() <= slot {
            self.partitions
                .resize_with(slot + 1, PartitionSend::default);
        }
        let Some(partition) = self.partitions.get_mut(slot) else {
            return;
        };
        let at = partition
            .queue
            .iter()
            .rposition(|queued| queued.order < batch.order)
            .map_or(0, |i| i + 1);
        partition.queue.insert(at, batch);
        self.queued.insert(slot);
    }

    fn dispatch_all(&mut self) {
        if self.shared.is_paused() {
            return self.expire_waiting();
        }
        if self.queued.is_empty() {
            return;
        }
        let now = Instant::now();
        // Walked by position: sending may complete (and re-queue) a batch
        // at once, changing the set.
        let mut from = 0;
        while let Some(&slot) = self.queued.range(from..).next() {
            from = slot + 1;
            while let Some(batch) = self.next_sendable(slot, now) {
                self.send(batch, now);
            }
        }
    }

    fn next_sendable(&mut self, slot: usize, now: Instant) -> Option<ProducerBatch> {
        let partition = self.partitions.get_mut(slot)?;
        let window = if partition.retrying { 1 } else { MAX_IN_FLIGHT };
        if partition.in_flight >= window || partition.identity.blocks_sending() {
            return None;
        }
        let head = partition.queue.front()?;
        if head.attempts == 0 && head.order != partition.next_fresh {
            return None;
        }
        if head.retry_at.is_some_and(|at| at > now) {
            return None;
        }
        let batch = partition.queue.pop_front()?;
        if batch.attempts == 0 {
            partition.next_fresh += 1;
        }
        if partition.queue.is_empty() {
            self.queued.remove(&slot);
        }
        partition.in_flight += 1;
        self.in_flight += 1;
        Some(batch)
    }

    fn send(&mut self, mut batch: ProducerBatch, now: Instant) {
        let config = &self.shared.config;
        let elapsed = now.saturating_duration_since(batch.created);
        let Some(remaining) = config.delivery_timeout.checked_sub(elapsed) else {
            // Out of time before it went (again): fails as it stands, even
            // if its identity went stale meanwhile.
            let slot = batch.partition.slot;
            if let Some(partition) = self.partitions.get_mut(slot) {
                partition.in_flight = partition.in_flight.saturating_sub(1);
                self.in_flight = self.in_flight.saturating_sub(1);
            }
            self.give_up(batch, &delivery_timeout(config.delivery_timeout));
            return self.settle(slot);
        };
        if self.shared.producer_id.is_some() {
            if let Some(partition) = self.partitions.get_mut(batch.partition.slot) {
                partition.identity.stamp(&mut batch);
            }
        }
        #[cfg(test)]
        if let Some(error) = self.injected_failure(&batch) {
            return self.on_complete(batch, Err(error));
        }
        let timeout = config.request_timeout.min(remaining);
        let partition = Arc::clone(&batch.partition);
        let shared = Arc::clone(&self.shared);
        let id = batch.id;
        // Taken out for the call: the callback owns the batch and may run
        // on another thread, but its completion reaches `on_complete` only
        // through the queue, on this thread, after the bytes are back in
        // `sent_data`.
        let mut bytes = mem::take(&mut batch.data);
        self.shared.core.produce_in_place(
            &partition.tp,
            &mut bytes,
            config.acks,
            timeout,
            Box::new(move |result| {
                if let Ok(info) = &result {
                    batch.release_sync(info);
                }
                shared.queue.complete(batch, result);
            }),
        );
        self.sent_data.insert(id, bytes);
    }

    #[cfg(test)]
    fn injected_failure(&self, batch: &ProducerBatch) -> Option<Error> {
        use std::sync::atomic::Ordering;
        let failing = &self.shared.failing_attempts;
        failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .ok()
            .map(|_| Error::NotLeader {
                topic: batch.partition.tp.topic().to_string(),
                partition: batch.partition.tp.partition(),
            })
    }

    fn on_complete(&mut self, mut batch: ProducerBatch, result: Result<AppendInfo>) {
        if let Some(data) = self.sent_data.remove(&batch.id) {
            batch.data = data;
        }
        let slot = batch.partition.slot;
        let Some(partition) = self.partitions.get_mut(slot) else {
            return;
        };
        partition.in_flight = partition.in_flight.saturating_sub(1);
        self.in_flight = self.in_flight.saturating_sub(1);
        match result {
            Ok(info) => {
                partition.retrying = false;
                batch.succeed(&info);
                self.shared.batch_done(&batch);
            }
            // Refused because an earlier batch was lost: goes again, in
            // order, under the partition's new identity.
            Err(_) if partition.identity.is_stale(&batch) => self.enqueue(batch),
            Err(error) => match retry_at(&self.shared, &batch, &error, partition.retrying) {
                Ok(at) => {
                    partition.retrying = true;
                    batch.attempts += 1;
                    batch.retry_at = Some(at);
                    self.enqueue(batch);
                }
                Err(final_error) => self.give_up(batch, &final_error),
            },
        }
        self.settle(slot);
    }

    /// Fails a batch for good; a lost batch with sequence numbers makes its
    /// partition take a new identity.
    fn give_up(&mut self, batch: ProducerBatch, error: &Error) {
        if let Some(partition) = self.partitions.get_mut(batch.partition.slot) {
            partition.retrying = false;
            partition.identity.lost(&batch);
        }
        self.fail(batch, error);
    }

    fn settle(&mut self, slot: usize) {
        if let Some(partition) = self.partitions.get_mut(slot) {
            let in_flight = partition.in_flight;
            partition.identity.settle(in_flight, &self.shared.core);
        }
    }

    fn fail(&self, mut batch: ProducerBatch, error: &Error) {
        if matches!(
            error,
            Error::UnknownTopic(_) | Error::InvalidPartition { .. }
        ) {
            if let Some(forgotten) = self.shared.topics.forget(&batch.partition.topic.name) {
                for partition in &forgotten.partitions {
                    partition.seal_now(&self.shared);
                }
            }
        }
        // Counted before the callbacks run, so a callback (or whoever it
        // wakes) already sees its own failure in `failed_sends`.
        self.shared.count_failed(batch.record_count, error);
        batch.fail(error);
        self.shared.batch_done(&batch);
    }

    /// With the sender paused nothing is sent, but deliveries still time out.
    fn expire_waiting(&mut self) {
        let now = Instant::now();
        let timeout = self.shared.config.delivery_timeout;
        let mut expired = Vec::new();
        for partition in &mut self.partitions {
            // Only a batch next in line may go, as when sending: an earlier
            // one may still be on its way to this queue.
            while partition.queue.front().is_some_and(|head| {
                let in_line = head.attempts > 0 || head.order == partition.next_fresh;
                in_line && now.saturating_duration_since(head.created) >= timeout
            }) {
                if let Some(batch) = partition.queue.pop_front() {
                    if batch.attempts == 0 {
                        partition.next_fresh += 1;
                    }
                    expired.push(batch);
                }
            }
        }
        let partitions = &self.partitions;
        self.queued
            .retain(|&slot| partitions.get(slot).is_some_and(|p| !p.queue.is_empty()));
        for batch in expired {
            let slot = batch.partition.slot;
            self.give_up(batch, &delivery_timeout(timeout));
            self.settle(slot);
        }
    }
}

/// When to retry a failed batch, or the error to fail it with.
fn retry_at(
    shared: &Shared,
    batch: &ProducerBatch,
    error: &Error,
    retrying: bool,
) -> Result<Instant> {
    let config = &shared.config;
    // A successor of a batch being retried is refused as out of order by
    // an idempotent leader; it goes back in line behind its predecessor.
    let retriable =
        error.is_retriable() || (retrying && matches!(error, Error::OutOfOrderSequence { .. }));
    if !retriable || batch.attempts >= config.retries {
        return Err(error.clone());
    }
    let backoff = backoff(
        config.retry_backoff,
        config.retry_backoff_max,
        batch.attempts,
    );
    let at = Instant::now().checked_add(backoff);
    let expires = batch.created.checked_add(config.delivery_timeout);
    match (at, expires) {
        (Some(at), Some(expires)) if at < expires => Ok(at),
        // No deadline representable: retry until the backoff says otherwise.
        (Some(at), None) => Ok(at),
        _ => Err(delivery_timeout(config.delivery_timeout)),
    }
}

/// `retry.backoff.ms` doubling per attempt up to `retry.backoff.max.ms`.
fn backoff(initial: Duration, max: Duration, attempts: u32) -> Duration {
    let factor = 1u32.checked_shl(attempts.min(20)).unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(max.max(initial))
}

fn delivery_timeout(timeout: Duration) -> Error {
    Error::Timeout {
        op: "delivery.timeout.ms",
        timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let ms = Duration::from_millis;
        assert_eq!(backoff(ms(100), ms(1000), 0), ms(100));
        assert_eq!(backoff(ms(100), ms(1000), 1), ms(200));
        assert_eq!(backoff(ms(100), ms(1000), 3), ms(800));
        assert_eq!(backoff(ms(100), ms(1000), 4), ms(1000));
        assert_eq!(backoff(ms(100), ms(1000), 40), ms(1000));
    }
}
