//! Leader-side state of one partition: follower progress, ISR, high watermark
//! and the `acks=all` requests waiting for it.
//!
//! A pure state machine: the broker feeds it appends, follower fetches and
//! clock ticks, and acts on what it returns (ISR updates to persist, waiting
//! requests to complete). Nothing here sleeps, locks or touches a file, so the
//! rules are unit-tested with a fake clock.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::metadata::PartitionState;

/// Broker ids are small integers, as in Kafka.
pub(crate) type BrokerId = u32;

/// What a follower has told the leader through its fetches.
#[derive(Debug, Clone, Copy)]
struct Follower {
    /// Next offset the follower will fetch = its log end offset.
    leo: u64,
    /// Last time the follower was known to hold everything the leader had.
    last_caught_up: Instant,
    /// Leader log end offset and time at the follower's previous fetch.
    last_fetch_leader_leo: u64,
    last_fetch: Instant,
}

/// How a waiting `acks=all` request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    /// The high watermark passed the batch: every in-sync replica has it.
    Committed,
    /// The ISR fell below `min.insync.replicas` while it waited.
    NotEnoughReplicasAfterAppend,
    /// The request timeout ran out first.
    TimedOut,
    /// This replica stopped leading; the batch may or may not survive.
    LeadershipLost,
}

/// A request released from the wait queue, with why.
#[derive(Debug)]
pub(crate) struct Completed<T> {
    pub(crate) token: T,
    pub(crate) outcome: AckOutcome,
}

/// What one event changed; the caller persists the ISR and completes tokens.
#[derive(Debug)]
pub(crate) struct Progress<T> {
    /// New high watermark, when it moved.
    pub(crate) high_watermark: Option<u64>,
    /// An ISR change to propose to the controller. It takes effect only
    /// through [`LeaderState::set_isr`] once the controller accepted it, so a
    /// leader cut off from the controller never acts on an ISR it alone chose.
    pub(crate) isr: Option<Vec<BrokerId>>,
    pub(crate) completed: Vec<Completed<T>>,
}

impl<T> Default for Progress<T> {
    fn default() -> Self {
        Progress {
            high_watermark: None,
            isr: None,
            completed: Vec::new(),
        }
    }
}

struct Waiting<T> {
    /// The request is done when the high watermark exceeds this offset.
    last_offset: u64,
    deadline: Instant,
    token: T,
}

/// Leader state of one partition replica.
pub(crate) struct LeaderState<T> {
    local: BrokerId,
    leader_epoch: i32,
    /// The partition epoch of the ISR below: proposals name it, so the
    /// controller can refuse one computed against an ISR it since replaced.
    partition_epoch: i32,
    /// Log end offset when this leadership began (Kafka's epoch start offset).
    epoch_start_offset: u64,
    followers: BTreeMap<BrokerId, Follower>,
    /// Leader first, then followers, each at most once: the ISR as the
    /// controller recorded it.
    isr: Vec<BrokerId>,
    /// Followers proposed to rejoin but not yet recorded. They count for
    /// the high watermark at once (Kafka's "maximal ISR"): the controller
    /// may record them, and then elect them, before we hear back, so nothing
    /// may commit without them meanwhile.
    joining: Vec<BrokerId>,
    leo: u64,
    high_watermark: u64,
    min_insync: usize,
    lag_time_max: Duration,
    /// Ordered by `last_offset`, since appends are.
    waiting: VecDeque<Waiting<T>>,
}

impl<T> LeaderState<T> {
    /// Leadership of `state`'s epoch starting on `local` with the log at `leo`.
    ///
    /// Followers in the ISR start as caught up "now" (they were in sync under
    /// the previous leader); their log end offsets are unknown until they fetch.
    pub(crate) fn new(
        local: BrokerId,
        state: &PartitionState,
        leo: u64,
        high_watermark: u64,
        min_insync: usize,
        lag_time_max: Duration,
        now: Instant,
    ) -> Self {
        let followers = state
            .replicas
            .iter()
            .filter(|&&id| id != local)
            .map(|&id| {
                let follower = Follower {
                    leo: 0,
                    last_caught_up: now,
                    last_fetch_leader_leo: 0,
                    last_fetch: now,
                };
                (id, follower)
            })
            .collect();
        let mut in_sync = vec![local];
        in_sync.extend(state.isr.iter().copied().filter(|&id| id != local));
        in_sync.dedup();
        LeaderState {
            local,
            leader_epoch: state.leader_epoch,
            partition_epoch: state.partition_epoch,
            epoch_start_offset: leo,
            followers,
            isr: in_sync,
            joining: Vec::new(),
            leo,
            high_watermark: high_watermark.min(leo),
            min_insync,
            lag_time_max,
            waiting: VecDeque::new(),
        }
    }

