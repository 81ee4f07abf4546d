//! `Log::connect`: the same handles over a Kafka cluster.

use std::sync::Arc;

use super::{Backend, Log};
use crate::error::Result;
use crate::remote::{KafkaConfig, KafkaLog};

impl Log {
    /// Connects to a Kafka cluster instead of opening a data directory.
    ///
    /// The handles are the same types as the embedded log's and behave
    /// as Kafka's clients do: [`Producer`](crate::Producer)s with the three
    /// send modes, [`Consumer`](crate::Consumer)s with assignment,
    /// subscriptions, the [`RebalanceListener`](crate::RebalanceListener),
    /// seeks and commits, [`ConsumerGroup`](crate::ConsumerGroup) admin and
    /// topic administration. What only the embedded log has (failure
    /// injection through [`Log::cluster`], the log cleaner, topic configs,
    /// a data directory) returns [`Error::NeedsEmbedded`](crate::Error::NeedsEmbedded).
    /// Needs the cargo feature `kafka-client`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) without
    /// `bootstrap.servers`; [`Error::Kafka`](crate::Error::Kafka) or
    /// [`Error::Timeout`](crate::Error::Timeout) when the cluster cannot be
    /// reached within `default.api.timeout.ms`.
    ///
    /// # Examples
    /// ```no_run
    /// use tidelog::{KafkaConfig, Log, ProducerConfig, ProducerRecord, TopicConfig};
    /// let log = Log::connect(KafkaConfig::new().set("bootstrap.servers", "127.0.0.1:9092")?)?;
    /// log.create_topic_if_not_exists("orders", TopicConfig::new().partitions(3))?;
    /// let producer = log.producer(ProducerConfig::new())?;
    /// producer.send_sync(ProducerRecord::new("orders", "order-42").key("customer-7"))?;
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn connect(config: KafkaConfig) -> Result<Log> {
        let log = KafkaLog::connect(config)?;
        Ok(Log {
            backend: Backend::Kafka(Arc::new(log)),
        })
    }
}
