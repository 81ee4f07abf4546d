//! The group APIs on the wire: FindCoordinator, JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups,
//! ListGroups.
//!
//! Wire groups use Kafka's classic protocol (`group_state`) and are kept
//! apart from tidelog's in-process groups, which assign on the server; both
//! commit to the same `__consumer_offsets`, so a wire group's offsets
//! survive a restart and show in `Log::consumer_group`. Every broker answers
//! as coordinator for every group: they share one process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeGroupsRequest, DescribeGroupsResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListGroupsResponse,
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use parking_lot::{Condvar, Mutex};

use super::codes;
use super::conn::Ctx;
use super::data::{name, str_bytes};
use super::group_state::{GroupState, Member, Phase};
use crate::group::{OffsetAndMetadata, Offsets};
use crate::topic::TopicPartition;

/// Every wire group of one server.
#[derive(Default)]
pub(crate) struct WireGroups {
    groups: Mutex<HashMap<String, Arc<WireGroup>>>,
    next_member: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct WireGroup {
    state: Mutex<GroupState>,
    changed: Condvar,
}

impl WireGroups {
    fn group(&self, id: &str) -> Arc<WireGroup> {
        Arc::clone(self.groups.lock().entry(id.to_string()).or_default())
    }

    fn existing(&self, id: &str) -> Option<Arc<WireGroup>> {
        self.groups.lock().get(id).cloned()
    }

    /// Wakes every request waiting for a round (the server is stopping).
    pub(crate) fn wake_all(&self) {
        for group in self.groups.lock().values() {
            // Taking the state lock orders the wake-up after any waiter's check.
            let _state = group.state.lock();
            group.changed.notify_all();
        }
    }

