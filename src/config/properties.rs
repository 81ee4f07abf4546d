//! Java `.properties` text, as Kafka's clients and brokers read their
//! config files: `key=value` or `key: value`, `#` and `!` comments, and a
//! trailing `\` that continues a value on the next line.

use std::path::Path;

use crate::error::{Error, Result};

/// The `(key, value)` pairs of a properties text, in order, trimmed.
///
/// # Errors
/// [`Error::InvalidConfig`] for a line with a key but no `=` or `:`.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut lines = text.lines();
    while let Some(first) = lines.next() {
        let mut line = first.trim_start().to_string();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        while ends_in_continuation(&line) {
            line.pop();
            match lines.next() {
                Some(next) => line.push_str(next.trim_start()),
                None => break,
            }
        }
        let Some(at) = line.find(['=', ':']) else {
            return Err(Error::config(
                line.trim(),
                "",
                "expected key=value (or key: value) in the properties text",
            ));
        };
        let (key, value) = (&line[..at], &line[at + 1..]);
        pairs.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(pairs)
}

/// An odd number of trailing backslashes continues the line (`\\` is a
/// literal backslash).
fn ends_in_continuation(line: &str) -> bool {
    line.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// Reads and parses a `.properties` file.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; see [`parse`].
pub(crate) fn read(path: &Path) -> Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read properties file", path, e))?;
    parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    #[test]
    fn reads_both_separators_comments_and_continuations() {
        let text = "# a comment\n! another\n\n  bootstrap.servers = localhost:9092\n\
                    acks: all\nclient.id=a\\\n    b\nempty=\n";
        assert_eq!(
            pairs(text),
            [
                (
                    "bootstrap.servers".to_string(),
                    "localhost:9092".to_string()
                ),
                ("acks".to_string(), "all".to_string()),
                ("client.id".to_string(), "ab".to_string()),
                ("empty".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn an_escaped_backslash_does_not_continue() {
        assert_eq!(pairs("path=c:\\\\\nnext=1").len(), 2);
    }

    #[test]
    fn a_line_without_separator_names_itself() {
        let err = parse("linger.ms 5").unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { ref key, .. } if key == "linger.ms 5"));
    }
}
