//! Kafka's murmur2 hash, bit for bit: the default partitioner's key hash.
//!
//! Keys must land on the same partitions as with Kafka's own clients, so
//! this follows the Java client's variant exactly (seed `0x9747b28c`,
//! little-endian 4-byte blocks, signed 32-bit result).

const SEED: u32 = 0x9747_b28c;
const M: u32 = 0x5bd1_e995;
const R: u32 = 24;

/// The 32-bit murmur2 hash of `data`, as Kafka's `Utils.murmur2` returns it.
pub(crate) fn murmur2(data: &[u8]) -> i32 {
    // Java computes `seed ^ length` on a signed int; the bits are the same.
    let mut h = SEED ^ (data.len() as u32);
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a key.
pub(crate) fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    // Kafka's `toPositive` masks the sign bit rather than taking `abs`,
    // which would overflow on i32::MIN.
    let positive = (murmur2(key) & 0x7fff_ffff) as u32;
    positive % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kafka_reference_hashes() {
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
            (b"1", -1_993_445_489),
            (b"12", 126_087_238),
            (b"123", -267_702_483),
            (b"1234", -1_614_185_708),
            (b"12345", -1_188_365_604),
        ];
        for (key, expected) in cases {
            assert_eq!(
                murmur2(key),
                *expected,
                "{:?}",
                String::from_utf8_lossy(key)
            );
        }
    }

    #[test]
    fn key_partition_is_the_masked_hash_modulo_partitions() {
        // murmur2("foobar") = -790332482; masked: 1357151166.
        assert_eq!(partition_for_key(b"foobar", 6), 1_357_151_166 % 6);
        assert_eq!(
            partition_for_key(b"21", 3),
            ((-973_932_308i32 & 0x7fff_ffff) as u32) % 3
        );
        assert_eq!(partition_for_key(b"anything", 1), 0);
    }
}
