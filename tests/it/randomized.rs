//! A seeded random schedule of broker faults (kill, clean shutdown,
//! isolation) and recoveries against producers and a consumer, checking the
//! bounce test's invariants at the end. Set `TIDELOG_SEED` to replay a run;
//! a failing run prints its seed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tidelog::{Cluster, TopicConfig};

use crate::bounce::{settle_and_check, start_consumer, start_producers, Acked};
use crate::replication::{fast, wait_full_isr, WAIT};
use crate::support::open_log_with;

/// xorshift64*: enough randomness for a schedule, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Prints the seed if the test panics.
struct SeedReport(u64);

impl Drop for SeedReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "randomized schedule failed; replay with TIDELOG_SEED={}",
                self.0
            );
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill,
    Shutdown,
    Isolate,
}

fn all_in_sync(cluster: &Cluster, partitions: u32) {
    for p in 0..partitions {
        wait_full_isr(cluster, "random", p);
    }
}

#[test]
fn a_random_schedule_of_faults_loses_and_duplicates_no_acknowledged_record() {
    let seed = std::env::var("TIDELOG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64);
            nanos | 1
        });
    let _report = SeedReport(seed);
    let mut rng = Rng(seed);
    let (_dir, log) = open_log_with(fast);
    log.create_topic("random", TopicConfig::new().partitions(3))
        .unwrap();
    let cluster = log.cluster();
    let stop = Arc::new(AtomicBool::new(false));
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let acked: Acked = Arc::default();
    let producers = start_producers(&log, "random", 2, &stop, &acked);
    let consumer = start_consumer(&log, "random", &target);
    for _round in 0..12 {
        // One broker at a time: acks=all promises survival of any single failure.
        all_in_sync(&cluster, 3);
        let victim = cluster.broker(rng.below(3) as u32).unwrap();
        let fault = [Fault::Kill, Fault::Shutdown, Fault::Isolate][rng.below(3) as usize];
        let before = acked.lock().unwrap().len();
        let traffic = 10 + rng.below(100) as usize;
        assert!(cluster.wait_until(WAIT, |_| acked.lock().unwrap().len() >= before + traffic));
        match fault {
            Fault::Kill => victim.kill().unwrap(),
            Fault::Shutdown => victim.shutdown().unwrap(),
            Fault::Isolate => victim.isolate().unwrap(),
        }
        // Let the fault be felt for a random stretch of traffic, or until
        // the cluster gives up on the victim.
        let during = acked.lock().unwrap().len() + rng.below(200) as usize;
        let hold = Duration::from_millis(100 + rng.below(600));
        cluster.wait_until(hold, |_| acked.lock().unwrap().len() >= during);
        match fault {
            Fault::Isolate => victim.heal().unwrap(),
            Fault::Kill | Fault::Shutdown => victim.restart().unwrap(),
        }
    }
    all_in_sync(&cluster, 3);
    stop.store(true, Ordering::Release);
    for p in producers {
        p.join().unwrap();
    }
    settle_and_check(&log, "random", &target, consumer, &acked);
}
