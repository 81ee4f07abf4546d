//! Pausing and resuming assigned partitions (Kafka's `pause`/`resume`).

use super::Consumer;
use crate::error::Result;
use crate::topic::TopicPartition;

impl Consumer {
    /// Stops returning records from `partitions` until they are resumed.
    ///
    /// A paused partition keeps its position and stays assigned: `poll`
    /// skips it (records already fetched wait), so an application can apply
    /// back-pressure per partition while it keeps polling, which keeps its
    /// group membership alive. A pause lasts until
    /// [`resume`](Consumer::resume) or until the partition is revoked; an
    /// [`assign`](Consumer::assign) that keeps the partition keeps its pause.
    /// Pausing a paused partition does nothing.
    ///
    /// # Errors
    /// [`Error::NotAssigned`](crate::Error::NotAssigned) for a partition
    /// not assigned to this consumer; nothing is paused then.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::open(dir.path())?;
    /// use std::time::Duration;
    /// use tidelog::{ConsumerConfig, OffsetReset, ProducerConfig, ProducerRecord, TopicPartition};
    /// log.producer(ProducerConfig::new())?.send_sync(ProducerRecord::new("orders", "a"))?;
    /// let mut consumer = log.consumer(ConsumerConfig::new().auto_offset_reset(OffsetReset::Earliest))?;
    /// let tp = TopicPartition::new("orders", 0);
    /// consumer.assign(&[tp.clone()])?;
    /// consumer.pause(&[tp.clone()])?;
    /// assert!(consumer.poll(Duration::from_millis(10))?.is_empty());
    /// assert_eq!(consumer.paused(), [tp.clone()]);
    /// consumer.resume(&[tp])?;
    /// assert_eq!(consumer.poll(Duration::from_secs(5))?.len(), 1);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn pause(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            return kafka.pause(partitions, true);
        }
        self.set_paused(partitions, true)
    }

    /// Returns records from `partitions` again, from where they were
    /// paused. Resuming a partition that is not paused does nothing.
    ///
    /// # Errors
    /// [`Error::NotAssigned`](crate::Error::NotAssigned) for a partition
    /// not assigned to this consumer; nothing is resumed then.
    pub fn resume(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            return kafka.pause(partitions, false);
        }
        self.set_paused(partitions, false)
    }

    /// The paused partitions, in assignment order.
    pub fn paused(&self) -> Vec<TopicPartition> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.paused();
        }
        self.partitions
            .iter()
            .filter(|p| p.paused)
            .map(|p| p.tp.clone())
            .collect()
    }

    fn set_paused(&mut self, partitions: &[TopicPartition], paused: bool) -> Result<()> {
        // Every partition checked first, so an error changes nothing.
        for tp in partitions {
            self.assigned_mut(tp)?;
        }
        for tp in partitions {
            self.assigned_mut(tp)?.paused = paused;
        }
        Ok(())
    }
}
