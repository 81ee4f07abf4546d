//! The role a replica holds (leader, follower, neither) and how a partition
//! state recorded by the controller changes it.

use super::follower::FollowerState;
use super::leader::{BrokerId, LeaderState};
use super::metadata::PartitionState;

/// What one replica does for its partition.
pub(crate) enum Role<T> {
    /// Not leading, and no leader to follow (offline, or not yet told).
    Idle,
    Leader(LeaderState<T>),
    Follower(FollowerState),
}

/// What a replica must do to take the role a partition state gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Still leading in the same epoch: take the recorded ISR.
    SetIsr,
    /// Start leading in the state's epoch (resigning what it held).
    Lead,
    /// Already following that leader in that epoch.
    Stay,
    /// Follow `leader` in `leader_epoch` (resigning what it held).
    Follow { leader: BrokerId, leader_epoch: i32 },
    /// No leader: resign and wait.
    Idle,
}

impl<T> Role<T> {
    /// How replica `me` moves from this role to the one `state` records.
    pub(crate) fn transition(&self, me: BrokerId, state: &PartitionState) -> Transition {
        let epoch = state.leader_epoch;
        match (self, state.leader) {
            (Role::Leader(ls), Some(l)) if l == me && ls.leader_epoch() == epoch => {
                Transition::SetIsr
            }
            (_, Some(l)) if l == me => Transition::Lead,
            (Role::Follower(f), Some(l)) if f.follows(l, epoch) => Transition::Stay,
            (_, Some(leader)) => Transition::Follow {
                leader,
                leader_epoch: epoch,
            },
            (_, None) => Transition::Idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(leader: Option<BrokerId>, leader_epoch: i32) -> PartitionState {
        PartitionState {
            leader,
            isr: vec![0, 1, 2],
            replicas: vec![0, 1, 2],
            leader_epoch,
            partition_epoch: leader_epoch,
        }
    }

    #[test]
    fn transitions_follow_the_recorded_leader_and_epoch() {
        let idle = Role::<()>::Idle;
        assert_eq!(idle.transition(0, &state(Some(0), 1)), Transition::Lead);
        assert_eq!(idle.transition(0, &state(None, 1)), Transition::Idle);
        let following = Role::<()>::Follower(FollowerState::new(1, 3));
        assert_eq!(
            following.transition(0, &state(Some(1), 3)),
            Transition::Stay
        );
        assert_eq!(
            following.transition(0, &state(Some(1), 4)),
            Transition::Follow {
                leader: 1,
                leader_epoch: 4
            }
        );
        assert_eq!(
            following.transition(0, &state(Some(0), 4)),
            Transition::Lead
        );
    }
}
