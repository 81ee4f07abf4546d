//! `KafkaLog`: the connection a remote `Log` shares with its handles —
//! the configuration, one admin client and one metadata client.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::groups::GroupList;
use rdkafka::metadata::Metadata;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::errors::{code_error, kafka_error, Subject};
use super::{non_negative, partition_i32, wait, KafkaConfig};
use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::topic::TopicPartition;

/// Topic keys that are arguments of `CreateTopics` rather than configs.
const CREATE_ARGUMENTS: [&str; 2] = ["partitions", "replication.factor"];

pub(crate) struct KafkaLog {
    config: KafkaConfig,
    admin: AdminClient<DefaultClientContext>,
    /// Metadata and watermark queries (no group, never subscribes).
    metadata: BaseConsumer,
}

impl KafkaLog {
    pub(crate) fn connect(config: KafkaConfig) -> Result<KafkaLog> {
        config.validate()?;
        let admin = config
            .client_config()
            .create()
            .map_err(|e| kafka_error("create admin client", Subject::default(), &e))?;
        let metadata = config
            .client_config()
            .create()
            .map_err(|e| kafka_error("create metadata client", Subject::default(), &e))?;
        let log = KafkaLog {
            config,
            admin,
            metadata,
        };
        // Fails fast on an unreachable cluster rather than at first use.
        log.fetch_metadata(None)?;
        Ok(log)
    }

    pub(crate) fn config(&self) -> &KafkaConfig {
        &self.config
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.config.api_timeout()
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().operation_timeout(Some(self.timeout()))
    }

    pub(crate) fn fetch_metadata(&self, topic: Option<&str>) -> Result<Metadata> {
        self.metadata
            .fetch_metadata(topic, self.timeout())
            .map_err(|e| kafka_error("metadata", Subject::default(), &e))
    }

    /// Creates `name`; unset partitions and replication factor take the
    /// cluster's defaults (`num.partitions`, `default.replication.factor`).
    pub(crate) fn create_topic(&self, name: &str, config: &TopicConfig) -> Result<()> {
        let partitions = config
            .partitions
            .map_or(-1, |p| i32::try_from(p).unwrap_or(i32::MAX));
        let replicas = config
            .replication_factor
            .map_or(-1, |r| i32::try_from(r).unwrap_or(i32::MAX));
        let overrides = config.overrides();
        let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(replicas));
        for (key, value) in &overrides {
            if !CREATE_ARGUMENTS.contains(key) {
                topic = topic.set(key, value);
            }
        }
        let results = wait(self.admin.create_topics([&topic], &self.options()))
            .map_err(|e| kafka_error("create topic", Subject::topic(name), &e))?;
        first_result("create topic", name, results)?;
        self.await_topic(name, |_| true)
    }

    /// Waits until the brokers' metadata shows `topic` with a leader for
    /// every partition and `ready` holds for its partition count. Kafka
    /// answers CreateTopics once the controller has the topic; brokers
    /// learn of it a moment later, and Kafka's own tools wait the same way.
    fn await_topic(&self, topic: &str, ready: impl Fn(u32) -> bool) -> Result<()> {
        let deadline = Instant::now() + self.timeout();
        let mut backoff = Duration::from_millis(5);
        loop {
            let metadata = self.fetch_metadata(Some(topic))?;
            let led = metadata
                .topics()
                .iter()
                .find(|t| t.name() == topic)
                .and_then(|t| {
                    let all_led = t.error().is_none()
                        && !t.partitions().is_empty()
                        && t.partitions()
                            .iter()
                            .all(|p| p.error().is_none() && p.leader() >= 0);
                    all_led.then(|| u32::try_from(t.partitions().len()).unwrap_or(u32::MAX))
                });
            if led.is_some_and(&ready) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    op: "topic metadata",
                    timeout: self.timeout(),
                });
            }
            // A retry backoff between metadata requests, as Kafka's clients
            // use (retry.backoff.ms); the cluster offers nothing to wait on.
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_millis(200));
        }
    }

    pub(crate) fn delete_topic(&self, name: &str) -> Result<()> {
        let results = wait(self.admin.delete_topics(&[name], &self.options()))
            .map_err(|e| kafka_error("delete topic", Subject::topic(name), &e))?;
        first_result("delete topic", name, results)
    }

    /// Names of all topics (internal ones excluded), sorted.
    pub(crate) fn topics(&self) -> Result<Vec<String>> {
        let metadata = self.fetch_metadata(None)?;
        let mut names: Vec<String> = metadata
            .topics()
            .iter()
            .map(|t| t.name().to_string())
            .filter(|name| !name.starts_with("__"))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The partition count of an existing topic.
    pub(crate) fn partition_count(&self, topic: &str) -> Result<u32> {
        let metadata = self.fetch_metadata(Some(topic))?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Err(Error::UnknownTopic(topic.to_string()));
        };
        if let Some(code) = found.error() {
            return Err(code_error(
                "metadata",
                Subject::topic(topic),
                code.into(),
                "topic metadata",
            ));
        }
        if found.partitions().is_empty() {
            return Err(Error::UnknownTopic(topic.to_string()));
        }
        Ok(u32::try_from(found.partitions().len()).unwrap_or(u32::MAX))
    }

    /// The log start offset and high watermark of one partition.
    pub(crate) fn watermarks(&self, topic: &str, partition: u32) -> Result<(u64, u64)> {
        let count = self.partition_count(topic)?;
        if partition >= count {
            return Err(Error::InvalidPartition {
                topic: topic.to_string(),
                partition,
                partitions: count,
            });
        }
        let (low, high) = super::retrying(self.timeout(), || {
            self.metadata
                .fetch_watermarks(topic, partition_i32(partition), self.timeout())
        })
        .map_err(|e| kafka_error("list offsets", Subject::topic(topic), &e))?;
        Ok((non_negative(low), non_negative(high)))
    }
}

