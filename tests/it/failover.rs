//! Leader failover: elections, divergence, the last replica standing,
//! unclean election, and reopening a Log that was dropped mid-write.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tidelog::{Acks, Error, Log, ProducerRecord, TopicConfig};

use crate::replication::{
    fast, impatient_producer, reliable_producer, replica_bytes, send_all, values, wait_for,
    wait_full_isr,
};
use crate::support::{open_log_with, read_topic, text};

fn roles(log: &Log, topic: &str) -> (u32, u32, u32) {
    let state = wait_for(&log.cluster(), topic, 0, "a leader", |s| {
        s.leader().is_some()
    });
    let leader = state.leader().unwrap();
    let others: Vec<u32> = state
        .replicas()
        .iter()
        .copied()
        .filter(|&r| r != leader)
        .collect();
    (leader, others[0], others[1])
}

fn read_values(log: &Log, topic: &str, n: usize) -> Vec<String> {
    read_topic(log, topic, n)
        .unwrap()
        .iter()
        .map(text)
        .collect()
}

#[test]
fn a_killed_leader_is_replaced_and_no_acknowledged_record_is_lost() {
    let (_dir, log) = open_log_with(fast);
    log.create_topic("f", TopicConfig::new()).unwrap();
    let cluster = log.cluster();
    let (leader, _, _) = roles(&log, "f");
    let epoch = cluster.partition("f", 0).unwrap().leader_epoch();
    let producer = reliable_producer(&log);
    send_all(&producer, "f", &values("before", 20));
    cluster.broker(leader).unwrap().kill().unwrap();
    assert!(!cluster.broker(leader).unwrap().is_running());
    let after = wait_for(&cluster, "f", 0, "a new leader", |s| {
        s.leader().is_some_and(|l| l != leader)
    });
    assert!(after.leader_epoch() > epoch);
    assert!(!after.in_sync_replicas().contains(&leader));
    send_all(&producer, "f", &values("after", 20));
    let expected = [values("before", 20), values("after", 20)].concat();
    assert_eq!(read_values(&log, "f", 40), expected);
    cluster.broker(leader).unwrap().restart().unwrap();
    wait_full_isr(&cluster, "f", 0);
}

#[test]
fn a_returning_leader_truncates_its_divergent_suffix() {
    // Failure detection slow enough that a short isolation of the
    // followers does not get them fenced.
    let (dir, log) = open_log_with(|b| {
        b.set("broker.session.timeout.ms", "2000")
            .unwrap()
            .set("broker.heartbeat.interval.ms", "50")
            .unwrap()
    });
    // Every append fsynced, so the old leader keeps its divergent records
    // through the kill.
    let config = TopicConfig::new().set("flush.messages", "1").unwrap();
    log.create_topic("div", config).unwrap();
    let cluster = log.cluster();
    let (old, f1, f2) = roles(&log, "div");
    let producer = reliable_producer(&log);
    send_all(&producer, "div", &values("shared", 10));

    cluster.broker(f1).unwrap().isolate().unwrap();
    cluster.broker(f2).unwrap().isolate().unwrap();
    let lonely = impatient_producer(&log, Acks::Leader);
    send_all(&lonely, "div", &values("divergent", 5));
    assert_eq!(
        log.topic("div")
            .unwrap()
            .partition(0)
            .unwrap()
            .log_end_offset(),
        15
    );
    cluster.broker(old).unwrap().kill().unwrap();
    cluster.broker(f1).unwrap().heal().unwrap();
    cluster.broker(f2).unwrap().heal().unwrap();

    let state = wait_for(&cluster, "div", 0, "a new leader", |s| {
        s.leader().is_some_and(|l| l != old)
    });
    assert_eq!(state.in_sync_replicas().len(), 2, "{state:?}");
    send_all(&producer, "div", &values("new", 10));
    cluster.broker(old).unwrap().restart().unwrap();
    wait_full_isr(&cluster, "div", 0);

    let expected = [values("shared", 10), values("new", 10)].concat();
    assert_eq!(read_values(&log, "div", 20), expected);
    drop((producer, lonely));
    log.close().unwrap();
    let reference = replica_bytes(dir.path(), 0, "div", 0);
    for b in 1..3 {
        assert!(
            reference == replica_bytes(dir.path(), b, "div", 0),
            "broker {b} differs"
        );
    }
}

