//! The key tables behind every `set(key, value)`: what each Kafka name
//! means, its default, how it is applied and read back, and which Kafka
//! names are accepted without effect or refused with a reason.

use std::fmt::Write as _;

use crate::error::{Error, Result};

/// The README section that lists every key.
pub(crate) const KEY_TABLE: &str =
    "the configuration tables in tidelog's README (\"Configuration\")";

/// One accepted configuration key of config type `C`.
pub(crate) struct KeyDoc<C: 'static> {
    /// Kafka's property name.
    pub(crate) name: &'static str,
    /// Default, as Kafka writes it; `None` when unset means "none".
    pub(crate) default: Option<&'static str>,
    /// What it controls, in one line (the README row).
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "documentation, checked against README")
    )]
    pub(crate) doc: &'static str,
    /// Parses `value` (named `key` in errors) into the config.
    pub(crate) apply: fn(&mut C, &str, &str) -> Result<()>,
    /// The current value in Kafka's form; `None` when unset or when the key
    /// is an alias written through another one (`log.roll.hours`).
    pub(crate) get: fn(&C) -> Option<String>,
}

/// Every key one config type knows, and what happens to the others.
pub(crate) struct Scope<C: 'static> {
    /// `producer`, `consumer`, `topic` or `log`, for messages.
    pub(crate) name: &'static str,
    /// The keys that are honoured.
    pub(crate) keys: &'static [KeyDoc<C>],
    /// Kafka's keys that mean nothing in-process: accepted, listed by
    /// `ignored_keys()`. A name ending in `.` is a prefix (`ssl.`).
    pub(crate) ignored: &'static [&'static str],
    /// Kafka's keys that are refused whatever the value, with the reason.
    pub(crate) refused: &'static [(&'static str, &'static str)],
}

impl<C> Scope<C> {
    /// Applies `key = value`; an ignored key is added to `ignored` instead.
    pub(crate) fn set(
        &self,
        config: &mut C,
        ignored: &mut Vec<String>,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let key = key.trim();
        if let Some(doc) = self.keys.iter().find(|k| k.name == key) {
            return (doc.apply)(config, key, value);
        }
        if let Some((_, reason)) = self.refused.iter().find(|(name, _)| *name == key) {
            return Err(Error::config(key, value, *reason));
        }
        if self.is_ignored(key) {
            if !ignored.iter().any(|k| k == key) {
                ignored.push(key.to_string());
            }
            return Ok(());
        }
        Err(self.unknown(key, value))
    }

    /// `Ok` for a key this scope accepts (honoured or ignored), the
    /// error `set` would give otherwise.
    pub(crate) fn check_known(&self, key: &str) -> Result<()> {
        let known = self.keys.iter().any(|k| k.name == key) || self.is_ignored(key);
        match self.refused.iter().find(|(name, _)| *name == key) {
            Some((_, reason)) => Err(Error::config(key, "", *reason)),
            None if known => Ok(()),
            None => Err(self.unknown(key, "")),
        }
    }

    fn is_ignored(&self, key: &str) -> bool {
        self.ignored
            .iter()
            .any(|name| match name.strip_suffix('.') {
                Some(_) => key.starts_with(name),
                None => *name == key,
            })
    }

    /// The error for a key nobody knows: the closest known key, if one is
    /// close enough to be a typo, and where the keys are listed.
    fn unknown(&self, key: &str, value: &str) -> Error {
        let mut reason = format!("unknown {} configuration key", self.name);
        if let Some(place) = elsewhere(key, self.name) {
            let _ = write!(reason, "; {key} is {place}");
        } else if let Some(close) = self.closest(key) {
            let _ = write!(reason, "; did you mean {close}?");
        }
        let _ = write!(reason, " The accepted keys are listed in {KEY_TABLE}");
        Error::config(key, value, reason)
    }

    fn closest(&self, key: &str) -> Option<&'static str> {
        let known = self.keys.iter().map(|k| k.name);
        let known = known.chain(self.refused.iter().map(|(name, _)| *name));
        let known = known.chain(self.ignored.iter().copied().filter(|n| !n.ends_with('.')));
        let (distance, name) = known.map(|name| (edit_distance(key, name), name)).min()?;
        // A third of the key's length catches typos without suggesting an
        // unrelated key for a short one.
        (distance <= (key.len() / 3).max(1)).then_some(name)
    }

    /// The config's honoured values as `key=value` lines, one per key that
    /// has a value.
    pub(crate) fn to_properties(&self, config: &C) -> String {
        let mut out = String::new();
        for key in self.keys {
            if let Some(value) = (key.get)(config) {
                let _ = writeln!(out, "{}={value}", key.name);
            }
        }
        out
    }
}

/// Where a key that `scope` does not know is set instead, for the keys
/// Kafka users most often put in the wrong place (`message.max.bytes` on a
/// producer).
fn elsewhere(key: &str, scope: &str) -> Option<&'static str> {
    let in_table = |keys: &[&str]| keys.contains(&key);
    let topic: Vec<&str> = super::topic::TOPIC.keys.iter().map(|k| k.name).collect();
    let log: Vec<&str> = super::broker::LOG.keys.iter().map(|k| k.name).collect();
    if scope != "topic" && in_table(&topic) {
        Some("a topic setting: set it on TopicConfig")
    } else if scope != "log" && in_table(&log) {
        Some("a broker-level setting: set it on Log::builder")
    } else {
        None
    }
}

/// Levenshtein distance over bytes (keys are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            let cost = usize::from(ca != *cb);
            row[j + 1] = (diagonal + cost).min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_another_config_says_where_it_belongs() {
        assert_eq!(
            elsewhere("message.max.bytes", "producer"),
            Some("a broker-level setting: set it on Log::builder")
        );
        assert_eq!(
            elsewhere("retention.ms", "log"),
            Some("a topic setting: set it on TopicConfig")
        );
        assert_eq!(elsewhere("retention.ms", "topic"), None);
        assert_eq!(elsewhere("linger.ms", "consumer"), None);
    }

    #[test]
    fn edit_distance_counts_single_changes() {
        assert_eq!(edit_distance("linger.ms", "linger.ms"), 0);
        assert_eq!(edit_distance("auto.offset.rest", "auto.offset.reset"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("acks", "ack"), 1);
    }
}
