//! Idempotent producers: per (producer id, partition), the sequence numbers
//! and offsets of the last few batches, so a retried batch the log already
//! holds is answered with its original offsets instead of being written twice.
//!
//! Every replica builds this table from the batch headers it appends, as
//! leader or as follower, and rebuilds it from its log on open and after a
//! truncation. The state therefore travels with the data itself: whichever
//! replica becomes leader already knows every producer whose batches it
//! holds, with no extra replication protocol.

use std::collections::{HashMap, VecDeque};

use crate::record::BatchHeader;

/// Batches remembered per producer, as Kafka's
/// `max.in.flight.requests.per.connection` limit for idempotence.
const REMEMBERED_BATCHES: usize = 5;

/// Where one batch of a producer landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchMeta {
    pub(crate) first_seq: i32,
    pub(crate) last_seq: i32,
    pub(crate) first_offset: u64,
    pub(crate) last_offset: u64,
}

/// A producer's identity and the sequence range of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sequenced {
    pub(crate) producer_id: i64,
    pub(crate) producer_epoch: i16,
    pub(crate) first_seq: i32,
    pub(crate) last_seq: i32,
}

impl Sequenced {
    /// The producer stamp of a batch header; `None` for non-idempotent batches.
    pub(crate) fn of(header: &BatchHeader) -> Option<Sequenced> {
        if header.producer_id < 0 || header.base_sequence < 0 {
            return None;
        }
        let count = header.record_count.max(1);
        Some(Sequenced {
            producer_id: header.producer_id,
            producer_epoch: header.producer_epoch,
            first_seq: header.base_sequence,
            last_seq: add_seq(header.base_sequence, count - 1),
        })
    }
}

/// What the leader should do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqCheck {
    /// New and in order: append it.
    Append,
    /// Already in the log: answer with these offsets, write nothing.
    Duplicate(BatchMeta),
}

/// Why a batch was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SequenceGap {
    pub(crate) expected: i32,
    pub(crate) found: i32,
}

#[derive(Debug, Default)]
struct Entry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// Producer state of one partition replica.
#[derive(Debug, Default)]
pub(crate) struct ProducerStateTable {
    producers: HashMap<i64, Entry>,
}

impl ProducerStateTable {
    /// Decides whether `batch` is new, a duplicate, or out of order.
    pub(crate) fn check(&self, batch: &Sequenced) -> Result<SeqCheck, SequenceGap> {
        let gap = |expected| SequenceGap {
            expected,
            found: batch.first_seq,
        };
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            // Unknown producer: its first batch must start the sequence.
            return if batch.first_seq == 0 {
                Ok(SeqCheck::Append)
            } else {
                Err(gap(0))
            };
        };
        if batch.producer_epoch != entry.epoch {
            // A bumped epoch restarts the sequence; an older one is a zombie.
            return if batch.producer_epoch > entry.epoch && batch.first_seq == 0 {
                Ok(SeqCheck::Append)
            } else {
                Err(gap(0))
            };
        }
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == batch.first_seq && b.last_seq == batch.last_seq)
        {
            return Ok(SeqCheck::Duplicate(*dup));
        }
        let expected = entry.batches.back().map_or(0, |b| add_seq(b.last_seq, 1));
        if batch.first_seq == expected {
            Ok(SeqCheck::Append)
        } else {
            Err(gap(expected))
        }
    }

    /// Records an appended batch at `first_offset..=last_offset`.
    pub(crate) fn record(&mut self, batch: &Sequenced, first_offset: u64, last_offset: u64) {
        let entry = self.producers.entry(batch.producer_id).or_default();
        if batch.producer_epoch != entry.epoch {
            entry.epoch = batch.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == REMEMBERED_BATCHES {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: batch.first_seq,
            last_seq: batch.last_seq,
            first_offset,
            last_offset,
        });
    }

    /// Records a batch found in the log (follower append, rebuild on open).
    pub(crate) fn observe(&mut self, header: &BatchHeader) {
        if let Some(seq) = Sequenced::of(header) {
            let first = u64::try_from(header.base_offset).unwrap_or(0);
            let last = first + u64::try_from(header.last_offset_delta).unwrap_or(0);
            self.record(&seq, first, last);
        }
    }

    /// How many producers are known.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.producers.len()
    }
}

