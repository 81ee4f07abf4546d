//! The per-broker thread: pulls from the leaders of the partitions this
//! broker follows, and on the side sends heartbeats, runs leader
//! housekeeping and checkpoints high watermarks.
//!
//! It never sleep-polls: when a round brings nothing it waits on its
//! broker's replication signal, which a leader bumps when it appends to a
//! partition this broker follows, with a deadline at the next heartbeat or
//! housekeeping time. Right after a round that replicated data it first
//! spins for a few microseconds (see [`SPIN_AFTER_WORK`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::broker::Worker;
use super::brokers::Brokers;
use super::effects::Effects;
use super::replica_host::Partition;
use super::signal::Signal;
use super::spin::spin_until;
use crate::cluster::protocol::follower::{self, FollowTarget, OutOfRange};
use crate::cluster::protocol::leader::BrokerId;
use crate::error::{Error, Result};
use crate::storage::ReadPool;

/// How often high watermarks are written to disk (Kafka: 5 s).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(1000);

/// How long a fetcher that just replicated data watches its signal before
/// it parks. Waking a parked thread costs about 7 µs when its virtual CPU
/// has gone idle, and right after a follower's report releases an `acks=all`
/// write the acknowledgement travels back (sender, then caller) and, in a
/// `send_sync` loop, the next record comes in: three hand-offs, about 20 µs
/// on a quiet machine. Spinning that long keeps this core awake for them and
/// often catches the next append without a wake-up. The bound is tight on
/// purpose: it is spent only after a round that moved data, once per burst,
/// so an idle broker never spins (idle CPU unchanged); a busy one spins at
/// most 20 µs per round of real work, and every turn yields the CPU, so on
/// two cores the producer's threads are never kept waiting for it. With
/// 50 µs the `send_sync` latency was no better and the spinning longer.
const SPIN_AFTER_WORK: Duration = Duration::from_micros(20);

/// Starts broker `id`'s thread.
pub(crate) fn spawn(core: &Arc<Brokers>, id: BrokerId) -> Result<Worker> {
    let stop = Arc::new(AtomicBool::new(false));
    let weak = Arc::downgrade(core);
    let signal = core
        .replication_signal(id)
        .cloned()
        .ok_or(Error::UnknownBroker(id))?;
    let (flag, waits_on) = (Arc::clone(&stop), Arc::clone(&signal));
    let name = format!("tidelog-broker-{id}-fetcher");
    let handle = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || run(&weak, &waits_on, id, &flag))
        .map_err(|e| Error::spawn(name, e))?;
    Ok(Worker {
        stop,
        signal,
        handle,
    })
}

/// Stops the thread and waits for it.
pub(crate) fn stop(worker: Worker) {
    worker.stop.store(true, Ordering::Release);
    worker.signal.notify();
    let _ = worker.handle.join();
}

fn run(core: &Weak<Brokers>, signal: &Signal, id: BrokerId, stop: &AtomicBool) {
    let mut next_heartbeat = Instant::now();
    let mut next_tick = Instant::now();
    let mut next_checkpoint = Instant::now() + CHECKPOINT_INTERVAL;
    // Whether the rounds since the last wait moved data.
    let mut worked = false;
    // Fetched chunks are appended and dropped within a round, so their
    // buffers come back: no fresh, zeroed buffer per fetch.
    let mut pool = ReadPool::new();
    loop {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let seen = signal.current();
        let Some(core) = core.upgrade() else {
            return;
        };
        let now = Instant::now();
        let config = core.config();
        if now >= next_heartbeat {
            core.heartbeat(id);
            next_heartbeat = now + config.broker_heartbeat_interval;
        }
        if now >= next_tick {
            core.tick_broker(id, now);
            next_tick = now + tick_interval(config.replica_lag_time_max);
        }
        if now >= next_checkpoint {
            // A failed checkpoint only delays visibility after a restart.
            let _ = core.checkpoint_broker(id);
            next_checkpoint = now + CHECKPOINT_INTERVAL;
        }
        let busy = fetch_round(&core, id, &mut pool);
        drop(core);
        if busy {
            worked = true;
            continue;
        }
        if stop.load(Ordering::Acquire) {
            continue;
        }
        if std::mem::take(&mut worked)
            && spin_until(SPIN_AFTER_WORK, None, || signal.moved_past(seen))
        {
            continue;
        }
        let deadline = next_heartbeat.min(next_tick).min(next_checkpoint);
        signal.wait_past(seen, deadline);
    }
}

