//! Records built from borrowed, non-`'static` keys, values and headers:
//! these compile (the bytes are copied) and arrive intact.

use std::time::Duration;

use tidelog::{Bytes, Producer, ProducerRecord, Result, TopicConfig};

use crate::support::{open_log, read_topic};

/// Everything borrowed for a caller-chosen lifetime, never `'static`.
fn send_borrowed<'a>(producer: &Producer, key: &'a str, value: &'a [u8]) -> Result<()> {
    producer.send_sync(
        ProducerRecord::new("borrowed", value)
            .key(key)
            .header("origin", key),
    )?;
    Ok(())
}

#[test]
fn borrowed_keys_values_and_headers_are_copied_into_the_record() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("borrowed", TopicConfig::new())?;
    let producer = log.producer(tidelog::ProducerConfig::new())?;

    let key = String::from("customer-7");
    let value: Vec<u8> = b"order-42".to_vec();
    send_borrowed(&producer, &key, &value)?;
    // By reference to the owners themselves.
    producer.send_sync(ProducerRecord::new("borrowed", &value).key(&key))?;
    // A record built from locals outlives them.
    let record = {
        let scratch = format!("scratch-{}", key.len());
        ProducerRecord::new("borrowed", scratch.as_str()).key(scratch.as_bytes())
    };
    producer.send_sync(record)?;
    // Owned values move in; Bytes comes from tidelog's re-export.
    producer
        .send_sync(ProducerRecord::new("borrowed", Bytes::from(value.clone())).key(key.clone()))?;
    producer.flush_timeout(Duration::from_secs(30))?;

    let records = read_topic(&log, "borrowed", 4)?;
    assert_eq!(records[0].key(), Some(&b"customer-7"[..]));
    assert_eq!(records[0].value(), Some(&b"order-42"[..]));
    assert_eq!(records[0].headers()[0].value(), b"customer-7");
    assert_eq!(records[1].value(), Some(&b"order-42"[..]));
    assert_eq!(records[2].value(), Some(&b"scratch-10"[..]));
    assert_eq!(records[3].key(), Some(&b"customer-7"[..]));
    Ok(())
}