impl KafkaLog {
    /// Grows `topic` to `new_total` partitions (Kafka's `createPartitions`).
    pub(crate) fn create_partitions(&self, topic: &str, new_total: u32) -> Result<()> {
        let current = self.partition_count(topic)?;
        if new_total <= current {
            return Err(Error::config(
                "partitions",
                new_total.to_string(),
                format!("topic {topic:?} has {current} partitions; a topic only grows"),
            ));
        }
        let total = usize::try_from(new_total).unwrap_or(usize::MAX);
        let grow = NewPartitions::new(topic, total);
        let results = wait(self.admin.create_partitions([&grow], &self.options()))
            .map_err(|e| kafka_error("create partitions", Subject::topic(topic), &e))?;
        first_result("create partitions", topic, results)?;
        self.await_topic(topic, |count| count >= new_total)
    }

    /// Deletes the records of `tp` below `before` (Kafka's `deleteRecords`);
    /// returns the new log start offset.
    pub(crate) fn delete_records(&self, tp: &TopicPartition, before: u64) -> Result<u64> {
        let (low, high) = self.watermarks(tp.topic(), tp.partition())?;
        if before > high {
            return Err(Error::OffsetOutOfRange {
                topic: tp.topic().to_string(),
                partition: tp.partition(),
                offset: before,
                log_start_offset: low,
                log_end_offset: high,
            });
        }
        let mut tpl = TopicPartitionList::new();
        let offset = Offset::Offset(i64::try_from(before).unwrap_or(i64::MAX));
        tpl.add_partition_offset(tp.topic(), partition_i32(tp.partition()), offset)
            .map_err(|e| kafka_error("delete records", Subject::topic(tp.topic()), &e))?;
        let done = wait(self.admin.delete_records(&tpl, &self.options()))
            .map_err(|e| kafka_error("delete records", Subject::topic(tp.topic()), &e))?;
        let element = done.elements().into_iter().next();
        match element {
            Some(e) => {
                e.error().map_err(|err| {
                    kafka_error("delete records", Subject::topic(tp.topic()), &err)
                })?;
                Ok(match e.offset() {
                    Offset::Offset(o) => non_negative(o).max(low),
                    _ => before.max(low),
                })
            }
            None => Ok(before.max(low)),
        }
    }

    /// Kafka's `deleteConsumerGroups` for one group.
    pub(crate) fn delete_group(&self, group: &str) -> Result<()> {
        let results = wait(self.admin.delete_groups(&[group], &self.options()))
            .map_err(|e| kafka_error("delete group", Subject::group(group), &e))?;
        match results.into_iter().next() {
            Some(Err((_, code))) => Err(code_error(
                "delete group",
                Subject::group(group),
                code,
                "delete group",
            )),
            _ => Ok(()),
        }
    }

    /// The groups the cluster knows (all of them, or one).
    pub(crate) fn group_list(&self, group: Option<&str>) -> Result<GroupList> {
        self.metadata
            .fetch_group_list(group, self.timeout())
            .map_err(|e| kafka_error("list groups", Subject::group(group.unwrap_or_default()), &e))
    }

    /// A client of `group` that never joins it: reads and writes its
    /// committed offsets as an admin tool does.
    pub(crate) fn group_client(&self, group: &str) -> Result<BaseConsumer> {
        self.config
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| kafka_error("create group client", Subject::group(group), &e))
    }
}

/// The outcome of a one-topic admin request.
fn first_result(
    op: &'static str,
    name: &str,
    results: Vec<std::result::Result<String, (String, rdkafka::types::RDKafkaErrorCode)>>,
) -> Result<()> {
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(()),
        Some(Err((_, code))) => Err(code_error(op, Subject::topic(name), code, op)),
        None => Err(Error::Kafka {
            op,
            code: "no result".to_string(),
            message: format!("the cluster answered nothing for topic {name:?}"),
            retriable: true,
        }),
    }
}
