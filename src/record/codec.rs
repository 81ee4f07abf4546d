//! Bounds-checked reading and the sizes of zig-zag varints.
//!
//! Everything that decodes bytes from disk or from another broker goes through
//! [`Cursor`], which never indexes: a short or malformed input becomes a
//! [`CorruptionKind`], never a panic.

use crate::error::CorruptionKind;

/// A read position over a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// A cursor over `buf` starting at `pos` (clamped to the end).
    pub(crate) fn at(buf: &'a [u8], pos: usize) -> Self {
        Cursor {
            buf,
            pos: pos.min(buf.len()),
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes, advancing past them.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CorruptionKind> {
        let end = self.pos.checked_add(n).ok_or(CorruptionKind::Truncated)?;
        let slice = self
            .buf
            .get(self.pos..end)
            .ok_or(CorruptionKind::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], CorruptionKind> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    #[inline]
    pub(crate) fn i8(&mut self) -> Result<i8, CorruptionKind> {
        Ok(i8::from_be_bytes(self.array()?))
    }

    #[inline]
    pub(crate) fn i16(&mut self) -> Result<i16, CorruptionKind> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    #[inline]
    pub(crate) fn i32(&mut self) -> Result<i32, CorruptionKind> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, CorruptionKind> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    #[inline]
    pub(crate) fn i64(&mut self) -> Result<i64, CorruptionKind> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// An unsigned LEB128 value of at most `max_bytes` bytes.
    #[inline]
    fn unsigned_varint(&mut self, max_bytes: u32) -> Result<u64, CorruptionKind> {
        let mut value = 0u64;
        let mut shift = 0u32;
        for _ in 0..max_bytes {
            let byte = *self.buf.get(self.pos).ok_or(CorruptionKind::Truncated)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
        Err(CorruptionKind::Malformed("varint longer than allowed"))
    }

    /// A zig-zag encoded 32-bit varint (Kafka's `varint`).
    #[inline]
    pub(crate) fn varint(&mut self) -> Result<i32, CorruptionKind> {
        // Lengths, deltas and counts of small records fit one byte: that
        // case skips the loop (the decoder reads several per record).
        if let Some(&byte) = self.buf.get(self.pos) {
            if byte < 0x80 {
                self.pos += 1;
                let raw = i32::from(byte);
                return Ok((raw >> 1) ^ -(raw & 1));
            }
        }
        let raw = self.unsigned_varint(5)?;
        let raw = u32::try_from(raw).map_err(|_| CorruptionKind::Malformed("varint overflows"))?;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// A zig-zag encoded 64-bit varint (Kafka's `varlong`).
    #[inline]
    pub(crate) fn varlong(&mut self) -> Result<i64, CorruptionKind> {
        if let Some(&byte) = self.buf.get(self.pos) {
            if byte < 0x80 {
                self.pos += 1;
                let raw = i64::from(byte);
                return Ok((raw >> 1) ^ -(raw & 1));
            }
        }
        let raw = self.unsigned_varint(10)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }
}

#[inline]
fn zigzag32(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

#[inline]
fn zigzag64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

#[inline]
fn unsigned_len(mut raw: u64) -> usize {
    let mut len = 1;
    while raw >= 0x80 {
        raw >>= 7;
        len += 1;
    }
    len
}

/// Encoded size of a zig-zag varint.
#[inline]
pub(crate) fn varint_len(value: i32) -> usize {
    unsigned_len(u64::from(zigzag32(value)))
}

/// Encoded size of a zig-zag varlong.
#[inline]
pub(crate) fn varlong_len(value: i64) -> usize {
    unsigned_len(zigzag64(value))
}

/// Varint writers for tests that build batches by hand; the encoder proper
/// lives in the batch builder.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bytes::BufMut;

    fn put_unsigned(buf: &mut impl BufMut, mut raw: u64) {
        while raw >= 0x80 {
            buf.put_u8((raw as u8) | 0x80);
            raw >>= 7;
        }
        buf.put_u8(raw as u8);
    }

    pub(crate) fn put_varint(buf: &mut impl BufMut, value: i32) {
        put_unsigned(buf, u64::from(zigzag32(value)));
    }

    pub(crate) fn put_varlong(buf: &mut impl BufMut, value: i64) {
        put_unsigned(buf, zigzag64(value));
    }
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(a: i32, b: i64) {
            let mut buf = Vec::new();
            put_varint(&mut buf, a);
            put_varlong(&mut buf, b);
            prop_assert_eq!(buf.len(), varint_len(a) + varlong_len(b));
            let mut cursor = Cursor::new(&buf);
            prop_assert_eq!(cursor.varint().unwrap(), a);
            prop_assert_eq!(cursor.varlong().unwrap(), b);
            prop_assert_eq!(cursor.remaining(), 0);
        }

        #[test]
        fn reading_arbitrary_bytes_never_panics(bytes: Vec<u8>) {
            let mut cursor = Cursor::new(&bytes);
            while cursor.remaining() > 0 {
                if cursor.varlong().is_err() || cursor.varint().is_err() || cursor.i16().is_err() {
                    break;
                }
            }
        }
    }

    #[test]
    fn known_encodings_match_kafka() {
        let mut buf = Vec::new();
        put_varint(&mut buf, -1);
        put_varint(&mut buf, 1);
        put_varint(&mut buf, 64);
        assert_eq!(buf, [0x01, 0x02, 0x80, 0x01]);
    }

    #[test]
    fn overlong_varints_are_rejected() {
        let bytes = [0xffu8; 11];
        assert!(Cursor::new(&bytes).varint().is_err());
        assert!(Cursor::new(&bytes).varlong().is_err());
        assert_eq!(
            Cursor::new(&[0x80]).varint(),
            Err(CorruptionKind::Truncated)
        );
    }
}