    fn new_member_id(&self, client_id: &str) -> String {
        let n = self
            .next_member
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{client_id}-{n}")
    }
}

fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

pub(crate) fn find_coordinator(
    ctx: &Ctx<'_>,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let port = ctx
        .shared
        .addrs
        .get(ctx.broker as usize)
        .map_or(0, |a| i32::from(a.port()));
    let node = BrokerId(i32::try_from(ctx.broker).unwrap_or(-1));
    let host = str_bytes(&ctx.shared.host);
    if version >= 4 {
        let coordinators = request
            .coordinator_keys
            .into_iter()
            .map(|key| {
                Coordinator::default()
                    .with_key(key)
                    .with_node_id(node)
                    .with_host(host.clone())
                    .with_port(port)
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    FindCoordinatorResponse::default()
        .with_node_id(node)
        .with_host(host)
        .with_port(port)
}

pub(crate) fn join(
    ctx: &Ctx<'_>,
    request: JoinGroupRequest,
    version: i16,
    client_id: &str,
) -> JoinGroupResponse {
    let response = JoinGroupResponse::default().with_generation_id(-1);
    let group_id = request.group_id.0.as_str().to_string();
    if group_id.is_empty() {
        return response.with_error_code(codes::INVALID_GROUP_ID);
    }
    let group = ctx.shared.groups.group(&group_id);
    let mut state = group.state.lock();
    let now = Instant::now();
    state.expire(now);
    let mut member_id = request.member_id.as_str().to_string();
    if member_id.is_empty() {
        member_id = ctx.shared.groups.new_member_id(client_id);
        if version >= 4 {
            // Kafka hands out the id first; the member joins again with it.
            state.pending_ids.push(member_id.clone());
            return response
                .with_error_code(codes::MEMBER_ID_REQUIRED)
                .with_member_id(str_bytes(&member_id));
        }
    } else if !state.members.contains_key(&member_id) && !state.pending_ids.contains(&member_id) {
        return response
            .with_error_code(codes::UNKNOWN_MEMBER_ID)
            .with_member_id(request.member_id);
    }
    let protocol_type = request.protocol_type.as_str().to_string();
    if !state.members.is_empty() && state.protocol_type != protocol_type {
        return response.with_error_code(codes::INCONSISTENT_GROUP_PROTOCOL);
    }
    state.protocol_type = protocol_type;
    let session_timeout = millis(request.session_timeout_ms);
    let member = Member {
        client_id: client_id.to_string(),
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (p.name.as_str().to_string(), p.metadata))
            .collect(),
        session_timeout,
        rebalance_timeout: if version >= 1 {
            millis(request.rebalance_timeout_ms)
        } else {
            session_timeout
        },
        last_seen: now,
        joined: true,
        assignment: bytes::Bytes::new(),
    };
    let round = state.join(&member_id, member, now);
    group.changed.notify_all();
    while state.rounds <= round && !ctx.shared.stopping() {
        let deadline = state
            .join_deadline
            .unwrap_or_else(|| now + Duration::from_secs(1));
        group.changed.wait_until(&mut state, deadline);
        state.expire(Instant::now());
        group.changed.notify_all();
    }
    if !state.members.contains_key(&member_id) {
        return response
            .with_error_code(codes::UNKNOWN_MEMBER_ID)
            .with_member_id(str_bytes(&member_id));
    }
    let protocol = state.protocol.clone().unwrap_or_default();
    let leader = state.leader.clone().unwrap_or_default();
    let members = if leader == member_id {
        state
            .members
            .iter()
            .map(|(id, m)| {
                JoinGroupResponseMember::default()
                    .with_member_id(str_bytes(id))
                    .with_metadata(m.metadata_for(&protocol))
            })
            .collect()
    } else {
        Vec::new()
    };
    let error = if state.protocol.is_none() {
        codes::INCONSISTENT_GROUP_PROTOCOL
    } else {
        codes::NONE
    };
    response
        .with_error_code(error)
        .with_generation_id(state.generation)
        .with_protocol_type(Some(str_bytes(&state.protocol_type)))
        .with_protocol_name(Some(str_bytes(&protocol)))
        .with_leader(str_bytes(&leader))
        .with_member_id(str_bytes(&member_id))
        .with_members(members)
}

pub(crate) fn sync(ctx: &Ctx<'_>, request: SyncGroupRequest) -> SyncGroupResponse {
    let response = SyncGroupResponse::default();
    let Some(group) = ctx.shared.groups.existing(request.group_id.0.as_str()) else {
        return response.with_error_code(codes::UNKNOWN_MEMBER_ID);
    };
    let member_id = request.member_id.as_str().to_string();
    let mut state = group.state.lock();
    state.expire(Instant::now());
    if let Err(code) = state.check_member(&member_id, request.generation_id) {
        return response.with_error_code(code);
    }
    if state.phase == Phase::PreparingRebalance {
        return response.with_error_code(codes::REBALANCE_IN_PROGRESS);
    }
    if state.leader.as_deref() == Some(member_id.as_str())
        && state.phase == Phase::CompletingRebalance
    {
        let assignments = request
            .assignments
            .into_iter()
            .map(|a| (a.member_id.as_str().to_string(), a.assignment))
            .collect();
        state.assign(assignments);
        group.changed.notify_all();
    }
    let generation = request.generation_id;
    let wait = state
        .members
        .get(&member_id)
        .map_or(Duration::ZERO, |m| m.rebalance_timeout);
    let deadline = Instant::now() + wait;
    while state.phase == Phase::CompletingRebalance && state.generation == generation {
        if group.changed.wait_until(&mut state, deadline).timed_out() || ctx.shared.stopping() {
            break;
        }
    }
    if state.phase != Phase::Stable || state.generation != generation {
        return response.with_error_code(codes::REBALANCE_IN_PROGRESS);
    }
    let protocol = state.protocol.clone().unwrap_or_default();
    let protocol_type = state.protocol_type.clone();
    let Some(member) = state.members.get_mut(&member_id) else {
        return response.with_error_code(codes::UNKNOWN_MEMBER_ID);
    };
    member.last_seen = Instant::now();
    response
        .with_protocol_type(Some(str_bytes(&protocol_type)))
        .with_protocol_name(Some(str_bytes(&protocol)))
        .with_assignment(member.assignment.clone())
}

pub(crate) fn heartbeat(ctx: &Ctx<'_>, request: &HeartbeatRequest) -> HeartbeatResponse {
    let response = HeartbeatResponse::default();
    let Some(group) = ctx.shared.groups.existing(request.group_id.0.as_str()) else {
        return response.with_error_code(codes::UNKNOWN_MEMBER_ID);
    };
    let mut state = group.state.lock();
    let now = Instant::now();
    state.expire(now);
    group.changed.notify_all();
    let member_id = request.member_id.as_str();
    if let Err(code) = state.check_member(member_id, request.generation_id) {
        return response.with_error_code(code);
    }
    if let Some(member) = state.members.get_mut(member_id) {
        member.last_seen = now;
    }
    if state.phase == Phase::PreparingRebalance {
        return response.with_error_code(codes::REBALANCE_IN_PROGRESS);
    }
    response
}

pub(crate) fn leave(ctx: &Ctx<'_>, request: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let group = ctx.shared.groups.existing(request.group_id.0.as_str());
    let ids: Vec<StrBytes> = if version >= 3 {
        request.members.into_iter().map(|m| m.member_id).collect()
    } else {
        vec![request.member_id]
    };
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let left = group.as_ref().is_some_and(|g| {
            let left = g.state.lock().leave(id.as_str(), Instant::now());
            g.changed.notify_all();
            left
        });
        let code = if left {
            codes::NONE
        } else {
            codes::UNKNOWN_MEMBER_ID
        };
        results.push(
            MemberResponse::default()
                .with_member_id(id)
                .with_error_code(code),
        );
    }
    if version >= 3 {
        return LeaveGroupResponse::default().with_members(results);
    }
    // Versions 0-2 carry one top-level error and no member list.
    let code = results.first().map_or(codes::NONE, |r| r.error_code);
    LeaveGroupResponse::default().with_error_code(code)
}

pub(crate) fn commit(ctx: &Ctx<'_>, request: OffsetCommitRequest) -> OffsetCommitResponse {
    let group_id = request.group_id.0.as_str().to_string();
    let refusal = check_commit(ctx, &group_id, &request);
    let mut offsets = Offsets::new();
    for topic in &request.topics {
        for p in &topic.partitions {
            let (Ok(partition), Ok(offset)) = (
                u32::try_from(p.partition_index),
                u64::try_from(p.committed_offset),
            ) else {
                continue;
            };
            let metadata = p.committed_metadata.as_ref().map_or("", |m| m.as_str());
            offsets.insert(
                TopicPartition::new(topic.name.0.as_str(), partition),
                OffsetAndMetadata::new(offset).with_metadata(metadata),
            );
        }
    }
    let outcome = match refusal {
        Some(code) => code,
        None => match ctx
            .shared
            .log
            .groups()
            .group(&group_id)
            .admin_commit(&offsets)
        {
            Ok(()) => codes::NONE,
            Err(e) => codes::of(&e),
        },
    };
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let code = if p.partition_index < 0 || p.committed_offset < 0 {
                        codes::OFFSET_OUT_OF_RANGE
                    } else {
                        outcome
                    };
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// Members of a wire group commit with their generation; a commit without
/// one (a consumer that assigns itself) is stored as is.
fn check_commit(ctx: &Ctx<'_>, group_id: &str, request: &OffsetCommitRequest) -> Option<i16> {
    if group_id.is_empty() {
        return Some(codes::INVALID_GROUP_ID);
    }
    if request.generation_id_or_member_epoch < 0 && request.member_id.is_empty() {
        return None;
    }
    let group = ctx.shared.groups.existing(group_id)?;
    let state = group.state.lock();
    if let Err(code) = state.check_member(
        request.member_id.as_str(),
        request.generation_id_or_member_epoch,
    ) {
        return Some(code);
    }
    // Kafka accepts commits while a rebalance is being prepared, and
    // refuses them only while the new assignment is pending.
    (state.phase == Phase::CompletingRebalance).then_some(codes::REBALANCE_IN_PROGRESS)
}

pub(crate) fn offset_fetch(
    ctx: &Ctx<'_>,
    request: OffsetFetchRequest,
    _version: i16,
) -> OffsetFetchResponse {
    let group_id = request.group_id.0.as_str();
    let groups = ctx.shared.log.groups();
    let all = match groups.offsets().group_offsets(group_id) {
        Ok(all) => all,
        Err(e) => return OffsetFetchResponse::default().with_error_code(codes::of(&e)),
    };
    let wanted: Vec<(String, Vec<i32>)> = match request.topics {
        Some(topics) => topics
            .into_iter()
            .map(|t| (t.name.0.as_str().to_string(), t.partition_indexes))
            .collect(),
        None => {
            let mut by_topic: Vec<(String, Vec<i32>)> = Vec::new();
            for tp in all.keys() {
                let index = i32::try_from(tp.partition()).unwrap_or(i32::MAX);
                match by_topic.iter_mut().find(|(t, _)| t == tp.topic()) {
                    Some((_, v)) => v.push(index),
                    None => by_topic.push((tp.topic().to_string(), vec![index])),
                }
            }
            by_topic
        }
    };
    let topics = wanted
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|index| {
                    let committed = u32::try_from(index)
                        .ok()
                        .and_then(|p| all.get(&TopicPartition::new(&topic, p)));
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(index)
                        .with_committed_offset(
                            committed.map_or(-1, |c| i64::try_from(c.offset()).unwrap_or(i64::MAX)),
                        )
                        .with_committed_leader_epoch(-1)
                        .with_metadata(Some(str_bytes(committed.map_or("", |c| c.metadata()))))
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(name(&topic))
                .with_partitions(partitions)
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics)
}

pub(crate) fn describe(ctx: &Ctx<'_>, request: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .into_iter()
        .map(|id| {
            let described = DescribedGroup::default().with_group_id(id.clone());
            let Some(group) = ctx.shared.groups.existing(id.0.as_str()) else {
                return described.with_group_state(str_bytes("Dead"));
            };
            let mut state = group.state.lock();
            state.expire(Instant::now());
            let protocol = state.protocol.clone().unwrap_or_default();
            let members = state
                .members
                .iter()
                .map(|(member_id, m)| {
                    DescribedGroupMember::default()
                        .with_member_id(str_bytes(member_id))
                        .with_client_id(str_bytes(&m.client_id))
                        .with_client_host(str_bytes(&ctx.shared.host))
                        .with_member_metadata(m.metadata_for(&protocol))
                        .with_member_assignment(m.assignment.clone())
                })
                .collect();
            described
                .with_group_state(str_bytes(state.phase.name()))
                .with_protocol_type(str_bytes(&state.protocol_type))
                .with_protocol_data(str_bytes(&protocol))
                .with_members(members)
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

pub(crate) fn list(ctx: &Ctx<'_>) -> ListGroupsResponse {
    let mut names: Vec<(String, String)> = ctx
        .shared
        .groups
        .groups
        .lock()
        .iter()
        .map(|(id, g)| (id.clone(), g.state.lock().phase.name().to_string()))
        .collect();
    if let Ok(tidelog_groups) = ctx.shared.log.groups().list() {
        for id in tidelog_groups {
            if !names.iter().any(|(n, _)| *n == id) {
                names.push((id, "Empty".to_string()));
            }
        }
    }
    let groups = names
        .into_iter()
        .map(|(id, state)| {
            ListedGroup::default()
                .with_group_id(GroupId(str_bytes(&id)))
                .with_protocol_type(str_bytes("consumer"))
                .with_group_state(str_bytes(&state))
                .with_group_type(str_bytes("classic"))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