    pub(crate) fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    /// The partition epoch the ISR was recorded in; ISR proposals carry it.
    pub(crate) fn partition_epoch(&self) -> i32 {
        self.partition_epoch
    }

    pub(crate) fn isr(&self) -> &[BrokerId] {
        &self.isr
    }

    /// Every other replica of the partition, in sync or not: the brokers
    /// that fetch what this leader appends.
    pub(crate) fn followers(&self) -> impl Iterator<Item = BrokerId> + '_ {
        self.followers.keys().copied()
    }

    #[cfg(test)]
    pub(crate) fn high_watermark(&self) -> u64 {
        self.high_watermark
    }

    pub(crate) fn min_insync(&self) -> usize {
        self.min_insync
    }

    /// The topic's `min.insync.replicas` changed: recomputes the high
    /// watermark with it (a lower minimum may commit what was waiting).
    pub(crate) fn set_min_insync(&mut self, min_insync: usize) -> Progress<T> {
        self.min_insync = min_insync;
        let mut progress = Progress::default();
        self.advance(&mut progress);
        progress
    }

    /// Whether an `acks=all` write may be accepted now (Kafka checks before appending).
    pub(crate) fn enough_replicas(&self) -> bool {
        self.isr.len() >= self.min_insync
    }

    /// The leader appended: its log now ends at `leo`.
    pub(crate) fn on_append(&mut self, leo: u64) -> Progress<T> {
        self.leo = self.leo.max(leo);
        let mut progress = Progress::default();
        self.advance(&mut progress);
        progress
    }

    /// Parks an `acks=all` request until the high watermark passes `last_offset`.
    pub(crate) fn wait_for(
        &mut self,
        last_offset: u64,
        deadline: Instant,
        token: T,
    ) -> Progress<T> {
        let mut progress = Progress::default();
        if self.high_watermark > last_offset {
            progress.completed.push(Completed {
                token,
                outcome: AckOutcome::Committed,
            });
            return progress;
        }
        let at = self
            .waiting
            .iter()
            .rposition(|w| w.last_offset <= last_offset)
            .map_or(0, |i| i + 1);
        self.waiting.insert(
            at,
            Waiting {
                last_offset,
                deadline,
                token,
            },
        );
        progress
    }

    /// A follower fetched from `fetch_offset`, so it holds everything below it.
    pub(crate) fn on_fetch(
        &mut self,
        id: BrokerId,
        fetch_offset: u64,
        now: Instant,
    ) -> Progress<T> {
        let mut progress = Progress::default();
        let leader_leo = self.leo;
        let Some(f) = self.followers.get_mut(&id) else {
            return progress;
        };
        // Kafka's rule: caught up now if it reached our end; caught up as of
        // its previous fetch if it reached what we had back then.
        if fetch_offset >= leader_leo {
            f.last_caught_up = now;
        } else if fetch_offset >= f.last_fetch_leader_leo {
            f.last_caught_up = f.last_caught_up.max(f.last_fetch);
        }
        f.leo = fetch_offset.min(leader_leo);
        f.last_fetch_leader_leo = leader_leo;
        f.last_fetch = now;
        let rejoins = !self.isr.contains(&id)
            && f.leo >= self.high_watermark
            && f.leo >= self.epoch_start_offset;
        if rejoins {
            if !self.joining.contains(&id) {
                self.joining.push(id);
            }
            let mut isr = self.isr.clone();
            isr.extend(self.joining.iter().copied());
            progress.isr = Some(isr);
        }
        self.advance(&mut progress);
        progress
    }

    /// Drops lagging followers from the ISR and expires timed-out requests.
    pub(crate) fn tick(&mut self, now: Instant) -> Progress<T> {
        let mut progress = Progress::default();
        let lagging: Vec<BrokerId> = self
            .isr
            .iter()
            .copied()
            .filter(|id| {
                self.followers.get(id).is_some_and(|f| {
                    f.leo < self.leo
                        && now.saturating_duration_since(f.last_caught_up) > self.lag_time_max
                })
            })
            .collect();
        if !lagging.is_empty() {
            let isr = self.isr.iter().copied().filter(|id| !lagging.contains(id));
            progress.isr = Some(isr.collect());
        }
        let mut kept = VecDeque::with_capacity(self.waiting.len());
        for w in self.waiting.drain(..) {
            if w.deadline <= now {
                progress.completed.push(Completed {
                    token: w.token,
                    outcome: AckOutcome::TimedOut,
                });
            } else {
                kept.push_back(w);
            }
        }
        self.waiting = kept;
        self.advance(&mut progress);
        progress
    }

    /// The controller recorded a new ISR (an accepted proposal, or a dead
    /// follower fenced) in `state`.
    pub(crate) fn set_isr(&mut self, state: &PartitionState, now: Instant) -> Progress<T> {
        self.partition_epoch = state.partition_epoch;
        let mut in_sync = vec![self.local];
        for &id in &state.isr {
            if id != self.local && !in_sync.contains(&id) {
                in_sync.push(id);
                if let Some(f) = self.followers.get_mut(&id) {
                    f.last_caught_up = f.last_caught_up.max(now);
                }
            }
        }
        self.isr = in_sync;
        self.joining.clear();
        let mut progress = Progress::default();
        self.advance(&mut progress);
        progress
    }

    /// Leadership ended: every waiting request is released.
    pub(crate) fn resign(&mut self) -> Vec<Completed<T>> {
        self.waiting
            .drain(..)
            .map(|w| Completed {
                token: w.token,
                outcome: AckOutcome::LeadershipLost,
            })
            .collect()
    }

    /// Recomputes the high watermark and releases what it passed; fails every
    /// waiter when the ISR is below the minimum.
    fn advance(&mut self, progress: &mut Progress<T>) {
        if self.isr.len() < self.min_insync {
            progress
                .completed
                .extend(self.waiting.drain(..).map(|w| Completed {
                    token: w.token,
                    outcome: AckOutcome::NotEnoughReplicasAfterAppend,
                }));
            return;
        }
        let min_leo = self
            .isr
            .iter()
            .chain(&self.joining)
            .map(|id| match self.followers.get(id) {
                Some(f) => f.leo,
                None => self.leo,
            })
            .min()
            .unwrap_or(self.leo);
        if min_leo > self.high_watermark {
            self.high_watermark = min_leo;
            progress.high_watermark = Some(min_leo);
        }
        while self
            .waiting
            .front()
            .is_some_and(|w| w.last_offset < self.high_watermark)
        {
            if let Some(w) = self.waiting.pop_front() {
                progress.completed.push(Completed {
                    token: w.token,
                    outcome: AckOutcome::Committed,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAG: Duration = Duration::from_millis(100);

    /// Partition state of leader 0 in epoch 1 with `isr` over `replicas`.
    fn recorded(replicas: &[BrokerId], isr: &[BrokerId]) -> PartitionState {
        PartitionState {
            leader: Some(0),
            isr: isr.to_vec(),
            replicas: replicas.to_vec(),
            leader_epoch: 1,
            partition_epoch: 1,
        }
    }

    fn leader(min_insync: usize, now: Instant) -> LeaderState<u32> {
        LeaderState::new(
            0,
            &recorded(&[0, 1, 2], &[0, 1, 2]),
            0,
            0,
            min_insync,
            LAG,
            now,
        )
    }

    fn outcomes(p: &Progress<u32>) -> Vec<(u32, AckOutcome)> {
        p.completed.iter().map(|c| (c.token, c.outcome)).collect()
    }

    #[test]
    fn high_watermark_is_the_minimum_log_end_offset_over_the_isr() {
        let t = Instant::now();
        let mut l = leader(2, t);
        l.on_append(10);
        assert_eq!(l.high_watermark(), 0);
        // (follower, fetch offset, expected high watermark)
        let table = [(1, 4, 0), (2, 6, 4), (1, 10, 6), (2, 10, 10), (2, 10, 10)];
        for (id, offset, hw) in table {
            l.on_fetch(id, offset, t);
            assert_eq!(l.high_watermark(), hw, "after {id} fetched at {offset}");
        }
    }

    #[test]
    fn waiting_requests_complete_in_order_when_the_high_watermark_passes_them() {
        let t = Instant::now();
        let far = t + Duration::from_secs(60);
        let mut l = leader(2, t);
        l.on_append(5);
        l.wait_for(4, far, 1);
        l.on_append(9);
        l.wait_for(8, far, 2);
        for id in [1, 2] {
            l.on_fetch(id, 5, t);
        }
        let p = l.on_fetch(1, 9, t);
        assert!(p.completed.is_empty(), "follower 2 lacks 5..9");
        let p = l.on_fetch(2, 9, t);
        assert_eq!(outcomes(&p), vec![(2, AckOutcome::Committed)]);
        let p = l.wait_for(3, far, 3);
        assert_eq!(outcomes(&p), vec![(3, AckOutcome::Committed)]);
    }

    #[test]
    fn a_follower_not_caught_up_within_the_lag_time_leaves_the_isr() {
        let t = Instant::now();
        let mut l = leader(2, t);
        l.on_append(10);
        l.on_fetch(1, 10, t);
        l.on_fetch(2, 3, t);
        let p = l.tick(t + LAG);
        assert!(p.isr.is_none(), "exactly at the limit it stays");
        let p = l.tick(t + LAG + Duration::from_millis(1));
        assert_eq!(p.isr, Some(vec![0, 1]));
        assert_eq!(l.high_watermark(), 3, "a proposal changes nothing yet");
        l.set_isr(&recorded(&[0, 1, 2], &[0, 1]), t);
        assert_eq!(l.high_watermark(), 10, "the ISR moved on without 2");
    }

    #[test]
    fn a_caught_up_follower_stays_in_the_isr_however_long_it_is_idle() {
        let t = Instant::now();
        let mut l = leader(2, t);
        l.on_append(10);
        l.on_fetch(1, 10, t);
        l.on_fetch(2, 10, t);
        let p = l.tick(t + LAG * 50);
        assert!(p.isr.is_none());
    }

    #[test]
    fn a_follower_that_keeps_reaching_the_previous_end_counts_as_caught_up() {
        let t = Instant::now();
        let mut l = leader(2, t);
        let mut leo = 0;
        for step in 1..=20u32 {
            let now = t + Duration::from_millis(u64::from(step) * 30);
            leo += 10;
            l.on_append(leo);
            // Both fetch what the leader had before this append.
            l.on_fetch(1, leo - 10, now);
            l.on_fetch(2, leo - 10, now);
            assert!(l.tick(now).isr.is_none(), "step {step}");
        }
    }

    #[test]
    fn a_follower_rejoins_once_it_reaches_the_high_watermark() {
        let t = Instant::now();
        let mut l = LeaderState::<u32>::new(0, &recorded(&[0, 1, 2], &[0, 1]), 10, 10, 2, LAG, t);
        l.on_append(20);
        let p = l.on_fetch(2, 5, t);
        assert!(p.isr.is_none());
        let p = l.on_fetch(2, 10, t);
        assert_eq!(p.isr, Some(vec![0, 1, 2]));
    }

    #[test]
    fn the_high_watermark_stands_still_while_the_isr_is_below_the_minimum() {
        let t = Instant::now();
        let mut l = LeaderState::<u32>::new(0, &recorded(&[0, 1, 2], &[0]), 0, 0, 2, LAG, t);
        let p = l.on_append(7);
        assert_eq!(p.high_watermark, None);
        assert!(!l.enough_replicas());
        let p = l.on_fetch(1, 7, t);
        assert_eq!(p.isr, Some(vec![0, 1]));
        l.set_isr(&recorded(&[0, 1, 2], &[0, 1]), t);
        assert_eq!(l.high_watermark(), 7);
    }

    #[test]
    fn a_follower_proposed_to_rejoin_holds_back_the_high_watermark_at_once() {
        let t = Instant::now();
        let mut l = LeaderState::<u32>::new(0, &recorded(&[0, 1, 2], &[0, 1]), 10, 10, 2, LAG, t);
        l.on_append(20);
        l.on_fetch(2, 10, t);
        l.on_fetch(1, 20, t);
        assert_eq!(
            l.high_watermark(),
            10,
            "2 may be recorded in sync any moment"
        );
        l.on_fetch(2, 20, t);
        assert_eq!(l.high_watermark(), 20);
    }

    #[test]
    fn a_single_replica_partition_commits_on_append() {
        let t = Instant::now();
        let mut l = LeaderState::<u32>::new(0, &recorded(&[0], &[0]), 0, 0, 1, LAG, t);
        l.wait_for(0, t + LAG, 9);
        let p = l.on_append(1);
        assert_eq!(outcomes(&p), vec![(9, AckOutcome::Committed)]);
    }

    #[test]
    fn waiters_fail_when_the_isr_shrinks_below_the_minimum() {
        let t = Instant::now();
        let mut l = leader(2, t);
        l.on_append(10);
        l.wait_for(9, t + Duration::from_secs(60), 1);
        let p = l.set_isr(&recorded(&[0, 1, 2], &[0]), t);
        assert_eq!(
            outcomes(&p),
            vec![(1, AckOutcome::NotEnoughReplicasAfterAppend)]
        );
    }

    #[test]
    fn waiters_time_out_at_their_deadline() {
        let t = Instant::now();
        let mut l = leader(2, t);
        l.on_append(10);
        l.wait_for(3, t + Duration::from_millis(10), 1);
        l.wait_for(9, t + Duration::from_millis(30), 2);
        assert!(l.tick(t + Duration::from_millis(9)).completed.is_empty());
        let p = l.tick(t + Duration::from_millis(10));
        assert_eq!(outcomes(&p), vec![(1, AckOutcome::TimedOut)]);
        assert_eq!(l.resign().len(), 1);
    }
}