/// Sequence arithmetic wraps from `i32::MAX` to 0, as Kafka's does.
fn add_seq(seq: i32, n: i32) -> i32 {
    let wide = i64::from(seq) + i64::from(n);
    i32::try_from(wide % (i64::from(i32::MAX) + 1)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(pid: i64, epoch: i16, first: i32, last: i32) -> Sequenced {
        Sequenced {
            producer_id: pid,
            producer_epoch: epoch,
            first_seq: first,
            last_seq: last,
        }
    }

    #[test]
    fn sequences_are_checked_per_producer() {
        let mut t = ProducerStateTable::default();
        t.record(&seq(7, 0, 0, 9), 100, 109);
        t.record(&seq(7, 0, 10, 14), 110, 114);
        let dup = |first, last, fo, lo| {
            Ok(SeqCheck::Duplicate(BatchMeta {
                first_seq: first,
                last_seq: last,
                first_offset: fo,
                last_offset: lo,
            }))
        };
        // (batch, expected verdict)
        let table = [
            (seq(7, 0, 15, 20), Ok(SeqCheck::Append)),
            (seq(7, 0, 10, 14), dup(10, 14, 110, 114)),
            (seq(7, 0, 0, 9), dup(0, 9, 100, 109)),
            (
                seq(7, 0, 16, 20),
                Err(SequenceGap {
                    expected: 15,
                    found: 16,
                }),
            ),
            (
                seq(7, 0, 5, 9),
                Err(SequenceGap {
                    expected: 15,
                    found: 5,
                }),
            ),
            (seq(8, 0, 0, 3), Ok(SeqCheck::Append)),
            (
                seq(8, 0, 4, 5),
                Err(SequenceGap {
                    expected: 0,
                    found: 4,
                }),
            ),
            (seq(7, 1, 0, 0), Ok(SeqCheck::Append)),
            (
                seq(7, 1, 3, 3),
                Err(SequenceGap {
                    expected: 0,
                    found: 3,
                }),
            ),
        ];
        for (batch, want) in table {
            assert_eq!(t.check(&batch), want, "{batch:?}");
        }
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut t = ProducerStateTable::default();
        for i in 0..7 {
            t.record(&seq(1, 0, i, i), i as u64, i as u64);
        }
        assert!(matches!(
            t.check(&seq(1, 0, 2, 2)),
            Ok(SeqCheck::Duplicate(_))
        ));
        assert!(t.check(&seq(1, 0, 1, 1)).is_err());
        assert_eq!(t.check(&seq(1, 0, 7, 7)), Ok(SeqCheck::Append));
    }

    #[test]
    fn sequence_numbers_wrap_at_i32_max() {
        let mut t = ProducerStateTable::default();
        t.record(&seq(1, 0, 0, 0), 0, 0);
        t.record(&seq(1, 0, 1, i32::MAX), 1, 5);
        assert_eq!(t.check(&seq(1, 0, 0, 3)), Ok(SeqCheck::Append));
        assert_eq!(add_seq(i32::MAX - 1, 3), 1);
    }

    #[test]
    fn a_new_epoch_starts_over() {
        let mut t = ProducerStateTable::default();
        t.record(&seq(1, 0, 0, 4), 0, 4);
        t.record(&seq(1, 1, 0, 1), 5, 6);
        assert_eq!(t.check(&seq(1, 1, 2, 2)), Ok(SeqCheck::Append));
        assert!(
            t.check(&seq(1, 0, 5, 5)).is_err(),
            "the old epoch is fenced"
        );
        assert_eq!(t.len(), 1);
    }
}
