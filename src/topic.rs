//! Topic names and topic-partition pairs.

use std::fmt;

use crate::error::{Error, Result};

/// Kafka's limit on topic name length.
const MAX_TOPIC_NAME_LEN: usize = 249;

/// A topic name that passed Kafka's naming rules.
///
/// 1–249 characters of `a-z A-Z 0-9 . _ -`, not `.` or `..`. Names starting
/// with `__` are reserved for internal topics such as `__consumer_offsets`.
/// Because the character set excludes path separators and the two dot names
/// are refused, a valid name can never address anything outside the data
/// directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TopicName(String);

impl TopicName {
    /// Validates a user-supplied topic name (internal `__` names refused).
    pub(crate) fn new(name: &str) -> Result<Self> {
        let name = Self::any(name)?;
        if name.0.starts_with("__") {
            return Err(invalid(
                &name.0,
                "names starting with __ are reserved for internal topics",
            ));
        }
        Ok(name)
    }

    /// Validates a name, allowing the reserved `__` prefix (internal topics).
    pub(crate) fn any(name: &str) -> Result<Self> {
        if name.is_empty() {
            return Err(invalid(name, "the name is empty"));
        }
        if name.len() > MAX_TOPIC_NAME_LEN {
            return Err(invalid(name, "the name is longer than 249 characters"));
        }
        if name == "." || name == ".." {
            return Err(invalid(name, "'.' and '..' are not allowed"));
        }
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if !name.chars().all(legal) {
            return Err(invalid(
                name,
                "it contains a character outside a-z A-Z 0-9 . _ -",
            ));
        }
        Ok(TopicName(name.to_string()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid(name: &str, reason: &'static str) -> Error {
    Error::InvalidTopicName {
        name: name.chars().take(300).collect(),
        reason,
    }
}

/// A topic and one of its partitions; `Display` and `Debug` both print
/// `topic-N`, as Kafka does.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    topic: String,
    partition: u32,
}

impl TopicPartition {
    /// Names partition `partition` of `topic`.
    ///
    /// # Examples
    /// ```
    /// let tp = tidelog::TopicPartition::new("orders", 2);
    /// assert_eq!(tp.topic(), "orders");
    /// assert_eq!(tp.partition(), 2);
    /// ```
    pub fn new(topic: impl Into<String>, partition: u32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition number.
    pub fn partition(&self) -> u32 {
        self.partition
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// The same `topic-N` as `Display`: assertion messages and logged
/// assignments stay short and read like Kafka's.
impl fmt::Debug for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_naming_rules_are_enforced() {
        let long = "a".repeat(250);
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "x\0y",
            "caf\u{e9}",
            "a b",
            long.as_str(),
        ] {
            assert!(
                matches!(TopicName::new(bad), Err(Error::InvalidTopicName { .. })),
                "{bad:?} accepted"
            );
        }
        assert!(TopicName::new("__consumer_offsets").is_err());
        assert!(TopicName::any("__consumer_offsets").is_ok());
        for good in ["a", "orders.v1", "A-b_c", &"z".repeat(249)] {
            assert!(TopicName::new(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn debug_prints_like_display() {
        let tp = TopicPartition::new("orders", 3);
        assert_eq!(format!("{tp:?}"), "orders-3");
        assert_eq!(format!("{:?}", std::slice::from_ref(&tp)), "[orders-3]");
        assert_eq!(tp.to_string(), "orders-3");
    }
}
