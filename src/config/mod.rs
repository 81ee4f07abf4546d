//! Configuration: typed builders and Kafka's property names.
//!
//! Every config type takes both typed setters (`.linger(Duration)`) and
//! Kafka's names through `.set("linger.ms", "5")?`; both end in the same
//! validated field. Each file keeps a `KEYS` table (name, default, meaning)
//! that README's configuration table is checked against.

mod consumer;
mod log;
mod parse;
mod producer;
mod topic;

pub use consumer::{AssignmentStrategy, ConsumerConfig, OffsetReset};
pub use log::LogBuilder;
pub(crate) use log::LogConfig;
pub use producer::{Acks, ProducerConfig};
pub use topic::{CleanupPolicy, TimestampType, TopicConfig};

/// One documented configuration key.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyDoc {
    /// Kafka's property name.
    pub(crate) name: &'static str,
    /// Default, as text.
    pub(crate) default: &'static str,
    /// What it controls, in one line.
    pub(crate) doc: &'static str,
}

/// Every documented key, grouped by where it is set.
#[cfg(test)]
pub(crate) fn all_keys() -> Vec<(&'static str, &'static [KeyDoc])> {
    vec![
        ("log", log::KEYS),
        ("topic", topic::KEYS),
        ("producer", producer::KEYS),
        ("consumer", consumer::KEYS),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_documents_every_key() {
        let readme = include_str!("../../README.md");
        for (scope, keys) in all_keys() {
            for key in keys {
                let row = format!("| `{}` | {} | {} |", key.name, key.default, key.doc);
                let row_without_default = format!("| `{}` |", key.name);
                assert!(
                    readme.contains(&row)
                        || readme.contains(&row_without_default) && key.name == "group.id",
                    "README's configuration table lacks the {scope} row {row}"
                );
            }
        }
    }

    #[test]
    fn every_documented_key_accepts_its_default() {
        for key in log::KEYS {
            let b = crate::Log::builder("unused-dir");
            if let Err(e) = b.set(key.name, key.default) {
                panic!("log key {} rejects its default: {e}", key.name);
            }
        }
        for key in topic::KEYS {
            TopicConfig::new().set(key.name, key.default).unwrap();
        }
        for key in producer::KEYS {
            ProducerConfig::new().set(key.name, key.default).unwrap();
        }
        for key in consumer::KEYS {
            ConsumerConfig::new().set(key.name, key.default).unwrap();
        }
    }
}
