//! Topic administration: growing a topic's partitions, deleting records.

use tidelog::{Error, ProducerRecord, TopicConfig};

use crate::replication::{reliable_producer, send_all, values, wait_for, wait_full_isr, WAIT};
use crate::support::{open_log, read_topic, text};

#[test]
fn a_topic_grows_and_clients_and_a_reopen_see_the_new_partitions() {
    let (dir, log) = open_log();
    let mut topic = log
        .create_topic("orders", TopicConfig::new().partitions(2))
        .unwrap();
    // A producer that already knows the topic with two partitions.
    let producer = reliable_producer(&log);
    for p in 0..2 {
        producer
            .send_sync(ProducerRecord::new("orders", format!("old-{p}")).partition(p))
            .unwrap();
    }
    topic.create_partitions(4).unwrap();
    assert_eq!(topic.partition_count(), 4);
    assert_eq!(log.topic("orders").unwrap().partition_count(), 4);
    let cluster = log.cluster();
    for p in 2..4 {
        wait_full_isr(&cluster, "orders", p);
        let replicas = cluster.partition("orders", p).unwrap();
        assert_eq!(
            replicas.replicas().len(),
            3,
            "the topic's replication factor"
        );
        let sent = producer
            .send_sync(ProducerRecord::new("orders", format!("new-{p}")).partition(p))
            .unwrap();
        assert_eq!(sent.partition(), p);
    }
    let mut got: Vec<String> = read_topic(&log, "orders", 4)
        .unwrap()
        .iter()
        .map(text)
        .collect();
    got.sort();
    assert_eq!(got, ["new-2", "new-3", "old-0", "old-1"]);
    drop(producer);
    log.close().unwrap();

    let log = tidelog::Log::open(dir.path()).unwrap();
    assert_eq!(log.topic("orders").unwrap().partition_count(), 4);
    assert_eq!(read_topic(&log, "orders", 4).unwrap().len(), 4);
}

#[test]
fn a_topic_never_shrinks_and_an_unknown_one_cannot_grow() {
    let (_dir, log) = open_log();
    let mut topic = log
        .create_topic("t", TopicConfig::new().partitions(3))
        .unwrap();
    for total in [1, 3] {
        let err = topic.create_partitions(total).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{total}: {err}");
    }
    assert_eq!(topic.partition_count(), 3);
    log.delete_topic("t").unwrap();
    let err = topic.create_partitions(5).unwrap_err();
    assert!(matches!(err, Error::UnknownTopic(_)), "{err}");
}

#[test]
fn deleted_records_are_gone_on_the_leader_its_followers_and_after_a_reopen() {
    let (dir, log) = crate::support::open_log_with(crate::replication::fast);
    let topic = log
        .create_topic("events", TopicConfig::new().partitions(1))
        .unwrap();
    let producer = reliable_producer(&log);
    send_all(&producer, "events", &values("e", 10));
    assert_eq!(topic.delete_records(0, 6).unwrap(), 6);
    assert_eq!(
        topic.delete_records(0, 3).unwrap(),
        6,
        "the start never moves back"
    );
    let err = topic.delete_records(0, 11).unwrap_err();
    assert!(matches!(err, Error::OffsetOutOfRange { .. }), "{err}");
    let offsets = topic.partition(0).unwrap();
    assert_eq!(
        (offsets.log_start_offset(), offsets.log_end_offset()),
        (6, 10)
    );
    let offsets_of = |records: &[tidelog::ConsumerRecord]| -> Vec<u64> {
        records.iter().map(|r| r.offset()).collect()
    };
    assert_eq!(
        offsets_of(&read_topic(&log, "events", 4).unwrap()),
        [6, 7, 8, 9]
    );

    // Acknowledged with acks=all, so every in-sync follower fetched after
    // the deletion and dropped the same records.
    send_all(&producer, "events", &values("f", 1));
    let cluster = log.cluster();
    let old = cluster.partition("events", 0).unwrap().leader().unwrap();
    cluster.broker(old).unwrap().kill().unwrap();
    wait_for(&cluster, "events", 0, "a new leader", |s| {
        s.leader().is_some_and(|l| l != old)
    });
    // The metadata names the new leader a moment before its broker takes
    // the role; until then the partition answers NotLeader (retriable).
    assert!(cluster.wait_until(WAIT, |_| topic.partition(0).is_ok()));
    let offsets = topic.partition(0).unwrap();
    assert_eq!(
        offsets.log_start_offset(),
        6,
        "the new leader deleted them too"
    );
    let records = read_topic(&log, "events", 5).unwrap();
    assert_eq!(offsets_of(&records), [6, 7, 8, 9, 10]);
    assert_eq!(text(&records[0]), "e-6");
    cluster.broker(old).unwrap().restart().unwrap();
    drop(producer);
    log.close().unwrap();

    let log = tidelog::Log::open(dir.path()).unwrap();
    let offsets = log.topic("events").unwrap().partition(0).unwrap();
    assert_eq!(offsets.log_start_offset(), 6);
}

#[test]
fn a_subscribed_group_rebalances_onto_new_partitions() {
    let (_dir, log) = open_log();
    let mut topic = log
        .create_topic("jobs", TopicConfig::new().partitions(1))
        .unwrap();
    let mut consumer = log
        .consumer(
            tidelog::ConsumerConfig::new()
                .group_id("workers")
                .set("auto.offset.reset", "earliest")
                .unwrap()
                .set("heartbeat.interval.ms", "50")
                .unwrap(),
        )
        .unwrap();
    consumer.subscribe(["jobs"]).unwrap();
    consumer.poll(std::time::Duration::from_millis(50)).unwrap();
    topic.create_partitions(3).unwrap();
    let producer = reliable_producer(&log);
    producer
        .send_sync(ProducerRecord::new("jobs", "late").partition(2))
        .unwrap();
    let deadline = std::time::Instant::now() + crate::replication::WAIT;
    let mut got = Vec::new();
    while got.is_empty() && std::time::Instant::now() < deadline {
        got = consumer
            .poll(std::time::Duration::from_millis(100))
            .unwrap();
    }
    assert_eq!(got.len(), 1, "the record on the new partition arrives");
    assert_eq!((got[0].partition(), text(&got[0])), (2, "late".to_string()));
}
