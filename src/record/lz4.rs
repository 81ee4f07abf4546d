//! LZ4 in the frame format Kafka's clients write: magic, then FLG `0x60`
//! (version 1, independent blocks, no checksums), BD `0x40` (64 KiB
//! blocks) and the header checksum, blocks each prefixed by a little-endian
//! u32 length (high bit set for a block stored raw), and a zero end mark.
//!
//! The frame is written by hand around lz4_flex's block compressor rather
//! than with its frame encoder: that encoder allocates and zeroes two
//! 64 KiB buffers and a hash table per frame, which for producer batches
//! of 16 KiB cost as much as compressing them. Here one hash table and one
//! output buffer live per thread and are reused.

use std::cell::RefCell;

use lz4_flex::block::{compress_into_with_table, get_maximum_output_size, CompressTable};
use lz4_flex::frame::FrameDecoder;

use super::read_capped;
use crate::error::CorruptionKind;

/// Magic, FLG, BD and the header checksum (second byte of the xxHash32 of
/// FLG and BD), the same seven bytes kafka-clients writes.
const FRAME_HEADER: [u8; 7] = [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82];
const BLOCK: usize = 64 * 1024;
/// Set in a block's length: the block is stored uncompressed.
const RAW_BLOCK: u32 = 0x8000_0000;
const END_MARK: [u8; 4] = [0; 4];

struct Scratch {
    table: CompressTable,
    block: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        table: CompressTable::large(),
        block: vec![0; get_maximum_output_size(BLOCK)],
    });
}

/// Compresses `data` as one LZ4 frame of independent 64 KiB blocks.
pub(super) fn compress(data: &[u8]) -> std::io::Result<Vec<u8>> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let Scratch { table, block } = &mut *scratch;
        let mut out = Vec::with_capacity(FRAME_HEADER.len() + data.len() / 2 + 16);
        out.extend_from_slice(&FRAME_HEADER);
        for chunk in data.chunks(BLOCK) {
            let packed =
                compress_into_with_table(chunk, block, table).map_err(std::io::Error::other)?;
            // A block that does not shrink is stored as it is, as the
            // format allows and the reference encoder does.
            match block.get(..packed).filter(|_| packed < chunk.len()) {
                Some(compressed) => {
                    out.extend_from_slice(&(packed as u32).to_le_bytes());
                    out.extend_from_slice(compressed);
                }
                None => {
                    out.extend_from_slice(&(chunk.len() as u32 | RAW_BLOCK).to_le_bytes());
                    out.extend_from_slice(chunk);
                }
            }
        }
        out.extend_from_slice(&END_MARK);
        Ok(out)
    })
}

/// The frame decoder takes input that stops right before the end mark as
/// complete; a frame without its end mark is refused as truncated.
pub(super) fn decompress(data: &[u8], cap: usize) -> Result<Vec<u8>, CorruptionKind> {
    let out = read_capped(
        FrameDecoder::new(data),
        cap,
        data.len().saturating_mul(4),
        "lz4",
    )?;
    let content_checksum = data.get(4).is_some_and(|flags| flags & 0x04 != 0);
    let trailer = if content_checksum { 8 } else { 4 };
    let end_mark = data
        .len()
        .checked_sub(trailer)
        .and_then(|at| data.get(at..at + 4));
    if end_mark != Some(&END_MARK[..]) {
        return Err(CorruptionKind::Truncated);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};

    use super::*;

    fn reference(data: &[u8]) -> Vec<u8> {
        let info = FrameInfo::new()
            .block_size(BlockSize::Max64KB)
            .block_mode(BlockMode::Independent);
        let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn sample(len: usize) -> Vec<u8> {
        let mut state = 7u64;
        (0..len)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                // Half text that repeats, half noise: some blocks shrink, some not.
                if (i / BLOCK).is_multiple_of(2) {
                    b"event=view user=42 "[i % 19]
                } else {
                    (state >> 56) as u8
                }
            })
            .collect()
    }

    #[test]
    fn the_header_is_the_one_lz4_flex_and_kafka_clients_write() {
        assert_eq!(reference(b"x")[..7], FRAME_HEADER);
    }

    #[test]
    fn frames_decode_with_lz4_flex_and_with_our_decoder() {
        for len in [0, 1, 100, BLOCK - 1, BLOCK, BLOCK + 1, 300_000] {
            let data = sample(len);
            let frame = compress(&data).unwrap();
            let mut theirs = Vec::new();
            std::io::Read::read_to_end(&mut FrameDecoder::new(&frame[..]), &mut theirs).unwrap();
            assert_eq!(theirs, data, "lz4_flex reading {len} bytes");
            assert_eq!(decompress(&frame, usize::MAX).unwrap(), data, "{len} bytes");
            // The reference encoder also reads back ours, and we read theirs.
            assert_eq!(decompress(&reference(&data), usize::MAX).unwrap(), data);
        }
    }

    #[test]
    fn noise_is_stored_in_raw_blocks() {
        let data = sample(140_000);
        let frame = compress(&data).unwrap();
        // Never more than the data plus the framing.
        assert!(frame.len() <= data.len() + 7 + 3 * 4 + 4);
        let first = u32::from_le_bytes(frame[7..11].try_into().unwrap());
        assert_eq!(first & RAW_BLOCK, 0, "the text block shrinks");
        let second_at = 11 + first as usize;
        let second = u32::from_le_bytes(frame[second_at..second_at + 4].try_into().unwrap());
        assert_eq!(second & RAW_BLOCK, RAW_BLOCK, "the noise block is raw");
    }
}
