//! Log compaction through the public API: the newest value of every key
//! survives cleaning and restarts, tombstones go, consumers step over the
//! gaps, keyless records are refused, and replicas stay equal through
//! cleaning and failover.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use tidelog::inspect::dump_segment;
use tidelog::{
    Acks, Error, Log, LogBuilder, Producer, ProducerConfig, ProducerRecord, Result, TopicConfig,
};

use crate::replication::{fast, reliable_producer, wait_for, wait_full_isr};
use crate::support::{consumer_from_start, open_log_with};

const KEYS: usize = 10;

/// A compacted topic in small segments, so a few records roll several.
fn compacted() -> TopicConfig {
    TopicConfig::new()
        .set("cleanup.policy", "compact")
        .unwrap()
        .set("segment.bytes", "600")
        .unwrap()
}

fn one_broker(builder: LogBuilder) -> LogBuilder {
    builder.brokers(1)
}

fn leader_producer(log: &Log) -> Producer {
    log.producer(ProducerConfig::new().acks(Acks::Leader))
        .unwrap()
}

/// Writes `rounds` values for each of the keys; returns the newest per key.
fn put_rounds(producer: &Producer, topic: &str, rounds: usize) -> BTreeMap<String, String> {
    let mut latest = BTreeMap::new();
    for round in 0..rounds {
        for k in 0..KEYS {
            let (key, value) = (format!("key-{k}"), format!("value-{k}-{round}"));
            producer
                .send_sync(
                    ProducerRecord::new(topic, value.clone())
                        .key(key.clone())
                        .partition(0),
                )
                .unwrap();
            latest.insert(key, value);
        }
    }
    latest
}

/// Every record from the start: (offset, key, value or None).
fn read_all(log: &Log, topic: &str) -> Vec<(u64, String, Option<String>)> {
    let end = log
        .topic(topic)
        .unwrap()
        .partition(0)
        .unwrap()
        .high_watermark();
    let mut consumer = consumer_from_start(log, topic).unwrap();
    let mut out = Vec::new();
    let mut position = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while position < end {
        assert!(
            std::time::Instant::now() < deadline,
            "stuck at {position} of {end}"
        );
        for r in consumer.poll(Duration::from_millis(100)).unwrap() {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            out.push((r.offset(), text(r.key().unwrap()), r.value().map(text)));
        }
        position = consumer
            .position(&tidelog::TopicPartition::new(topic, 0))
            .unwrap();
    }
    out
}

/// The newest value per key as a consumer reading from the start sees it.
fn latest_seen(records: &[(u64, String, Option<String>)]) -> BTreeMap<String, String> {
    let mut latest = BTreeMap::new();
    for (_, key, value) in records {
        match value {
            Some(v) => latest.insert(key.clone(), v.clone()),
            None => latest.remove(key),
        };
    }
    latest
}

#[test]
fn the_newest_value_of_every_key_survives_a_pass_and_a_restart() -> Result<()> {
    let (dir, log) = open_log_with(one_broker);
    let topic = log.create_topic("table", compacted())?;
    let producer = leader_producer(&log);
    let latest = put_rounds(&producer, "table", 8);
    let before = read_all(&log, "table");
    topic.clean()?;
    let state = topic.cleaner_state(0)?;
    assert!(state.last_run_ms().is_some());
    assert!(state.records_removed() > 0, "{state:?}");
    assert!(state.bytes_cleaned() > state.bytes_written());
    let after = read_all(&log, "table");
    assert!(after.len() < before.len());
    assert!(
        after.windows(2).all(|w| w[0].0 < w[1].0),
        "offsets increase"
    );
    // Gaps: some offsets are gone, and the consumer stepped over them.
    let gap_at_start = after.first().is_some_and(|r| r.0 > 0);
    assert!(gap_at_start || after.windows(2).any(|w| w[1].0 > w[0].0 + 1));
    assert_eq!(latest_seen(&after), latest);
    producer.close();
    log.close()?;

    let log = Log::builder(dir.path()).brokers(1).open()?;
    let reopened = read_all(&log, "table");
    assert_eq!(reopened, after);
    assert_eq!(latest_seen(&reopened), latest);
    log.close()
}

