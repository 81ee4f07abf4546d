//! Shared pieces of tidelog's perf tools (`bench/examples/`): reading
//! Kafka-tool-style flags, so that every tool answers `--help` with its
//! usage and defaults and refuses a flag it does not know (a typo must not
//! silently run the default).
//!
//! The criterion benchmarks are in `bench/benches/`.

use std::fmt;
use std::iter::Peekable;
use std::str::FromStr;
use std::vec::IntoIter;

/// Why parsing the command line stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// `--help` or `-h` was given: print the usage and exit successfully.
    Help,
    /// A flag was unknown, lacked its value, or had a bad value.
    Bad(String),
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::Help => f.write_str("help requested"),
            ArgsError::Bad(message) => f.write_str(message),
        }
    }
}

/// The arguments of a tool, read flag by flag.
pub struct Flags {
    args: Peekable<IntoIter<String>>,
}

impl Flags {
    /// The process's arguments, without the program name.
    pub fn from_env() -> Self {
        Self::new(std::env::args().skip(1).collect())
    }

    /// Explicit arguments (without the program name).
    pub fn new(args: Vec<String>) -> Self {
        Flags {
            args: args.into_iter().peekable(),
        }
    }

    /// The next flag or positional word; `Err(Help)` for `--help`/`-h`.
    pub fn next_flag(&mut self) -> Result<Option<String>, ArgsError> {
        match self.args.next() {
            Some(flag) if flag == "--help" || flag == "-h" => Err(ArgsError::Help),
            other => Ok(other),
        }
    }

    /// The value that must follow `flag`.
    pub fn value(&mut self, flag: &str) -> Result<String, ArgsError> {
        self.args
            .next()
            .ok_or_else(|| ArgsError::Bad(format!("{flag} needs a value")))
    }

    /// The value after `flag`, parsed (numbers, durations in ms, ...).
    pub fn parsed<T: FromStr>(&mut self, flag: &str) -> Result<T, ArgsError> {
        let value = self.value(flag)?;
        value
            .parse()
            .map_err(|_| ArgsError::Bad(format!("{flag}: {value:?} is not a valid number")))
    }

    /// The `key=value` words after `flag`, up to the next `--flag`
    /// (Kafka's `--producer-props a=1 b=2` form).
    pub fn properties(&mut self, flag: &str) -> Result<Vec<(String, String)>, ArgsError> {
        let mut pairs = Vec::new();
        while let Some(word) = self.args.next_if(|w| !w.starts_with("--")) {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| ArgsError::Bad(format!("{flag}: {word:?} is not key=value")))?;
            pairs.push((key.to_string(), value.to_string()));
        }
        Ok(pairs)
    }
}

/// The error for an argument the tool does not know.
pub fn unknown(arg: &str) -> ArgsError {
    ArgsError::Bad(format!("unknown argument {arg:?}"))
}

/// Parses the command line with `parse`; on `--help` prints `usage` and
/// exits 0, on a bad argument prints the problem and `usage` and exits 2.
pub fn parse_or_exit<T>(usage: &str, parse: impl FnOnce(&mut Flags) -> Result<T, ArgsError>) -> T {
    match parse(&mut Flags::from_env()) {
        Ok(args) => args,
        Err(ArgsError::Help) => {
            println!("{usage}");
            std::process::exit(0);
        }
        Err(ArgsError::Bad(message)) => {
            eprintln!("{message}\n\n{usage}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Flags::new(args.iter().map(|a| a.to_string()).collect())
    }

    #[test]
    fn help_is_reported_wherever_it_appears() {
        let mut f = flags(&["--topic", "t", "--help"]);
        assert_eq!(f.next_flag(), Ok(Some("--topic".into())));
        assert_eq!(f.value("--topic"), Ok("t".into()));
        assert_eq!(f.next_flag(), Err(ArgsError::Help));
    }

    #[test]
    fn missing_and_bad_values_are_errors() {
        let mut f = flags(&["--kills"]);
        f.next_flag().unwrap();
        assert!(
            matches!(f.parsed::<u32>("--kills"), Err(ArgsError::Bad(m)) if m.contains("needs a value"))
        );
        let mut f = flags(&["--kills", "many"]);
        f.next_flag().unwrap();
        assert!(
            matches!(f.parsed::<u32>("--kills"), Err(ArgsError::Bad(m)) if m.contains("\"many\""))
        );
    }

    #[test]
    fn properties_stop_at_the_next_flag() {
        let mut f = flags(&["--producer-props", "acks=1", "linger.ms=0", "--topic", "t"]);
        f.next_flag().unwrap();
        let props = f.properties("--producer-props").unwrap();
        assert_eq!(
            props,
            [
                ("acks".into(), "1".into()),
                ("linger.ms".into(), "0".into())
            ]
        );
        assert_eq!(f.next_flag(), Ok(Some("--topic".into())));
        let mut f = flags(&["--producer-props", "acks"]);
        f.next_flag().unwrap();
        assert!(f.properties("--producer-props").is_err());
    }

    #[test]
    fn unknown_names_the_argument() {
        assert_eq!(
            unknown("--kilss"),
            ArgsError::Bad("unknown argument \"--kilss\"".into())
        );
    }
}
