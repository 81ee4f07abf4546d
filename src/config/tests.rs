//! The key tables against README, against each other and against the
//! typed setters.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use super::broker::{LogConfig, LOG};
use super::keys::Scope;
use super::topic::TOPIC;
use super::{CleanupPolicy, TopicCompression, TopicConfig};
use crate::consumer::config::CONSUMER;
use crate::producer::config::PRODUCER;
use crate::record::Compression;
use crate::{Acks, ConsumerConfig, Error, OffsetReset, ProducerConfig};

/// One README table row: default and meaning, by key.
type Rows = BTreeMap<String, (String, String)>;

fn scope_rows<C>(scope: &Scope<C>) -> Rows {
    scope
        .keys
        .iter()
        .map(|k| {
            let default = k.default.unwrap_or("(none)").to_string();
            (k.name.to_string(), (default, k.doc.to_string()))
        })
        .collect()
}

/// The rows of README's table headed `**<title>`.
fn readme_rows(title: &str) -> Rows {
    let readme = include_str!("../../README.md");
    let tables = readme
        .split("<!-- config-table:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- config-table:end -->").next())
        .expect("README has the configuration tables");
    let section = tables
        .split("\n**")
        .find(|s| s.starts_with(title))
        .unwrap_or_else(|| panic!("README lacks the {title} table"));
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let key = cells[0].trim_start_matches("| `").trim_end_matches('`');
            let doc = cells[2].trim_end_matches(" |");
            (key.to_string(), (cells[1].to_string(), doc.to_string()))
        })
        .collect()
}

#[test]
fn readme_lists_exactly_the_accepted_keys_with_their_defaults() {
    let scopes = [
        ("Log", scope_rows(&LOG)),
        ("Topic", scope_rows(&TOPIC)),
        ("Producer", scope_rows(&PRODUCER)),
        ("Consumer", scope_rows(&CONSUMER)),
    ];
    for (title, rows) in scopes {
        assert_eq!(
            readme_rows(title),
            rows,
            "README's {title} table and its key table differ"
        );
    }
}

fn check_classification<C>(scope: &Scope<C>) {
    let readme = include_str!("../../README.md");
    let listed = |name: &str| {
        let shown = name
            .strip_suffix('.')
            .map_or(name.to_string(), |p| format!("{p}.*"));
        readme.contains(&format!("`{shown}`"))
    };
    for name in scope.ignored {
        assert!(
            listed(name),
            "README does not list the ignored {} key {name}",
            scope.name
        );
    }
    for (name, _) in scope.refused {
        assert!(
            listed(name),
            "README does not list the refused {} key {name}",
            scope.name
        );
    }
}

#[test]
fn readme_lists_every_ignored_and_refused_key() {
    check_classification(&LOG);
    check_classification(&TOPIC);
    check_classification(&PRODUCER);
    check_classification(&CONSUMER);
}

#[test]
fn every_documented_key_accepts_its_default() {
    for key in LOG.keys {
        let default = key.default.unwrap_or_default();
        let mut config = LogConfig::default();
        if let Err(e) = config.set(key.name, default) {
            panic!("log key {} rejects its default: {e}", key.name);
        }
    }
    for key in TOPIC.keys {
        TopicConfig::new()
            .set(key.name, key.default.unwrap_or("x"))
            .unwrap();
    }
    for key in PRODUCER.keys {
        ProducerConfig::new()
            .set(key.name, key.default.unwrap_or("x"))
            .unwrap();
    }
    for key in CONSUMER.keys {
        ConsumerConfig::new()
            .set(key.name, key.default.unwrap_or("x"))
            .unwrap();
    }
}

#[test]
fn no_key_is_both_honoured_and_ignored_or_refused() {
    fn check<C>(scope: &Scope<C>) {
        for key in scope.keys {
            let ignored = scope.ignored.iter().any(|i| {
                key.name.starts_with(i.trim_end_matches('.'))
                    && (i.ends_with('.') || *i == key.name)
            });
            assert!(!ignored, "{} key {} is also ignored", scope.name, key.name);
            assert!(
                !scope.refused.iter().any(|(r, _)| *r == key.name),
                "{} is also refused",
                key.name
            );
        }
    }
    check(&LOG);
    check(&TOPIC);
    check(&PRODUCER);
    check(&CONSUMER);
}

#[test]
fn typed_setters_are_checked_like_named_keys() {
    assert!(matches!(
        ConsumerConfig::new().max_poll_records(0).validate(),
        Err(Error::InvalidConfig { key, .. }) if key == "max.poll.records"
    ));
    let log = LogConfig {
        retention_check_interval: Duration::ZERO,
        ..LogConfig::default()
    };
    assert!(matches!(
        log.validate(),
        Err(Error::InvalidConfig { key, .. }) if key == "log.retention.check.interval.ms"
    ));
    assert!(matches!(
        TopicConfig::new().partitions(0).validate(),
        Err(Error::InvalidConfig { key, .. }) if key == "partitions"
    ));
    assert!(ConsumerConfig::new().validate().is_ok());
    assert!(TopicConfig::new().validate().is_ok());
    assert!(LogConfig::default().validate().is_ok());
}

#[test]
fn a_misspelled_key_suggests_the_known_one_and_the_table() {
    let err = ConsumerConfig::new()
        .set("auto.offset.rest", "earliest")
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("did you mean auto.offset.reset?"), "{text}");
    assert!(text.contains("README"), "{text}");
    let err = ProducerConfig::new().set("zzz", "1").unwrap_err();
    assert!(!err.to_string().contains("did you mean"), "{err}");
}

