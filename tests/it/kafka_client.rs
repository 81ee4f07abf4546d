//! `Log::connect`: tidelog's own handles over the Kafka protocol, against
//! tidelog's listener (always) or a real Kafka broker when
//! `TIDELOG_KAFKA_BOOTSTRAP` names one (`kafka-harness/with-kafka.sh`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tidelog::kafka::KafkaServer;
use tidelog::{
    ConsumerConfig, ConsumerRecord, Error, KafkaConfig, Log, OffsetReset, ProducerConfig,
    ProducerRecord, TopicConfig, TopicPartition,
};

/// A connected Log and, for the listener, what keeps it serving.
struct Remote {
    log: Log,
    _served: Option<(tempfile::TempDir, Arc<Log>, KafkaServer)>,
}

fn remote() -> Remote {
    if let Ok(bootstrap) = std::env::var("TIDELOG_KAFKA_BOOTSTRAP") {
        return Remote {
            log: connect(&bootstrap),
            _served: None,
        };
    }
    let dir = tempfile::tempdir().unwrap();
    let embedded = Log::builder(dir.path())
        .set("offsets.topic.num.partitions", "1")
        .unwrap()
        .brokers(1)
        .open()
        .unwrap();
    let embedded = Arc::new(embedded);
    let server = KafkaServer::start(Arc::clone(&embedded), "127.0.0.1").unwrap();
    Remote {
        log: connect(&server.bootstrap_servers()),
        _served: Some((dir, embedded, server)),
    }
}

fn connect(bootstrap: &str) -> Log {
    let config = KafkaConfig::new()
        .set("bootstrap.servers", bootstrap)
        .unwrap()
        .set("default.api.timeout.ms", "30000")
        .unwrap();
    Log::connect(config).unwrap()
}

/// A topic name no other test (nor an earlier run on the same broker) uses.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn earliest() -> ConsumerConfig {
    ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest)
}

/// Polls until `count` records arrived (or a minute passed).
fn poll_n(consumer: &mut tidelog::Consumer, count: usize) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        out.extend(consumer.poll(Duration::from_millis(500)).unwrap());
    }
    out
}

fn values(records: &[ConsumerRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value().unwrap_or_default()).into_owned())
        .collect()
}

#[test]
fn connect_needs_bootstrap_servers_and_checks_values() {
    assert!(matches!(
        Log::connect(KafkaConfig::new()),
        Err(Error::InvalidConfig { .. })
    ));
    let refused = KafkaConfig::new().set("no.such.property", "1");
    assert!(matches!(refused, Err(Error::InvalidConfig { key, .. }) if key == "no.such.property"));
    assert!(KafkaConfig::new().set("linger.ms", "soon").is_err());
}

#[test]
fn topics_are_created_listed_described_and_deleted() {
    let remote = remote();
    let log = &remote.log;
    let name = unique("admin");
    let topic = log
        .create_topic(&name, TopicConfig::new().partitions(3))
        .unwrap();
    assert_eq!(topic.partition_count(), 3);
    assert!(matches!(
        log.create_topic(&name, TopicConfig::new().partitions(3)),
        Err(Error::TopicAlreadyExists(_))
    ));
    let again = log
        .create_topic_if_not_exists(&name, TopicConfig::new().partitions(1))
        .unwrap();
    assert_eq!(again.partition_count(), 3);
    assert!(log.list_topics().unwrap().contains(&name));
    let offsets = topic.partitions().unwrap();
    assert_eq!(offsets.len(), 3);
    assert!(offsets.iter().all(|p| p.high_watermark() == 0));
    log.delete_topic(&name).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while log.list_topics().unwrap().contains(&name) && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(!log.list_topics().unwrap().contains(&name));
}