/// Housekeeping often enough to notice lag well within the lag limit.
fn tick_interval(lag_time_max: Duration) -> Duration {
    (lag_time_max / 4).clamp(Duration::from_millis(5), Duration::from_millis(100))
}

/// One fetch from the leader of every followed partition; whether any moved.
fn fetch_round(core: &Brokers, id: BrokerId, pool: &mut ReadPool) -> bool {
    let Some(node) = core.node(id) else {
        return false;
    };
    let mut busy = false;
    let mut effects = Effects::default();
    for partition in node.partitions() {
        busy |= fetch_one(core, id, &partition, &mut effects, pool);
        // At once, not after the round: an acknowledgement the fetch
        // released should not wait for the other partitions' fetches.
        if !effects.is_empty() {
            core.finish(std::mem::take(&mut effects));
        }
    }
    busy
}

fn fetch_one(
    core: &Brokers,
    id: BrokerId,
    partition: &Partition,
    effects: &mut Effects,
    pool: &mut ReadPool,
) -> bool {
    let Some(target) = partition.follow_target() else {
        return false;
    };
    if !core.faults().link_up(id, target.leader) {
        return false;
    }
    let Some(leader) = core
        .node(target.leader)
        .and_then(|n| n.partition(partition.tp()))
    else {
        return false;
    };
    if !target.reconciled {
        // Not done (or failed) leaves it unreconciled; a later round retries.
        return partition.reconcile(target, &leader).unwrap_or(false);
    }
    let fetch_offset = partition.log().log_end_offset();
    if partition.idle_against(&leader, target, fetch_offset) {
        return false;
    }
    let moved = fetch_from(&leader, id, partition, target, fetch_offset, effects, pool);
    let end = partition.log().log_end_offset();
    if moved && end > fetch_offset {
        // Reported now rather than in the next round: this report is what
        // moves the leader's high watermark, and acknowledgements wait on it.
        fetch_from(&leader, id, partition, target, end, effects, pool);
    }
    moved
}

/// One fetch at `fetch_offset`, its data appended; whether anything moved.
fn fetch_from(
    leader: &Partition,
    id: BrokerId,
    partition: &Partition,
    target: FollowTarget,
    fetch_offset: u64,
    effects: &mut Effects,
    pool: &mut ReadPool,
) -> bool {
    match leader.serve_fetch(id, target.leader_epoch, fetch_offset, effects, pool) {
        Ok((data, leader_hw, leader_log_start)) => {
            partition.reported(fetch_offset);
            let moved = !data.is_empty();
            let leader_offsets = (leader_hw, leader_log_start);
            if partition
                .append_fetched(target, &data, leader_offsets)
                .is_err()
            {
                partition.unreconcile();
            }
            moved
        }
        Err(Error::OffsetOutOfRange {
            log_start_offset, ..
        }) => match follower::out_of_range(fetch_offset, log_start_offset) {
            OutOfRange::RestartAt(offset) => partition.restart_at(offset).is_ok(),
            OutOfRange::Reconcile => {
                partition.unreconcile();
                true
            }
        },
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spin_ends_at_a_notify_or_at_its_bound() {
        let signal = Signal::default();
        let seen = signal.current();
        let spin_past = |seen: u64, bound| spin_until(bound, None, || signal.moved_past(seen));
        assert!(!spin_past(seen, Duration::from_micros(50)));
        signal.notify();
        assert!(spin_past(seen, Duration::from_secs(60)));
        assert!(!spin_past(signal.current(), Duration::ZERO));
    }
}