#[test]
fn kafka_client_keys_without_meaning_are_accepted_and_listed() {
    let config = ProducerConfig::new()
        .set("bootstrap.servers", "localhost:9092")
        .unwrap()
        .set("ssl.truststore.location", "/tmp/x")
        .unwrap()
        .set("bootstrap.servers", "other:9092")
        .unwrap();
    assert_eq!(
        config.ignored_keys(),
        ["bootstrap.servers", "ssl.truststore.location"]
    );
    assert!(ProducerConfig::new().set("transactional.id", "t").is_err());
    assert!(ProducerConfig::new()
        .set("compression.type", "brotli")
        .is_err());
    assert!(ConsumerConfig::new()
        .set("isolation.level", "read_committed")
        .is_err());
}

fn duration_ms() -> impl Strategy<Value = Duration> {
    (0u64..10_000_000).prop_map(Duration::from_millis)
}

proptest! {
    #[test]
    fn producer_configs_survive_their_properties(
        acks in prop_oneof![Just(Acks::None), Just(Acks::Leader), Just(Acks::All)],
        linger in duration_ms(),
        batch in 1u32..,
        buffer in 1u64..,
        retries in any::<u32>(),
        idempotence in any::<bool>(),
        client in "[a-z][a-z0-9-]{0,10}",
    ) {
        let typed = ProducerConfig::new()
            .acks(acks)
            .linger(linger)
            .batch_size(batch)
            .buffer_memory(buffer)
            .retries(retries)
            .idempotence(idempotence)
            .client_id(client);
        let text = PRODUCER.to_properties(&typed);
        let back = ProducerConfig::new().set_all(super::properties::parse(&text).unwrap()).unwrap();
        prop_assert_eq!(back, typed);
    }

    #[test]
    fn consumer_configs_survive_their_properties(
        group in proptest::option::of("[a-z][a-z0-9.]{0,10}"),
        reset in prop_oneof![Just(OffsetReset::Earliest), Just(OffsetReset::Latest), Just(OffsetReset::None)],
        records in 1u32..,
        session in duration_ms(),
        auto_commit in any::<bool>(),
    ) {
        let mut typed = ConsumerConfig::new()
            .auto_offset_reset(reset)
            .max_poll_records(records)
            .session_timeout(session)
            .enable_auto_commit(auto_commit);
        if let Some(group) = group {
            typed = typed.group_id(group);
        }
        let text = CONSUMER.to_properties(&typed);
        let back = ConsumerConfig::new().set_all(super::properties::parse(&text).unwrap()).unwrap();
        prop_assert_eq!(back, typed);
    }

    #[test]
    fn topic_configs_survive_their_properties(
        partitions in proptest::option::of(1u32..1000),
        replicas in proptest::option::of(1u32..10),
        retention in proptest::option::of(proptest::option::of(duration_ms())),
        bytes in proptest::option::of(proptest::option::of(0u64..u64::MAX / 2)),
        segment in proptest::option::of(1u64..),
        max_message in proptest::option::of(1u32..),
    ) {
        let typed = TopicConfig {
            partitions,
            replication_factor: replicas,
            retention,
            retention_bytes: bytes,
            segment_bytes: segment,
            max_message_bytes: max_message,
            ..TopicConfig::new()
        };
        let back = TopicConfig::from_properties(&typed.to_properties()).unwrap();
        prop_assert_eq!(back, typed);
    }

    #[test]
    fn log_configs_survive_their_properties(
        brokers in 1u32..10,
        retention in proptest::option::of(duration_ms()),
        segment in 1u64..,
        check in 1u64..1_000_000,
    ) {
        let typed = LogConfig {
            brokers,
            retention,
            segment_bytes: segment,
            retention_check_interval: Duration::from_millis(check),
            ..LogConfig::default()
        };
        let text = typed.to_properties();
        let mut back = LogConfig::default();
        for (key, value) in super::properties::parse(&text).unwrap() {
            back.set(&key, &value).unwrap();
        }
        prop_assert_eq!(back.to_properties(), text);
    }
}

#[test]
fn compression_type_names_every_codec_and_the_topic_modes() {
    let codecs = Compression::ALL.into_iter().filter(|c| c.is_available());
    for codec in codecs.filter(|c| *c != Compression::None) {
        let producer = ProducerConfig::new()
            .set("compression.type", codec.name())
            .unwrap();
        assert_eq!(producer.compression, codec);
        let topic = TopicConfig::new()
            .set("compression.type", codec.name())
            .unwrap();
        assert_eq!(topic.compression, Some(TopicCompression::Codec(codec)));
    }
    let topic = TopicConfig::new()
        .set("compression.type", "uncompressed")
        .unwrap();
    assert_eq!(topic.compression, Some(TopicCompression::Uncompressed));
    let topic = TopicConfig::new()
        .set("compression.type", "producer")
        .unwrap();
    assert_eq!(topic.compression, Some(TopicCompression::Producer));
    assert!(TopicConfig::new().set("compression.type", "lzma").is_err());
}

#[test]
fn cleanup_policy_takes_kafkas_three_names() {
    for (value, policy) in [
        ("delete", CleanupPolicy::Delete),
        ("compact", CleanupPolicy::Compact),
        ("compact,delete", CleanupPolicy::CompactDelete),
        ("delete,compact", CleanupPolicy::CompactDelete),
    ] {
        let topic = TopicConfig::new().set("cleanup.policy", value).unwrap();
        assert_eq!(topic.cleanup_policy, Some(policy));
    }
    assert!(TopicConfig::new().set("cleanup.policy", "keep").is_err());
}
