//! Arbitrary bytes on a Kafka listener's socket never panic it, and a
//! fresh client is still served afterwards.
//!
//! The body lives in `kafka_bodies.rs`, which the stable corpus-replay test
//! in `tests/it/kafka_wire.rs` runs too.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tidelog::kafka::KafkaServer;
use tidelog::Log;

#[path = "kafka_bodies.rs"]
mod kafka_bodies;

/// One server for the whole run; its directory lives as long as the process.
fn server() -> SocketAddr {
    static SERVER: OnceLock<(tempfile::TempDir, KafkaServer)> = OnceLock::new();
    let (_, server) = SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = Arc::new(Log::open(dir.path()).expect("open a log"));
        let server = KafkaServer::start(log, "127.0.0.1").expect("start the listener");
        (dir, server)
    });
    server.addresses()[0]
}

fuzz_target!(|data: &[u8]| kafka_bodies::kafka_request_decode(server(), data));
