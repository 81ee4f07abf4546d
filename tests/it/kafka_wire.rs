//! The Kafka listener on a real socket: what it serves, how it refuses bad
//! bytes without harming other clients, and records crossing between
//! tidelog's own clients and kcat (an unmodified Kafka client).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
    RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tidelog::kafka::{KafkaServer, MAX_FRAME_BYTES};
use tidelog::{Log, ProducerConfig, ProducerRecord, TopicConfig};

use crate::support::{read_topic, text};

fn serve() -> (tempfile::TempDir, Arc<Log>, KafkaServer) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(dir.path()).unwrap());
    let server = KafkaServer::start(Arc::clone(&log), "127.0.0.1").unwrap();
    (dir, log, server)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn request<T: Encodable>(key: ApiKey, version: i16, correlation: i32, body: &T) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("wire-test")));
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, key.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    frame(&buf)
}

/// Reads one response; `None` when the server closed the connection.
fn response(stream: &mut TcpStream) -> Option<bytes::Bytes> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).ok()?;
    Some(body.into())
}

fn api_versions(stream: &mut TcpStream, version: i16) -> (i32, ApiVersionsResponse) {
    let body = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("wire-test"))
        .with_client_software_version(StrBytes::from_static_str("1"));
    // A version the server does not serve is still encodable as v4.
    let encode_as = version.min(4);
    let mut bytes = request(ApiKey::ApiVersions, encode_as, 7, &body);
    bytes[6..8].copy_from_slice(&version.to_be_bytes());
    stream.write_all(&bytes).unwrap();
    let mut reply = response(stream).expect("an ApiVersions answer");
    // ApiVersions responses always use header version 0.
    let header = ResponseHeader::decode(&mut reply, 0).unwrap();
    let answer_version = if version > 4 { 0 } else { version };
    let parsed = ApiVersionsResponse::decode(&mut reply, answer_version).unwrap();
    (header.correlation_id, parsed)
}

fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

#[test]
fn api_versions_lists_what_is_served() {
    let (_dir, _log, server) = serve();
    let mut stream = connect(server.addresses()[0]);
    let (correlation, answer) = api_versions(&mut stream, 3);
    assert_eq!(correlation, 7);
    assert_eq!(answer.error_code, 0);
    let produce = answer
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .unwrap();
    assert!(produce.min_version <= 7 && produce.max_version >= 9);
    assert!(answer
        .api_keys
        .iter()
        .all(|k| k.api_key != ApiKey::DescribeCluster as i16));
}

#[test]
fn an_unsupported_api_versions_version_gets_unsupported_version_in_v0() {
    let (_dir, _log, server) = serve();
    let mut stream = connect(server.addresses()[0]);
    let (correlation, answer) = api_versions(&mut stream, 99);
    assert_eq!(correlation, 7);
    assert_eq!(answer.error_code, 35, "UNSUPPORTED_VERSION");
    assert!(!answer.api_keys.is_empty());
    // The connection stays usable.
    let (_, answer) = api_versions(&mut stream, 3);
    assert_eq!(answer.error_code, 0);
}

#[test]
fn metadata_shows_every_broker_and_the_leaders() {
    let (_dir, log, server) = serve();
    log.create_topic("meta", TopicConfig::new().partitions(3))
        .unwrap();
    let mut stream = connect(server.addresses()[1]);
    let body = MetadataRequest::default().with_topics(None);
    stream
        .write_all(&request(ApiKey::Metadata, 12, 1, &body))
        .unwrap();
    let mut reply = response(&mut stream).unwrap();
    ResponseHeader::decode(&mut reply, 1).unwrap();
    let metadata = MetadataResponse::decode(&mut reply, 12).unwrap();
    let mut ports: Vec<i32> = metadata.brokers.iter().map(|b| b.port).collect();
    ports.sort_unstable();
    let mut expected: Vec<i32> = server
        .addresses()
        .iter()
        .map(|a| i32::from(a.port()))
        .collect();
    expected.sort_unstable();
    assert_eq!(ports, expected);
    let topic = &metadata.topics[0];
    assert_eq!(topic.partitions.len(), 3);
    for p in &topic.partitions {
        let expected = log
            .cluster()
            .partition("meta", p.partition_index as u32)
            .unwrap();
        assert_eq!(p.leader_id.0 as u32, expected.leader().unwrap());
        assert_eq!(p.isr_nodes.len(), 3);
    }
}

