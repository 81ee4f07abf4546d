//! Where a record's fields lie inside its batch's bytes, found without
//! copying or slicing anything.
//!
//! Decoding a record into spans checks every field (lengths, offset delta,
//! header names) exactly as building a record would, so a caller that
//! decoded the spans can later slice the bytes knowing they are well formed.
//! The consumer lends records out of a fetched chunk this way: one pass over
//! the bytes, no reference count or allocation per record.

use super::codec::Cursor;
use crate::error::CorruptionKind;

/// A nullable byte string inside the record bytes: `len` is -1 for null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: i32,
}

impl Span {
    /// The bytes of the span in `data` (the record bytes it was decoded
    /// from); `None` for null, and for a span outside `data`, which a span
    /// decoded from these bytes never is.
    #[inline]
    pub(crate) fn get(self, data: &[u8]) -> Option<&[u8]> {
        let len = usize::try_from(self.len).ok()?;
        let start = self.start as usize;
        data.get(start..start + len)
    }
}

/// The encoded headers of one record: `count` headers in `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct HeaderSpans {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) count: u32,
}

impl HeaderSpans {
    /// The headers as (name, value) pairs, decoded from `data` on demand.
    pub(crate) fn iter(self, data: &[u8]) -> HeaderIter<'_> {
        let end = (self.end as usize).min(data.len());
        HeaderIter {
            cursor: Cursor::at(data.get(..end).unwrap_or_default(), self.start as usize),
            left: self.count,
        }
    }
}

/// One record's fields, relative to its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordSpans {
    pub(crate) offset_delta: i32,
    pub(crate) timestamp_delta: i64,
    pub(crate) key: Span,
    pub(crate) value: Span,
    pub(crate) headers: HeaderSpans,
}

/// Decodes the record at `*pos` of the record bytes `data` (all records
/// of a batch, after its header), checking every field, and moves `*pos`
/// past it.
///
/// Written against plain indexes rather than [`Cursor`]: this runs once
/// per consumed record, and small records keep every varint to one or two
/// bytes. The helpers take and return the index by value, so it stays in
/// a register: taken by reference, it went through the stack on every
/// field, its address having escaped into the out-of-line slow paths.
#[inline]
pub(crate) fn decode_spans(
    data: &[u8],
    pos: &mut usize,
    last_offset_delta: i32,
) -> Result<RecordSpans, CorruptionKind> {
    let (length, at) = varint(data, *pos)?;
    let length = usize::try_from(length).map_err(|_| CorruptionKind::BadLength(length.into()))?;
    let end = at.checked_add(length).ok_or(CorruptionKind::Truncated)?;
    // Spans are u32: a record ending past that cannot come from a batch,
    // whose length field is an i32.
    if end > u32::MAX as usize {
        return Err(CorruptionKind::BadLength(length as i64));
    }
    let body = data.get(..end).ok_or(CorruptionKind::Truncated)?;
    // The attributes byte (unused in format 2).
    let at = at + 1;
    let (timestamp_delta, at) = varlong(body, at)?;
    let (offset_delta, at) = varint(body, at)?;
    if offset_delta < 0 || offset_delta > last_offset_delta {
        return Err(CorruptionKind::Malformed(
            "record offset delta outside the batch",
        ));
    }
    let (key, at) = nullable(body, at)?;
    let (value, at) = nullable(body, at)?;
    let (headers, at) = match body.get(at) {
        // No headers, the common case.
        Some(0) => {
            let after = at as u32 + 1;
            let none = HeaderSpans {
                start: after,
                end: after,
                count: 0,
            };
            (none, at + 1)
        }
        _ => headers_at(body, at)?,
    };
    if at != end {
        return Err(CorruptionKind::Malformed(
            "record length does not match its fields",
        ));
    }
    *pos = end;
    Ok(RecordSpans {
        offset_delta,
        timestamp_delta,
        key,
        value,
        headers,
    })
}

