//! The idempotent identity (producer id, sequence numbers) under which one
//! partition's batches reach its leader.
//!
//! Batches are stamped when sealed, with the sequence the accumulator
//! expects; the sender checks that stamp when a batch is first sent and
//! rewrites it only if the identity changed. It changes when a batch that
//! used up sequence numbers fails for good: the leader would refuse every
//! later batch as out of order, so the partition takes a new producer id
//! and starts again at sequence 0 (what Kafka's KIP-360 does with an epoch
//! bump), once the batches still in flight under the old one are back.

use super::batch::ProducerBatch;
use crate::cluster::ClusterCore;
use crate::record::{stamp_producer, ProducerStamp};

#[derive(Default)]
pub(crate) struct Identity {
    /// `None` until the first batch is sent (it brings the accumulator's).
    producer_id: Option<i64>,
    next_sequence: i32,
    /// A batch was lost; new sends wait until the in-flight ones are back.
    resetting: bool,
}

impl Identity {
    /// Makes `batch` carry this identity and its next sequence numbers,
    /// unless it already holds sequence numbers under it (a retry).
    pub(crate) fn stamp(&mut self, batch: &mut ProducerBatch) {
        let producer_id = *self.producer_id.get_or_insert_with(|| {
            self.next_sequence = batch.stamp.base_sequence;
            batch.stamp.producer_id
        });
        if batch.sequenced && batch.stamp.producer_id == producer_id {
            return;
        }
        let stamp = ProducerStamp {
            producer_id,
            producer_epoch: 0,
            base_sequence: self.next_sequence,
        };
        if stamp != batch.stamp {
            stamp_producer(&mut batch.data, stamp);
            batch.stamp = stamp;
        }
        self.next_sequence = next_sequence(self.next_sequence, batch.record_count);
        batch.sequenced = true;
    }

    /// Whether a failed `batch` was sent under an identity that is being
    /// or has been replaced: its failure says nothing about the batch
    /// itself; it goes again under the new identity.
    pub(crate) fn is_stale(&self, batch: &ProducerBatch) -> bool {
        batch.sequenced && (self.resetting || Some(batch.stamp.producer_id) != self.producer_id)
    }

    /// A batch failed for good; if it used up sequence numbers, the
    /// partition needs a new identity.
    pub(crate) fn lost(&mut self, batch: &ProducerBatch) {
        if batch.sequenced && Some(batch.stamp.producer_id) == self.producer_id {
            self.resetting = true;
        }
    }

    /// Nothing may be sent while a reset waits for in-flight batches.
    pub(crate) fn blocks_sending(&self) -> bool {
        self.resetting
    }

    /// Completes a pending reset once nothing is in flight.
    pub(crate) fn settle(&mut self, in_flight: usize, core: &ClusterCore) {
        if self.resetting && in_flight == 0 {
            self.producer_id = Some(core.allocate_producer_id());
            self.next_sequence = 0;
            self.resetting = false;
        }
    }
}

/// Kafka's sequence numbers wrap from `i32::MAX` to 0.
pub(crate) fn next_sequence(sequence: i32, records: u32) -> i32 {
    let next = (i64::from(sequence) + i64::from(records)) % (i64::from(i32::MAX) + 1);
    i32::try_from(next).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_wrap_like_kafkas() {
        assert_eq!(next_sequence(0, 10), 10);
        assert_eq!(next_sequence(i32::MAX - 1, 1), i32::MAX);
        assert_eq!(next_sequence(i32::MAX, 1), 0);
        assert_eq!(next_sequence(i32::MAX - 2, 5), 2);
    }
}
