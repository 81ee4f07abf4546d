//! The detail kinds some [`Error`](super::Error) variants carry.

use std::fmt;

/// What is wrong with bytes that should have been a record batch or a file
/// tidelog wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptionKind {
    /// The bytes end before the structure they describe does.
    Truncated,
    /// The stored checksum does not match the bytes it covers.
    ChecksumMismatch {
        /// The checksum stored in the header.
        expected: u32,
        /// The checksum computed over the bytes.
        actual: u32,
    },
    /// The magic byte is not a format version tidelog knows.
    BadMagic(u8),
    /// A length field is negative, too small or larger than allowed.
    BadLength(i64),
    /// Offsets inside a log do not increase as they must.
    NonMonotonicOffset {
        /// The offset that was expected at least.
        expected: u64,
        /// The offset found.
        found: u64,
    },
    /// Any other structural problem, named.
    Malformed(&'static str),
    /// The batch names a compression codec that is unknown or not compiled
    /// in (enable the codec's cargo feature).
    UnsupportedCodec(u8),
    /// The compressed records of a batch do not decompress with the codec
    /// the batch names.
    Decompression(&'static str),
    /// The records of a compressed batch expand past the allowed size (a
    /// decompression bomb, or a batch larger than any producer sends).
    DecompressedTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}

impl std::fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated => f.write_str("data ends early (truncated)"),
            Self::ChecksumMismatch { expected, actual } => {
                write!(
                    f,
                    "checksum mismatch (stored {expected:#010x}, computed {actual:#010x})"
                )
            }
            Self::BadMagic(m) => write!(f, "unknown format version (magic {m})"),
            Self::BadLength(l) => write!(f, "invalid length field {l}"),
            Self::NonMonotonicOffset { expected, found } => {
                write!(f, "offset {found} where at least {expected} was expected")
            }
            Self::Malformed(what) => write!(f, "malformed data: {what}"),
            Self::UnsupportedCodec(id) => write!(
                f,
                "compression codec {id} is unknown or not compiled in (enable its cargo feature)"
            ),
            Self::Decompression(codec) => write!(f, "{codec} data does not decompress"),
            Self::DecompressedTooLarge { limit } => {
                write!(f, "compressed records expand past {limit} bytes")
            }
        }
    }
}

/// Why a group refused an offset commit, after Kafka's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitRefusal {
    /// The member id is not in the group (Kafka's `UNKNOWN_MEMBER_ID`): it
    /// was removed after `session.timeout.ms` or `max.poll.interval.ms`, or
    /// the group has members and this consumer is not one.
    UnknownMember,
    /// The commit names an earlier generation of the group (Kafka's
    /// `ILLEGAL_GENERATION`).
    IllegalGeneration,
    /// Asked from `on_partitions_lost`: the member was removed and its
    /// partitions may belong to another member already.
    PartitionsLost,
}

impl fmt::Display for CommitRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownMember => {
                "this consumer is not a member of the group (removed after session.timeout.ms \
                 or max.poll.interval.ms, or not one of its members)"
            }
            Self::IllegalGeneration => "the commit belongs to an earlier generation of the group",
            Self::PartitionsLost => {
                "this consumer was removed from the group and its partitions are lost; they \
                 may belong to another member now"
            }
        })
    }
}
