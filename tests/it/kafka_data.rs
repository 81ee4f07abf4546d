//! The listener's data path on a real socket: acks=0 gets no response,
//! Fetch long-polls until an append wakes it, a retried idempotent batch
//! is not stored twice, compressed batches are stored as sent, and
//! undecodable batches and requests to a follower are refused with Kafka's
//! codes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FetchResponse, ProduceRequest, ProduceResponse, RequestHeader,
    ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tidelog::inspect::{decode_batches, encode_batch, encode_compressed_batch};
use tidelog::kafka::KafkaServer;
use tidelog::{Compression, Log, ProducerConfig, ProducerRecord, TopicConfig};

struct Wire {
    _dir: tempfile::TempDir,
    log: Arc<Log>,
    server: KafkaServer,
}

fn serve(topic: &str) -> Wire {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(dir.path()).unwrap());
    log.create_topic(topic, TopicConfig::new().partitions(1))
        .unwrap();
    let server = KafkaServer::start(Arc::clone(&log), "127.0.0.1").unwrap();
    Wire {
        _dir: dir,
        log,
        server,
    }
}

impl Wire {
    /// A connection to the leader of partition 0 of `topic`, or to a follower.
    fn connect(&self, topic: &str, to_leader: bool) -> TcpStream {
        let leader = self
            .log
            .cluster()
            .partition(topic, 0)
            .unwrap()
            .leader()
            .unwrap() as usize;
        let broker = if to_leader { leader } else { (leader + 1) % 3 };
        let stream = TcpStream::connect(self.server.addresses()[broker]).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
    }
}

fn send<T: Encodable>(stream: &mut TcpStream, key: ApiKey, version: i16, id: i32, body: &T) {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(id)
        .with_client_id(Some(StrBytes::from_static_str("data-test")));
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, key.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    stream.write_all(&(buf.len() as i32).to_be_bytes()).unwrap();
    stream.write_all(&buf).unwrap();
}

fn receive<T: Decodable>(stream: &mut TcpStream, key: ApiKey, version: i16) -> (i32, T) {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).unwrap();
    let mut body = Bytes::from(body);
    let header = ResponseHeader::decode(&mut body, key.response_header_version(version)).unwrap();
    (
        header.correlation_id,
        T::decode(&mut body, version).unwrap(),
    )
}

fn produce_request(topic: &str, acks: i16, batch: Bytes) -> ProduceRequest {
    let partition = PartitionProduceData::default()
        .with_index(0)
        .with_records(Some(batch));
    let topic = TopicProduceData::default()
        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partition_data(vec![partition]);
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![topic])
}

fn produce(stream: &mut TcpStream, topic: &str, batch: Bytes) -> (i16, i64) {
    send(
        stream,
        ApiKey::Produce,
        9,
        1,
        &produce_request(topic, -1, batch),
    );
    let (_, response): (_, ProduceResponse) = receive(stream, ApiKey::Produce, 9);
    let partition = &response.responses[0].partition_responses[0];
    (partition.error_code, partition.base_offset)
}

fn batch(values: &[&str]) -> Vec<u8> {
    let records: Vec<_> = values
        .iter()
        .map(|v| ProducerRecord::new("t", v.to_string()))
        .collect();
    encode_batch(&records).to_vec()
}

/// Stamps an idempotent producer's identity and fixes the CRC (CRC-32C
/// over everything after the CRC field, as Kafka computes it).
fn stamp_producer(batch: &mut [u8], producer_id: i64, sequence: i32) {
    batch[43..51].copy_from_slice(&producer_id.to_be_bytes());
    batch[51..53].copy_from_slice(&0i16.to_be_bytes());
    batch[53..57].copy_from_slice(&sequence.to_be_bytes());
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn acks_0_gets_no_response_and_the_record_is_stored() {
    let wire = serve("fire");
    let mut stream = wire.connect("fire", true);
    let request = produce_request("fire", 0, Bytes::from(batch(&["a"])));
    send(&mut stream, ApiKey::Produce, 9, 1, &request);
    // The next answer on the connection belongs to the next request.
    let (error, offset) = {
        send(
            &mut stream,
            ApiKey::Produce,
            9,
            2,
            &produce_request("fire", -1, Bytes::from(batch(&["b"]))),
        );
        let (id, response): (_, ProduceResponse) = receive(&mut stream, ApiKey::Produce, 9);
        assert_eq!(id, 2);
        let p = &response.responses[0].partition_responses[0];
        (p.error_code, p.base_offset)
    };
    assert_eq!((error, offset), (0, 1));
}

#[test]
fn a_retried_idempotent_batch_is_stored_once() {
    let wire = serve("idem");
    let mut stream = wire.connect("idem", true);
    let mut first = batch(&["a", "b"]);
    stamp_producer(&mut first, 4242, 0);
    assert_eq!(
        produce(&mut stream, "idem", Bytes::from(first.clone())),
        (0, 0)
    );
    assert_eq!(produce(&mut stream, "idem", Bytes::from(first)), (0, 0));
    let mut gap = batch(&["c"]);
    stamp_producer(&mut gap, 4242, 5);
    assert_eq!(
        produce(&mut stream, "idem", Bytes::from(gap)).0,
        45,
        "OUT_OF_ORDER_SEQUENCE_NUMBER"
    );
    let mut next = batch(&["c"]);
    stamp_producer(&mut next, 4242, 2);
    assert_eq!(produce(&mut stream, "idem", Bytes::from(next)), (0, 2));
}

#[test]
fn undecodable_batches_and_followers_are_refused_with_kafkas_codes() {
    let wire = serve("refuse");
    let mut leader = wire.connect("refuse", true);
    // Codec bits naming gzip over records that are not gzip data: the
    // records do not decode, so the batch is refused, not stored.
    let mut not_gzip = batch(&["a"]);
    not_gzip[22] |= 1;
    let crc = crc32c::crc32c(&not_gzip[21..]);
    not_gzip[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        produce(&mut leader, "refuse", Bytes::from(not_gzip)).0,
        2,
        "CORRUPT_MESSAGE"
    );
    let mut damaged = batch(&["a"]);
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    assert_eq!(
        produce(&mut leader, "refuse", Bytes::from(damaged)).0,
        2,
        "CORRUPT_MESSAGE"
    );
    let mut follower = wire.connect("refuse", false);
    assert_eq!(
        produce(&mut follower, "refuse", Bytes::from(batch(&["a"]))).0,
        6
    );
}

fn fetch_request(topic: &str, offset: i64, max_wait_ms: i32) -> FetchRequest {
    let partition = FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(1 << 20);
    let topic = FetchTopic::default()
        .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partitions(vec![partition]);
    FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![topic])
}

