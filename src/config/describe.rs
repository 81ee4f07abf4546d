//! The settings a topic runs with, whatever set them: Kafka's
//! `DescribeConfigs` answer for a topic.

use super::broker::LogConfig;
use super::topic::{TopicConfig, TOPIC};

/// Keys of the topic table that only spell another key differently.
const ALIASES: &[&str] = &["num.partitions"];

/// Where the value in force for a topic setting comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigSource {
    /// The topic's own value, set at creation or by
    /// [`Topic::alter_config`](crate::Topic::alter_config).
    TopicOverride,
    /// The Log's (broker-level) setting, given to
    /// [`Log::builder`](crate::Log::builder).
    Broker,
    /// tidelog's default: neither the topic nor the Log sets it.
    Default,
}

impl ConfigSource {
    /// Kafka's name for the source: `DYNAMIC_TOPIC_CONFIG`,
    /// `STATIC_BROKER_CONFIG` or `DEFAULT_CONFIG`.
    pub fn kafka_name(self) -> &'static str {
        match self {
            ConfigSource::TopicOverride => "DYNAMIC_TOPIC_CONFIG",
            ConfigSource::Broker => "STATIC_BROKER_CONFIG",
            ConfigSource::Default => "DEFAULT_CONFIG",
        }
    }
}

/// One topic setting in force: its Kafka key, value and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    name: &'static str,
    value: String,
    source: ConfigSource,
}

impl ConfigEntry {
    /// Kafka's topic-level key, e.g. `retention.ms`.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The value in Kafka's form (`-1` for "unlimited" or "forever").
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What set the value.
    pub fn source(&self) -> ConfigSource {
        self.source
    }
}

/// Every topic-level key with the value a topic with `partitions`
/// partitions of `replicas` replicas runs with, in the key table's order:
/// the topic's override if it has one, else what the Log's settings give
/// it, reported as the default when tidelog's default settings would give
/// the same.
pub(crate) fn describe_topic_config(
    broker: &LogConfig,
    topic: &TopicConfig,
    partitions: u32,
    replicas: u32,
) -> Vec<ConfigEntry> {
    let mut defaults = LogConfig {
        brokers: broker.brokers,
        ..LogConfig::default()
    };
    defaults.resolve_defaults();
    let from_broker = inherited(broker, partitions, replicas);
    let from_defaults = inherited(&defaults, partitions, replicas);
    let mut entries = Vec::new();
    for key in TOPIC.keys.iter().filter(|k| !ALIASES.contains(&k.name)) {
        let (value, source) = match (key.get)(topic) {
            Some(value) => (value, ConfigSource::TopicOverride),
            None => {
                let inherited = (key.get)(&from_broker);
                let default = (key.get)(&from_defaults);
                let source = match inherited == default {
                    true => ConfigSource::Default,
                    false => ConfigSource::Broker,
                };
                // A key no field carries yet shows its documented default.
                match inherited.or_else(|| key.default.map(str::to_string)) {
                    Some(value) => (value, source),
                    None => continue,
                }
            }
        };
        entries.push(ConfigEntry {
            name: key.name,
            value,
            source,
        });
    }
    entries
}

/// What a topic that sets nothing itself gets from `broker`.
fn inherited(broker: &LogConfig, partitions: u32, replicas: u32) -> TopicConfig {
    TopicConfig {
        partitions: Some(partitions),
        replication_factor: Some(replicas),
        retention: Some(broker.retention),
        retention_bytes: Some(broker.retention_bytes),
        segment_bytes: Some(broker.segment_bytes),
        segment_ms: Some(broker.segment_ms),
        max_message_bytes: Some(broker.message_max_bytes),
        cleanup_policy: Some(broker.cleanup_policy),
        timestamp_type: Some(broker.timestamp_type),
        flush_messages: Some(broker.flush_messages),
        flush_ms: Some(broker.flush_ms),
        index_interval_bytes: Some(broker.index_interval_bytes),
        min_insync_replicas: Some(broker.min_insync_for(replicas)),
        unclean_leader_election: Some(broker.unclean_leader_election),
        ..TopicConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(entries: &'a [ConfigEntry], name: &str) -> &'a ConfigEntry {
        entries.iter().find(|e| e.name() == name).unwrap()
    }

    #[test]
    fn each_value_names_its_source() {
        let mut broker = LogConfig::default();
        broker.set("log.retention.minutes", "1").unwrap();
        broker.resolve_defaults();
        let topic = TopicConfig::new()
            .partitions(4)
            .set("max.message.bytes", "2000")
            .unwrap();
        let entries = describe_topic_config(&broker, &topic, 4, 3);
        let retention = entry(&entries, "retention.ms");
        assert_eq!(
            (retention.value(), retention.source()),
            ("60000", ConfigSource::Broker)
        );
        let max = entry(&entries, "max.message.bytes");
        assert_eq!(
            (max.value(), max.source()),
            ("2000", ConfigSource::TopicOverride)
        );
        let segment = entry(&entries, "segment.bytes");
        assert_eq!(
            (segment.value(), segment.source()),
            ("1073741824", ConfigSource::Default)
        );
        assert_eq!(entry(&entries, "replication.factor").value(), "3");
        assert!(entries.iter().all(|e| e.name() != "num.partitions"));
        assert_eq!(ConfigSource::Broker.kafka_name(), "STATIC_BROKER_CONFIG");
    }
}
