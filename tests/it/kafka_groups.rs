//! Wire groups on a real socket: Kafka's classic protocol (join, the
//! leader's assignment, sync, heartbeat), generation-checked commits, and
//! committed offsets that tidelog's own admin handle sees and that survive
//! a restart of the `Log`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    RequestHeader, ResponseHeader, SyncGroupRequest, SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tidelog::kafka::KafkaServer;
use tidelog::{Log, TopicConfig, TopicPartition};

fn call<Q: Encodable, R: Decodable>(addr: SocketAddr, key: ApiKey, version: i16, body: &Q) -> R {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("groups-test")));
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, key.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    stream.write_all(&(buf.len() as i32).to_be_bytes()).unwrap();
    stream.write_all(&buf).unwrap();
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut reply).unwrap();
    let mut reply = Bytes::from(reply);
    ResponseHeader::decode(&mut reply, key.response_header_version(version)).unwrap();
    R::decode(&mut reply, version).unwrap()
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

fn group() -> GroupId {
    GroupId(s("wire-group"))
}

fn join(addr: SocketAddr, member_id: &str) -> JoinGroupResponse {
    let protocol = JoinGroupRequestProtocol::default()
        .with_name(s("range"))
        .with_metadata(Bytes::from_static(b"subscription"));
    let request = JoinGroupRequest::default()
        .with_group_id(group())
        .with_session_timeout_ms(30_000)
        .with_rebalance_timeout_ms(30_000)
        .with_member_id(s(member_id))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![protocol]);
    call(addr, ApiKey::JoinGroup, 7, &request)
}

fn commit(addr: SocketAddr, member: &str, generation: i32, offset: i64) -> i16 {
    let partition = OffsetCommitRequestPartition::default()
        .with_partition_index(0)
        .with_committed_offset(offset)
        .with_committed_metadata(Some(s("m")));
    let topic = OffsetCommitRequestTopic::default()
        .with_name(TopicName(s("g")))
        .with_partitions(vec![partition]);
    let request = OffsetCommitRequest::default()
        .with_group_id(group())
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![topic]);
    let response: OffsetCommitResponse = call(addr, ApiKey::OffsetCommit, 8, &request);
    response.topics[0].partitions[0].error_code
}

fn committed(addr: SocketAddr) -> i64 {
    let topic = OffsetFetchRequestTopic::default()
        .with_name(TopicName(s("g")))
        .with_partition_indexes(vec![0]);
    let request = OffsetFetchRequest::default()
        .with_group_id(group())
        .with_topics(Some(vec![topic]));
    let response: OffsetFetchResponse = call(addr, ApiKey::OffsetFetch, 7, &request);
    response.topics[0].partitions[0].committed_offset
}

#[test]
fn a_wire_member_joins_syncs_commits_and_its_offsets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(dir.path()).unwrap());
    log.create_topic("g", TopicConfig::new().partitions(1))
        .unwrap();
    let server = KafkaServer::start(Arc::clone(&log), "127.0.0.1").unwrap();
    let addr = server.addresses()[0];

    // Kafka hands out the member id first (JoinGroup v4+), then the member joins.
    let first = join(addr, "");
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED");
    let member = first.member_id.to_string();
    let joined = join(addr, &member);
    assert_eq!(joined.error_code, 0);
    assert_eq!(joined.leader.as_str(), member);
    assert_eq!(joined.members.len(), 1);
    assert_eq!(joined.protocol_name.as_ref().unwrap().as_str(), "range");
    let generation = joined.generation_id;

    let assignment = SyncGroupRequestAssignment::default()
        .with_member_id(s(&member))
        .with_assignment(Bytes::from_static(b"g-0"));
    let sync = SyncGroupRequest::default()
        .with_group_id(group())
        .with_generation_id(generation)
        .with_member_id(s(&member))
        .with_assignments(vec![assignment]);
    let synced: SyncGroupResponse = call(addr, ApiKey::SyncGroup, 5, &sync);
    assert_eq!(synced.error_code, 0);
    assert_eq!(synced.assignment.as_ref(), b"g-0");

    let beat = HeartbeatRequest::default()
        .with_group_id(group())
        .with_generation_id(generation)
        .with_member_id(s(&member));
    let beat: HeartbeatResponse = call(addr, ApiKey::Heartbeat, 4, &beat);
    assert_eq!(beat.error_code, 0);

    assert_eq!(
        commit(addr, &member, generation + 1, 5),
        22,
        "ILLEGAL_GENERATION"
    );
    assert_eq!(
        commit(addr, "stranger", generation, 5),
        25,
        "UNKNOWN_MEMBER_ID"
    );
    assert_eq!(commit(addr, &member, generation, 7), 0);
    assert_eq!(committed(addr), 7);
    let seen = log
        .consumer_group("wire-group")
        .committed(&TopicPartition::new("g", 0))
        .unwrap()
        .unwrap();
    assert_eq!(seen.offset(), 7);

    server.shutdown();
    Arc::try_unwrap(log).ok().unwrap().close().unwrap();
    let log = Arc::new(Log::open(dir.path()).unwrap());
    let server = KafkaServer::start(Arc::clone(&log), "127.0.0.1").unwrap();
    assert_eq!(committed(server.addresses()[1]), 7);
}
