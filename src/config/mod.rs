//! Configuration: typed builders and Kafka's property names.
//!
//! Every config type takes both typed setters (`.linger(Duration)`) and
//! Kafka's names through `.set("linger.ms", "5")?`; both end in the same
//! validated field. Each file keeps a `KEYS` table (name, default, meaning)
//! that README's configuration table is checked against.

mod broker;
pub(crate) mod parse;
mod shared;
mod topic;

pub(crate) use broker::LogConfig;
pub use shared::{Acks, AssignmentStrategy};
pub use topic::{CleanupPolicy, TopicConfig};

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every documented key, grouped by where it is set.
    pub(crate) fn all_keys() -> Vec<(&'static str, &'static [KeyDoc])> {
        vec![
            ("log", broker::KEYS),
            ("topic", topic::KEYS),
            ("producer", crate::producer::config::KEYS),
            ("consumer", crate::consumer::config::KEYS),
        ]
    }

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
        for key in broker::KEYS {
            let b = crate::Log::builder("unused-dir");
            if let Err(e) = b.set(key.name, key.default) {
                panic!("log key {} rejects its default: {e}", key.name);
            }
        }
        for key in topic::KEYS {
            TopicConfig::new().set(key.name, key.default).unwrap();
        }
        for key in crate::producer::config::KEYS {
            crate::ProducerConfig::new()
                .set(key.name, key.default)
                .unwrap();
        }
        for key in crate::consumer::config::KEYS {
            crate::ConsumerConfig::new()
                .set(key.name, key.default)
                .unwrap();
        }
    }
}
