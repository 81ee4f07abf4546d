//! Subscribing by regular expression (Kafka's `subscribe(Pattern)`): the
//! subscription follows the topics that exist, including ones created later.

use std::collections::BTreeSet;

use regex_lite::Regex;

use super::RebalanceListener;
use crate::consumer::Consumer;
use crate::error::{Error, Result};

/// A compiled topic pattern; it matches whole topic names, as Java's
/// `Pattern.matcher(topic).matches()` does.
pub(crate) struct TopicPattern {
    source: String,
    regex: Regex,
}

impl TopicPattern {
    fn new(pattern: &str) -> Result<TopicPattern> {
        let regex = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| Error::InvalidPattern {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        Ok(TopicPattern {
            source: pattern.to_string(),
            regex,
        })
    }

    /// The existing (non-internal) topics the pattern matches.
    fn matching(&self, consumer: &Consumer) -> BTreeSet<String> {
        let topics = consumer.backend.core().map(|core| core.topics());
        topics
            .unwrap_or_default()
            .into_iter()
            .filter(|t| self.regex.is_match(t))
            .collect()
    }
}

impl Consumer {
    /// Joins the consumer group named by `group.id` and reads the topics
    /// whose whole name matches the regular expression `pattern` (Kafka's
    /// `subscribe(Pattern)`; internal topics never match).
    ///
    /// The pattern is evaluated now and again in every `poll`: a topic
    /// created later that matches joins the subscription (and one deleted
    /// leaves it), which makes the consumer rejoin its group, revoking its
    /// partitions first. Otherwise it behaves as
    /// [`subscribe`](Consumer::subscribe), whose subscription it replaces;
    /// [`subscription`](Consumer::subscription) lists the topics matched.
    /// The syntax is that of the `regex-lite` crate (Perl-like, as Java's).
    ///
    /// # Errors
    /// [`Error::InvalidPattern`] for a pattern that does not parse, and as
    /// [`subscribe`](Consumer::subscribe).
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// use std::time::Duration;
    /// use tidelog::{ConsumerConfig, TopicConfig};
    /// log.create_topic("metrics.cpu", TopicConfig::new())?;
    /// log.create_topic("orders", TopicConfig::new())?;
    /// let mut consumer = log.consumer(ConsumerConfig::new().group_id("dashboards"))?;
    /// consumer.subscribe_pattern(r"metrics\..*")?;
    /// assert_eq!(consumer.subscription(), ["metrics.cpu"]);
    /// log.create_topic("metrics.disk", TopicConfig::new())?;
    /// consumer.poll(Duration::from_millis(10))?; // picks the new topic up
    /// assert_eq!(consumer.subscription(), ["metrics.cpu", "metrics.disk"]);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn subscribe_pattern(&mut self, pattern: &str) -> Result<()> {
        self.subscribe_pattern_inner(pattern, None)
    }

    /// Like [`subscribe_pattern`](Consumer::subscribe_pattern), with a
    /// listener told about every partition revoked, assigned or lost.
    ///
    /// # Errors
    /// As [`subscribe_pattern`](Consumer::subscribe_pattern).
    pub fn subscribe_pattern_with_listener(
        &mut self,
        pattern: &str,
        listener: impl RebalanceListener + 'static,
    ) -> Result<()> {
        self.subscribe_pattern_inner(pattern, Some(Box::new(listener)))
    }

    fn subscribe_pattern_inner(
        &mut self,
        pattern: &str,
        listener: Option<Box<dyn RebalanceListener>>,
    ) -> Result<()> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka_mut() {
            TopicPattern::new(pattern)?;
            kafka.listener = listener;
            return kafka.subscribe(Vec::new(), Some(pattern.to_string()));
        }
        let pattern = TopicPattern::new(pattern)?;
        let topics = pattern.matching(self);
        self.subscribe_inner(topics, listener)?;
        self.group.pattern = Some(pattern);
        Ok(())
    }

    /// The pattern subscribed to, if the subscription is by pattern.
    ///
    /// # Examples
    /// ```
    /// # let dir = tempfile::tempdir().map_err(|_| tidelog::Error::Closed("tempdir"))?;
    /// # let log = tidelog::Log::builder(dir.path()).set("offsets.topic.num.partitions", "1")?.open()?;
    /// let mut consumer = log.consumer(tidelog::ConsumerConfig::new().group_id("g"))?;
    /// consumer.subscribe_pattern("orders-.*")?;
    /// assert_eq!(consumer.subscription_pattern(), Some("orders-.*"));
    /// consumer.subscribe(["orders-eu"])?;
    /// assert_eq!(consumer.subscription_pattern(), None);
    /// # Ok::<(), tidelog::Error>(())
    /// ```
    pub fn subscription_pattern(&self) -> Option<&str> {
        #[cfg(feature = "kafka-client")]
        if let Some(kafka) = self.kafka() {
            return kafka.subscription_pattern();
        }
        self.group.pattern.as_ref().map(|p| p.source.as_str())
    }

    /// Re-evaluates a pattern subscription against the topics that exist
    /// now; when the matched set changed, leaves and rejoins with it.
    pub(crate) fn refresh_pattern(&mut self) -> Result<()> {
        let Some(pattern) = self.group.pattern.as_ref() else {
            return Ok(());
        };
        let topics = pattern.matching(self);
        let unchanged = self
            .group
            .member
            .as_ref()
            .is_some_and(|m| m.request.topics == topics);
        if unchanged {
            return Ok(());
        }
        let pattern = self.group.pattern.take();
        // Revokes through the listener, which then stays for the new membership.
        let left = self.leave_membership();
        let listener = self.group.listener.take();
        let joined = self.subscribe_inner(topics, listener);
        self.group.pattern = pattern;
        left.and(joined)
    }
}
