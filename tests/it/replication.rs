//! Replication: replicas converge, the ISR follows follower health, and
//! consumers never read past the high watermark.

use std::path::Path;
use std::time::Duration;

use tidelog::{
    Acks, Cluster, Error, Log, LogBuilder, Producer, ProducerConfig, ProducerRecord, TopicConfig,
};

use crate::support::{consumer_from_start, open_log_with, read_records, read_topic, text};

/// Generous bound for events that normally take milliseconds.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// Failure detection in a few hundred milliseconds instead of seconds.
pub(crate) fn fast(builder: LogBuilder) -> LogBuilder {
    builder
        .set("broker.session.timeout.ms", "400")
        .unwrap()
        .set("broker.heartbeat.interval.ms", "50")
        .unwrap()
}

/// An idempotent `acks=all` producer that retries through failovers.
pub(crate) fn reliable_producer(log: &Log) -> Producer {
    log.producer(
        ProducerConfig::new()
            .acks(Acks::All)
            .idempotence(true)
            .linger(Duration::from_millis(1))
            .retry_backoff(Duration::from_millis(20))
            .request_timeout(Duration::from_secs(5))
            .delivery_timeout(Duration::from_secs(60)),
    )
    .unwrap()
}

/// A producer that fails at once instead of retrying.
pub(crate) fn impatient_producer(log: &Log, acks: Acks) -> Producer {
    log.producer(
        ProducerConfig::new()
            .acks(acks)
            .idempotence(false)
            .retries(0)
            .linger(Duration::ZERO),
    )
    .unwrap()
}

/// Sends `values` to partition 0 of `topic`, each acknowledged.
pub(crate) fn send_all(producer: &Producer, topic: &str, values: &[String]) {
    for v in values {
        producer
            .send_sync(ProducerRecord::new(topic, v.clone()).partition(0))
            .unwrap_or_else(|e| panic!("sending {v}: {e}"));
    }
}

pub(crate) fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// Waits until partition `p` of `topic` satisfies `check`; panics on timeout.
pub(crate) fn wait_for(
    cluster: &Cluster,
    topic: &str,
    p: u32,
    what: &str,
    check: impl Fn(&tidelog::PartitionReplicas) -> bool,
) -> tidelog::PartitionReplicas {
    let ok = cluster.wait_until(WAIT, |c| c.partition(topic, p).is_ok_and(|s| check(&s)));
    let state = cluster.partition(topic, p).unwrap();
    assert!(ok, "{topic}-{p}: gave up waiting for {what}; now {state:?}");
    state
}

pub(crate) fn wait_full_isr(cluster: &Cluster, topic: &str, p: u32) {
    wait_for(cluster, topic, p, "the full ISR", |s| {
        s.leader().is_some() && s.in_sync_replicas().len() == s.replicas().len()
    });
}

/// The concatenated segment files of one replica (indexes excluded).
pub(crate) fn replica_bytes(dir: &Path, broker: u32, topic: &str, p: u32) -> Vec<u8> {
    let part = dir
        .join(format!("broker-{broker}"))
        .join(format!("{topic}-{p}"));
    let mut files: Vec<_> = std::fs::read_dir(&part)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| f.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect()
}

#[test]
fn every_replica_ends_with_the_same_bytes() {
    let (dir, log) = open_log_with(fast);
    log.create_topic("same", TopicConfig::new().partitions(2))
        .unwrap();
    let producer = reliable_producer(&log);
    for i in 0..500 {
        let record = ProducerRecord::new("same", format!("v{i}")).partition(i % 2);
        producer.send(record).unwrap();
    }
    producer.flush();
    assert_eq!(producer.failed_sends(), 0);
    assert_eq!(read_topic(&log, "same", 500).unwrap().len(), 500);
    let cluster = log.cluster();
    for p in 0..2 {
        wait_full_isr(&cluster, "same", p);
    }
    drop(producer);
    log.close().unwrap();
    for p in 0..2 {
        let first = replica_bytes(dir.path(), 0, "same", p);
        assert!(!first.is_empty());
        for b in 1..3 {
            assert!(
                first == replica_bytes(dir.path(), b, "same", p),
                "broker {b} differs on {p}"
            );
        }
    }
}

#[test]
fn a_replication_factor_above_the_broker_count_is_refused() {
    let (_dir, log) = open_log_with(|b| b);
    let err = log
        .create_topic("big", TopicConfig::new().replication_factor(4))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidReplicationFactor {
            requested: 4,
            brokers: 3
        }
    ));
    assert!(log.topics().is_empty());
    let one = log
        .create_topic("small", TopicConfig::new().replication_factor(1))
        .unwrap();
    let state = log.cluster().partition(one.name(), 0).unwrap();
    assert_eq!(state.replicas().len(), 1);
}

