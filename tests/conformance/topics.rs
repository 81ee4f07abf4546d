//! Topic administration: create, list, delete, and the errors for names
//! that exist already, do not exist, or break Kafka's rules.

use tidelog::{Error, Result, TopicConfig};

use crate::target::Target;

conformance!(
    create_list_delete,
    duplicate_topic,
    unknown_topic,
    invalid_topic_names,
);

fn create_list_delete(t: &Target) -> Result<()> {
    let log = t.log();
    let name = t.create_topic("admin", 3)?;
    assert!(log.topics().contains(&name));
    let topic = log.topic(&name)?;
    assert_eq!(topic.partition_count(), 3);
    let partitions = topic.partitions()?;
    assert_eq!(partitions.len(), 3);
    for (i, p) in partitions.iter().enumerate() {
        assert_eq!(p.partition() as usize, i);
        assert_eq!((p.log_start_offset(), p.high_watermark()), (0, 0));
    }
    log.delete_topic(&name)?;
    t.eventually("the deleted topic to leave the list", || {
        Ok(!log.topics().contains(&name))
    })?;
    t.eventually("the deleted topic to be unknown", || {
        Ok(matches!(log.topic(&name), Err(Error::UnknownTopic(_))))
    })?;
    Ok(())
}

fn duplicate_topic(t: &Target) -> Result<()> {
    let log = t.log();
    let name = t.create_topic("twice", 2)?;
    match log.create_topic(&name, TopicConfig::new().partitions(4)) {
        Err(Error::TopicAlreadyExists(n)) => assert_eq!(n, name),
        other => panic!("a second create_topic gave {other:?}"),
    }
    // The existing topic is kept as it was.
    let again = log.create_topic_if_not_exists(&name, TopicConfig::new().partitions(4))?;
    assert_eq!(again.partition_count(), 2);
    Ok(())
}

fn unknown_topic(t: &Target) -> Result<()> {
    let log = t.log();
    let name = t.unique("never-created");
    assert!(matches!(log.topic(&name), Err(Error::UnknownTopic(n)) if n == name));
    assert!(matches!(log.delete_topic(&name), Err(Error::UnknownTopic(n)) if n == name));
    Ok(())
}

fn invalid_topic_names(t: &Target) -> Result<()> {
    let log = t.log();
    let too_long = "x".repeat(250);
    for name in ["", ".", "..", "a/b", "with space", "ü", too_long.as_str()] {
        let created = log.create_topic(name, TopicConfig::new());
        assert!(
            matches!(created, Err(Error::InvalidTopicName { .. })),
            "create_topic({name:?}) gave {created:?}"
        );
    }
    let zero = log.create_topic(&t.unique("zero"), TopicConfig::new().partitions(0));
    assert!(
        matches!(zero, Err(Error::InvalidConfig { .. })),
        "zero partitions gave {zero:?}"
    );
    Ok(())
}
