//! Kafka's batch compression codecs, each in the framing Kafka clients use.
//!
//! A compressed v2 batch keeps its 61-byte header in clear and compresses
//! the records after it as one unit; attribute bits 0-2 name the codec.
//! Framing per codec: gzip is a gzip stream; snappy is snappy-java's
//! ("xerial") framing — an 8-byte magic `0x82 "SNAPPY" 0`, two big-endian
//! i32s (version, compatible version), then blocks each prefixed by its
//! big-endian i32 length — and a raw snappy block is accepted too, as some
//! clients send one; lz4 is the LZ4 frame format with independent blocks;
//! zstd is one zstd frame.
//!
//! Decompression never allocates past a cap: a batch whose records would
//! expand beyond it is refused as [`CorruptionKind::DecompressedTooLarge`],
//! so a small hostile batch cannot exhaust memory.

use std::fmt;
use std::io::Read;

use crate::error::CorruptionKind;

/// The compression codec of a record batch (Kafka's `compression.type`).
///
/// Codecs other than `None` need their cargo feature (`gzip`, `snappy`,
/// `lz4` on by default; `zstd` opt-in, and on with the `kafka` feature, because
/// its crate builds the C library, which adds 40 % to a first build).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Records stored as they are (Kafka's default).
    #[default]
    None,
    /// A gzip stream (attribute code 1).
    Gzip,
    /// Snappy in snappy-java's framing (attribute code 2).
    Snappy,
    /// The LZ4 frame format (attribute code 3).
    Lz4,
    /// A zstd frame (attribute code 4).
    Zstd,
}

/// Attribute bits 0-2: the compression codec.
pub(crate) const CODEC_MASK: i16 = 0x07;

/// The most bytes the records of one batch may expand to. Producers cap a
/// batch at `max.request.size` (1 MiB by default) before compression; this
/// leaves room for highly compressible batches far above that.
pub(crate) const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// The smallest encoded record: length, attributes, timestamp delta, offset
/// delta, key length, value length and header count, one byte each.
const MIN_RECORD_BYTES: usize = 7;

impl Compression {
    /// Every codec, in attribute-code order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// Kafka's name for the codec, as `compression.type` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// The codec `compression.type` names, if any.
    pub fn from_name(name: &str) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether this build can compress and decompress with the codec.
    pub fn is_available(self) -> bool {
        match self {
            Compression::None => true,
            Compression::Gzip => cfg!(feature = "gzip"),
            Compression::Snappy => cfg!(feature = "snappy"),
            Compression::Lz4 => cfg!(feature = "lz4"),
            Compression::Zstd => cfg!(feature = "zstd"),
        }
    }

    /// The codec's attribute code (bits 0-2 of a batch's attributes).
    pub(crate) fn id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec named by a batch's attributes; codes 5-7 are refused.
    pub(crate) fn from_attributes(attributes: i16) -> Result<Compression, CorruptionKind> {
        let id = attributes & CODEC_MASK;
        Compression::ALL
            .into_iter()
            .find(|c| c.id() == id)
            .ok_or(CorruptionKind::UnsupportedCodec(id as u8))
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The cap on the decompressed records of a batch declaring `record_count`
/// records: a batch that says it holds more records than could fit in
/// [`MAX_DECOMPRESSED_BYTES`] is refused before anything is inflated.
pub(crate) fn decompressed_cap(record_count: i32) -> Result<usize, CorruptionKind> {
    let count = usize::try_from(record_count).unwrap_or(0);
    let least = count.saturating_mul(MIN_RECORD_BYTES);
    if least > MAX_DECOMPRESSED_BYTES {
        return Err(CorruptionKind::DecompressedTooLarge {
            limit: MAX_DECOMPRESSED_BYTES as u64,
        });
    }
    Ok(MAX_DECOMPRESSED_BYTES)
}

/// Compresses `data` with `codec` in Kafka's framing.
///
/// Writing into memory cannot fail for these codecs except on inputs far
/// beyond any batch size; the caller decides what to do if one does.
pub(crate) fn compress(codec: Compression, data: &[u8]) -> std::io::Result<Vec<u8>> {
    match codec {
        Compression::None => Ok(data.to_vec()),
        #[cfg(feature = "gzip")]
        Compression::Gzip => gzip::compress(data),
        #[cfg(feature = "snappy")]
        Compression::Snappy => snappy::compress(data),
        #[cfg(feature = "lz4")]
        Compression::Lz4 => lz4::compress(data),
        #[cfg(feature = "zstd")]
        Compression::Zstd => zstd::compress(data),
        #[allow(unreachable_patterns, reason = "reached when a codec feature is off")]
        other => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("the {other} codec is not compiled in"),
        )),
    }
}