#[test]
fn bad_bytes_close_only_their_own_connection() {
    let (_dir, _log, server) = serve();
    let addr = server.addresses()[0];
    let mut healthy = connect(addr);
    api_versions(&mut healthy, 3);

    // An absurd length: closed before anything is allocated.
    let mut absurd = connect(addr);
    absurd
        .write_all(&((MAX_FRAME_BYTES as i32) + 1).to_be_bytes())
        .unwrap();
    assert!(closed(&mut absurd));
    // A negative length.
    let mut negative = connect(addr);
    negative.write_all(&(-5i32).to_be_bytes()).unwrap();
    assert!(closed(&mut negative));
    // An unknown API key.
    let mut unknown = connect(addr);
    unknown
        .write_all(&frame(&[0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0]))
        .unwrap();
    assert!(closed(&mut unknown));
    // A body that does not decode.
    let mut garbage = connect(addr);
    garbage
        .write_all(&frame(&[0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0xff]))
        .unwrap();
    assert!(closed(&mut garbage));
    // A frame shorter than a request header.
    let mut short = connect(addr);
    short.write_all(&frame(&[0, 18])).unwrap();
    assert!(closed(&mut short));
    // A client that stops mid-frame and leaves.
    let mut stalled = connect(addr);
    stalled.write_all(&100i32.to_be_bytes()).unwrap();
    stalled.write_all(&[0, 18, 0]).unwrap();
    drop(stalled);

    let (_, answer) = api_versions(&mut healthy, 3);
    assert_eq!(answer.error_code, 0);
}

#[test]
fn shutdown_closes_connections_and_keeps_the_log_open() {
    let (_dir, log, server) = serve();
    let mut stream = connect(server.addresses()[2]);
    api_versions(&mut stream, 3);
    server.shutdown();
    assert!(closed(&mut stream));
    log.create_topic("after", TopicConfig::new()).unwrap();
}

fn kcat_available() -> bool {
    let found = Command::new("kcat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    // CI installs kcat: there, its absence is a failure, not a skip.
    assert!(
        found || std::env::var_os("CI").is_none(),
        "kcat is not installed"
    );
    found
}

#[test]
fn records_cross_between_tidelog_clients_and_kcat() {
    if !kcat_available() {
        eprintln!("kcat not installed: skipped");
        return;
    }
    let (_dir, log, server) = serve();
    let bootstrap = server.bootstrap_servers();
    log.create_topic("cross", TopicConfig::new().partitions(2))
        .unwrap();
    let producer = log.producer(ProducerConfig::new()).unwrap();
    for i in 0..50 {
        let record = ProducerRecord::new("cross", format!("from-tidelog-{i}")).key(format!("k{i}"));
        producer.send(record).unwrap();
    }
    producer.flush();
    let out = Command::new("kcat")
        .args([
            "-b",
            &bootstrap,
            "-C",
            "-t",
            "cross",
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        .args(["-f", "%k=%s\n"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    let mut expected: Vec<String> = (0..50).map(|i| format!("k{i}=from-tidelog-{i}")).collect();
    expected.sort();
    assert_eq!(lines, expected);

    let mut kcat = Command::new("kcat")
        .args(["-b", &bootstrap, "-P", "-t", "cross", "-K", ":"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = (0..50).map(|i| format!("kk{i}:from-kcat-{i}\n")).collect();
    kcat.stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    assert!(kcat.wait().unwrap().success());
    let records = read_topic(&log, "cross", 100).unwrap();
    let from_kcat: Vec<String> = records
        .iter()
        .map(text)
        .filter(|t| t.starts_with("from-kcat-"))
        .collect();
    assert_eq!(from_kcat.len(), 50);
    let keyed = records
        .iter()
        .filter(|r| r.key().is_some_and(|k| k.starts_with(b"kk")))
        .count();
    assert_eq!(keyed, 50);
}

#[path = "../../fuzz/fuzz_targets/kafka_bodies.rs"]
mod kafka_bodies;

#[test]
fn kafka_request_decode_seeds_replay_without_harm() {
    let (_dir, log, server) = serve();
    log.create_topic("orders", TopicConfig::new()).unwrap();
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/kafka_request_decode");
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        kafka_bodies::kafka_request_decode(server.addresses()[0], &bytes);
        seeds += 1;
    }
    assert!(seeds >= 5, "the corpus has its seeds");
}