#[test]
fn tombstones_go_once_delete_retention_has_passed() -> Result<()> {
    let (dir, log) = open_log_with(one_broker);
    let config = compacted().set("delete.retention.ms", "60000")?;
    let topic = log.create_topic("gone", config)?;
    let producer = leader_producer(&log);
    // An hour old: past delete.retention.ms as soon as they are cleaned.
    let old = now_ms() - 3_600_000;
    let mut latest = BTreeMap::new();
    let mut put = |key: String, value: Option<String>| {
        let record = match &value {
            Some(v) => ProducerRecord::new("gone", v.clone()),
            None => ProducerRecord::tombstone("gone"),
        };
        let record = record.key(key.clone()).timestamp(old).partition(0);
        producer.send_sync(record).unwrap();
        match value {
            Some(v) => latest.insert(key, v),
            None => latest.remove(&key),
        };
    };
    for round in 0..2 {
        for k in 0..KEYS {
            put(format!("key-{k}"), Some(format!("v-{k}-{round}")));
        }
    }
    put("key-0".to_string(), None);
    // Enough newer records of the other keys that the tombstone's segment
    // is sealed, so the cleaner may take it.
    for round in 0..4 {
        for k in 1..KEYS {
            put(format!("key-{k}"), Some(format!("late-{k}-{round}")));
        }
    }
    topic.clean()?;
    let (_, sealed) = sealed_records(dir.path(), 0, "gone");
    assert!(!sealed.is_empty());
    let key0 = Some(b"key-0".to_vec());
    assert!(
        !sealed.iter().any(|(_, key, _)| *key == key0),
        "key-0's values or tombstone are still in a cleaned segment"
    );
    assert_eq!(latest_seen(&read_all(&log, "gone")), latest);
    producer.close();
    log.close()
}

