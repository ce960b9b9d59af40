//! The one error type of nova.conf loading, and where a value came from.
//!
//! Error policy: every failure to load the configuration is a [`ConfigError`]
//! whose `Display` is a single line an operator can act on: it names the
//! source (file, environment variable or command-line flag), the section,
//! the option and the offending value. Binaries print it and exit non-zero;
//! nothing here panics.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where one option value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// The built-in default of the option (only substitution can fail on one).
    Default,
    /// A line of an INI file; `section` and `option` are spelled as written,
    /// which matters when a deprecated name was used.
    File {
        /// The file that held the value.
        path: PathBuf,
        /// The section header, as written.
        section: String,
        /// The option name, as written.
        option: String,
    },
    /// An oslo.config style environment variable, `OS_<GROUP>__<OPTION>`.
    Env {
        /// The variable's name, as set.
        var: String,
    },
    /// A command-line flag of the binary, such as `--port`.
    Cli {
        /// The flag, with its dashes.
        flag: String,
    },
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSource::Default => f.write_str("built-in default"),
            ValueSource::File { path, .. } => write!(f, "{}", path.display()),
            ValueSource::Env { var } => write!(f, "environment variable {var}"),
            ValueSource::Cli { flag } => write!(f, "command-line flag {flag}"),
        }
    }
}

/// Why nova.conf (with its environment and flags) could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse as its option's type, or is out of range
    /// (boxed: it is the largest variant, and errors travel by value).
    #[error("{0}")]
    InvalidValue(Box<InvalidValue>),
    /// A `--config-file` (or a found default file) that cannot be read.
    #[error("cannot read config file {}: {error}", path.display())]
    UnreadableFile {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        error: io::Error,
    },
    /// A `--config-dir` that cannot be listed.
    #[error("cannot read config directory {}: {error}", path.display())]
    UnreadableDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        error: io::Error,
    },
    /// A file that is not valid INI.
    #[error("cannot parse config file {} at line {line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line the parser stopped at.
        line: usize,
        /// What the parser found wrong.
        message: String,
    },
}

impl ConfigError {
    /// An [`ConfigError::InvalidValue`] for the option `[group] option` whose
    /// raw value came from `origin`; a file origin supplies the spelling the
    /// operator used, so the message points at the line they wrote.
    pub(crate) fn invalid(
        group: &str,
        option: &str,
        value: &str,
        origin: &ValueSource,
        reason: impl Into<String>,
    ) -> ConfigError {
        let (group, option) = match origin {
            ValueSource::File {
                section, option, ..
            } => (section.clone(), option.clone()),
            _ => (group.to_owned(), option.to_owned()),
        };
        ConfigError::InvalidValue(Box::new(InvalidValue {
            group,
            option,
            value: value.to_owned(),
            origin: origin.clone(),
            reason: reason.into(),
        }))
    }
}

/// The details of a [`ConfigError::InvalidValue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    /// The group as the source spelled it (`DEFAULT` for a deprecated name).
    pub group: String,
    /// The option as the source spelled it.
    pub option: String,
    /// The value as written (before `$option` substitution).
    pub value: String,
    /// Where the value came from.
    pub origin: ValueSource,
    /// What was expected instead, e.g. `expected an integer >= 0`.
    pub reason: String,
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value {:?} for option [{}] {} in {}: {}",
            self.value, self.group, self.option, self.origin, self.reason
        )
    }
}
