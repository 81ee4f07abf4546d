//! The body of the `kafka_request_decode` fuzz target, shared with the
//! stable corpus replay in `tests/it/kafka_wire.rs`: arbitrary bytes sent
//! to the Kafka listener never panic it, and it keeps serving others.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::Duration;

static PANICKED: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Connection threads catch panics to keep the server up; this hook makes
/// any such panic visible to the fuzzer all the same.
fn watch_panics() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// ApiVersions v3 from a client named "fuzz": the health check.
const API_VERSIONS: &[u8] = b"\0\0\0\x17\0\x12\0\x03\0\0\0\x01\0\x04fuzz\0\x05fuzz\x021\0";

/// Sends `data` as the raw byte stream of one connection (length prefixes
/// included), then checks that a fresh connection still gets an answer.
pub(crate) fn kafka_request_decode(addr: SocketAddr, data: &[u8]) {
    watch_panics();
    if let Ok(mut stream) = TcpStream::connect(addr) {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let _ = stream.write_all(data);
        let _ = stream.shutdown(Shutdown::Write);
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    }
    let mut probe = TcpStream::connect(addr).expect("the listener accepts");
    probe
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("set a timeout");
    probe.write_all(API_VERSIONS).expect("send ApiVersions");
    let mut len = [0u8; 4];
    probe.read_exact(&mut len).expect("an ApiVersions answer");
    assert!(i32::from_be_bytes(len) > 0);
    assert!(
        !PANICKED.load(Ordering::SeqCst),
        "a connection thread panicked"
    );
}