/// Decompresses `data`, refusing to produce more than `cap` bytes.
pub(crate) fn decompress(
    codec: Compression,
    data: &[u8],
    cap: usize,
) -> Result<Vec<u8>, CorruptionKind> {
    match codec {
        Compression::None => bounded_copy(data, cap),
        #[cfg(feature = "gzip")]
        Compression::Gzip => gzip::decompress(data, cap),
        #[cfg(feature = "snappy")]
        Compression::Snappy => snappy::decompress(data, cap),
        #[cfg(feature = "lz4")]
        Compression::Lz4 => lz4::decompress(data, cap),
        #[cfg(feature = "zstd")]
        Compression::Zstd => zstd::decompress(data, cap),
        #[allow(unreachable_patterns, reason = "reached when a codec feature is off")]
        other => Err(CorruptionKind::UnsupportedCodec(other.id() as u8)),
    }
}

fn too_large(cap: usize) -> CorruptionKind {
    CorruptionKind::DecompressedTooLarge { limit: cap as u64 }
}

fn bounded_copy(data: &[u8], cap: usize) -> Result<Vec<u8>, CorruptionKind> {
    if data.len() > cap {
        return Err(too_large(cap));
    }
    Ok(data.to_vec())
}

/// Reads a decompressing stream to its end, never holding more than `cap`
/// bytes: the buffer grows geometrically but its capacity is clamped to the
/// cap, and one byte past the cap is an error.
#[allow(dead_code, reason = "unused when only snappy is compiled in")]
fn read_capped(
    mut reader: impl Read,
    cap: usize,
    size_hint: usize,
    codec: &'static str,
) -> Result<Vec<u8>, CorruptionKind> {
    let mut out: Vec<u8> = Vec::with_capacity(size_hint.min(cap));
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(CorruptionKind::Decompression(codec)),
        };
        let len = out.len() + n;
        if len > cap {
            return Err(too_large(cap));
        }
        if len > out.capacity() {
            let target = (out.capacity() * 2).clamp(len, cap);
            out.reserve_exact(target - out.len());
        }
        out.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

#[cfg(feature = "gzip")]
mod gzip {
    use std::io::Write;

    use flate2::read::MultiGzDecoder;
    use flate2::write::GzEncoder;

    use super::read_capped;
    use crate::error::CorruptionKind;

    pub(super) fn compress(data: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data)?;
        encoder.finish()
    }

    /// Concatenated gzip members are one stream, as Java's GZIPInputStream reads them.
    pub(super) fn decompress(data: &[u8], cap: usize) -> Result<Vec<u8>, CorruptionKind> {
        read_capped(
            MultiGzDecoder::new(data),
            cap,
            data.len().saturating_mul(4),
            "gzip",
        )
    }
}

#[cfg(feature = "snappy")]
mod snappy {
    use crate::error::CorruptionKind;

    /// snappy-java's stream magic, then version 1 and compatible version 1.
    const MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
    const HEADER_LEN: usize = 16;
    const VERSION: i32 = 1;
    /// snappy-java's default block size (uncompressed bytes per block).
    const BLOCK: usize = 32 * 1024;

    const CODEC: &str = "snappy";