#[test]
fn a_waiting_fetch_is_woken_by_an_append_and_returns_stored_bytes() {
    let wire = serve("poll");
    let mut stream = wire.connect("poll", true);
    // Far longer than the test may take: only the append can end the wait.
    send(
        &mut stream,
        ApiKey::Fetch,
        11,
        9,
        &fetch_request("poll", 0, 600_000),
    );
    let producer = wire.log.producer(ProducerConfig::new()).unwrap();
    producer
        .send_sync(ProducerRecord::new("poll", "wake").key("k"))
        .unwrap();
    let (id, response): (_, FetchResponse) = receive(&mut stream, ApiKey::Fetch, 11);
    assert_eq!(id, 9);
    let partition = &response.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    assert_eq!(partition.high_watermark, 1);
    let records = partition.records.clone().unwrap();
    let batches = decode_batches(&records).unwrap();
    assert_eq!(batches[0].records()[0].value().unwrap(), b"wake");
    // Out of range is Kafka's OFFSET_OUT_OF_RANGE.
    send(
        &mut stream,
        ApiKey::Fetch,
        11,
        10,
        &fetch_request("poll", 99, 0),
    );
    let (_, response): (_, FetchResponse) = receive(&mut stream, ApiKey::Fetch, 11);
    assert_eq!(response.responses[0].partitions[0].error_code, 1);
}

#[test]
fn shutdown_ends_a_waiting_fetch() {
    let wire = serve("stop");
    let mut stream = wire.connect("stop", true);
    send(
        &mut stream,
        ApiKey::Fetch,
        11,
        3,
        &fetch_request("stop", 0, 600_000),
    );
    // Returns only once the connection thread is joined: without the
    // wake-up it would sit out the client's ten-minute wait.
    wire.server.shutdown();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}

#[test]
fn a_compressed_batch_is_stored_as_sent_and_served_byte_for_byte() {
    let wire = serve("zipped");
    let mut stream = wire.connect("zipped", true);
    let records: Vec<_> = (0..50)
        .map(|i| ProducerRecord::new("t", format!("{{\"order\":{i},\"state\":\"new\"}}")))
        .collect();
    for codec in Compression::ALL {
        if codec == Compression::None {
            continue;
        }
        let sent = encode_compressed_batch(&records, codec);
        let (code, base) = produce(&mut stream, "zipped", sent.clone());
        assert_eq!(code, 0, "{codec:?} accepted");
        send(
            &mut stream,
            ApiKey::Fetch,
            11,
            1,
            &fetch_request("zipped", base, 0),
        );
        let (_, response): (_, FetchResponse) = receive(&mut stream, ApiKey::Fetch, 11);
        let stored = response.responses[0].partitions[0].records.clone().unwrap();
        // Only the base offset (bytes 0..8) and the leader epoch (12..16)
        // are the leader's; everything else is what the client sent.
        assert_eq!(stored[8..12], sent[8..12]);
        assert_eq!(
            stored[16..sent.len()],
            sent[16..],
            "{codec:?} stored as sent"
        );
        let batch = &decode_batches(&stored[..sent.len()]).unwrap()[0];
        assert_eq!(batch.compression(), codec);
        assert_eq!(
            batch.records()[49].value().unwrap(),
            b"{\"order\":49,\"state\":\"new\"}"
        );
    }
}

#[test]
fn describe_configs_reports_every_topic_key_with_its_source() {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
    let wire = serve("configs");
    let topic = wire.log.topic("configs").unwrap();
    topic
        .alter_config([tidelog::ConfigChange::set("retention.ms", "60000")])
        .unwrap();
    let mut stream = wire.connect("configs", true);
    let resource = DescribeConfigsResource::default()
        .with_resource_type(2)
        .with_resource_name(StrBytes::from_static_str("configs"))
        .with_configuration_keys(None);
    let request = DescribeConfigsRequest::default().with_resources(vec![resource]);
    send(&mut stream, ApiKey::DescribeConfigs, 4, 3, &request);
    let (_, response): (_, DescribeConfigsResponse) =
        receive(&mut stream, ApiKey::DescribeConfigs, 4);
    let result = &response.results[0];
    assert_eq!(result.error_code, 0);
    let entry = |name: &str| {
        result
            .configs
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("{name} is described"))
    };
    let retention = entry("retention.ms");
    assert_eq!(retention.value.as_ref().unwrap().as_str(), "60000");
    assert_eq!(retention.config_source, 1, "DYNAMIC_TOPIC_CONFIG");
    assert_eq!(entry("segment.bytes").config_source, 5, "DEFAULT_CONFIG");
}
