//! What can go wrong on the command line, and how it is reported.

use std::fmt;
use std::io;

/// Ends a command: `Help` prints the usage and succeeds, the rest fail.
pub(crate) enum CliError {
    /// `--help` was asked for; the text is printed on stdout.
    Help(&'static str),
    /// The arguments are wrong; the command's usage follows the message.
    Usage {
        message: String,
        usage: &'static str,
    },
    /// The library refused or failed.
    Tidelog(tidelog::Error),
    /// Reading stdin or writing stdout failed.
    Io(io::Error),
    /// The command ran but could not do all it was asked.
    Failed(String),
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>, usage: &'static str) -> Self {
        CliError::Usage {
            message: message.into(),
            usage,
        }
    }

    /// 2 for a bad command line (as most Unix tools), 1 for a failure.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Help(_) => 0,
            CliError::Usage { .. } => 2,
            _ => 1,
        }
    }

    /// What to do about it, when the message alone does not say.
    pub(crate) fn hint(&self) -> Option<&'static str> {
        match self {
            CliError::Tidelog(tidelog::Error::AlreadyOpen { .. }) => Some(
                "tidelog's commands open the data directory themselves and need it to \
                 themselves: stop the process that has it open (an application's Log or \
                 another tidelog command), then run this again.",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Help(usage) => f.write_str(usage),
            CliError::Usage { message, usage } => write!(f, "{message}\n\n{usage}"),
            CliError::Tidelog(error) => write!(f, "{error}"),
            CliError::Io(error) => write!(f, "{error}"),
            CliError::Failed(message) => f.write_str(message),
        }
    }
}

impl From<tidelog::Error> for CliError {
    fn from(error: tidelog::Error) -> Self {
        CliError::Tidelog(error)
    }
}

impl From<io::Error> for CliError {
    fn from(error: io::Error) -> Self {
        CliError::Io(error)
    }
}
