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
