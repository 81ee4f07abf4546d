//! Length-prefixed frames on a socket, with a cap on their size.

use std::io::{self, Read, Write};

/// The largest request accepted, Kafka's `socket.request.max.bytes`
/// default (100 MiB). A larger length prefix closes the connection before
/// anything is allocated.
pub const MAX_FRAME_BYTES: usize = 100 * 1024 * 1024;

/// Reads one frame; `Ok(None)` when the peer closed between frames.
pub(crate) fn read_frame(stream: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = i32::from_be_bytes(len);
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l <= MAX_FRAME_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad frame length"))?;
    // Grows as bytes arrive, so a lying length prefix costs nothing.
    let mut body = Vec::with_capacity(len.min(64 * 1024));
    stream.take(len as u64).read_to_end(&mut body)?;
    if body.len() != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(body))
}

/// Writes `body` behind its length.
pub(crate) fn write_frame(stream: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let len = i32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "response too large"))?;
    stream.write_all(&len.to_be_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}