#[test]
fn young_tombstones_stay_for_consumers_to_see() -> Result<()> {
    let (dir, log) = open_log_with(one_broker);
    let topic = log.create_topic("kept", compacted())?;
    let producer = leader_producer(&log);
    put_rounds(&producer, "kept", 2);
    producer.send_sync(ProducerRecord::tombstone("kept").key("key-0").partition(0))?;
    put_rounds_except_key0(&producer, "kept", &mut BTreeMap::new());
    topic.clean()?;
    let (_, sealed) = sealed_records(dir.path(), 0, "kept");
    let key0: Vec<_> = sealed
        .iter()
        .filter(|(_, key, _)| key.as_deref() == Some(b"key-0"))
        .collect();
    // Only the tombstone is left of key-0 (delete.retention.ms is a day).
    assert_eq!(key0.len(), 1, "{key0:?}");
    assert_eq!(key0[0].2, None);
    producer.close();
    log.close()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// More rounds of every key but key-0, so key-0's tombstone ends up in a
/// sealed segment.
fn put_rounds_except_key0(producer: &Producer, topic: &str, latest: &mut BTreeMap<String, String>) {
    for round in 0..4 {
        for k in 1..KEYS {
            let (key, value) = (format!("key-{k}"), format!("late-{k}-{round}"));
            producer
                .send_sync(
                    ProducerRecord::new(topic, value.clone())
                        .key(key.clone())
                        .partition(0),
                )
                .unwrap();
            latest.insert(key, value);
        }
    }
}

#[test]
fn keyless_records_are_refused_by_a_compacted_topic() -> Result<()> {
    let (_dir, log) = open_log_with(one_broker);
    log.create_topic("keyed", compacted())?;
    let producer = leader_producer(&log);
    let err = producer
        .send_sync(ProducerRecord::new("keyed", "no key"))
        .unwrap_err();
    assert!(
        matches!(err, Error::KeylessRecordInCompactedTopic { ref topic, .. } if topic == "keyed"),
        "{err:?}"
    );
    assert_eq!(log.topic("keyed")?.partition(0)?.log_end_offset(), 0);
    producer.send_sync(ProducerRecord::new("keyed", "v").key("k"))?;
    producer.close();
    log.close()
}

#[test]
fn compact_delete_also_applies_time_retention() -> Result<()> {
    let (_dir, log) = open_log_with(|b| {
        b.brokers(1)
            .set("log.retention.check.interval.ms", "20")
            .unwrap()
    });
    let config = compacted()
        .set("cleanup.policy", "compact,delete")?
        .set("retention.ms", "60000")?;
    let topic = log.create_topic("both", config)?;
    let producer = leader_producer(&log);
    let old = now_ms() - 600_000;
    for i in 0..40 {
        let record = ProducerRecord::new("both", format!("old-{i}"))
            .key(format!("k{i}"))
            .timestamp(old)
            .partition(0);
        producer.send_sync(record)?;
    }
    producer.send_sync(ProducerRecord::new("both", "fresh").key("f").partition(0))?;
    let cluster = log.cluster();
    assert!(cluster.wait_until(Duration::from_secs(30), |_| {
        topic.partition(0).is_ok_and(|p| p.log_start_offset() > 0)
    }));
    producer.close();
    log.close()
}

/// The sealed segments of one replica, decoded: (offset, key, value).
type Decoded = Vec<(u64, Option<Vec<u8>>, Option<Vec<u8>>)>;

fn sealed_records(root: &Path, broker: u32, topic: &str) -> (u64, Decoded) {
    let dir = root
        .join(format!("broker-{broker}"))
        .join(format!("{topic}-0"));
    let mut logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    // The active segment is still being written, and never cleaned.
    let active = logs.pop().unwrap();
    let active_base = active
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap();
    let mut records = Vec::new();
    for log in logs {
        for batch in dump_segment(&log).unwrap() {
            for r in batch.records() {
                records.push((
                    r.offset(),
                    r.key().map(<[u8]>::to_vec),
                    r.value().map(<[u8]>::to_vec),
                ));
            }
        }
    }
    (active_base, records)
}

/// Cleans until every listed replica holds the same records below the
/// lowest active segment base (a follower cleans once it has learnt the
/// high watermark); panics if they never agree.
fn assert_replicas_converge(log: &Log, root: &Path, topic: &str, brokers: &[u32]) {
    let mut last = String::new();
    let agreed = log.cluster().wait_until(Duration::from_secs(30), |_| {
        let _ = log.topic(topic).and_then(|t| t.clean());
        let replicas: Vec<(u64, Decoded)> = brokers
            .iter()
            .map(|&b| sealed_records(root, b, topic))
            .collect();
        let bound = replicas.iter().map(|r| r.0).min().unwrap();
        let below =
            |r: &Decoded| -> Decoded { r.iter().filter(|x| x.0 < bound).cloned().collect() };
        let first = below(&replicas[0].1);
        let all_cleaned = !first.is_empty() && first.len() < usize::try_from(bound).unwrap();
        last = replicas
            .iter()
            .map(|r| {
                format!(
                    "active at {}: {:?}\n",
                    r.0,
                    below(&r.1).iter().map(|x| x.0).collect::<Vec<_>>()
                )
            })
            .collect::<String>();
        all_cleaned && replicas.iter().all(|r| below(&r.1) == first)
    });
    assert!(
        agreed,
        "replicas {brokers:?} of {topic} never agreed:\n{last}"
    );
}

#[test]
fn followers_logs_equal_the_leaders_after_cleaning_and_failover() -> Result<()> {
    let (dir, log) = open_log_with(fast);
    let config = compacted().replication_factor(3);
    log.create_topic("replicated", config)?;
    let cluster = log.cluster();
    wait_full_isr(&cluster, "replicated", 0);
    let producer = reliable_producer(&log);
    put_rounds(&producer, "replicated", 6);
    assert_replicas_converge(&log, dir.path(), "replicated", &[0, 1, 2]);

    let leader = cluster.partition("replicated", 0)?.leader().unwrap();
    cluster.broker(leader)?.kill()?;
    wait_for(&cluster, "replicated", 0, "a new leader", |s| {
        s.leader().is_some_and(|l| l != leader)
    });
    let latest = put_rounds(&producer, "replicated", 6);
    let running: Vec<u32> = (0..3).filter(|&b| b != leader).collect();
    assert_replicas_converge(&log, dir.path(), "replicated", &running);

    cluster.broker(leader)?.restart()?;
    wait_full_isr(&cluster, "replicated", 0);
    assert_replicas_converge(&log, dir.path(), "replicated", &[0, 1, 2]);
    assert_eq!(latest_seen(&read_all(&log, "replicated")), latest);
    producer.close();
    log.close()
}

#[test]
fn committed_offsets_are_the_latest_after_compaction_and_a_restart() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        Log::builder(dir.path())
            .brokers(1)
            .set("offsets.topic.num.partitions", "1")?
            .set("offsets.topic.segment.bytes", "1024")?
            .open()
    };
    let log = open()?;
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let config = tidelog::ConsumerConfig::new()
        .group_id("billing")
        .enable_auto_commit(false);
    let mut consumer = log.consumer(config)?;
    let tps = [
        tidelog::TopicPartition::new("orders", 0),
        tidelog::TopicPartition::new("orders", 1),
    ];
    consumer.assign(&tps)?;
    for i in 0..200u64 {
        let offsets: Vec<_> = tps
            .iter()
            .map(|tp| {
                (
                    tp.clone(),
                    tidelog::OffsetAndMetadata::new(i * 10 + u64::from(tp.partition())),
                )
            })
            .collect();
        consumer.commit_offsets(&offsets)?;
    }
    drop(consumer);
    // A deleted group leaves tombstones, which compaction keeps for a day.
    let mut other = log.consumer(
        tidelog::ConsumerConfig::new()
            .group_id("gone")
            .enable_auto_commit(false),
    )?;
    other.assign(&tps[..1])?;
    other.commit_offsets(&[(tps[0].clone(), tidelog::OffsetAndMetadata::new(7))])?;
    drop(other);
    log.consumer_group("gone").delete()?;

    let offsets_topic = log.topic("__consumer_offsets")?;
    let before = offsets_topic.partition(0)?;
    offsets_topic.clean()?;
    let state = offsets_topic.cleaner_state(0)?;
    assert!(state.records_removed() > 300, "{state:?}");
    assert_eq!(
        offsets_topic.partition(0)?.log_end_offset(),
        before.log_end_offset()
    );
    log.close()?;

    let log = open()?;
    let group = log.consumer_group("billing");
    for tp in &tps {
        let committed = group.committed(tp)?.unwrap();
        assert_eq!(committed.offset(), 1990 + u64::from(tp.partition()));
    }
    assert_eq!(log.consumer_group("gone").committed(&tps[0])?, None);
    assert!(!log.list_groups()?.contains(&"gone".to_string()));
    log.close()
}

