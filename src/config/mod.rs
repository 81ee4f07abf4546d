//! Configuration: typed builders and Kafka's property names.
//!
//! Every config type takes both typed setters (`.linger(Duration)`) and
//! Kafka's names through `.set("linger.ms", "5")?`; both end in the same
//! field, and one `validate()` checks it where the config is used. Each
//! config type has one key table (`keys.rs`'s `Scope`): it drives `set()`,
//! lists the Kafka keys that are ignored or refused, and is what README's
//! configuration tables are checked against. The producer's and consumer's
//! tables live with those clients; the topic and broker tables here.

mod alter;
mod broker;
mod describe;
mod keys;
pub(crate) mod parse;
pub(crate) mod properties;
mod shared;
mod topic;

pub use alter::ConfigChange;
pub(crate) use broker::LogConfig;
pub(crate) use describe::describe_topic_config;
pub use describe::{ConfigEntry, ConfigSource};
pub(crate) use keys::{KeyDoc, Scope};
pub use shared::{Acks, AssignmentStrategy};
pub use topic::{CleanupPolicy, TopicConfig};

/// `set_all` and `load_file` for a config type with a `set(key, value)`.
macro_rules! properties_loading {
    () => {
        /// Sets every `(key, value)` pair in order, as [`set`](Self::set) does.
        ///
        /// # Errors
        /// The first [`Error::InvalidConfig`](crate::Error::InvalidConfig) of a pair.
        pub fn set_all<K: AsRef<str>, V: AsRef<str>>(
            mut self,
            pairs: impl IntoIterator<Item = (K, V)>,
        ) -> crate::Result<Self> {
            for (key, value) in pairs {
                self = self.set(key.as_ref(), value.as_ref())?;
            }
            Ok(self)
        }

        /// Reads a Java `.properties` file (a Kafka client's or broker's
        /// config file) and sets its keys in order: `key=value` or
        /// `key: value`, `#` and `!` comments, `\` at the end of a line
        /// continues it.
        ///
        /// # Errors
        /// [`Error::Io`](crate::Error::Io) if the file cannot be read, and
        /// what [`set`](Self::set) returns for its keys.
        pub fn load_file(self, path: impl AsRef<std::path::Path>) -> crate::Result<Self> {
            self.set_all(crate::config::properties::read(path.as_ref())?)
        }
    };
}
pub(crate) use properties_loading;

#[cfg(test)]
mod tests;
