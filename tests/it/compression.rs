//! Compression through the public API: every codec round trips, batches are
//! stored as the producer sent them or converted to the topic's codec, and
//! compressible data takes less disk.

use std::path::{Path, PathBuf};

use tidelog::inspect::dump_segment;
use tidelog::{Compression, Error, Log, ProducerConfig, ProducerRecord, Result, TopicConfig};

use crate::support::{read_topic, text};

const RECORDS: usize = 300;

/// JSON-like text with repeating field names, as real event streams have.
fn json_value(i: usize) -> String {
    format!(
        r#"{{"user_id":{},"event":"page_view","page":"/products/{}","referrer":"https://example.com/search","browser":"Mozilla/5.0 (X11; Linux x86_64)","ok":true}}"#,
        i % 97,
        i % 13
    )
}

fn codecs() -> impl Iterator<Item = Compression> {
    Compression::ALL
        .into_iter()
        .filter(|c| *c != Compression::None && c.is_available())
}

fn one_broker(dir: &Path) -> Result<Log> {
    Log::builder(dir).brokers(1).open()
}

/// Sends the records in as few batches as the producer makes, then waits.
fn produce(log: &Log, topic: &str, compression: Compression) -> Result<()> {
    let producer = log.producer(
        ProducerConfig::new()
            .compression(compression)
            .linger(std::time::Duration::from_millis(50))
            .batch_size(64 << 10),
    )?;
    for i in 0..RECORDS {
        producer.send(ProducerRecord::new(topic, json_value(i)).key(format!("k{i}")))?;
    }
    producer.flush();
    assert_eq!(producer.failed_sends(), 0);
    producer.close();
    Ok(())
}

/// Every segment file of `topic`-0 under `root`.
fn segments(root: &Path, topic: &str) -> Vec<PathBuf> {
    let wanted = format!("{topic}-0");
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "log")
                && path.parent().and_then(|p| p.file_name()) == Some(wanted.as_ref())
            {
                found.push(path);
            }
        }
    }
    found
}

/// The codecs of the stored batches, and their total bytes on disk.
fn stored(root: &Path, topic: &str) -> (Vec<Compression>, u64) {
    let mut codecs = Vec::new();
    let mut bytes = 0;
    for segment in segments(root, topic) {
        for batch in dump_segment(&segment).unwrap() {
            codecs.push(batch.compression());
            bytes += batch.size_in_bytes();
        }
    }
    (codecs, bytes)
}

fn assert_values_round_trip(log: &Log, topic: &str) -> Result<()> {
    let records = read_topic(log, topic, RECORDS)?;
    let values: Vec<String> = records.iter().map(text).collect();
    let expected: Vec<String> = (0..RECORDS).map(json_value).collect();
    assert_eq!(values, expected);
    Ok(())
}

#[test]
fn every_codec_round_trips_and_is_stored_as_sent() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let log = one_broker(dir.path())?;
    log.create_topic("plain", TopicConfig::new())?;
    produce(&log, "plain", Compression::None)?;
    let (_, plain_bytes) = stored(dir.path(), "plain");
    for codec in codecs() {
        let topic = format!("t-{codec}");
        log.create_topic(&topic, TopicConfig::new())?;
        produce(&log, &topic, codec)?;
        assert_values_round_trip(&log, &topic)?;
        let (stored_codecs, bytes) = stored(dir.path(), &topic);
        assert!(!stored_codecs.is_empty());
        assert!(
            stored_codecs.iter().all(|c| *c == codec),
            "{codec}: stored as {stored_codecs:?}"
        );
        assert!(
            bytes * 2 < plain_bytes,
            "{codec}: {bytes} bytes on disk, uncompressed {plain_bytes}"
        );
    }
    log.close()
}

#[test]
fn a_topic_codec_converts_what_producers_send() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let log = one_broker(dir.path())?;
    let targets = codecs().chain([Compression::None]);
    for (n, target) in targets.enumerate() {
        let topic = format!("to-{n}");
        let value = match target {
            Compression::None => "uncompressed".to_string(),
            codec => codec.name().to_string(),
        };
        log.create_topic(&topic, TopicConfig::new().set("compression.type", &value)?)?;
        // Sent in another codec than the topic's (or uncompressed).
        let sent = codecs().find(|c| *c != target).unwrap_or(Compression::None);
        produce(&log, &topic, sent)?;
        assert_values_round_trip(&log, &topic)?;
        let (stored_codecs, _) = stored(dir.path(), &topic);
        assert!(
            stored_codecs.iter().all(|c| *c == target),
            "{topic}: wanted {target}, stored {stored_codecs:?}"
        );
    }
    log.close()
}

#[test]
fn the_broker_default_codec_applies_to_topics_without_one() -> Result<()> {
    let Some(codec) = codecs().next() else {
        return Ok(());
    };
    let dir = tempfile::tempdir().unwrap();
    let log = Log::builder(dir.path())
        .brokers(1)
        .set("compression.type", codec.name())?
        .open()?;
    log.create_topic("events", TopicConfig::new())?;
    produce(&log, "events", Compression::None)?;
    assert_values_round_trip(&log, "events")?;
    let (stored_codecs, _) = stored(dir.path(), "events");
    assert!(stored_codecs.iter().all(|c| *c == codec));
    log.close()
}

#[test]
fn unknown_codec_names_are_refused_with_the_key() {
    let err = ProducerConfig::new()
        .set("compression.type", "brotli")
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { ref key, .. } if key == "compression.type"));
    let err = TopicConfig::new()
        .set("compression.type", "brotli")
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { ref key, .. } if key == "compression.type"));
}
