//! Which partition a record goes to: explicit, by key hash, sticky, or user-chosen.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::murmur2::partition_for_key;
use crate::error::{Error, Result};

/// Chooses a partition for records the user did not place.
///
/// Set one with [`ProducerConfig::partitioner`](crate::ProducerConfig::partitioner).
/// It is asked only for records without an explicit partition; it must
/// return a partition below `partitions`, or the send fails with
/// [`Error::InvalidPartition`].
///
/// # Examples
/// ```
/// use tidelog::{Partitioner, ProducerConfig};
///
/// /// Sends every record to the last partition.
/// struct Last;
/// impl Partitioner for Last {
///     fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, partitions: u32) -> u32 {
///         partitions - 1
///     }
/// }
/// let config = ProducerConfig::new().partitioner(Last);
/// ```
pub trait Partitioner: Send + Sync {
    /// The partition (below `partitions`) for a record.
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        partitions: u32,
    ) -> u32;
}

/// A shared user partitioner that keeps `ProducerConfig` `Debug + Clone + Eq`.
///
/// Two configs are equal only if they hold the very same partitioner.
#[derive(Clone)]
pub(crate) struct PartitionerRef(pub(crate) Arc<dyn Partitioner>);

impl fmt::Debug for PartitionerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Partitioner(user-supplied)")
    }
}

impl PartialEq for PartitionerRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for PartitionerRef {}

/// The keyless "sticky" choice of one topic: every keyless record goes to
/// the same partition until that partition's batch is sealed, so batches
/// fill up instead of a record trickling into each partition (Kafka's
/// KIP-480).
#[derive(Debug, Default)]
pub(crate) struct StickyPartition(AtomicU32);

impl StickyPartition {
    pub(crate) fn new(start: u32) -> Self {
        StickyPartition(AtomicU32::new(start))
    }

    /// The current sticky partition, kept below `partitions`.
    pub(crate) fn current(&self, partitions: u32) -> u32 {
        let partition = self.0.load(Ordering::Relaxed);
        // Almost always in range already; skip the division on every send.
        if partition < partitions {
            partition
        } else {
            partition % partitions.max(1)
        }
    }

    /// Moves on from `sealed` once its batch is sealed. Only the first
    /// seal moves it: a thread that raced to the old partition does not
    /// skip one.
    pub(crate) fn batch_sealed(&self, sealed: u32, partitions: u32) {
        let next = (sealed + 1) % partitions.max(1);
        let _ = self
            .0
            .compare_exchange(sealed, next, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// What the partitioner needs to know about one record.
pub(crate) struct Placement<'a> {
    pub(crate) topic: &'a str,
    pub(crate) explicit: Option<u32>,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
}

/// Picks the partition: explicit wins, then a user partitioner, then the
/// key's murmur2 hash, then the sticky partition.
#[inline]
pub(crate) fn choose(
    record: &Placement<'_>,
    partitions: u32,
    user: Option<&PartitionerRef>,
    sticky: &StickyPartition,
) -> Result<u32> {
    let partition = match (record.explicit, user, record.key) {
        (Some(p), _, _) => p,
        (None, Some(user), _) => {
            user.0
                .partition(record.topic, record.key, record.value, partitions)
        }
        (None, None, Some(key)) => partition_for_key(key, partitions),
        (None, None, None) => sticky.current(partitions),
    };
    if partition >= partitions {
        return Err(Error::InvalidPartition {
            topic: record.topic.to_string(),
            partition,
            partitions,
        });
    }
    Ok(partition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place<'a>(explicit: Option<u32>, key: Option<&'a [u8]>) -> Placement<'a> {
        Placement {
            topic: "t",
            explicit,
            key,
            value: Some(b"v"),
        }
    }

    struct Fixed(u32);
    impl Partitioner for Fixed {
        fn partition(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, _: u32) -> u32 {
            self.0
        }
    }

    #[test]
    fn explicit_partition_wins_and_is_range_checked() {
        let sticky = StickyPartition::new(0);
        let user = PartitionerRef(Arc::new(Fixed(1)));
        assert_eq!(
            choose(&place(Some(2), Some(b"k")), 3, Some(&user), &sticky).unwrap(),
            2
        );
        let err = choose(&place(Some(3), None), 3, None, &sticky).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidPartition {
                partition: 3,
                partitions: 3,
                ..
            }
        ));
    }

    #[test]
    fn keyed_records_follow_kafkas_hash() {
        let sticky = StickyPartition::new(0);
        let p = choose(&place(None, Some(b"foobar")), 6, None, &sticky).unwrap();
        assert_eq!(p, 1_357_151_166 % 6);
    }

    #[test]
    fn user_partitioner_out_of_range_is_refused() {
        let sticky = StickyPartition::new(0);
        let user = PartitionerRef(Arc::new(Fixed(9)));
        assert!(matches!(
            choose(&place(None, None), 3, Some(&user), &sticky),
            Err(Error::InvalidPartition { partition: 9, .. })
        ));
    }

    #[test]
    fn keyless_records_stick_until_the_batch_is_sealed() {
        let sticky = StickyPartition::new(1);
        let first = choose(&place(None, None), 3, None, &sticky).unwrap();
        assert_eq!(first, 1);
        assert_eq!(choose(&place(None, None), 3, None, &sticky).unwrap(), 1);
        sticky.batch_sealed(1, 3);
        assert_eq!(choose(&place(None, None), 3, None, &sticky).unwrap(), 2);
        // A stale seal of the old partition does not move it again.
        sticky.batch_sealed(1, 3);
        assert_eq!(sticky.current(3), 2);
        sticky.batch_sealed(2, 3);
        assert_eq!(sticky.current(3), 0);
    }

    #[test]
    fn partitioner_refs_compare_by_identity() {
        let a = PartitionerRef(Arc::new(Fixed(0)));
        let b = PartitionerRef(Arc::new(Fixed(0)));
        assert_eq!(a, a.clone());
        assert_ne!(a, b);
    }
}
