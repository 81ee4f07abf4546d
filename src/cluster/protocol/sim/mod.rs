//! Deterministic simulation of the replication protocol: one `Controller`
//! and three replicas of one partition, each running the real leader,
//! follower and role machines over an in-memory log (a `Vec` of batches).
//!
//! One thread, no clock (time is a number of milliseconds added to one
//! `Instant`), no files: a seeded generator picks every step (produce,
//! follower fetch, time passing, heartbeats, kill, clean shutdown, restart,
//! isolate, heal, preferred election), and the invariants are checked after
//! each one. A failure names its seed and prints the steps that led there;
//! `TIDELOG_SIM_SEED=<seed>` replays just that seed.
//!
//! What it models of the runtime: a decision reaches only running brokers
//! that are not cut off (the others resync when they start or heal); an
//! isolated broker's heartbeats and ISR proposals are lost; clients route by
//! the controller's metadata; an in-sync follower skips a fetch that would
//! change nothing. What it leaves out: unflushed data lost on a
//! power cut (every append here is durable), retention, producer ids.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

mod invariants;
mod model;
mod scenarios;

use self::invariants::Invariants;
use self::model::{Batch, Replica, Rng};
use super::controller::{Change, Controller};
use super::epoch_history::EpochHistory;
use super::follower::{self, OutOfRange, Reconcile};
use super::leader::{AckOutcome, BrokerId, LeaderState, Progress};
use super::metadata::{ClusterMetadata, PartitionState};
use super::role::{Role, Transition};
use crate::config::TopicConfig;
use crate::topic::TopicPartition;

pub(super) const BROKERS: u32 = 3;
const SESSION: Duration = Duration::from_millis(300);
const LAG: Duration = Duration::from_millis(100);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const TOPIC: &str = "t";

