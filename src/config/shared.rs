//! Settings values that more than one layer reads: [`Acks`] (producer,
//! cluster, groups) and [`AssignmentStrategy`] (consumer, groups).

use crate::error::{Error, Result};

/// How many replicas must have a batch before the producer counts it as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Acks {
    /// Do not wait: the record counts as sent once handed to the sender.
    None,
    /// The leader has appended it.
    Leader,
    /// Every in-sync replica has it (at least `min.insync.replicas`).
    #[default]
    All,
}

impl Acks {
    pub(crate) fn parse(key: &str, value: &str) -> Result<Self> {
        match value.trim() {
            "0" => Ok(Acks::None),
            "1" => Ok(Acks::Leader),
            "all" | "-1" => Ok(Acks::All),
            _ => Err(Error::config(key, value, "expected 0, 1 or all")),
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

/// How a consumer group spreads partitions over its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AssignmentStrategy {
    /// Per topic, consecutive ranges of partitions per member (Kafka's default).
    #[default]
    Range,
    /// All partitions dealt out one by one.
    RoundRobin,
    /// Balanced, keeping each member's partitions where possible; only moved
    /// partitions are revoked.
    CooperativeSticky,
}

impl AssignmentStrategy {
    pub(crate) fn parse(key: &str, value: &str) -> Result<Self> {
        match value.trim() {
            "range" => Ok(AssignmentStrategy::Range),
            "roundrobin" => Ok(AssignmentStrategy::RoundRobin),
            "cooperative-sticky" => Ok(AssignmentStrategy::CooperativeSticky),
            _ => Err(Error::config(
                key,
                value,
                "expected range, roundrobin or cooperative-sticky",
            )),
        }
    }

    /// Kafka's name for the strategy.
    pub fn name(self) -> &'static str {
        match self {
            AssignmentStrategy::Range => "range",
            AssignmentStrategy::RoundRobin => "roundrobin",
            AssignmentStrategy::CooperativeSticky => "cooperative-sticky",
        }
    }
}
