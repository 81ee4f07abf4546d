//! Changes to an existing topic's settings, as Kafka's
//! `incrementalAlterConfigs` takes them: set a key, or delete its override
//! so the broker-level value applies again.

use super::properties;
use super::topic::{TopicConfig, TOPIC};
use crate::error::{Error, Result};

/// Fixed when a topic is created: changing them moves data, which a
/// setting change never does.
const FIXED_AT_CREATION: &[(&str, &str)] = &[
    (
        "partitions",
        "the partition count is not a setting to alter; grow the topic with Topic::create_partitions",
    ),
    (
        "num.partitions",
        "the partition count is not a setting to alter; grow the topic with Topic::create_partitions",
    ),
    (
        "replication.factor",
        "the replication factor is fixed when the topic is created (replicas are never reassigned); \
         Topic::create_partitions adds partitions with the same factor",
    ),
];

/// One change to a topic's settings, for [`Topic::alter_config`](crate::Topic::alter_config).
///
/// # Examples
/// ```
/// use tidelog::ConfigChange;
/// let changes = [
///     ConfigChange::set("retention.ms", "3600000"),
///     ConfigChange::delete("max.message.bytes"),
/// ];
/// assert_eq!(changes[1].key(), "max.message.bytes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    key: String,
    op: Op,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Set(String),
    Delete,
}

impl ConfigChange {
    /// Sets `key` to `value` for this topic (Kafka's `AlterConfigOp.OpType.SET`).
    pub fn set(key: impl Into<String>, value: impl Into<String>) -> Self {
        ConfigChange {
            key: key.into(),
            op: Op::Set(value.into()),
        }
    }

    /// Removes the topic's own value of `key`, so the Log's (broker-level)
    /// value or the default applies again (Kafka's `AlterConfigOp.OpType.DELETE`).
    /// Deleting a key the topic does not set changes nothing.
    pub fn delete(key: impl Into<String>) -> Self {
        ConfigChange {
            key: key.into(),
            op: Op::Delete,
        }
    }

    /// The Kafka topic-level key this change is about.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The new value; `None` for a delete.
    pub fn value(&self) -> Option<&str> {
        match &self.op {
            Op::Set(value) => Some(value),
            Op::Delete => None,
        }
    }
}

impl TopicConfig {
    /// This config with `changes` applied in order, each key checked as
    /// [`TopicConfig::set`] checks it. Not yet validated as a whole: the
    /// caller does that with the topic's replication factor at hand.
    pub(crate) fn altered(&self, changes: &[ConfigChange]) -> Result<TopicConfig> {
        // Rebuilt from the persisted form, so a delete is "leave the line
        // out" and the key table stays the only place that knows each key.
        let mut pairs = properties::parse(&self.to_properties())?;
        for change in changes {
            let key = change.key.trim();
            if let Some((_, reason)) = FIXED_AT_CREATION.iter().find(|(k, _)| *k == key) {
                let value = change.value().unwrap_or_default();
                return Err(Error::config(key, value, *reason));
            }
            pairs.retain(|(k, _)| k != key);
            match &change.op {
                Op::Set(value) => {
                    // Refuses an unknown key or a bad value, naming the key.
                    TopicConfig::new().set(key, value)?;
                    pairs.push((key.to_string(), value.clone()));
                }
                Op::Delete => {
                    TOPIC.check_known(key)?;
                }
            }
        }
        TopicConfig::new().set_all(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> TopicConfig {
        TopicConfig::new()
            .partitions(3)
            .set("retention.ms", "60000")
            .unwrap()
            .set("max.message.bytes", "2000")
            .unwrap()
    }

    #[test]
    fn set_and_delete_apply_in_order() {
        let changes = [
            ConfigChange::set("retention.ms", "1000"),
            ConfigChange::delete("max.message.bytes"),
            ConfigChange::set("segment.bytes", "4096"),
        ];
        let after = base().altered(&changes).unwrap();
        assert_eq!(after.get("retention.ms").as_deref(), Some("1000"));
        assert_eq!(after.get("max.message.bytes"), None);
        assert_eq!(after.get("segment.bytes").as_deref(), Some("4096"));
        assert_eq!(after.get("partitions").as_deref(), Some("3"));
    }

    #[test]
    fn fixed_unknown_and_bad_values_are_refused() {
        for change in [
            ConfigChange::set("partitions", "6"),
            ConfigChange::delete("replication.factor"),
            ConfigChange::set("retention.ms", "soon"),
            ConfigChange::set("retention.msec", "1"),
            ConfigChange::delete("no.such.key"),
        ] {
            let err = base().altered(std::slice::from_ref(&change)).unwrap_err();
            assert!(
                matches!(err, Error::InvalidConfig { ref key, .. } if key == change.key()),
                "{change:?}: {err}"
            );
        }
        let err = base()
            .altered(&[ConfigChange::set("partitions", "6")])
            .unwrap_err();
        assert!(err.to_string().contains("create_partitions"), "{err}");
    }
}
