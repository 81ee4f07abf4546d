//! Scripted schedules for races the seeded runs reach too rarely: each
//! drives the same machines through one exact interleaving the threaded
//! runtime can take under load, then requires the partition to recover.

use std::time::Duration;

use super::{Sim, BROKERS, SESSION};

/// Two followers rejoin at once. The controller records the first; the
/// second fetches after hearing of that but before the leader does, so
/// the leader proposes it from the replaced ISR and is refused. Caught up
/// and idle, that follower must still be proposed again.
#[test]
fn a_follower_whose_rejoin_was_refused_as_stale_still_rejoins() {
    let mut sim = Sim::new(1);
    let state = sim.state().expect("the topic exists");
    let l = state.leader.expect("a leader");
    let (a, b) = ((l + 1) % BROKERS, (l + 2) % BROKERS);
    sim.stop(a, true);
    sim.stop(b, true);
    sim.restart(a);
    sim.restart(b);
    for f in [a, b, a] {
        sim.fetch(f); // reconcile, reconcile, rejoin
    }
    let (leader, epochs, isr) = sim.proposals.pop().expect("a rejoin proposal");
    assert_eq!(isr, [l, a]);
    let (_, recorded) = sim
        .controller
        .alter_isr(&Sim::tp(), leader, epochs, &isr)
        .expect("accepted");
    // The runtime hands the change to each replica in turn; b fetches in between.
    sim.apply(b, &recorded);
    sim.fetch(b);
    sim.apply(a, &recorded);
    sim.apply(l, &recorded);
    assert_eq!(sim.proposals.len(), 1, "b's rejoin proposal");
    sim.propose_all();
    assert_eq!(
        sim.state().expect("the topic").isr,
        [l, a],
        "refused as stale"
    );
    sim.recover();
}

/// The other way a rejoin is refused: the follower's heartbeats stalled
/// (a loaded machine) past its session, so the controller holds it dead
/// when the proposal arrives. Its heartbeats resume; it must rejoin.
#[test]
fn a_follower_whose_rejoin_was_refused_while_it_seemed_dead_still_rejoins() {
    let mut sim = Sim::new(1);
    let l = sim.state().and_then(|s| s.leader).expect("a leader");
    let (a, b) = ((l + 1) % BROKERS, (l + 2) % BROKERS);
    sim.stop(a, true);
    sim.restart(a);
    sim.fetch(a); // reconcile
    sim.elapsed += SESSION + Duration::from_millis(1);
    let now = sim.now();
    for id in [l, b] {
        let changes = sim.controller.heartbeat(id, now);
        sim.deliver(&changes);
    }
    let changes = sim.controller.tick(now);
    sim.deliver(&changes);
    assert!(!sim.controller.is_alive(a));
    sim.fetch(a); // rejoin
    sim.propose_all();
    let isr = sim.state().expect("the topic").isr;
    assert!(!isr.contains(&a), "refused while dead: {isr:?}");
    sim.recover();
}