/// Leader `l` ends as the only in-sync replica after followers `f1` and
/// `f2` shut down in turn; `a` records reached all three, `c` records only
/// `l` and `f2`. Clean shutdowns, so that what each replica had is on its
/// disk: the cases differ only in who may lead.
fn shrink_to_last_replica(log: &Log, topic: &str) -> (u32, u32, u32) {
    let cluster = log.cluster();
    let (l, f1, f2) = roles(log, topic);
    let producer = reliable_producer(log);
    send_all(&producer, topic, &values("a", 10));
    cluster.broker(f1).unwrap().shutdown().unwrap();
    assert_eq!(
        cluster
            .partition(topic, 0)
            .unwrap()
            .in_sync_replicas()
            .len(),
        2
    );
    send_all(&producer, topic, &values("c", 10));
    cluster.broker(f2).unwrap().shutdown().unwrap();
    let state = cluster.partition(topic, 0).unwrap();
    assert_eq!(state.in_sync_replicas(), [l]);
    let err = impatient_producer(log, Acks::All)
        .send_sync(ProducerRecord::new(topic, "refused").partition(0))
        .unwrap_err();
    assert!(matches!(err, Error::NotEnoughReplicas { .. }), "{err}");
    (l, f1, f2)
}

#[test]
fn only_the_last_in_sync_replica_may_lead_when_unclean_election_is_off() {
    let (_dir, log) = open_log_with(fast);
    log.create_topic("last", TopicConfig::new()).unwrap();
    let cluster = log.cluster();
    let (l, f1, f2) = shrink_to_last_replica(&log, "last");
    let epoch = cluster.partition("last", 0).unwrap().leader_epoch();
    cluster.broker(l).unwrap().shutdown().unwrap();
    let offline = cluster.partition("last", 0).unwrap();
    assert_eq!(
        (offline.leader(), offline.in_sync_replicas()),
        (None, &[l][..])
    );

    cluster.broker(f1).unwrap().restart().unwrap();
    cluster.broker(f2).unwrap().restart().unwrap();
    // Both are alive, yet neither may lead: either could lack acknowledged records.
    let elected = cluster.wait_until(Duration::from_millis(1500), |c| {
        c.partition("last", 0).is_ok_and(|s| s.leader().is_some())
    });
    assert!(!elected, "an out-of-sync replica was elected");
    let err = impatient_producer(&log, Acks::All)
        .send_sync(ProducerRecord::new("last", "offline").partition(0))
        .unwrap_err();
    assert!(err.is_retriable(), "{err}");

    cluster.broker(l).unwrap().restart().unwrap();
    let back = wait_for(&cluster, "last", 0, "the last replica back", |s| {
        s.leader() == Some(l)
    });
    assert!(back.leader_epoch() > epoch);
    assert_eq!(
        read_values(&log, "last", 20),
        [values("a", 10), values("c", 10)].concat()
    );
    wait_full_isr(&cluster, "last", 0);
}

#[test]
fn unclean_election_restores_availability_losing_only_unreplicated_records() {
    let (_dir, log) = open_log_with(fast);
    let config = TopicConfig::new()
        .set("unclean.leader.election.enable", "true")
        .unwrap();
    log.create_topic("unclean", config).unwrap();
    let cluster = log.cluster();
    let (l, f1, f2) = shrink_to_last_replica(&log, "unclean");
    cluster.broker(l).unwrap().shutdown().unwrap();
    assert_eq!(cluster.partition("unclean", 0).unwrap().leader(), None);

    // f1 left the ISR before the `c` records: electing it loses them.
    cluster.broker(f1).unwrap().restart().unwrap();
    let state = wait_for(&cluster, "unclean", 0, "an unclean leader", |s| {
        s.leader() == Some(f1)
    });
    assert_eq!(state.in_sync_replicas(), [f1]);
    cluster.broker(f2).unwrap().restart().unwrap();
    cluster.broker(l).unwrap().restart().unwrap();
    wait_full_isr(&cluster, "unclean", 0);
    assert_eq!(read_values(&log, "unclean", 10), values("a", 10));
    let producer = reliable_producer(&log);
    send_all(&producer, "unclean", &values("later", 5));
    assert_eq!(
        read_values(&log, "unclean", 15),
        [values("a", 10), values("later", 5)].concat()
    );
}