#[test]
fn the_three_send_modes_deliver_and_assign_poll_reads_them_in_order() {
    let remote = remote();
    let log = &remote.log;
    let name = unique("modes");
    log.create_topic(&name, TopicConfig::new().partitions(1))
        .unwrap();
    let producer = log.producer(ProducerConfig::new()).unwrap();
    producer
        .send(ProducerRecord::new(name.as_str(), "a").key("k"))
        .unwrap();
    let sent = producer
        .send_sync(ProducerRecord::new(name.as_str(), "b").header("h", "v"))
        .unwrap();
    assert_eq!((sent.partition(), sent.offset()), (0, 1));
    let (tx, rx) = mpsc::channel();
    producer
        .send_with_callback(ProducerRecord::new(name.as_str(), "c"), move |result| {
            tx.send(result.map(|m| m.offset())).unwrap();
        })
        .unwrap();
    producer.flush_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(rx.recv().unwrap().unwrap(), 2);
    assert_eq!(producer.failed_sends(), 0);

    let mut consumer = log.consumer(earliest()).unwrap();
    let tp = TopicPartition::new(name.as_str(), 0);
    consumer.assign(std::slice::from_ref(&tp)).unwrap();
    let records = poll_n(&mut consumer, 3);
    assert_eq!(values(&records), ["a", "b", "c"]);
    assert_eq!(records[0].key(), Some(&b"k"[..]));
    assert_eq!(records[1].headers()[0].value(), b"v");
    assert_eq!(consumer.position(&tp).unwrap(), 3);

    consumer.seek(&tp, 1).unwrap();
    assert_eq!(values(&poll_n(&mut consumer, 2)), ["b", "c"]);
    assert_eq!(
        log.topic(&name)
            .unwrap()
            .partition(0)
            .unwrap()
            .high_watermark(),
        3
    );
}

#[test]
fn a_refused_record_reaches_the_callback_once() {
    let remote = remote();
    let log = &remote.log;
    let name = unique("refused");
    log.create_topic(&name, TopicConfig::new().partitions(1))
        .unwrap();
    let producer = log.producer(ProducerConfig::new()).unwrap();
    let (tx, rx) = mpsc::channel();
    producer
        .send_with_callback(
            ProducerRecord::new(name.as_str(), "x").partition(7),
            move |result| tx.send(result.is_err()).unwrap(),
        )
        .unwrap();
    producer.flush();
    assert!(rx.recv().unwrap());
    assert_eq!(producer.failed_sends(), 1);
    producer.close();
    assert!(matches!(
        producer.send(ProducerRecord::new(name.as_str(), "late")),
        Err(Error::Closed(_))
    ));
}

#[test]
fn what_only_the_embedded_log_has_is_a_typed_error() {
    let remote = remote();
    let log = &remote.log;
    assert!(matches!(log.dir(), Err(Error::NeedsEmbedded(_))));
    assert!(log.cluster().brokers().is_empty());
    assert!(matches!(
        log.cluster().broker(0),
        Err(Error::NeedsEmbedded(_))
    ));
    let name = unique("embedded-only");
    let topic = log.create_topic(&name, TopicConfig::new()).unwrap();
    assert!(matches!(topic.clean(), Err(Error::NeedsEmbedded(_))));
    assert!(matches!(
        topic.cleaner_state(0),
        Err(Error::NeedsEmbedded(_))
    ));
}

/// Writes what the listener hears, for the test to read after the polls.
struct Recorder(Arc<std::sync::Mutex<Vec<String>>>);

impl tidelog::RebalanceListener for Recorder {
    fn on_partitions_revoked(
        &mut self,
        consumer: &mut tidelog::Consumer,
        partitions: &[TopicPartition],
    ) -> tidelog::Result<()> {
        // Commits still work here: the partitions are not yet given up.
        consumer.commit_sync()?;
        self.0
            .lock()
            .unwrap()
            .push(format!("revoked {}", partitions.len()));
        Ok(())
    }

    fn on_partitions_assigned(
        &mut self,
        consumer: &mut tidelog::Consumer,
        partitions: &[TopicPartition],
    ) -> tidelog::Result<()> {
        // Positions are known here: the partitions are taken already.
        for tp in partitions {
            consumer.position(tp)?;
        }
        self.0
            .lock()
            .unwrap()
            .push(format!("assigned {}", partitions.len()));
        Ok(())
    }
}

