//! Consuming assigned partitions: positions, seeks, offsets by time,
//! commits that outlive the consumer, and `auto.offset.reset`.

use tidelog::{
    ConsumerConfig, OffsetAndMetadata, OffsetReset, ProducerConfig, ProducerRecord, Result,
    TopicPartition,
};

use crate::target::{poll_records, text, Target};

conformance!(
    assign_poll_seek_position,
    offsets_for_times_finds_the_first_record_at_or_after,
    commits_survive_the_consumer,
    auto_offset_reset_earliest_and_latest,
);

/// Sends `count` records to partition `partition` of `topic`, record `i`
/// with value `v{i}` and timestamp `base + 1000 * i`.
fn fill(t: &Target, topic: &str, partition: u32, count: u64, base: i64) -> Result<()> {
    let producer = t.log().producer(ProducerConfig::new())?;
    for i in 0..count {
        let record = ProducerRecord::new(topic, format!("v{i}"))
            .partition(partition)
            .timestamp(base + 1000 * i as i64);
        producer.send(record)?;
    }
    producer.flush_timeout(crate::target::PATIENCE)
}

/// A minute ago, in ms: timestamps every broker accepts.
fn recent() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970");
    now.as_millis() as i64 - 60_000
}

fn assign_poll_seek_position(t: &Target) -> Result<()> {
    let topic = t.create_topic("seek", 2)?;
    fill(t, &topic, 1, 10, recent())?;
    let tp = TopicPartition::new(topic.as_str(), 1);
    let mut consumer =
        t.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    consumer.assign(std::slice::from_ref(&tp))?;
    assert_eq!(consumer.assignment(), std::slice::from_ref(&tp));
    // As with Kafka's Java client, position() applies the reset policy.
    assert_eq!(consumer.position(&tp)?, 0);

    let records = poll_records(&mut consumer, 10)?;
    let offsets: Vec<_> = records.iter().map(|r| r.offset()).collect();
    assert_eq!(offsets, (0..10).collect::<Vec<_>>());
    assert!(records.iter().all(|r| r.topic_partition() == tp));
    assert_eq!(consumer.position(&tp)?, 10);

    consumer.seek(&tp, 4)?;
    assert_eq!(consumer.position(&tp)?, 4);
    let again = poll_records(&mut consumer, 6)?;
    assert_eq!((again[0].offset(), text(&again[0]).as_str()), (4, "v4"));

    consumer.seek_to_beginning(std::slice::from_ref(&tp))?;
    assert_eq!(consumer.position(&tp)?, 0);
    consumer.seek_to_end(std::slice::from_ref(&tp))?;
    assert_eq!(consumer.position(&tp)?, 10);

    let tp0 = TopicPartition::new(topic.as_str(), 0);
    let begin = consumer.beginning_offsets(&[tp.clone(), tp0.clone()])?;
    let end = consumer.end_offsets(&[tp.clone(), tp0.clone()])?;
    assert_eq!((begin[&tp], end[&tp]), (0, 10));
    assert_eq!((begin[&tp0], end[&tp0]), (0, 0));
    Ok(())
}

fn offsets_for_times_finds_the_first_record_at_or_after(t: &Target) -> Result<()> {
    let topic = t.create_topic("times", 1)?;
    let base = recent();
    fill(t, &topic, 0, 5, base)?;
    let tp = TopicPartition::new(topic.as_str(), 0);
    let consumer = t.consumer(ConsumerConfig::new())?;
    let found = consumer.offsets_for_times([(tp.clone(), base + 2500)])?;
    let at = found[&tp].as_ref().expect("a record at or after");
    assert_eq!((at.offset(), at.timestamp()), (3, base + 3000));
    let exact = consumer.offsets_for_times([(tp.clone(), base + 1000)])?;
    assert_eq!(exact[&tp].as_ref().map(|o| o.offset()), Some(1));
    let before_all = consumer.offsets_for_times([(tp.clone(), 0)])?;
    assert_eq!(before_all[&tp].as_ref().map(|o| o.offset()), Some(0));
    let after_all = consumer.offsets_for_times([(tp.clone(), base + 60_000)])?;
    assert!(after_all[&tp].is_none(), "{after_all:?}");
    Ok(())
}

fn commits_survive_the_consumer(t: &Target) -> Result<()> {
    let topic = t.create_topic("commits", 1)?;
    let group = t.unique("committer");
    fill(t, &topic, 0, 6, recent())?;
    let tp = TopicPartition::new(topic.as_str(), 0);
    let config = || {
        ConsumerConfig::new()
            .group_id(group.as_str())
            .auto_offset_reset(OffsetReset::Earliest)
    };

    let mut first = t.consumer(config())?;
    first.assign(std::slice::from_ref(&tp))?;
    assert_eq!(first.committed(&tp)?, None);
    poll_records(&mut first, 6)?;
    first.commit_sync()?;
    assert_eq!(first.committed(&tp)?.map(|o| o.offset()), Some(6));
    first.close()?;

    // A new consumer of the same group sees the commit and starts there.
    let mut second = t.consumer(config())?;
    second.assign(std::slice::from_ref(&tp))?;
    assert_eq!(second.committed(&tp)?.map(|o| o.offset()), Some(6));
    assert_eq!(second.position(&tp)?, 6);
    // An explicit commit, with metadata, also outlives its consumer.
    second.commit_offsets([(
        tp.clone(),
        OffsetAndMetadata::new(2).with_metadata("replay"),
    )])?;
    second.close()?;

    let mut third = t.consumer(config())?;
    third.assign(std::slice::from_ref(&tp))?;
    let committed = third.committed(&tp)?.expect("a committed offset");
    assert_eq!((committed.offset(), committed.metadata()), (2, "replay"));
    let records = poll_records(&mut third, 4)?;
    assert_eq!(text(&records[0]), "v2");
    // The admin view agrees.
    let admin = t.log().consumer_group(&group).committed(&tp)?;
    assert_eq!(admin.map(|o| o.offset()), Some(2));
    Ok(())
}

fn auto_offset_reset_earliest_and_latest(t: &Target) -> Result<()> {
    let topic = t.create_topic("reset", 1)?;
    fill(t, &topic, 0, 3, recent())?;
    let tp = TopicPartition::new(topic.as_str(), 0);

    let mut earliest =
        t.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    earliest.assign(std::slice::from_ref(&tp))?;
    let mut latest = t.consumer(ConsumerConfig::new().set("auto.offset.reset", "latest")?)?;
    latest.assign(std::slice::from_ref(&tp))?;
    // Resolving the position before producing more pins "latest" at 3, as
    // Java's position() does.
    assert_eq!(latest.position(&tp)?, 3);
    assert_eq!(earliest.position(&tp)?, 0);
    fill(t, &topic, 0, 1, recent())?;
    let from_end = poll_records(&mut latest, 1)?;
    assert_eq!(from_end[0].offset(), 3);
    let from_start = poll_records(&mut earliest, 4)?;
    assert_eq!(from_start[0].offset(), 0);

    // "none" refuses to guess: a partition without a committed offset errors.
    let group = t.unique("none");
    let mut none = t.consumer(
        ConsumerConfig::new()
            .group_id(group.as_str())
            .set("auto.offset.reset", "none")?,
    )?;
    none.assign(std::slice::from_ref(&tp))?;
    let refused = none.position(&tp);
    assert!(
        matches!(refused, Err(tidelog::Error::NoOffsetForPartition { .. })),
        "auto.offset.reset=none gave {refused:?}"
    );
    Ok(())
}
