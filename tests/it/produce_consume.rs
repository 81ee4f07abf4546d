//! Each send mode delivers; flush, close and callbacks keep their promises.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use tidelog::{Error, ProducerConfig, ProducerRecord, Result, TopicConfig};

use crate::support::{open_log, read_topic, text};

#[test]
fn each_send_mode_delivers_its_records() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("modes", TopicConfig::new().partitions(3))?;
    let producer = log.producer(ProducerConfig::new())?;
    let (tx, rx) = mpsc::channel();
    for i in 0..30 {
        let record = ProducerRecord::new("modes", format!("v{i}")).key(format!("k{i}"));
        match i % 3 {
            0 => producer.send(record)?,
            1 => {
                let metadata = producer.send_sync(record)?;
                assert_eq!(metadata.topic(), "modes");
            }
            _ => {
                let tx = tx.clone();
                producer.send_with_callback(record, move |result| {
                    tx.send(result.map(|m| m.offset())).unwrap();
                })?;
            }
        }
    }
    producer.flush();
    let acked: Vec<_> = rx.try_iter().collect();
    assert_eq!(acked.len(), 10);
    assert!(acked.iter().all(|r| r.is_ok()));

    let records = read_topic(&log, "modes", 30)?;
    let values: HashSet<_> = records.iter().map(text).collect();
    assert_eq!(values.len(), 30);
    assert_eq!(producer.failed_sends(), 0);
    Ok(())
}

#[test]
fn send_sync_does_not_wait_out_linger() -> Result<()> {
    let (_dir, log) = open_log();
    let config = ProducerConfig::new()
        .set("linger.ms", "600000")?
        .set("delivery.timeout.ms", "700000")?;
    let producer = log.producer(config)?;
    // With a ten-minute linger this returns only because the batch is forced out.
    let metadata = producer.send_sync(ProducerRecord::new("sync", "now").partition(0))?;
    assert_eq!(metadata.offset(), 0);
    Ok(())
}

#[test]
fn flush_waits_for_every_record_sent_before_it() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("flushed", TopicConfig::new().partitions(2))?;
    let config = ProducerConfig::new()
        .set("linger.ms", "600000")?
        .set("delivery.timeout.ms", "700000")?;
    let producer = log.producer(config)?;
    let acked = Arc::new(AtomicUsize::new(0));
    for i in 0..100 {
        let acked = Arc::clone(&acked);
        producer.send_with_callback(ProducerRecord::new("flushed", format!("{i}")), move |r| {
            r.unwrap();
            acked.fetch_add(1, Ordering::SeqCst);
        })?;
    }
    producer.flush();
    assert_eq!(acked.load(Ordering::SeqCst), 100);
    assert_eq!(read_topic(&log, "flushed", 100)?.len(), 100);
    Ok(())
}

#[test]
fn send_after_close_fails_in_every_mode() -> Result<()> {
    let (_dir, log) = open_log();
    let producer = log.producer(ProducerConfig::new())?;
    producer.send(ProducerRecord::new("closing", "before"))?;
    producer.close();
    producer.close();
    assert!(matches!(
        producer.send(ProducerRecord::new("closing", "after")),
        Err(Error::Closed(_))
    ));
    assert!(matches!(
        producer.send_sync(ProducerRecord::new("closing", "after")),
        Err(Error::Closed(_))
    ));
    let (tx, rx) = mpsc::channel();
    let result = producer.send_with_callback(ProducerRecord::new("closing", "after"), move |r| {
        tx.send(r.is_err()).unwrap();
    });
    // As Kafka's send after close: an error for the caller, no callback.
    assert!(matches!(result, Err(Error::Closed(_))));
    assert!(rx.recv_timeout(Duration::from_secs(10)).is_err());
    assert_eq!(
        producer.failed_sends(),
        0,
        "a closed producer attempted nothing"
    );
    // The record sent before closing was delivered by the close.
    assert_eq!(read_topic(&log, "closing", 1)?.len(), 1);
    Ok(())
}

#[test]
fn every_callback_fires_exactly_once_including_on_close() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("callbacks", TopicConfig::new().partitions(4))?;
    let config = ProducerConfig::new()
        .set("linger.ms", "600000")?
        .set("delivery.timeout.ms", "700000")?;
    let producer = log.producer(config)?;
    let fired: Arc<Vec<AtomicUsize>> = Arc::new((0..500).map(|_| AtomicUsize::new(0)).collect());
    for i in 0..500usize {
        let fired = Arc::clone(&fired);
        let record = ProducerRecord::new("callbacks", format!("{i}"));
        // Every tenth record names a partition that does not exist: it fails at once.
        let record = if i % 10 == 0 {
            record.partition(99)
        } else {
            record
        };
        let _ = producer.send_with_callback(record, move |_| {
            fired[i].fetch_add(1, Ordering::SeqCst);
        });
    }
    // Dropping closes: the lingering batches must still complete their callbacks.
    drop(producer);
    assert!(fired.iter().all(|count| count.load(Ordering::SeqCst) == 1));
    assert_eq!(read_topic(&log, "callbacks", 450)?.len(), 450);
    Ok(())
}

