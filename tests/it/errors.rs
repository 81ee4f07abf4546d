//! Error messages say what went wrong in the user's terms, and keep their
//! advice when `main` prints them with `Debug`.

use tidelog::{ConsumerConfig, Error, ProducerConfig, ProducerRecord, Result, TopicPartition};

use crate::support::{open_log, open_log_with};

#[test]
fn debug_output_keeps_the_advice_of_the_message() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", tidelog::TopicConfig::new())?;
    let error = log
        .create_topic("orders", tidelog::TopicConfig::new())
        .unwrap_err();
    let debug = format!("{error:?}");
    assert!(debug.starts_with("TopicAlreadyExists"), "{debug}");
    assert!(
        debug.contains("pick another name or delete it first"),
        "{debug}"
    );
    Ok(())
}

#[test]
fn committing_without_a_group_id_names_the_call_not_subscribe() -> Result<()> {
    let (_dir, log) = open_log();
    log.create_topic("orders", tidelog::TopicConfig::new())?;
    let mut consumer = log.consumer(ConsumerConfig::new())?;
    consumer.assign(&[TopicPartition::new("orders", 0)])?;
    let error = consumer.commit_sync().unwrap_err();
    assert!(matches!(error, Error::NoGroupId(_)), "{error}");
    let message = error.to_string();
    assert!(message.contains("group.id"), "{message}");
    assert!(!message.contains("subscribe"), "{message}");
    assert!(!message.contains("assign"), "{message}");
    Ok(())
}

#[test]
fn an_oversize_record_names_the_limit_it_broke() -> Result<()> {
    let (_dir, log) = open_log();
    let producer = log.producer(ProducerConfig::new().max_request_size(1000))?;
    let error = producer
        .send_sync(ProducerRecord::new("big", vec![0u8; 5000]))
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::RecordTooLarge {
                limit: "max.request.size",
                max: 1000,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("raise max.request.size"),
        "{error}"
    );
    Ok(())
}

#[test]
fn an_invalid_topic_name_is_reported_as_such_without_auto_create() -> Result<()> {
    let (_dir, log) = open_log_with(|b| b.set("auto.create.topics.enable", "false").unwrap());
    let producer = log.producer(ProducerConfig::new())?;
    let error = producer
        .send_sync(ProducerRecord::new("bad name", "x"))
        .unwrap_err();
    assert!(matches!(error, Error::InvalidTopicName { .. }), "{error}");
    let error = log.topic("orders/2024").unwrap_err();
    assert!(matches!(error, Error::InvalidTopicName { .. }), "{error}");
    let error = producer
        .send_sync(ProducerRecord::new("missing", "x"))
        .unwrap_err();
    assert!(matches!(error, Error::UnknownTopic(_)), "{error}");
    Ok(())
}