struct Sim {
    rng: Rng,
    start: Instant,
    elapsed: Duration,
    controller: Controller,
    replicas: Vec<Replica>,
    min_insync: usize,
    next_id: u64,
    /// Where each batch was appended by its leader, for acknowledgements.
    appended: BTreeMap<u64, u64>,
    invariants: Invariants,
    /// ISR proposals on their way to the controller: (leader, epochs, isr).
    proposals: Vec<(BrokerId, (i32, i32), Vec<BrokerId>)>,
    trace: String,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let start = Instant::now();
        let mut rng = Rng(seed);
        let min_insync = 1 + rng.below(2) as usize;
        let controller =
            Controller::new(ClusterMetadata::default(), BROKERS, SESSION, false, start);
        let replicas = (0..BROKERS)
            .map(|_| Replica {
                running: true,
                isolated: false,
                log: Vec::new(),
                history: EpochHistory::default(),
                role: Role::Idle,
                applied: None,
                hw: 0,
                reported: None,
            })
            .collect();
        let mut sim = Sim {
            rng,
            start,
            elapsed: Duration::ZERO,
            controller,
            replicas,
            min_insync,
            next_id: 0,
            appended: BTreeMap::new(),
            invariants: Invariants::default(),
            proposals: Vec::new(),
            trace: format!("seed {seed}: min.insync.replicas={min_insync}\n"),
        };
        let changes = sim
            .controller
            .create_topic(TOPIC, TopicConfig::new(), 1, BROKERS)
            .map_err(|e| e.to_string());
        match changes {
            Ok(changes) => sim.deliver(&changes),
            Err(e) => sim.fail(&format!("create_topic: {e}")),
        }
        sim
    }

    fn now(&self) -> Instant {
        self.start + self.elapsed
    }

    fn tp() -> TopicPartition {
        TopicPartition::new(TOPIC, 0)
    }

    fn state(&self) -> Option<PartitionState> {
        self.controller.metadata().partition(TOPIC, 0).cloned()
    }

    fn replica(&mut self, id: BrokerId) -> &mut Replica {
        &mut self.replicas[id as usize]
    }

    fn reachable(&self, id: BrokerId) -> bool {
        let r = &self.replicas[id as usize];
        r.running && !r.isolated
    }

    fn log(&mut self, line: &str) {
        let _ = writeln!(self.trace, "{:>6}ms {line}", self.elapsed.as_millis());
    }

    fn fail(&self, why: &str) -> ! {
        panic!("{}\nINVARIANT BROKEN: {why}", self.trace)
    }

    /// Hands changed partition states to every reachable replica.
    fn deliver(&mut self, changes: &[Change]) {
        for (_, state) in changes {
            self.log(&format!(
                "  controller: leader {:?} epoch {} isr {:?}",
                state.leader, state.leader_epoch, state.isr
            ));
            for &id in &state.replicas {
                if self.reachable(id) {
                    self.apply(id, state);
                }
            }
        }
    }

    /// `Partition::apply`, over the in-memory replica.
    fn apply(&mut self, id: BrokerId, state: &PartitionState) {
        let now = self.now();
        let min_insync = self.min_insync;
        let r = self.replica(id);
        if r.applied.is_some_and(|e| e >= state.partition_epoch) {
            return;
        }
        r.applied = Some(state.partition_epoch);
        r.reported = None;
        match r.role.transition(id, state) {
            Transition::SetIsr => {
                if let Some(ls) = r.leader() {
                    let progress = ls.set_isr(state, now);
                    self.absorb(id, progress);
                }
            }
            Transition::Lead => {
                r.resign();
                let leo = r.leo();
                r.history.assign(state.leader_epoch, leo);
                r.role = Role::Leader(LeaderState::new(id, state, leo, r.hw, min_insync, LAG, now));
                self.log(&format!("  {id} leads epoch {}", state.leader_epoch));
                let log = &self.replicas[id as usize].log;
                if let Err(why) = self.invariants.on_lead(id, state.leader_epoch, log) {
                    self.fail(&why);
                }
            }
            Transition::Stay => {}
            Transition::Follow {
                leader,
                leader_epoch,
            } => {
                r.resign();
                r.role = Role::Follower(follower::FollowerState::new(leader, leader_epoch));
            }
            Transition::Idle => r.resign(),
        }
        if let Role::Follower(f) = &mut self.replica(id).role {
            f.set_in_sync(state.isr.contains(&id));
        }
    }

    /// What a leader's machine reported: high watermark, ISR proposal, acks.
    fn absorb(&mut self, id: BrokerId, progress: Progress<u64>) {
        let r = self.replica(id);
        let epochs = r
            .leader()
            .map_or((-1, -1), |ls| (ls.leader_epoch(), ls.partition_epoch()));
        if let Some(hw) = progress.high_watermark {
            r.hw = r.hw.max(hw);
        }
        if let Some(isr) = progress.isr {
            self.proposals.push((id, epochs, isr));
        }
        for done in progress.completed {
            if done.outcome == AckOutcome::Committed {
                if let Some(&base) = self.appended.get(&done.token) {
                    self.log(&format!("  ack batch {} at {base}", done.token));
                    self.invariants.acked.insert(base, done.token);
                }
            }
        }
    }

    /// Carries ISR proposals to the controller, as `Brokers::finish` does,
    /// though only after a random delay: in the runtime other requests
    /// reach the leader between its proposal and the controller's answer.
    fn settle(&mut self) {
        if self.rng.below(3) > 0 {
            return;
        }
        self.propose_all();
    }

    fn propose_all(&mut self) {
        for (leader, epochs, isr) in std::mem::take(&mut self.proposals) {
            if self.replicas[leader as usize].isolated {
                continue;
            }
            self.log(&format!(
                "  {leader} proposes ISR {isr:?} in epochs {epochs:?}"
            ));
            let change = self.controller.alter_isr(&Self::tp(), leader, epochs, &isr);
            if let Some(change) = change {
                self.deliver(&[change]);
            }
        }
    }

    fn produce(&mut self) {
        let Some(state) = self.state() else { return };
        let Some(l) = state.leader.filter(|&l| self.reachable(l)) else {
            return;
        };
        let acks_all = self.rng.below(5) > 0;
        let records = 1 + self.rng.below(3);
        let id = self.next_id;
        let now = self.now();
        let r = self.replica(l);
        let base = r.leo();
        let Some(ls) = r
            .leader()
            .filter(|ls| ls.leader_epoch() == state.leader_epoch)
        else {
            return;
        };
        if acks_all && !ls.enough_replicas() {
            return;
        }
        let mut progress = ls.on_append(base + records);
        if acks_all {
            let more = ls.wait_for(base + records - 1, now + REQUEST_TIMEOUT, id);
            progress.completed.extend(more.completed);
        }
        r.log.push(Batch {
            base,
            records,
            epoch: state.leader_epoch,
            id,
        });
        self.next_id += 1;
        self.appended.insert(id, base);
        self.log(&format!(
            "produce batch {id} ({records} records, acks={}) at {base} on {l}",
            if acks_all { "all" } else { "1" }
        ));
        self.absorb(l, progress);
    }

    /// One fetch by follower `f` from its leader, as `fetcher::fetch_one` does.
    fn fetch(&mut self, f: BrokerId) {
        let Role::Follower(fs) = &self.replicas[f as usize].role else {
            return;
        };
        let target = fs.target();
        let l = target.leader;
        if !self.reachable(f) || !self.reachable(l) {
            return;
        }
        if !target.reconciled {
            return self.reconcile(f, l);
        }
        let fetch_offset = self.replicas[f as usize].leo();
        let now = self.now();
        let (r, leader) = (&self.replicas[f as usize], &self.replicas[l as usize]);
        let reported = r.reported == Some(fetch_offset);
        let leader_moved = leader.leo() != fetch_offset || leader.hw != r.hw;
        if follower::may_skip_fetch(target, reported, leader_moved) {
            return;
        }
        let leader = &mut self.replicas[l as usize];
        let leader_leo = leader.leo();
        let Some(ls) = leader
            .leader()
            .filter(|ls| ls.leader_epoch() == target.leader_epoch)
        else {
            return;
        };
        if fetch_offset > leader_leo {
            if follower::out_of_range(fetch_offset, 0) == OutOfRange::Reconcile {
                if let Role::Follower(fs) = &mut self.replica(f).role {
                    fs.unreconcile();
                }
            }
            return;
        }
        let progress = ls.on_fetch(f, fetch_offset, now);
        self.absorb(l, progress);
        self.replica(f).reported = Some(fetch_offset);
        let leader = &self.replicas[l as usize];
        let from = leader.log.partition_point(|b| b.base < fetch_offset);
        let data = leader.log.get(from..).unwrap_or_default().to_vec();
        let leader_hw = leader.hw;
        let r = self.replica(f);
        if let Some(first) = data.first() {
            assert_eq!(
                first.base, fetch_offset,
                "fetched data starts at the offset"
            );
        }
        r.log.extend(&data);
        follower::record_epochs(
            &mut r.history,
            fetch_offset,
            data.iter().map(|b| (b.base, b.epoch)),
        );
        r.hw = r.hw.max(follower::high_watermark(leader_hw, r.leo()));
        self.log(&format!(
            "{f} fetched {} batches from {l} at {fetch_offset}, hw {}",
            data.len(),
            self.replicas[f as usize].hw
        ));
    }

    fn reconcile(&mut self, f: BrokerId, l: BrokerId) {
        let leader = &self.replicas[l as usize];
        let leads = matches!(leader.role, Role::Leader(_));
        let leader_leo = leader.leo();
        let r = &self.replicas[f as usize];
        let decision = follower::reconcile(&r.history, r.leo(), r.hw, |e| {
            leads
                .then(|| leader.history.end_offset_for(e, leader_leo))
                .flatten()
        });
        let Reconcile::TruncateTo(cut) = decision else {
            return;
        };
        let r = self.replica(f);
        if cut < r.leo() {
            r.log.retain(|b| b.end() <= cut);
            if r.leo() != cut {
                let at = r.leo();
                self.fail(&format!("{f} cut at {cut}, inside a batch (log ends {at})"));
            }
            r.history.truncate_from_end(cut);
            r.hw = r.hw.min(cut);
        }
        if let Role::Follower(fs) = &mut r.role {
            fs.mark_reconciled();
        }
        self.log(&format!("{f} reconciled against {l}: log ends at {cut}"));
    }

    fn pass_time(&mut self) {
        let ms = 1 + self.rng.below(100);
        self.elapsed += Duration::from_millis(ms);
        let now = self.now();
        self.log(&format!("{ms}ms pass"));
        let changes = self.controller.tick(now);
        self.deliver(&changes);
        for id in 0..BROKERS {
            if !self.replicas[id as usize].running {
                continue;
            }
            if let Some(ls) = self.replica(id).leader() {
                let progress = ls.tick(now);
                self.absorb(id, progress);
            }
        }
    }

    fn heartbeats(&mut self) {
        let now = self.now();
        for id in 0..BROKERS {
            if self.reachable(id) {
                let changes = self.controller.heartbeat(id, now);
                self.deliver(&changes);
            }
        }
    }

    /// Stops broker `id`; a clean stop first moves its leaderships away.
    fn stop(&mut self, id: BrokerId, clean: bool) {
        if !self.replicas[id as usize].running {
            return;
        }
        self.log(&format!(
            "{} {id}",
            if clean { "shut down" } else { "kill" }
        ));
        if clean && !self.replicas[id as usize].isolated {
            let changes = self.controller.fence(id);
            self.deliver(&changes);
        }
        let r = self.replica(id);
        r.resign();
        r.running = false;
        r.applied = None;
        r.reported = None;
    }

    /// Starts broker `id` again: its log and high watermark survived.
    fn restart(&mut self, id: BrokerId) {
        let now = self.now();
        let r = self.replica(id);
        if r.running {
            return;
        }
        r.running = true;
        let leo = r.leo();
        r.history.truncate_from_end(leo);
        r.hw = r.hw.min(leo);
        self.log(&format!("restart {id}"));
        // As in the runtime, a new incarnation registers even while cut off
        // (it fences the old one early, which is safe); it only hears back
        // once healed.
        let changes = self.controller.register(id, now);
        self.deliver(&changes);
        self.resync(id);
    }

    fn resync(&mut self, id: BrokerId) {
        if let Some(state) = self.state() {
            if self.reachable(id) {
                self.apply(id, &state);
            }
        }
    }

    /// A random fault or repair; repairs of a broken broker come first half
    /// the time, so runs alternate between degraded and healthy.
    fn fault(&mut self) {
        let broken = (0..BROKERS).find(|&id| !self.reachable(id));
        if let Some(id) = broken.filter(|_| self.rng.below(2) == 0) {
            let repair = if self.replicas[id as usize].running {
                4
            } else {
                2
            };
            return self.fault_on(id, repair);
        }
        let id = self.rng.broker();
        let kind = self.rng.below(6);
        self.fault_on(id, kind);
    }

    fn fault_on(&mut self, id: BrokerId, kind: u64) {
        match kind {
            0 => self.stop(id, false),
            1 => self.stop(id, true),
            2 => self.restart(id),
            3 => {
                self.log(&format!("isolate {id}"));
                self.replica(id).isolated = true;
            }
            4 => {
                self.log(&format!("heal {id}"));
                self.replica(id).isolated = false;
                if self.replicas[id as usize].running {
                    self.resync(id);
                    let changes = self.controller.heartbeat(id, self.now());
                    self.deliver(&changes);
                }
            }
            _ => {
                self.log("elect preferred leaders");
                let changes = self.controller.elect_preferred_leaders();
                self.deliver(&changes);
            }
        }
    }

    fn step(&mut self) {
        match self.rng.below(50) {
            0..=14 => self.produce(),
            15..=34 => {
                let f = self.rng.broker();
                self.fetch(f);
            }
            35..=40 => self.pass_time(),
            41..=46 => self.heartbeats(),
            _ => self.fault(),
        }
        self.settle();
        let state = self.state();
        if let Err(why) = self.invariants.check(state.as_ref(), &self.replicas) {
            self.fail(&why);
        }
    }
}