#[test]
fn the_isr_follows_isolated_followers_and_acks_all_needs_min_insync() {
    let (_dir, log) = open_log_with(fast);
    log.create_topic("isr", TopicConfig::new()).unwrap();
    let cluster = log.cluster();
    let start = wait_for(&cluster, "isr", 0, "a leader", |s| s.leader().is_some());
    let leader = start.leader().unwrap();
    let followers: Vec<u32> = start
        .replicas()
        .iter()
        .copied()
        .filter(|&r| r != leader)
        .collect();
    let producer = reliable_producer(&log);
    send_all(&producer, "isr", &values("a", 5));

    cluster.broker(followers[0]).unwrap().isolate().unwrap();
    wait_for(&cluster, "isr", 0, "ISR of 2", |s| {
        s.in_sync_replicas().len() == 2
    });
    send_all(&producer, "isr", &values("b", 5));

    cluster.broker(followers[1]).unwrap().isolate().unwrap();
    wait_for(&cluster, "isr", 0, "ISR of 1", |s| {
        s.in_sync_replicas() == [leader]
    });
    let refusing = impatient_producer(&log, Acks::All);
    let err = refusing
        .send_sync(ProducerRecord::new("isr", "refused").partition(0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotEnoughReplicas {
                in_sync: 1,
                required: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_retriable());

    for &f in &followers {
        cluster.broker(f).unwrap().heal().unwrap();
    }
    wait_full_isr(&cluster, "isr", 0);
    send_all(&producer, "isr", &values("c", 5));
    let read: Vec<String> = read_topic(&log, "isr", 15)
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let expected: Vec<String> = [values("a", 5), values("b", 5), values("c", 5)].concat();
    assert_eq!(read, expected);
    assert_eq!(cluster.partition("isr", 0).unwrap().leader(), Some(leader));
}

#[test]
fn records_beyond_the_high_watermark_stay_invisible_until_replicated() {
    let (_dir, log) = open_log_with(fast);
    log.create_topic("hw", TopicConfig::new()).unwrap();
    let cluster = log.cluster();
    let start = wait_for(&cluster, "hw", 0, "a leader", |s| s.leader().is_some());
    let leader = start.leader().unwrap();
    let mut consumer = consumer_from_start(&log, "hw").unwrap();
    for f in start.replicas().iter().filter(|&&r| r != leader) {
        cluster.broker(*f).unwrap().isolate().unwrap();
    }
    wait_for(&cluster, "hw", 0, "ISR of 1", |s| {
        s.in_sync_replicas() == [leader]
    });
    let producer = impatient_producer(&log, Acks::Leader);
    send_all(&producer, "hw", &values("x", 3));
    let info = log.topic("hw").unwrap().partition(0).unwrap();
    assert_eq!((info.high_watermark(), info.log_end_offset()), (0, 3));
    assert!(consumer
        .poll(Duration::from_millis(300))
        .unwrap()
        .is_empty());

    for f in start.replicas().iter().filter(|&&r| r != leader) {
        cluster.broker(*f).unwrap().heal().unwrap();
    }
    let read = read_records(&mut consumer, 3).unwrap();
    assert_eq!(read.iter().map(text).collect::<Vec<_>>(), values("x", 3));
}

#[test]
fn a_damaged_follower_replica_is_repaired_from_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let open = || fast(Log::builder(dir.path())).open().unwrap();
    let log = open();
    log.create_topic("heal", TopicConfig::new()).unwrap();
    let producer = reliable_producer(&log);
    send_all(&producer, "heal", &values("r", 20));
    let cluster = log.cluster();
    wait_full_isr(&cluster, "heal", 0);
    let state = cluster.partition("heal", 0).unwrap();
    let leader = state.leader().unwrap();
    let follower = *state.replicas().iter().find(|&&r| r != leader).unwrap();
    drop((producer, cluster));
    log.close().unwrap();

    // A torn tail on the follower, as a crash mid-write would leave it.
    let part = dir.path().join(format!("broker-{follower}")).join("heal-0");
    let _ = std::fs::remove_file(part.join("clean-shutdown"));
    let segment = part.join("00000000000000000000.log");
    let len = std::fs::metadata(&segment).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(len - 5).unwrap();
    drop(file);

    let log = open();
    let cluster = log.cluster();
    wait_full_isr(&cluster, "heal", 0);
    // An acks=all write is acknowledged only once every in-sync replica,
    // the repaired one included, holds everything before it.
    send_all(&reliable_producer(&log), "heal", &values("after", 1));
    let read: Vec<String> = read_topic(&log, "heal", 21)
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(read, [values("r", 20), values("after", 1)].concat());
    drop(cluster);
    log.close().unwrap();
    let reference = replica_bytes(dir.path(), leader, "heal", 0);
    assert_eq!(replica_bytes(dir.path(), follower, "heal", 0), reference);
}

#[test]
fn reopening_with_fewer_brokers_than_the_replicas_need_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    log.create_topic("wide", TopicConfig::new()).unwrap();
    log.close().unwrap();
    let err = Log::builder(dir.path())
        .brokers(1)
        .default_replication_factor(1)
        .open()
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidConfig { ref key, .. } if key == "brokers"),
        "{err}"
    );
    let log = Log::open(dir.path()).unwrap();
    assert_eq!(log.topics(), ["wide"]);
}
