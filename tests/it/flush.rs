//! `flush_timeout` reports what fire-and-forget sends cannot: a delivery
//! failure since the previous flush, and records still in flight.

use std::time::Duration;

use tidelog::{Error, ProducerConfig, ProducerRecord, Result, TopicConfig};

use crate::support::{open_log, open_log_with, read_topic};

#[test]
fn flush_timeout_succeeds_once_everything_is_stored() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", TopicConfig::new().partitions(2))?;
    let producer = log.producer(ProducerConfig::new().set("linger.ms", "60000")?)?;
    for i in 0..50 {
        producer.send(ProducerRecord::new("orders", format!("order-{i}")))?;
    }
    producer.flush_timeout(Duration::from_secs(60))?;
    assert_eq!(read_topic(&log, "orders", 50)?.len(), 50);
    Ok(())
}

#[test]
fn flush_timeout_reports_the_first_failure_once() -> Result<()> {
    let (_dir, log) = open_log_with(|b| b.set("auto.create.topics.enable", "false").unwrap());
    log.create_topic("doomed", TopicConfig::new())?;
    let producer = log.producer(ProducerConfig::new().set("linger.ms", "60000")?)?;
    // Accepted into a lingering batch, then its topic goes away.
    producer.send(ProducerRecord::new("doomed", "lost"))?;
    log.delete_topic("doomed")?;
    let failure = producer.flush_timeout(Duration::from_secs(60)).unwrap_err();
    assert!(
        matches!(&failure, Error::UnknownTopic(t) if t == "doomed"),
        "{failure}"
    );
    assert_eq!(producer.failed_sends(), 1);
    // Reported once: nothing failed since.
    producer.flush_timeout(Duration::from_secs(60))?;
    Ok(())
}

#[test]
fn flush_timeout_times_out_while_records_cannot_be_stored() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("stuck", TopicConfig::new())?;
    let producer = log.producer(
        ProducerConfig::new()
            .set("delivery.timeout.ms", "600000")?
            .set("request.timeout.ms", "300000")?,
    )?;
    producer.send_sync(ProducerRecord::new("stuck", "before"))?;
    // acks=all needs two in-sync replicas: with one broker left nothing
    // can be acknowledged until the others return.
    let cluster = log.cluster();
    let survivor = cluster.partition("stuck", 0)?.leader().unwrap();
    let others: Vec<_> = cluster
        .brokers()
        .into_iter()
        .filter(|b| b.id() != survivor)
        .collect();
    for broker in &others {
        broker.kill()?;
    }
    producer.send(ProducerRecord::new("stuck", "after"))?;
    let error = producer
        .flush_timeout(Duration::from_millis(50))
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { op: "flush", .. }),
        "{error}"
    );
    for broker in &others {
        broker.restart()?;
    }
    producer.flush_timeout(Duration::from_secs(120))?;
    assert_eq!(read_topic(&log, "stuck", 2)?.len(), 2);
    Ok(())
}