fn produce_spread(log: &Log, topic: &str, per_partition: u32, partitions: u32) {
    let producer = log.producer(ProducerConfig::new()).unwrap();
    for p in 0..partitions {
        for i in 0..per_partition {
            producer
                .send(ProducerRecord::new(topic, format!("{p}-{i}")).partition(p))
                .unwrap();
        }
    }
    producer.flush_timeout(Duration::from_secs(30)).unwrap();
}

#[test]
fn a_group_member_rebalances_through_its_listener_commits_and_is_administered() {
    let remote = remote();
    let log = &remote.log;
    let name = unique("group-topic");
    let group = unique("group");
    log.create_topic(&name, TopicConfig::new().partitions(2))
        .unwrap();
    produce_spread(log, &name, 2, 2);

    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let config = earliest().group_id(&group).enable_auto_commit(false);
    let mut consumer = log.consumer(config).unwrap();
    consumer
        .subscribe_with_listener([name.as_str()], Recorder(Arc::clone(&heard)))
        .unwrap();
    assert_eq!(consumer.subscription(), std::slice::from_ref(&name));
    let records = poll_n(&mut consumer, 4);
    assert_eq!(records.len(), 4);
    assert_eq!(heard.lock().unwrap().as_slice(), ["assigned 2"]);
    assert_eq!(consumer.assignment().len(), 2);
    consumer.commit_sync().unwrap();
    let tp0 = TopicPartition::new(name.as_str(), 0);
    assert_eq!(
        consumer.committed(&tp0).unwrap().map(|c| c.offset()),
        Some(2)
    );

    let admin = log.consumer_group(&group);
    let described = admin.describe().unwrap();
    assert_eq!(described.state(), tidelog::GroupState::Stable);
    assert_eq!(described.members().len(), 1);
    assert_eq!(described.members()[0].assignment().len(), 2);
    assert_eq!(
        described.strategy(),
        Some(tidelog::AssignmentStrategy::Range)
    );
    let lag = admin.lag().unwrap();
    assert_eq!(lag.len(), 2);
    assert!(lag.iter().all(|p| p.lag() == Some(0)));
    assert!(matches!(
        admin.reset_offsets(&name, tidelog::OffsetSpec::Earliest),
        Err(Error::GroupNotEmpty(_))
    ));

    consumer.close().unwrap();
    assert_eq!(
        heard.lock().unwrap().as_slice(),
        ["assigned 2", "revoked 2"]
    );
    assert_eq!(
        admin.describe().unwrap().state(),
        tidelog::GroupState::Empty
    );
    let planned = admin
        .plan_reset_offsets(&name, tidelog::OffsetSpec::ShiftBy(-1))
        .unwrap();
    assert_eq!(
        planned,
        [(tp0.clone(), 1), (TopicPartition::new(name.as_str(), 1), 1)]
    );
    let reset = admin
        .reset_offsets(&name, tidelog::OffsetSpec::Earliest)
        .unwrap();
    assert!(reset.iter().all(|(_, offset)| *offset == 0));
    assert!(admin.lag().unwrap().iter().all(|p| p.lag() == Some(2)));
    assert!(log.list_groups().unwrap().contains(&group));
}

