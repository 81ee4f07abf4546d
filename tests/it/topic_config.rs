//! Altering a live topic's settings, and the view of every setting in force.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tidelog::{
    Acks, ConfigChange, ConfigSource, Error, Log, ProducerConfig, ProducerRecord, Topic,
    TopicConfig,
};

use crate::replication::{impatient_producer, reliable_producer, wait_for, wait_full_isr, WAIT};
use crate::support::{consumer_from_start, open_log, open_log_with, read_records};

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    since.as_millis() as i64
}

fn entry(topic: &Topic, key: &str) -> (String, ConfigSource) {
    let entries = topic.describe_config().unwrap();
    let found = entries.iter().find(|e| e.name() == key).unwrap();
    (found.value().to_string(), found.source())
}

fn sized(topic: &str, bytes: usize) -> ProducerRecord {
    ProducerRecord::new(topic, vec![b'x'; bytes]).partition(0)
}

fn too_large(result: tidelog::Result<tidelog::RecordMetadata>) -> bool {
    matches!(
        result,
        Err(Error::RecordTooLarge {
            limit: "max.message.bytes",
            ..
        })
    )
}

#[test]
fn a_shorter_retention_deletes_segments_that_the_old_one_kept() {
    let (_dir, log) = open_log_with(|b| b.set("log.retention.check.interval.ms", "20").unwrap());
    let topic = log
        .create_topic(
            "events",
            TopicConfig::new().set("segment.bytes", "300").unwrap(),
        )
        .unwrap();
    let producer = impatient_producer(&log, Acks::Leader);
    let old = now_ms() - 10 * 60_000;
    for i in 0..30 {
        let record = ProducerRecord::new("events", format!("old-{i:02}")).timestamp(old);
        producer.send_sync(record).unwrap();
    }
    let fresh = producer
        .send_sync(ProducerRecord::new("events", "fresh"))
        .unwrap();
    // Seven days of retention keep ten-minute-old records.
    assert_eq!(topic.partition(0).unwrap().log_start_offset(), 0);
    assert_eq!(entry(&topic, "retention.ms").1, ConfigSource::Default);

    topic
        .alter_config([ConfigChange::set("retention.ms", "60000")])
        .unwrap();
    assert_eq!(
        entry(&topic, "retention.ms"),
        ("60000".to_string(), ConfigSource::TopicOverride)
    );
    let deleted = log
        .cluster()
        .wait_until(WAIT, |_| topic.partition(0).unwrap().log_start_offset() > 0);
    assert!(deleted, "the new retention never deleted the old segments");
    let offsets = topic.partition(0).unwrap();
    assert!(offsets.log_start_offset() <= fresh.offset());
    assert_eq!(offsets.log_end_offset(), fresh.offset() + 1);
    producer.close();
    log.close().unwrap();
}

#[test]
fn max_message_bytes_raised_and_lowered_governs_produce_and_survives_a_reopen() {
    let (dir, log) = open_log();
    let config = TopicConfig::new().set("max.message.bytes", "1000").unwrap();
    let topic = log.create_topic("blobs", config).unwrap();
    let producer = impatient_producer(&log, Acks::Leader);
    assert!(too_large(producer.send_sync(sized("blobs", 3000))));

    topic
        .alter_config([ConfigChange::set("max.message.bytes", "10000")])
        .unwrap();
    producer.send_sync(sized("blobs", 3000)).unwrap();

    topic
        .alter_config([ConfigChange::set("max.message.bytes", "500")])
        .unwrap();
    assert!(too_large(producer.send_sync(sized("blobs", 800))));
    producer.send_sync(sized("blobs", 100)).unwrap();
    producer.close();
    log.close().unwrap();

    let log = Log::open(dir.path()).unwrap();
    let topic = log.topic("blobs").unwrap();
    assert_eq!(
        topic.config().unwrap().get("max.message.bytes").as_deref(),
        Some("500")
    );
    let producer = impatient_producer(&log, Acks::Leader);
    assert!(too_large(producer.send_sync(sized("blobs", 800))));

    // Deleting the override brings back the Log's limit (1 048 588).
    topic
        .alter_config([ConfigChange::delete("max.message.bytes")])
        .unwrap();
    assert_eq!(
        entry(&topic, "max.message.bytes"),
        ("1048588".to_string(), ConfigSource::Default)
    );
    producer.send_sync(sized("blobs", 3000)).unwrap();
    producer.close();
    log.close().unwrap();
}

#[test]
fn every_replica_takes_the_change_even_on_a_broker_that_was_down() {
    let (_dir, log) = open_log();
    let topic = log.create_topic("orders", TopicConfig::new()).unwrap();
    let cluster = log.cluster();
    wait_full_isr(&cluster, "orders", 0);
    let leader = cluster.partition("orders", 0).unwrap().leader().unwrap();
    let down = (leader + 1) % 3;
    cluster.broker(down).unwrap().shutdown().unwrap();
    topic
        .alter_config([ConfigChange::set("max.message.bytes", "500")])
        .unwrap();
    cluster.broker(down).unwrap().restart().unwrap();
    wait_full_isr(&cluster, "orders", 0);
    // The two other brokers go: the one that was down leads.
    for id in (0..3).filter(|&id| id != down) {
        cluster.broker(id).unwrap().shutdown().unwrap();
    }
    wait_for(&cluster, "orders", 0, "the restarted broker to lead", |s| {
        s.leader() == Some(down)
    });
    // Retries ride out a leadership move; a size refusal is never retried.
    let producer = log
        .producer(
            ProducerConfig::new()
                .acks(Acks::Leader)
                .retry_backoff(Duration::from_millis(20)),
        )
        .unwrap();
    assert!(too_large(producer.send_sync(sized("orders", 800))));
    producer.send_sync(sized("orders", 100)).unwrap();
    producer.close();
    log.close().unwrap();
}

