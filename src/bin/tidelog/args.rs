//! A small reader for Kafka-style command lines: `--flag value`,
//! `--flag=value`, boolean `--flag`, and `--property k=v [k=v ...]`.
//! Anything a command does not know is an error, never ignored.

use std::iter::Peekable;
use std::path::PathBuf;
use std::str::FromStr;
use std::vec::IntoIter;

use crate::error::CliError;

pub(crate) struct Args {
    words: Peekable<IntoIter<String>>,
    /// The value of a `--flag=value` word, until the flag's handler takes it.
    inline: Option<String>,
    usage: &'static str,
}

impl Args {
    pub(crate) fn from_env() -> Self {
        Self::new(std::env::args().skip(1).collect())
    }

    pub(crate) fn new(words: Vec<String>) -> Self {
        Args {
            words: words.into_iter().peekable(),
            inline: None,
            usage: "",
        }
    }

    /// The next command word (`topics`, `list`, ...); `usage` becomes the
    /// text shown for errors and `--help` from here on.
    pub(crate) fn command(&mut self, usage: &'static str) -> Result<String, CliError> {
        self.usage = usage;
        match self.words.next() {
            None => Err(CliError::usage("a command is needed", usage)),
            Some(word) if word == "--help" || word == "-h" || word == "help" => {
                Err(CliError::Help(usage))
            }
            Some(word) if word.starts_with('-') => Err(CliError::usage(
                format!("expected a command before {word:?}"),
                usage,
            )),
            Some(word) => Ok(word),
        }
    }

    /// Sets the usage text of the (sub)command being parsed.
    pub(crate) fn set_usage(&mut self, usage: &'static str) {
        self.usage = usage;
    }

    /// The next flag or positional word, `None` at the end.
    pub(crate) fn next(&mut self) -> Result<Option<String>, CliError> {
        if let Some(value) = self.inline.take() {
            return Err(self.error(format!("unexpected value {value:?}")));
        }
        let Some(word) = self.words.next() else {
            return Ok(None);
        };
        if word == "--help" || word == "-h" {
            return Err(CliError::Help(self.usage));
        }
        match word.split_once('=') {
            Some((flag, value)) if word.starts_with("--") => {
                self.inline = Some(value.to_string());
                Ok(Some(flag.to_string()))
            }
            _ => Ok(Some(word)),
        }
    }

    /// A usage error for the current command.
    pub(crate) fn error(&self, message: impl Into<String>) -> CliError {
        CliError::usage(message, self.usage)
    }

    pub(crate) fn unknown(&self, word: &str) -> CliError {
        self.error(format!("unknown argument {word:?}"))
    }

    /// The value of `flag`: after `=` or the next word.
    pub(crate) fn value(&mut self, flag: &str) -> Result<String, CliError> {
        if let Some(value) = self.inline.take() {
            return Ok(value);
        }
        match self.words.next() {
            Some(value) if !value.starts_with("--") => Ok(value),
            _ => Err(self.error(format!("{flag} needs a value"))),
        }
    }

    /// The value of `flag`, parsed.
    pub(crate) fn parsed<T: FromStr>(&mut self, flag: &str) -> Result<T, CliError> {
        let value = self.value(flag)?;
        value
            .parse()
            .map_err(|_| self.error(format!("{flag}: {value:?} is not a valid number")))
    }

    /// `key=value` pairs after `flag`, up to the next `--flag`: both
    /// `--property a=1 b=2` and `--property a=1 --property b=2` work.
    pub(crate) fn properties(&mut self, flag: &str) -> Result<Vec<(String, String)>, CliError> {
        let mut words = Vec::new();
        if let Some(value) = self.inline.take() {
            words.push(value);
        }
        while let Some(word) = self.words.next_if(|w| !w.starts_with("--")) {
            words.push(word);
        }
        if words.is_empty() {
            return Err(self.error(format!("{flag} needs key=value")));
        }
        words
            .into_iter()
            .map(|word| match word.split_once('=') {
                Some((key, value)) => Ok((key.to_string(), value.to_string())),
                None => Err(self.error(format!("{flag}: {word:?} is not key=value"))),
            })
            .collect()
    }
}

/// Flags every directory-opening command shares.
pub(crate) fn required<T>(value: Option<T>, flag: &str, args: &Args) -> Result<T, CliError> {
    value.ok_or_else(|| args.error(format!("{flag} is required")))
}

/// Opens the data directory the way every offline command does.
pub(crate) fn open_log(dir: &Option<PathBuf>, args: &Args) -> Result<tidelog::Log, CliError> {
    let dir = required(dir.as_ref(), "--dir", args)?;
    if !dir.is_dir() {
        return Err(CliError::Failed(format!(
            "{} is not a directory; give the data directory of a Log with --dir",
            dir.display()
        )));
    }
    Ok(tidelog::Log::open(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Args {
        Args::new(words.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn flags_take_values_after_a_space_or_an_equals_sign() {
        let mut a = args(&["--topic", "t", "--partitions=3"]);
        assert_eq!(a.next().ok().flatten().as_deref(), Some("--topic"));
        assert_eq!(a.value("--topic").ok().as_deref(), Some("t"));
        assert_eq!(a.next().ok().flatten().as_deref(), Some("--partitions"));
        assert_eq!(a.parsed::<u32>("--partitions").ok(), Some(3));
        assert!(matches!(a.next(), Ok(None)));
    }

    #[test]
    fn a_boolean_flag_refuses_an_inline_value() {
        let mut a = args(&["--execute=yes"]);
        assert_eq!(a.next().ok().flatten().as_deref(), Some("--execute"));
        assert!(matches!(a.next(), Err(CliError::Usage { .. })));
    }

    #[test]
    fn properties_accept_both_kafka_spellings() {
        let mut a = args(&["--property", "a=1", "b=x=y", "--topic"]);
        a.next().ok();
        let props = a.properties("--property").ok();
        let expected = vec![
            ("a".to_string(), "1".to_string()),
            ("b".into(), "x=y".into()),
        ];
        assert_eq!(props, Some(expected));
        assert!(args(&["--property"]).properties("--property").is_err());
        let mut a = args(&["--property", "nokey"]);
        a.next().ok();
        assert!(a.properties("--property").is_err());
    }

    #[test]
    fn a_missing_value_is_an_error_not_the_next_flag() {
        let mut a = args(&["--topic", "--dir", "d"]);
        a.next().ok();
        assert!(a.value("--topic").is_err());
    }
}
