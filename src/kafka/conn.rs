//! One client connection: read a frame, decode it, answer it, in order.
//!
//! Nothing a client sends can panic the server or touch another
//! connection: frames are size-capped before anything is allocated, an
//! unknown API key, an unsupported version (other than ApiVersions, which is
//! answered in version 0 as Kafka does) or undecodable bytes close this
//! connection only, as Kafka closes it.

use std::io::BufReader;
use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::frame::{read_frame, write_frame};
use super::{admin, apis, codes, data, groups, Shared};

/// Kafka's `connections.max.idle.ms` default: a silent client is dropped.
const IDLE: Duration = Duration::from_secs(600);

/// A request's context: the server and the broker the client connected to.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) broker: u32,
}

enum Reply {
    Send(BytesMut),
    /// Produce with acks=0 gets no response at all.
    Nothing,
    Close,
}

pub(crate) fn serve(shared: &Arc<Shared>, broker: u32, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    let ctx = Ctx { shared, broker };
    serve_frames(&ctx, &mut reader, &mut writer);
    // The server keeps a clone of the socket to close it on shutdown, so
    // dropping this one alone would leave the client waiting.
    let _ = writer.shutdown(std::net::Shutdown::Both);
}

fn serve_frames(ctx: &Ctx<'_>, reader: &mut BufReader<TcpStream>, writer: &mut TcpStream) {
    let shared = ctx.shared;
    let broker = ctx.broker;
    loop {
        let Ok(Some(frame)) = read_frame(reader) else {
            return;
        };
        // A killed or stopped broker behaves like a dead process.
        if shared.stopping() || !shared.log.core().broker_serving(broker) {
            return;
        }
        let reply = catch_unwind(AssertUnwindSafe(|| handle(ctx, Bytes::from(frame))))
            .unwrap_or(Reply::Close);
        match reply {
            Reply::Send(bytes) => {
                if write_frame(writer, &bytes).is_err() {
                    return;
                }
            }
            Reply::Nothing => {}
            Reply::Close => return,
        }
    }
}

fn handle(ctx: &Ctx<'_>, frame: Bytes) -> Reply {
    let Some(prefix) = frame.get(..8) else {
        return Reply::Close;
    };
    let key = i16::from_be_bytes([prefix[0], prefix[1]]);
    let version = i16::from_be_bytes([prefix[2], prefix[3]]);
    let correlation_id = i32::from_be_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]);
    let Ok(key) = ApiKey::try_from(key) else {
        return Reply::Close;
    };
    if key == ApiKey::ApiVersions && !apis::supports(key, version) {
        // Answered in version 0, which every client reads, listing what is served.
        let body = ResponseKind::ApiVersions(apis::api_versions(codes::UNSUPPORTED_VERSION));
        return encode(key, 0, correlation_id, &body);
    }
    if !apis::supports(key, version) {
        return Reply::Close;
    }
    let mut buf = frame;
    let Ok(header) = RequestHeader::decode(&mut buf, key.request_header_version(version)) else {
        return Reply::Close;
    };
    let Ok(request) = RequestKind::decode(key, &mut buf, version) else {
        return Reply::Close;
    };
    match dispatch(ctx, &header, request) {
        Answer::Body(body) => encode(key, version, correlation_id, &body),
        Answer::Silent => Reply::Nothing,
        Answer::Refuse => Reply::Close,
    }
}

enum Answer {
    Body(Box<ResponseKind>),
    Silent,
    Refuse,
}

fn dispatch(ctx: &Ctx<'_>, header: &RequestHeader, request: RequestKind) -> Answer {
    let version = header.request_api_version;
    Answer::Body(Box::new(match request {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(apis::api_versions(codes::NONE)),
        RequestKind::Metadata(r) => ResponseKind::Metadata(data::metadata(ctx, r, version)),
        RequestKind::Produce(r) => match data::produce(ctx, r) {
            Some(response) => ResponseKind::Produce(response),
            None => return Answer::Silent,
        },
        RequestKind::Fetch(r) => ResponseKind::Fetch(data::fetch(ctx, &r)),
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(data::list_offsets(ctx, r, version))
        }
        RequestKind::OffsetForLeaderEpoch(r) => {
            ResponseKind::OffsetForLeaderEpoch(data::offset_for_leader_epoch(ctx, r))
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(data::init_producer_id(ctx, &r))
        }
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(groups::find_coordinator(ctx, r, version))
        }
        RequestKind::JoinGroup(r) => {
            ResponseKind::JoinGroup(groups::join(ctx, r, version, client_id(header)))
        }
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(groups::sync(ctx, r)),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(groups::heartbeat(ctx, &r)),
        RequestKind::LeaveGroup(r) => ResponseKind::LeaveGroup(groups::leave(ctx, r, version)),
        RequestKind::OffsetCommit(r) => ResponseKind::OffsetCommit(groups::commit(ctx, r)),
        RequestKind::OffsetFetch(r) => {
            ResponseKind::OffsetFetch(groups::offset_fetch(ctx, r, version))
        }
        RequestKind::DescribeGroups(r) => ResponseKind::DescribeGroups(groups::describe(ctx, r)),
        RequestKind::ListGroups(_) => ResponseKind::ListGroups(groups::list(ctx)),
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(admin::create_topics(ctx, r)),
        RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(admin::delete_topics(ctx, r)),
        RequestKind::DescribeConfigs(r) => {
            ResponseKind::DescribeConfigs(admin::describe_configs(ctx, r))
        }
        // `apis::supports` let through only the keys above.
        _ => return Answer::Refuse,
    }))
}

fn encode(key: ApiKey, version: i16, correlation_id: i32, body: &ResponseKind) -> Reply {
    let mut out = BytesMut::new();
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    if header
        .encode(&mut out, key.response_header_version(version))
        .is_err()
        || body.encode(&mut out, version).is_err()
    {
        return Reply::Close;
    }
    Reply::Send(out)
}

fn client_id(header: &RequestHeader) -> &str {
    header.client_id.as_ref().map_or("", |c| c.as_str())
}
