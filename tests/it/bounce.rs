//! The bounce test: the leader of a partition is killed and restarted, then
//! shut down and restarted, over and over, while idempotent producers and a
//! consumer keep going. Every acknowledged record must be read exactly once,
//! in offset order, and nothing past the high watermark may ever be read.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tidelog::{
    Cluster, ConsumerConfig, ConsumerRecord, Log, OffsetReset, ProducerRecord, TopicConfig,
    TopicPartition,
};

use crate::replication::{fast, reliable_producer, wait_for, wait_full_isr, WAIT};
use crate::support::{open_log_with, text};

/// Acknowledged records: value → (partition, offset).
pub(crate) type Acked = Arc<Mutex<BTreeMap<String, (u32, u64)>>>;

/// Producer threads sending keyed records with callbacks until `stop`.
pub(crate) fn start_producers(
    log: &Log,
    topic: &str,
    threads: usize,
    stop: &Arc<AtomicBool>,
    acked: &Acked,
) -> Vec<JoinHandle<()>> {
    (0..threads)
        .map(|t| {
            let producer = reliable_producer(log);
            let (stop, acked, topic) = (Arc::clone(stop), Arc::clone(acked), topic.to_string());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Acquire) {
                    let value = format!("t{t}-{i}");
                    let acked = Arc::clone(&acked);
                    let record =
                        ProducerRecord::new(topic.clone(), value.clone()).key(i.to_string());
                    let sent = producer.send_with_callback(record, move |result| {
                        if let Ok(meta) = result {
                            acked
                                .lock()
                                .unwrap()
                                .insert(value, (meta.partition(), meta.offset()));
                        }
                    });
                    if sent.is_err() {
                        break;
                    }
                    i += 1;
                    if i.is_multiple_of(64) {
                        // Bound the backlog so failovers are felt by every batch.
                        producer.flush();
                    }
                }
                producer.flush();
                producer.close();
            })
        })
        .collect()
}

/// A consumer thread that checks order as it reads, and ends once it has
/// read `target` records (`u64::MAX` until the producers are done), or 30 s
/// after the target was set.
pub(crate) fn start_consumer(
    log: &Log,
    topic: &str,
    target: &Arc<AtomicU64>,
) -> JoinHandle<Vec<ConsumerRecord>> {
    // No automatic reset: a position outside the leader's log would mean a
    // leader lacking committed records, and must fail the test.
    let mut consumer = log
        .consumer(
            ConsumerConfig::new()
                .auto_offset_reset(OffsetReset::None)
                .enable_auto_commit(false),
        )
        .unwrap();
    let partitions = log.topic(topic).unwrap().partition_count();
    let assignment: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    consumer.assign(&assignment).unwrap();
    for tp in &assignment {
        consumer.seek(tp, 0).unwrap();
    }
    let target = Arc::clone(target);
    std::thread::spawn(move || {
        let mut read: Vec<ConsumerRecord> = Vec::new();
        let mut next: BTreeMap<u32, u64> = BTreeMap::new();
        let mut give_up: Option<Instant> = None;
        loop {
            let goal = target.load(Ordering::Acquire);
            if read.len() as u64 >= goal || give_up.is_some_and(|at| Instant::now() > at) {
                return read;
            }
            if goal != u64::MAX && give_up.is_none() {
                give_up = Some(Instant::now() + WAIT);
            }
            for r in consumer.poll(Duration::from_millis(50)).unwrap() {
                let expected = next.entry(r.partition()).or_insert(0);
                assert_eq!(
                    r.offset(),
                    *expected,
                    "partition {} skipped or repeated",
                    r.partition()
                );
                *expected += 1;
                read.push(r);
            }
        }
    })
}

/// Waits until every replica is in sync and every high watermark reached
/// its log end, lets the consumer read that far, then checks what it read.
pub(crate) fn settle_and_check(
    log: &Log,
    topic: &str,
    target: &Arc<AtomicU64>,
    consumer: JoinHandle<Vec<ConsumerRecord>>,
    acked: &Acked,
) {
    let cluster = log.cluster();
    let handle = log.topic(topic).unwrap();
    for p in 0..handle.partition_count() {
        wait_full_isr(&cluster, topic, p);
    }
    let settled = cluster.wait_until(WAIT, |_| {
        handle
            .partitions()
            .is_ok_and(|ps| ps.iter().all(|p| p.high_watermark() == p.log_end_offset()))
    });
    assert!(settled, "high watermarks never reached the log ends");
    let ends: Vec<u64> = handle
        .partitions()
        .unwrap()
        .iter()
        .map(|p| p.high_watermark())
        .collect();
    let total: u64 = ends.iter().sum();
    target.store(total, Ordering::Release);
    let read = consumer.join().unwrap();
    assert_eq!(
        read.len() as u64,
        total,
        "the consumer did not reach the high watermarks"
    );
    for r in &read {
        let end = ends[r.partition() as usize];
        assert!(
            r.offset() < end,
            "{}-{} read beyond the high watermark {end}",
            r.partition(),
            r.offset()
        );
    }
    let values: Vec<String> = read.iter().map(text).collect();
    let unique: HashSet<&String> = values.iter().collect();
    assert_eq!(unique.len(), values.len(), "a record was stored twice");
    let positions: BTreeMap<&String, (u32, u64)> = read
        .iter()
        .zip(&values)
        .map(|(r, v)| (v, (r.partition(), r.offset())))
        .collect();
    let acked = acked.lock().unwrap();
    eprintln!(
        "{topic}: {} records acknowledged, {total} stored and read",
        acked.len()
    );
    assert!(!acked.is_empty());
    for (value, at) in acked.iter() {
        assert_eq!(
            positions.get(value),
            Some(at),
            "acknowledged {value} not read where acknowledged"
        );
    }
}

fn leader_of(cluster: &Cluster, topic: &str) -> u32 {
    wait_for(cluster, topic, 0, "a leader", |s| s.leader().is_some())
        .leader()
        .unwrap()
}

#[test]
fn bouncing_the_leader_loses_and_duplicates_no_acknowledged_record() {
    let (_dir, log) = open_log_with(fast);
    log.create_topic("bounce", TopicConfig::new().partitions(3))
        .unwrap();
    let cluster = log.cluster();
    let stop = Arc::new(AtomicBool::new(false));
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let acked: Acked = Arc::default();
    let producers = start_producers(&log, "bounce", 2, &stop, &acked);
    let consumer = start_consumer(&log, "bounce", &target);
    for round in 0..10 {
        let hard = round < 5;
        let leader = leader_of(&cluster, "bounce");
        let before = acked.lock().unwrap().len();
        // Some traffic under the current leader first.
        assert!(cluster.wait_until(WAIT, |_| acked.lock().unwrap().len() > before + 50));
        let broker = cluster.broker(leader).unwrap();
        if hard {
            broker.kill().unwrap();
        } else {
            broker.shutdown().unwrap();
        }
        wait_for(&cluster, "bounce", 0, "a new leader", |s| {
            s.leader().is_some_and(|l| l != leader)
        });
        broker.restart().unwrap();
        for p in 0..3 {
            wait_full_isr(&cluster, "bounce", p);
        }
    }
    stop.store(true, Ordering::Release);
    for p in producers {
        p.join().unwrap();
    }
    settle_and_check(&log, "bounce", &target, consumer, &acked);
}