#[test]
fn a_clean_shutdown_moves_leadership_at_once() {
    // A session timeout far beyond the test: only a controlled shutdown
    // can move leadership in time.
    let (_dir, log) = open_log_with(|b| b.set("broker.session.timeout.ms", "600000").unwrap());
    log.create_topic("moving", TopicConfig::new()).unwrap();
    let cluster = log.cluster();
    let (l, _, _) = roles(&log, "moving");
    let producer = reliable_producer(&log);
    send_all(&producer, "moving", &values("one", 5));
    cluster.broker(l).unwrap().shutdown().unwrap();
    let state = cluster.partition("moving", 0).unwrap();
    assert!(state.leader().is_some_and(|n| n != l), "{state:?}");
    send_all(&producer, "moving", &values("two", 5));
    cluster.broker(l).unwrap().restart().unwrap();
    wait_full_isr(&cluster, "moving", 0);
    assert_eq!(
        read_values(&log, "moving", 10),
        [values("one", 5), values("two", 5)].concat()
    );
}

#[test]
fn failure_injection_names_unknown_brokers() {
    let (_dir, log) = open_log_with(|b| b);
    let cluster = log.cluster();
    assert!(matches!(cluster.broker(3), Err(Error::UnknownBroker(3))));
    assert_eq!(cluster.brokers().len(), 3);
    assert!(cluster
        .brokers()
        .iter()
        .all(|b| b.is_running() && !b.is_isolated()));
}

#[test]
fn a_log_dropped_mid_write_reopens_with_leaders_epochs_and_acknowledged_records() {
    let dir = tempfile::tempdir().unwrap();
    let open = || fast(Log::builder(dir.path())).open().unwrap();
    let log = open();
    log.create_topic("restart", TopicConfig::new().partitions(3))
        .unwrap();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..2)
        .map(|t| {
            let producer = reliable_producer(&log);
            let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let record =
                        ProducerRecord::new("restart", format!("t{t}-{i}")).key(format!("{i}"));
                    match producer.send_sync(record) {
                        Ok(meta) => acked
                            .lock()
                            .unwrap()
                            .push(format!("t{t}-{i}@{}", meta.partition())),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    let cluster = log.cluster();
    assert!(
        cluster.wait_until(Duration::from_secs(30), |_| acked.lock().unwrap().len()
            >= 200)
    );
    let before: BTreeMap<u32, (Option<u32>, i32)> = (0..3)
        .map(|p| {
            let s = cluster.partition("restart", p).unwrap();
            (p, (s.leader(), s.leader_epoch()))
        })
        .collect();
    drop(cluster);
    drop(log); // while the producers are still sending
    stop.store(true, Ordering::Release);
    for p in producers {
        p.join().unwrap();
    }

    let log = open();
    let cluster = log.cluster();
    for p in 0..3 {
        let s = cluster.partition("restart", p).unwrap();
        assert_eq!(before[&p], (s.leader(), s.leader_epoch()), "partition {p}");
    }
    let acked = acked.lock().unwrap().clone();
    let topic = log.topic("restart").unwrap();
    // Records appended but not yet replicated at the drop become visible
    // once the followers are back.
    let settled = cluster.wait_until(Duration::from_secs(30), |_| {
        topic
            .partitions()
            .is_ok_and(|ps| ps.iter().all(|p| p.high_watermark() == p.log_end_offset()))
    });
    assert!(settled);
    let total: u64 = topic
        .partitions()
        .unwrap()
        .iter()
        .map(|p| p.high_watermark())
        .sum();
    let read = read_topic(&log, "restart", total as usize).unwrap();
    let stored: Vec<String> = read
        .iter()
        .map(|r| format!("{}@{}", text(r), r.partition()))
        .collect();
    let mut unique = stored.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), stored.len(), "duplicates after reopen");
    for a in &acked {
        assert!(stored.contains(a), "acknowledged {a} missing after reopen");
    }
}

#[test]
fn a_preferred_leader_election_gives_leadership_back_after_a_restart() {
    let (_dir, log) = open_log_with(fast);
    log.create_topic("pref", TopicConfig::new()).unwrap();
    let cluster = log.cluster();
    let (preferred, _, _) = roles(&log, "pref");
    assert_eq!(
        cluster.partition("pref", 0).unwrap().replicas()[0],
        preferred
    );
    cluster.broker(preferred).unwrap().shutdown().unwrap();
    let moved = cluster.partition("pref", 0).unwrap();
    assert_ne!(moved.leader(), Some(preferred));
    cluster.broker(preferred).unwrap().restart().unwrap();
    wait_full_isr(&cluster, "pref", 0);
    assert_eq!(cluster.elect_preferred_leaders().unwrap(), 1);
    let back = cluster.partition("pref", 0).unwrap();
    assert_eq!(back.leader(), Some(preferred));
    assert!(back.leader_epoch() > moved.leader_epoch());
    let producer = reliable_producer(&log);
    send_all(&producer, "pref", &values("v", 3));
    assert_eq!(read_values(&log, "pref", 3), values("v", 3));
}
