//! Kafka config files load as they are; every config is checked where it
//! is used, whichever setter filled it.

use std::time::Duration;

use tidelog::{ConsumerConfig, Error, Log, ProducerConfig, Result, TopicConfig};

use crate::support::open_log;

/// A producer.properties as Kafka's distribution and a typical client ship it.
const PRODUCER_PROPERTIES: &str = "\
# Kafka producer settings
bootstrap.servers=localhost:9092
client.id=billing-producer
key.serializer=org.apache.kafka.common.serialization.StringSerializer
value.serializer=org.apache.kafka.common.serialization.ByteArraySerializer
compression.type=none
acks=all
linger.ms: 5
batch.size = 16384
metadata.max.age.ms=300000
reconnect.backoff.ms=50
retry.backoff.ms=100
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\
    username=\"alice\" password=\"secret\";
ssl.endpoint.identification.algorithm=https
";

const CONSUMER_PROPERTIES: &str = "\
bootstrap.servers=localhost:9092
group.id=billing
key.deserializer=org.apache.kafka.common.serialization.StringDeserializer
value.deserializer=org.apache.kafka.common.serialization.StringDeserializer
auto.offset.reset=earliest
isolation.level=read_uncommitted
enable.auto.commit=false
fetch.min.bytes=1
! an old-style comment
request.timeout.ms=30000
";

#[test]
fn a_kafka_producer_properties_file_loads_and_reports_the_ignored_keys() -> Result<()> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("producer.properties");
    std::fs::write(&path, PRODUCER_PROPERTIES).expect("write properties");
    let config = ProducerConfig::new().load_file(&path)?;
    assert_eq!(
        config.ignored_keys(),
        [
            "bootstrap.servers",
            "key.serializer",
            "value.serializer",
            "metadata.max.age.ms",
            "reconnect.backoff.ms",
            "security.protocol",
            "sasl.mechanism",
            "sasl.jaas.config",
            "ssl.endpoint.identification.algorithm",
        ]
    );
    let typed = ProducerConfig::new()
        .client_id("billing-producer")
        .acks(tidelog::Acks::All)
        .linger(Duration::from_millis(5));
    let mut without_ignored = ProducerConfig::new();
    for (key, value) in [("client.id", "billing-producer"), ("linger.ms", "5")] {
        without_ignored = without_ignored.set(key, value)?;
    }
    assert_eq!(without_ignored, typed);
    let (_dir, log) = open_log();
    log.producer(config)?;
    Ok(())
}

#[test]
fn a_kafka_consumer_properties_file_loads() -> Result<()> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("consumer.properties");
    std::fs::write(&path, CONSUMER_PROPERTIES).expect("write properties");
    let config = ConsumerConfig::new().load_file(&path)?;
    assert_eq!(
        config.ignored_keys().len(),
        5,
        "{:?}",
        config.ignored_keys()
    );
    let (_dir, log) = open_log();
    log.consumer(config)?;
    Ok(())
}

#[test]
fn a_missing_properties_file_is_an_io_error() {
    let error = ProducerConfig::new()
        .load_file("no/such/producer.properties")
        .unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error}");
}

#[test]
fn pairs_from_an_iterator_set_the_same_fields_as_typed_setters() -> Result<()> {
    let pairs = [("linger.ms", "7"), ("client.id", "a")];
    let by_pairs = ProducerConfig::new().set_all(pairs)?;
    let typed = ProducerConfig::new()
        .linger(Duration::from_millis(7))
        .client_id("a");
    assert_eq!(by_pairs, typed);
    Ok(())
}

#[test]
fn a_topic_with_zero_partitions_is_refused_and_the_log_reopens() -> Result<()> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = Log::open(dir.path())?;
    for config in [
        TopicConfig::new().partitions(0),
        TopicConfig::new().segment_bytes(0),
        TopicConfig::new().min_insync_replicas(0),
    ] {
        let error = log.create_topic("zero", config).unwrap_err();
        assert!(matches!(error, Error::InvalidConfig { .. }), "{error}");
    }
    let config = TopicConfig::new()
        .partitions(2)
        .set("preallocate", "true")?;
    assert_eq!(config.ignored_keys(), ["preallocate"]);
    log.create_topic("fine", config)?;
    log.close()?;
    let log = Log::open(dir.path())?;
    assert_eq!(log.topic("fine")?.partition_count(), 2);
    log.close()
}

#[test]
fn typed_values_out_of_range_fail_where_the_config_is_used() {
    let (_dir, log) = open_log();
    let error = log
        .consumer(ConsumerConfig::new().max_poll_records(0))
        .unwrap_err();
    assert!(matches!(error, Error::InvalidConfig { ref key, .. } if key == "max.poll.records"));
    let dir = tempfile::tempdir().expect("temporary directory");
    let error = Log::builder(dir.path())
        .retention_check_interval(Duration::ZERO)
        .open()
        .unwrap_err();
    assert!(
        matches!(error, Error::InvalidConfig { ref key, .. } if key == "log.retention.check.interval.ms")
    );
}