#[test]
fn many_producers_on_many_threads_lose_and_duplicate_nothing() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("crowd", TopicConfig::new().partitions(4))?;
    let producers: Vec<_> = (0..3)
        .map(|i| log.producer(ProducerConfig::new().client_id(format!("p{i}"))))
        .collect::<Result<_>>()?;
    thread::scope(|scope| {
        for (p, producer) in producers.iter().enumerate() {
            for t in 0..3 {
                scope.spawn(move || {
                    for i in 0..2000 {
                        let value = format!("{p}-{t}-{i}");
                        let record = ProducerRecord::new("crowd", value);
                        let record = if i % 3 == 0 {
                            record.key(format!("k{i}"))
                        } else {
                            record
                        };
                        producer.send(record).unwrap();
                    }
                });
            }
        }
    });
    for producer in &producers {
        producer.flush();
        assert_eq!(producer.failed_sends(), 0);
    }
    let records = read_topic(&log, "crowd", 18_000)?;
    let unique: HashSet<_> = records.iter().map(text).collect();
    assert_eq!(records.len(), 18_000);
    assert_eq!(unique.len(), 18_000);
    Ok(())
}

#[test]
fn flush_and_close_from_a_callback_do_not_deadlock() -> Result<()> {
    let (_dir, log) = open_log();
    let producer = Arc::new(log.producer(ProducerConfig::new())?);
    let (tx, rx) = mpsc::channel();
    let inner = Arc::clone(&producer);
    producer.send_with_callback(ProducerRecord::new("reentrant", "a"), move |r| {
        r.unwrap();
        inner.flush();
        inner.close();
        // The last handle may be dropped here, on the sender thread.
        drop(inner);
        tx.send(()).unwrap();
    })?;
    rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(matches!(
        producer.send(ProducerRecord::new("reentrant", "b")),
        Err(Error::Closed(_))
    ));
    drop(producer);
    assert_eq!(read_topic(&log, "reentrant", 1)?.len(), 1);
    Ok(())
}

#[test]
fn a_full_batch_goes_out_without_waiting_for_linger() -> Result<()> {
    let (_dir, log) = open_log();
    let config = ProducerConfig::new()
        .batch_size(1024)
        .set("linger.ms", "600000")?
        .set("delivery.timeout.ms", "700000")?;
    let producer = log.producer(config)?;
    let (tx, rx) = mpsc::channel();
    for i in 0..100 {
        let tx = tx.clone();
        producer.send_with_callback(
            ProducerRecord::new("full", format!("{i:050}")).partition(0),
            move |r| drop(tx.send(r.map(|m| m.offset()))),
        )?;
    }
    // No flush: only batches that filled up can have been sent.
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a full batch was sent");
    assert_eq!(first?, 0);
    Ok(())
}

#[test]
fn a_full_buffer_sends_lingering_batches_instead_of_timing_out() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("exhausted", TopicConfig::new().partitions(8))?;
    // Eight open batches of 1 KiB would need twice the buffer; with a
    // ten-minute linger only sealing them on exhaustion lets sends go on.
    let config = ProducerConfig::new()
        .batch_size(1024)
        .buffer_memory(4096)
        .set("linger.ms", "600000")?
        .set("delivery.timeout.ms", "700000")?
        .set("max.block.ms", "60000")?;
    let producer = log.producer(config)?;
    for i in 0..1000 {
        let record = ProducerRecord::new("exhausted", format!("{i:04}")).partition(i % 8);
        producer.send(record)?;
    }
    producer.flush();
    assert_eq!(read_topic(&log, "exhausted", 1000)?.len(), 1000);
    Ok(())
}

#[test]
fn an_endless_linger_still_flushes_and_closes() -> Result<()> {
    let (_dir, log) = open_log();
    let config = ProducerConfig::new()
        .linger(Duration::MAX)
        .delivery_timeout(Duration::MAX)
        .retry_backoff(Duration::MAX);
    let producer = log.producer(config)?;
    producer.send(ProducerRecord::new("endless", "a"))?;
    producer.flush();
    assert_eq!(
        producer
            .send_sync(ProducerRecord::new("endless", "b"))?
            .offset(),
        1
    );
    producer.send(ProducerRecord::new("endless", "c"))?;
    drop(producer);
    assert_eq!(read_topic(&log, "endless", 3)?.len(), 3);
    Ok(())
}