#[test]
fn min_insync_replicas_changes_what_acks_all_needs_at_once() {
    let (_dir, log) = open_log();
    let topic = log.create_topic("payments", TopicConfig::new()).unwrap();
    let cluster = log.cluster();
    wait_full_isr(&cluster, "payments", 0);
    topic
        .alter_config([ConfigChange::set("min.insync.replicas", "3")])
        .unwrap();
    let leader = cluster.partition("payments", 0).unwrap().leader().unwrap();
    cluster
        .broker((leader + 1) % 3)
        .unwrap()
        .shutdown()
        .unwrap();
    wait_for(&cluster, "payments", 0, "the ISR to shrink", |s| {
        s.in_sync_replicas().len() == 2
    });
    let producer = impatient_producer(&log, Acks::All);
    let refused = producer.send_sync(ProducerRecord::new("payments", "a").partition(0));
    assert!(
        matches!(refused, Err(Error::NotEnoughReplicas { required: 3, .. })),
        "{refused:?}"
    );
    topic
        .alter_config([ConfigChange::delete("min.insync.replicas")])
        .unwrap();
    producer.close();
    let producer = reliable_producer(&log);
    producer
        .send_sync(ProducerRecord::new("payments", "b").partition(0))
        .unwrap();
    producer.close();
    log.close().unwrap();
}

#[test]
fn a_new_timestamp_type_stamps_the_next_append() {
    let (_dir, log) = open_log();
    let topic = log.create_topic("clicks", TopicConfig::new()).unwrap();
    let producer = log
        .producer(ProducerConfig::new().acks(Acks::Leader))
        .unwrap();
    let send = |value: &str| {
        let record = ProducerRecord::new("clicks", value.to_string()).timestamp(1_000);
        producer.send_sync(record).unwrap();
    };
    send("create-time");
    topic
        .alter_config([ConfigChange::set("message.timestamp.type", "LogAppendTime")])
        .unwrap();
    send("append-time");
    let mut consumer = consumer_from_start(&log, "clicks").unwrap();
    let records = read_records(&mut consumer, 2).unwrap();
    assert_eq!(records[0].timestamp(), 1_000);
    assert!(records[1].timestamp() > 1_000, "LogAppendTime not applied");
    drop(consumer);
    producer.close();
    log.close().unwrap();
}

#[test]
fn a_refused_change_leaves_every_setting_as_it_was() {
    let (_dir, log) = open_log();
    let config = TopicConfig::new().set("retention.ms", "60000").unwrap();
    let topic = log.create_topic("audit", config).unwrap();
    let before = topic.config().unwrap();
    let refusals = [
        // The first change is fine, the second is not: neither applies.
        vec![
            ConfigChange::set("retention.ms", "1000"),
            ConfigChange::set("min.insync.replicas", "4"),
        ],
        vec![ConfigChange::set("retention.ms", "soon")],
        vec![ConfigChange::set("retention.msec", "1000")],
        vec![ConfigChange::set("segment.bytes", "0")],
        vec![ConfigChange::set("partitions", "6")],
        vec![ConfigChange::set("replication.factor", "1")],
    ];
    for changes in refusals {
        let err = topic.alter_config(changes.clone()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { .. }),
            "{changes:?}: {err}"
        );
        assert_eq!(topic.config().unwrap(), before, "{changes:?} changed it");
    }
    let err = topic
        .alter_config([ConfigChange::set("partitions", "6")])
        .unwrap_err();
    assert!(err.to_string().contains("create_partitions"), "{err}");
    log.delete_topic("audit").unwrap();
    assert!(matches!(
        topic.alter_config([ConfigChange::set("retention.ms", "1")]),
        Err(Error::UnknownTopic(_))
    ));
}

#[test]
fn describe_config_lists_every_key_with_its_source() {
    let (_dir, log) = open_log_with(|b| b.set("log.retention.minutes", "5").unwrap());
    let config = TopicConfig::new().set("max.message.bytes", "4096").unwrap();
    let topic = log.create_topic("orders", config).unwrap();
    assert_eq!(
        entry(&topic, "retention.ms"),
        ("300000".to_string(), ConfigSource::Broker)
    );
    assert_eq!(
        entry(&topic, "max.message.bytes"),
        ("4096".to_string(), ConfigSource::TopicOverride)
    );
    assert_eq!(
        entry(&topic, "cleanup.policy"),
        ("delete".to_string(), ConfigSource::Default)
    );
    assert_eq!(entry(&topic, "replication.factor").0, "3");
    // The overrides alone are what config() reports.
    let overrides = topic.config().unwrap().overrides();
    assert!(overrides.contains(&("max.message.bytes", "4096".to_string())));
    assert!(!overrides.iter().any(|(k, _)| *k == "retention.ms"));
    log.close().unwrap();
}