#[test]
fn pause_seek_to_the_ends_offsets_for_times_and_async_commits() {
    let remote = remote();
    let log = &remote.log;
    let name = unique("positions");
    log.create_topic(&name, TopicConfig::new().partitions(1))
        .unwrap();
    let producer = log.producer(ProducerConfig::new()).unwrap();
    for (i, timestamp) in [1_000_i64, 2_000, 3_000].into_iter().enumerate() {
        producer
            .send_sync(ProducerRecord::new(name.as_str(), format!("r{i}")).timestamp(timestamp))
            .unwrap();
    }
    let group = unique("async");
    let mut consumer = log
        .consumer(earliest().group_id(&group).enable_auto_commit(false))
        .unwrap();
    let tp = TopicPartition::new(name.as_str(), 0);
    consumer.assign(std::slice::from_ref(&tp)).unwrap();

    let found = consumer.offsets_for_times([(tp.clone(), 1_500)]).unwrap();
    let found = found[&tp].unwrap();
    assert_eq!((found.offset(), found.timestamp()), (1, 2_000));
    assert!(consumer.offsets_for_times([(tp.clone(), 9_000)]).unwrap()[&tp].is_none());
    assert_eq!(
        consumer.end_offsets(std::slice::from_ref(&tp)).unwrap()[&tp],
        3
    );

    consumer.seek_to_end(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(consumer.position(&tp).unwrap(), 3);
    consumer.seek_to_beginning(&[]).unwrap();
    consumer.pause(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(consumer.paused(), std::slice::from_ref(&tp));
    assert!(consumer
        .poll(Duration::from_millis(300))
        .unwrap()
        .is_empty());
    consumer.resume(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(values(&poll_n(&mut consumer, 3)), ["r0", "r1", "r2"]);

    let (tx, rx) = mpsc::channel();
    consumer
        .commit_async(move |result| tx.send(result.is_ok()).unwrap())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut outcome = rx.try_recv();
    while outcome.is_err() && Instant::now() < deadline {
        consumer.poll(Duration::from_millis(50)).unwrap();
        outcome = rx.try_recv();
    }
    assert!(outcome.unwrap(), "the asynchronous commit succeeds");
    assert_eq!(
        consumer.committed(&tp).unwrap().map(|c| c.offset()),
        Some(3)
    );
}

/// Admin calls tidelog's listener does not serve (CreatePartitions,
/// DeleteRecords, DeleteGroups): checked against a real broker only.
#[test]
fn partitions_grow_records_are_deleted_and_groups_are_deleted_on_real_kafka() {
    let remote = remote();
    if remote._served.is_some() {
        eprintln!("skipped: needs TIDELOG_KAFKA_BOOTSTRAP (a real Kafka broker)");
        return;
    }
    let log = &remote.log;
    let name = unique("grow");
    let mut topic = log
        .create_topic(&name, TopicConfig::new().partitions(1))
        .unwrap();
    assert!(matches!(
        topic.create_partitions(1),
        Err(Error::InvalidConfig { .. })
    ));
    topic.create_partitions(3).unwrap();
    assert_eq!(log.topic(&name).unwrap().partition_count(), 3);

    produce_spread(log, &name, 4, 1);
    assert_eq!(topic.delete_records(0, 3).unwrap(), 3);
    assert_eq!(topic.partition(0).unwrap().log_start_offset(), 3);
    assert!(matches!(
        topic.delete_records(0, 99),
        Err(Error::OffsetOutOfRange { .. })
    ));

    let group = unique("deleted");
    let admin = log.consumer_group(&group);
    admin
        .reset_offsets(&name, tidelog::OffsetSpec::Earliest)
        .unwrap();
    assert_eq!(
        admin.describe().unwrap().state(),
        tidelog::GroupState::Empty
    );
    admin.delete().unwrap();
    assert_eq!(admin.describe().unwrap().state(), tidelog::GroupState::Dead);
    assert!(matches!(admin.delete(), Err(Error::UnknownGroup(_))));
}

#[test]
fn a_pattern_subscription_finds_its_topics_and_a_wakeup_interrupts_a_poll() {
    let remote = remote();
    let log = &remote.log;
    let prefix = unique("pattern");
    let name = format!("{prefix}-a");
    log.create_topic(&name, TopicConfig::new().partitions(1))
        .unwrap();
    produce_spread(log, &name, 1, 1);
    let config = earliest().group_id(unique("pattern-group"));
    let mut consumer = log.consumer(config).unwrap();
    consumer.subscribe_pattern(&format!("{prefix}-.*")).unwrap();
    assert_eq!(values(&poll_n(&mut consumer, 1)), ["0-0"]);
    assert_eq!(
        consumer.assignment(),
        [TopicPartition::new(name.as_str(), 0)]
    );

    let wakeup = consumer.wakeup_handle();
    let waker = std::thread::spawn(move || wakeup.wakeup());
    waker.join().unwrap();
    // The wakeup is waiting: this poll ends with it instead of the minute.
    assert!(matches!(
        consumer.poll(Duration::from_secs(60)),
        Err(Error::Wakeup)
    ));
    assert!(consumer.poll(Duration::ZERO).unwrap().is_empty());
    consumer.close().unwrap();
}

#[test]
fn cooperative_members_split_the_partitions_incrementally() {
    let remote = remote();
    let log = &remote.log;
    let name = unique("cooperative");
    log.create_topic(&name, TopicConfig::new().partitions(2))
        .unwrap();
    let group = unique("cooperative-group");
    let config = || {
        earliest()
            .group_id(&group)
            .assignment_strategy(tidelog::AssignmentStrategy::CooperativeSticky)
    };
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut first = log.consumer(config()).unwrap();
    first
        .subscribe_with_listener([name.as_str()], Recorder(Arc::clone(&heard)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while first.assignment().len() < 2 && Instant::now() < deadline {
        first.poll(Duration::from_millis(100)).unwrap();
    }
    assert_eq!(first.assignment().len(), 2);

    let mut second = log.consumer(config()).unwrap();
    second.subscribe([name.as_str()]).unwrap();
    while (first.assignment().len(), second.assignment().len()) != (1, 1)
        && Instant::now() < deadline
    {
        first.poll(Duration::from_millis(100)).unwrap();
        second.poll(Duration::from_millis(100)).unwrap();
    }
    assert_eq!(
        (first.assignment().len(), second.assignment().len()),
        (1, 1)
    );
    // Incremental: the first member gave up one partition and kept the
    // other. As Kafka's cooperative protocol does, the listener also hears
    // of every later rebalance's (empty) set of new partitions.
    let heard = heard.lock().unwrap().clone();
    assert_eq!(heard[..2], ["assigned 2", "revoked 1"]);
    assert!(
        heard[2..].iter().all(|event| event == "assigned 0"),
        "{heard:?}"
    );
    second.close().unwrap();
    first.close().unwrap();
}

#[test]
fn assigning_ends_a_subscription_through_the_listener() {
    let remote = remote();
    let log = &remote.log;
    let name = unique("switch");
    log.create_topic(&name, TopicConfig::new().partitions(2))
        .unwrap();
    produce_spread(log, &name, 1, 2);
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let config = earliest().group_id(unique("switch-group"));
    let mut consumer = log.consumer(config).unwrap();
    consumer
        .subscribe_with_listener([name.as_str()], Recorder(Arc::clone(&heard)))
        .unwrap();
    assert_eq!(poll_n(&mut consumer, 2).len(), 2);

    let tp1 = TopicPartition::new(name.as_str(), 1);
    consumer.assign(std::slice::from_ref(&tp1)).unwrap();
    assert_eq!(
        heard.lock().unwrap().as_slice(),
        ["assigned 2", "revoked 2"]
    );
    assert!(consumer.subscription().is_empty());
    assert_eq!(consumer.assignment(), std::slice::from_ref(&tp1));
    // The group's committed offset (from the listener's commit) is where it starts.
    assert_eq!(consumer.position(&tp1).unwrap(), 1);
    consumer.seek(&tp1, 0).unwrap();
    assert_eq!(values(&poll_n(&mut consumer, 1)), ["1-0"]);
}

#[test]
fn a_full_buffer_blocks_up_to_max_block_ms_then_refuses() {
    let remote = remote();
    let log = &remote.log;
    let name = unique("full");
    log.create_topic(&name, TopicConfig::new().partitions(1))
        .unwrap();
    // One KiB of buffer that nothing drains for a minute.
    let config = ProducerConfig::new()
        .set("buffer.memory", "1024")
        .unwrap()
        .set("linger.ms", "60000")
        .unwrap()
        .set("max.block.ms", "20")
        .unwrap();
    let producer = log.producer(config).unwrap();
    let refused = (0..1000)
        .map(|_| producer.send(ProducerRecord::new(name.as_str(), vec![7u8; 100])))
        .find_map(Result::err);
    assert!(
        matches!(
            refused,
            Some(Error::Timeout {
                op: "max.block.ms",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(producer.failed_sends(), 1);
    // Room again once the queue is sent (flush does not wait out linger.ms).
    producer.flush_timeout(Duration::from_secs(30)).unwrap();
    producer
        .send(ProducerRecord::new(name.as_str(), "after"))
        .unwrap();
    producer.flush_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(producer.failed_sends(), 1);
}