/// The unsigned LEB128 value at `at` when it takes one or two bytes (a
/// 100-byte value's length takes two), without a loop, with the index
/// after it; `None` otherwise.
#[inline(always)]
fn short_unsigned(data: &[u8], at: usize) -> Option<(u32, usize)> {
    let first = *data.get(at)?;
    if first < 0x80 {
        return Some((u32::from(first), at + 1));
    }
    let second = *data.get(at + 1)?;
    if second < 0x80 {
        return Some((u32::from(first & 0x7f) | (u32::from(second) << 7), at + 2));
    }
    None
}

/// A zig-zag varint at `at`, and the index after it.
#[inline(always)]
fn varint(data: &[u8], at: usize) -> Result<(i32, usize), CorruptionKind> {
    match short_unsigned(data, at) {
        // At most 14 bits: fits an i32.
        Some((raw, at)) => Ok((((raw >> 1) as i32) ^ -((raw & 1) as i32), at)),
        None => long_varint(data, at),
    }
}

#[cold]
#[inline(never)]
fn long_varint(data: &[u8], at: usize) -> Result<(i32, usize), CorruptionKind> {
    let mut cursor = Cursor::at(data, at);
    let value = cursor.varint()?;
    Ok((value, cursor.position()))
}

/// A zig-zag varlong at `at`, and the index after it.
#[inline(always)]
fn varlong(data: &[u8], at: usize) -> Result<(i64, usize), CorruptionKind> {
    match short_unsigned(data, at) {
        Some((raw, at)) => Ok((i64::from(raw >> 1) ^ -i64::from(raw & 1), at)),
        None => long_varlong(data, at),
    }
}

#[cold]
#[inline(never)]
fn long_varlong(data: &[u8], at: usize) -> Result<(i64, usize), CorruptionKind> {
    let mut cursor = Cursor::at(data, at);
    let value = cursor.varlong()?;
    Ok((value, cursor.position()))
}

/// A length-prefixed byte string (-1 = null) at `at`, and the index after
/// it.
#[inline(always)]
fn nullable(body: &[u8], at: usize) -> Result<(Span, usize), CorruptionKind> {
    let (len, at) = varint(body, at)?;
    // Fits: `decode_spans` checked the record ends below `u32::MAX`.
    let span = Span {
        start: at as u32,
        len,
    };
    if len >= 0 {
        let end = at + len as usize;
        if end > body.len() {
            return Err(CorruptionKind::Truncated);
        }
        return Ok((span, end));
    }
    if len != -1 {
        return Err(CorruptionKind::BadLength(len.into()));
    }
    Ok((span, at))
}

/// A record's headers at `at` (not the common empty case), and the index
/// after them; out of line, so the per-record loop stays small.
#[inline(never)]
fn headers_at(body: &[u8], at: usize) -> Result<(HeaderSpans, usize), CorruptionKind> {
    let mut cursor = Cursor::at(body, at);
    let headers = header_spans(&mut cursor)?;
    Ok((headers, cursor.position()))
}

/// Checks the headers (count, lengths, UTF-8 names) and returns where they lie.
#[inline]
fn header_spans(cursor: &mut Cursor<'_>) -> Result<HeaderSpans, CorruptionKind> {
    let count = cursor.varint()?;
    let count = u32::try_from(count).map_err(|_| CorruptionKind::BadLength(count.into()))?;
    let start = cursor.position() as u32;
    if count == 0 {
        return Ok(HeaderSpans {
            start,
            end: start,
            count,
        });
    }
    // Each header takes at least two bytes: a count beyond that is a lie.
    if count as usize > cursor.remaining() / 2 {
        return Err(CorruptionKind::Truncated);
    }
    let mut headers = HeaderIter {
        cursor: cursor.clone(),
        left: count,
    };
    for header in headers.by_ref() {
        header?;
    }
    *cursor = headers.cursor;
    Ok(HeaderSpans {
        start,
        end: cursor.position() as u32,
        count,
    })
}

/// Walks encoded headers: (name, value) pairs, a null value as `None`.
#[derive(Debug, Clone)]
pub(crate) struct HeaderIter<'a> {
    cursor: Cursor<'a>,
    left: u32,
}

