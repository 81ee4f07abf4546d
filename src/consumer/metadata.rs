//! What a consumer can learn about its partitions without reading them:
//! replica placement (Kafka's `partitionsFor`) and lag.

use std::sync::Arc;

use super::Consumer;
use crate::cluster::{Cluster, PartitionReplicas};
use crate::error::Result;
use crate::topic::TopicPartition;

impl Consumer {
    /// Leader, replicas and in-sync replicas of every partition of `topic`,
    /// in partition order (Kafka's `partitionsFor`, whose `PartitionInfo`
    /// is tidelog's [`PartitionReplicas`]).
    ///
    /// # Errors
    /// [`Error::UnknownTopic`](crate::Error::UnknownTopic) if the topic does not exist.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use tidelog::{ConsumerConfig, TopicConfig};
    /// log.create_topic("orders", TopicConfig::new().partitions(2))?;
    /// let consumer = log.consumer(ConsumerConfig::new())?;
    /// let partitions = consumer.partitions_for("orders")?;
    /// assert_eq!(partitions.len(), 2);
    /// assert_eq!(partitions[1].topic_partition().partition(), 1);
    /// assert_eq!(partitions[0].replicas().len(), 3);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn partitions_for(&self, topic: &str) -> Result<Vec<PartitionReplicas>> {
        #[cfg(feature = "kafka-client")]
        if self.kafka().is_some() {
            return Err(crate::error::Error::NeedsEmbedded(
                "Consumer::partitions_for",
            ));
        }
        let core = self.backend.core()?;
        let count = core.partition_count(topic)?;
        let cluster = Cluster::new(Arc::clone(core));
        (0..count).map(|p| cluster.partition(topic, p)).collect()
    }

    /// How many records of an assigned partition this consumer has not
    /// returned yet: the high watermark its last fetch saw minus its
    /// position (Kafka's `currentLag`). `None` when the partition is not
    /// assigned, has no position yet, or was not fetched yet. Asks no
    /// broker: the figure is as fresh as the last `poll`.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use std::time::Duration;
    /// use tidelog::{ConsumerConfig, OffsetReset, ProducerConfig, ProducerRecord, TopicPartition};
    /// let producer = log.producer(ProducerConfig::new())?;
    /// for value in ["a", "b", "c"] {
    ///     producer.send_sync(ProducerRecord::new("orders", value))?;
    /// }
    /// let config = ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest).max_poll_records(1);
    /// let mut consumer = log.consumer(config)?;
    /// let tp = TopicPartition::new("orders", 0);
    /// consumer.assign(&[tp.clone()])?;
    /// assert_eq!(consumer.lag(&tp), None); // not fetched yet
    /// assert_eq!(consumer.poll(Duration::from_secs(5))?.len(), 1);
    /// assert_eq!(consumer.lag(&tp), Some(2));
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn lag(&self, tp: &TopicPartition) -> Option<u64> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.lag(tp);
        }
        let partition = self.partitions.iter().find(|p| &p.tp == tp)?;
        let position = partition.position?;
        Some(partition.high_watermark?.saturating_sub(position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unassigned_partition_has_no_lag() {
        let dir = tempfile::tempdir().unwrap();
        let log = crate::Log::open(dir.path()).unwrap();
        let consumer = log.consumer(crate::ConsumerConfig::new()).unwrap();
        assert_eq!(consumer.lag(&TopicPartition::new("orders", 0)), None);
    }
}
