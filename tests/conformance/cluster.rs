//! Failure injection through `log.cluster()`: the embedded log's simulated
//! brokers obey it; a remote cluster refuses it with a typed error, since a
//! client cannot kill a real broker.

use tidelog::{Error, ProducerConfig, ProducerRecord, Result};

use crate::target::Target;

conformance!(cluster_failure_injection);

fn cluster_failure_injection(t: &Target) -> Result<()> {
    let topic = t.create_topic("brokers", 1)?;
    let producer = t.log().producer(ProducerConfig::new())?;
    producer.send_sync(ProducerRecord::new(topic.as_str(), "before"))?;
    let cluster = t.log().cluster();
    if !t.is_embedded() {
        return remote_refuses(t, &cluster, &topic);
    }
    let leader = cluster.partition(&topic, 0)?.leader().expect("a leader");
    cluster.broker(leader)?.kill()?;
    // The producer retries through the election.
    producer.send_sync(ProducerRecord::new(topic.as_str(), "after"))?;
    let after = cluster.partition(&topic, 0)?;
    assert_ne!(after.leader(), Some(leader));
    cluster.broker(leader)?.restart()?;
    Ok(())
}

/// Every failure-injection call says it needs the embedded log; the rest
/// of the log goes on working.
fn remote_refuses(t: &Target, cluster: &tidelog::Cluster, topic: &str) -> Result<()> {
    let needs_embedded = |what: &str, r: Result<()>| {
        assert!(
            matches!(r, Err(Error::NeedsEmbedded(_))),
            "{what} on a remote log gave {r:?}"
        );
    };
    needs_embedded("broker(0)", cluster.broker(0).map(drop));
    needs_embedded("partition()", cluster.partition(topic, 0).map(drop));
    assert!(
        cluster.brokers().is_empty(),
        "no simulated brokers remotely"
    );
    let producer = t.log().producer(ProducerConfig::new())?;
    producer.send_sync(ProducerRecord::new(topic, "still works"))?;
    Ok(())
}