#[test]
fn the_cleaner_thread_compacts_on_its_own() -> Result<()> {
    let (_dir, log) = open_log_with(|b| b.brokers(1).set("log.cleaner.backoff.ms", "20").unwrap());
    let topic = log.create_topic("auto", compacted())?;
    let producer = leader_producer(&log);
    let latest = put_rounds(&producer, "auto", 8);
    let cleaned = log.cluster().wait_until(Duration::from_secs(30), |_| {
        topic.cleaner_state(0).is_ok_and(|s| s.passes() > 0)
    });
    assert!(cleaned, "{:?}", topic.cleaner_state(0));
    assert!(topic.cleaner_state(0)?.dirty_ratio() >= 0.5);
    assert_eq!(latest_seen(&read_all(&log, "auto")), latest);
    producer.close();
    log.close()
}

#[test]
fn min_compaction_lag_keeps_young_records_uncompacted() -> Result<()> {
    let (_dir, log) = open_log_with(one_broker);
    let config = compacted().set("min.compaction.lag.ms", "3600000")?;
    let topic = log.create_topic("young", config)?;
    let producer = leader_producer(&log);
    put_rounds(&producer, "young", 8);
    let before = read_all(&log, "young");
    topic.clean()?;
    assert_eq!(topic.cleaner_state(0)?.records_removed(), 0);
    assert_eq!(read_all(&log, "young"), before);
    producer.close();
    log.close()
}