impl Sim {
    /// Repairs every broker, then runs only heartbeats, fetches (idle ones
    /// skipped, as in the runtime) and prompt ISR proposals: the partition
    /// must soon have a leader and every replica back in its ISR.
    fn recover(&mut self) {
        self.log("recover");
        for id in 0..BROKERS {
            if self.replicas[id as usize].isolated {
                self.fault_on(id, 4);
            }
            if !self.replicas[id as usize].running {
                self.fault_on(id, 2);
            }
        }
        for _ in 0..RECOVERY_ROUNDS {
            self.heartbeats();
            for f in 0..BROKERS {
                self.fetch(f);
            }
            self.propose_all();
            let state = self.state();
            if let Err(why) = self.invariants.check(state.as_ref(), &self.replicas) {
                self.fail(&why);
            }
            if state.is_some_and(|s| s.leader.is_some() && s.isr.len() == s.replicas.len()) {
                return;
            }
        }
        let state = self.state();
        self.fail(&format!(
            "no full ISR {RECOVERY_ROUNDS} rounds after every broker was repaired: {state:?}"
        ));
    }
}

/// Reconciling, catching up and rejoining take a few fetches each.
const RECOVERY_ROUNDS: usize = 10;

fn run(seed: u64, steps: usize) -> Sim {
    let mut sim = Sim::new(seed);
    for _ in 0..steps {
        sim.step();
    }
    sim.recover();
    sim
}

#[test]
fn hundreds_of_seeded_runs_keep_every_replication_invariant() {
    let seeds = match std::env::var("TIDELOG_SIM_SEED") {
        Ok(seed) => {
            let seed: u64 = seed.parse().expect("TIDELOG_SIM_SEED is a number");
            let sim = run(seed, 400);
            println!("{}", sim.trace);
            return;
        }
        Err(_) => 0..500u64,
    };
    let mut acked = 0;
    let mut elections = 0;
    for seed in seeds {
        let sim = run(seed, 300);
        acked += sim.invariants.acked.len();
        elections += sim.invariants.leaders.len();
    }
    // The runs must exercise the protocol, not idle through it.
    println!("{acked} acknowledged batches, {elections} leader epochs");
    assert!(acked > 8_000, "only {acked} acknowledged batches");
    assert!(elections > 1_000, "only {elections} leader epochs");
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let (a, b) = (run(7, 300), run(7, 300));
    assert_eq!(a.trace, b.trace);
    assert_ne!(a.trace, run(8, 300).trace);
}
