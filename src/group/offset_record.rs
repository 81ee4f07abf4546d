//! The records of `__consumer_offsets`: one per committed (group, topic,
//! partition), keyed so that the latest record for a key is the truth.
//!
//! Key (big-endian): version u16 (= 1), group length u16, group bytes,
//! topic length u16, topic bytes, partition u32.
//!
//! Value: version u16 (= 1), offset u64, commit timestamp i64 (ms since the
//! epoch), metadata length u32, metadata bytes. A record without a value (a
//! tombstone) deletes the key: written when a group is deleted.
//!
//! Unknown versions decode to `None` and are skipped on replay, so a newer
//! format never makes an older reader fail.

use crate::topic::TopicPartition;

const KEY_VERSION: u16 = 1;
const VALUE_VERSION: u16 = 1;

/// A committed offset: the next offset the group will read, and a note.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OffsetAndMetadata {
    pub(crate) offset: u64,
    pub(crate) metadata: String,
}

impl OffsetAndMetadata {
    /// Commits `offset`: the offset of the *next* record to read (the last
    /// processed record's offset + 1).
    ///
    /// # Examples
    /// ```
    /// let committed = tidelog::OffsetAndMetadata::new(42).with_metadata("batch 7");
    /// assert_eq!(committed.offset(), 42);
    /// assert_eq!(committed.metadata(), "batch 7");
    /// ```
    pub fn new(offset: u64) -> Self {
        OffsetAndMetadata {
            offset,
            metadata: String::new(),
        }
    }

    /// Attaches a free-form note stored with the offset.
    #[must_use]
    pub fn with_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = metadata.into();
        self
    }

    /// The committed offset (next to read).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The note stored with the offset (empty when none).
    pub fn metadata(&self) -> &str {
        &self.metadata
    }
}

/// The identity of one committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OffsetKey {
    pub(crate) group: String,
    pub(crate) tp: TopicPartition,
}

pub(crate) fn encode_key(group: &str, tp: &TopicPartition) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + group.len() + tp.topic().len());
    out.extend_from_slice(&KEY_VERSION.to_be_bytes());
    put_short_str(&mut out, group);
    put_short_str(&mut out, tp.topic());
    out.extend_from_slice(&tp.partition().to_be_bytes());
    out
}

pub(crate) fn encode_value(committed: &OffsetAndMetadata, timestamp: i64) -> Vec<u8> {
    let metadata = committed.metadata.as_bytes();
    let len = u32::try_from(metadata.len()).unwrap_or(u32::MAX);
    let metadata = metadata.get(..len as usize).unwrap_or_default();
    let mut out = Vec::with_capacity(22 + metadata.len());
    out.extend_from_slice(&VALUE_VERSION.to_be_bytes());
    out.extend_from_slice(&committed.offset.to_be_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(metadata);
    out
}

/// Group ids and topic names longer than `u16::MAX` bytes cannot be stored;
/// callers check with `fits_in_key` first, so truncation never happens here
/// in practice.
fn put_short_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes().get(..usize::from(len)).unwrap_or_default());
}

/// Whether a group id can be stored in a key.
pub(crate) fn fits_in_key(group: &str) -> bool {
    u16::try_from(group.len()).is_ok()
}

pub(crate) fn decode_key(bytes: &[u8]) -> Option<OffsetKey> {
    let mut r = Reader(bytes);
    if r.u16()? != KEY_VERSION {
        return None;
    }
    let group = r.short_str()?;
    let topic = r.short_str()?;
    let partition = r.u32()?;
    r.0.is_empty().then(|| OffsetKey {
        group,
        tp: TopicPartition::new(topic, partition),
    })
}

pub(crate) fn decode_value(bytes: &[u8]) -> Option<OffsetAndMetadata> {
    let mut r = Reader(bytes);
    if r.u16()? != VALUE_VERSION {
        return None;
    }
    let offset = r.u64()?;
    let _timestamp = r.u64()?;
    let len = usize::try_from(r.u32()?).ok()?;
    let metadata = String::from_utf8(r.take(len)?.to_vec()).ok()?;
    Some(OffsetAndMetadata { offset, metadata })
}

/// A bounds-checked big-endian reader: every read that would run past the
/// end yields `None`.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_be_bytes)
    }
    fn short_str(&mut self) -> Option<String> {
        let len = usize::from(self.u16()?);
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

/// Java's `String.hashCode` over UTF-16 code units, as Kafka uses to place
/// a group: `abs(hash) % partitions`. Matching it keeps a group on the same
/// offsets partition number as Kafka would put it.
pub(crate) fn partition_for(group: &str, partitions: u32) -> u32 {
    let hash = group.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    // Kafka's Utils.abs maps i32::MIN to 0 rather than overflowing.
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive.unsigned_abs() % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn groups_land_where_kafka_puts_them() {
        // "billing".hashCode() == -109829509 in Java.
        assert_eq!(partition_for("billing", 50), 109_829_509 % 50);
        assert_eq!(partition_for("", 50), 0);
        assert_eq!(partition_for("x", 1), 0);
    }

    #[test]
    fn unknown_versions_are_skipped() {
        let mut key = encode_key("g", &TopicPartition::new("t", 1));
        key[1] = 9;
        assert_eq!(decode_key(&key), None);
        let mut value = encode_value(&OffsetAndMetadata::new(5), 0);
        value[1] = 9;
        assert_eq!(decode_value(&value), None);
    }

    proptest! {
        #[test]
        fn keys_and_values_round_trip(
            group in ".{0,40}", topic in "[a-z]{1,20}", partition in any::<u32>(),
            offset in any::<u64>(), metadata in ".{0,40}", timestamp in any::<i64>(),
        ) {
            let tp = TopicPartition::new(topic, partition);
            let key = decode_key(&encode_key(&group, &tp)).unwrap();
            prop_assert_eq!(key, OffsetKey { group, tp });
            let committed = OffsetAndMetadata::new(offset).with_metadata(metadata);
            prop_assert_eq!(decode_value(&encode_value(&committed, timestamp)), Some(committed));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_key(&bytes);
            let _ = decode_value(&bytes);
        }
    }
}