impl<'a> HeaderIter<'a> {
    fn header(&mut self) -> Result<(&'a str, Option<&'a [u8]>), CorruptionKind> {
        let name_len = self.cursor.varint()?;
        let name_len =
            usize::try_from(name_len).map_err(|_| CorruptionKind::BadLength(name_len.into()))?;
        let name = std::str::from_utf8(self.cursor.take(name_len)?)
            .map_err(|_| CorruptionKind::Malformed("header name is not UTF-8"))?;
        let value_len = self.cursor.varint()?;
        if value_len == -1 {
            return Ok((name, None));
        }
        let value_len =
            usize::try_from(value_len).map_err(|_| CorruptionKind::BadLength(value_len.into()))?;
        Ok((name, Some(self.cursor.take(value_len)?)))
    }

    /// Headers not yet returned.
    pub(crate) fn left(&self) -> u32 {
        self.left
    }
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Result<(&'a str, Option<&'a [u8]>), CorruptionKind>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let header = self.header();
        if header.is_err() {
            self.left = 0;
        }
        Some(header)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::codec::tests::{put_varint, put_varlong};

    fn record(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Vec<u8> {
        let mut body = vec![0u8];
        put_varlong(&mut body, 7);
        put_varint(&mut body, 2);
        for field in [key, value] {
            match field {
                None => put_varint(&mut body, -1),
                Some(bytes) => {
                    put_varint(&mut body, bytes.len() as i32);
                    body.extend_from_slice(bytes);
                }
            }
        }
        put_varint(&mut body, headers.len() as i32);
        for (name, value) in headers {
            put_varint(&mut body, name.len() as i32);
            body.extend_from_slice(name.as_bytes());
            match value {
                None => put_varint(&mut body, -1),
                Some(v) => {
                    put_varint(&mut body, v.len() as i32);
                    body.extend_from_slice(v);
                }
            }
        }
        let mut out = Vec::new();
        put_varint(&mut out, body.len() as i32);
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn spans_locate_every_field() {
        let data = record(None, Some(b"value"), &[("a", Some(b"1")), ("b", None)]);
        let mut pos = 0;
        let spans = decode_spans(&data, &mut pos, 5).unwrap();
        assert_eq!(pos, data.len());
        assert_eq!((spans.offset_delta, spans.timestamp_delta), (2, 7));
        assert_eq!(spans.key.get(&data), None);
        assert_eq!(spans.value.get(&data), Some(&b"value"[..]));
        let headers: Vec<_> = spans.headers.iter(&data).map(Result::unwrap).collect();
        assert_eq!(headers, [("a", Some(&b"1"[..])), ("b", None)]);
    }

    #[test]
    fn short_and_long_varints_decode_as_the_cursor_does() {
        for value in [
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            8191,
            -8192,
            8192,
            1 << 40,
            i64::MIN,
            i64::MAX,
        ] {
            let mut buf = Vec::new();
            put_varlong(&mut buf, value);
            assert_eq!(varlong(&buf, 0), Ok((value, buf.len())));
            if let Ok(small) = i32::try_from(value) {
                let mut buf = Vec::new();
                put_varint(&mut buf, small);
                assert_eq!(varint(&buf, 0), Ok((small, buf.len())));
            }
        }
        assert!(varint(&[0x80], 0).is_err());
        assert!(varint(&[], 0).is_err());
    }

    #[test]
    fn a_bad_header_name_or_offset_delta_is_an_error() {
        let data = record(None, None, &[("\u{e9}", None)]);
        let mut bad = data.clone();
        // The name's first byte: a lone continuation byte is not UTF-8.
        let at = bad.len() - 3;
        bad[at] = 0x80;
        assert!(decode_spans(&bad, &mut 0, 5).is_err());
        assert!(
            decode_spans(&data, &mut 0, 1).is_err(),
            "delta 2 > last delta 1"
        );
        assert!(decode_spans(&data[..data.len() - 1], &mut 0, 5).is_err());
    }
}