    pub(super) fn compress(data: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut encoder = snap::raw::Encoder::new();
        let mut out = Vec::with_capacity(HEADER_LEN + data.len() / 2 + 64);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&VERSION.to_be_bytes());
        for block in data.chunks(BLOCK) {
            let compressed = encoder.compress_vec(block)?;
            let len = i32::try_from(compressed.len())
                .map_err(|_| std::io::Error::other("snappy block too large"))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&compressed);
        }
        Ok(out)
    }

    pub(super) fn decompress(data: &[u8], cap: usize) -> Result<Vec<u8>, CorruptionKind> {
        let mut out = Vec::new();
        match data.strip_prefix(&MAGIC[..]) {
            Some(rest) => {
                let mut blocks = rest
                    .get(HEADER_LEN - MAGIC.len()..)
                    .ok_or(CorruptionKind::Truncated)?;
                while let Some((len, rest)) = blocks.split_first_chunk::<4>() {
                    let len = usize::try_from(i32::from_be_bytes(*len))
                        .map_err(|_| CorruptionKind::Decompression(CODEC))?;
                    let block = rest.get(..len).ok_or(CorruptionKind::Truncated)?;
                    inflate_block(block, &mut out, cap)?;
                    blocks = rest.get(len..).unwrap_or_default();
                }
                if !blocks.is_empty() {
                    return Err(CorruptionKind::Truncated);
                }
            }
            None => inflate_block(data, &mut out, cap)?,
        }
        Ok(out)
    }

    /// Appends one raw snappy block; its declared length is checked against
    /// the cap before any room is made for it.
    fn inflate_block(block: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<(), CorruptionKind> {
        let len =
            snap::raw::decompress_len(block).map_err(|_| CorruptionKind::Decompression(CODEC))?;
        let start = out.len();
        let end = start.checked_add(len).filter(|&end| end <= cap);
        let end = end.ok_or(super::too_large(cap))?;
        out.resize(end, 0);
        let slot = out.get_mut(start..).unwrap_or_default();
        let written = snap::raw::Decoder::new()
            .decompress(block, slot)
            .map_err(|_| CorruptionKind::Decompression(CODEC))?;
        if written != len {
            return Err(CorruptionKind::Decompression(CODEC));
        }
        Ok(())
    }
}

#[cfg(feature = "lz4")]
#[path = "lz4.rs"]
mod lz4;

#[cfg(feature = "zstd")]
mod zstd {
    use std::cell::RefCell;

    use super::read_capped;
    use crate::error::CorruptionKind;

    /// Kafka's default zstd level.
    const LEVEL: i32 = 3;
    /// The largest window a frame may ask for (64 MiB, the decompressed
    /// cap): the decoder's own buffer stays within the cap too.
    const WINDOW_LOG_MAX: u32 = 26;

    thread_local! {
        /// One compression context per thread, reused: making one per
        /// batch (`zstd::bulk::compress`) halved the speed on 16 KiB batches.
        /// It holds about a megabyte per compressing thread.
        static COMPRESSOR: RefCell<Option<::zstd::bulk::Compressor<'static>>> =
            const { RefCell::new(None) };
    }

    pub(super) fn compress(data: &[u8]) -> std::io::Result<Vec<u8>> {
        COMPRESSOR.with(|slot| {
            let mut slot = slot.borrow_mut();
            let compressor = match slot.as_mut() {
                Some(compressor) => compressor,
                None => slot.insert(::zstd::bulk::Compressor::new(LEVEL)?),
            };
            compressor.compress(data)
        })
    }

    pub(super) fn decompress(data: &[u8], cap: usize) -> Result<Vec<u8>, CorruptionKind> {
        let error = |_| CorruptionKind::Decompression("zstd");
        let mut decoder = ::zstd::stream::read::Decoder::with_buffer(data).map_err(error)?;
        decoder.window_log_max(WINDOW_LOG_MAX).map_err(error)?;
        read_capped(decoder, cap, data.len().saturating_mul(4), "zstd")
    }
}

#[cfg(test)]
#[path = "compression_tests.rs"]
mod tests;
