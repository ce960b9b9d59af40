//! The errors of api-paste.ini loading.
//!
//! Error policy: everything the loader can reject is a [`PasteError`] (a
//! `thiserror` enum the launcher matches on and prints as one line before
//! exiting non-zero). paste.deploy's `LookupError`s become
//! [`PasteError::AppNotFound`], which names the app and the file as nova's
//! `PasteAppNotFound` does and carries the precise [`LookupError`] as the
//! reason. Instantiation in a worker ([`crate::AppSpec::build`]) uses
//! `anyhow`, since factories are arbitrary code and the worker only logs and
//! exits.

use std::fmt;
use std::path::PathBuf;

/// Why api-paste.ini could not be found, read or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PasteError {
    /// nova's `ConfigNotFound`: no file at any place searched.
    #[error("Could not find config at {name} (searched: {})", display_paths(.searched))]
    ConfigNotFound {
        /// The configured name (`api_paste_config`).
        name: String,
        /// Every path that was tried, in order.
        searched: Vec<PathBuf>,
    },
    /// The file exists but could not be read.
    #[error("Could not read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid INI.
    #[error("Error in file {} at line {line}: {message}", .file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// nova's `PasteAppNotFound`: the named app could not be resolved.
    #[error("Could not load paste app '{app}' from {}: {reason}", .file.display())]
    AppNotFound {
        /// The app asked for.
        app: String,
        /// The file it was asked from.
        file: PathBuf,
        /// What failed, naming the section and file involved.
        reason: Box<LookupError>,
    },
}

/// paste.deploy's `LookupError`s, plus the registry checks that replace
/// Python's imports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No section of the right kind has the name.
    #[error("No section '{name}' (prefixed by {}) found in config {}", quote_join(.prefixes, " or "), .file.display())]
    NoSection {
        /// The name looked up.
        name: String,
        /// The section prefixes that were acceptable.
        prefixes: Vec<String>,
        /// The file searched.
        file: PathBuf,
    },
    /// More than one section of the right kind has the name.
    #[error("Ambiguous section names [{}] for section '{name}' (prefixed by {}) found in config {}", quote_join(.sections, ", "), quote_join(.prefixes, " or "), .file.display())]
    AmbiguousSection {
        /// The matching sections.
        sections: Vec<String>,
        /// The name looked up.
        name: String,
        /// The section prefixes that were acceptable.
        prefixes: Vec<String>,
        /// The file searched.
        file: PathBuf,
    },
    /// A section has no factory key and no `use`.
    #[error("No loader given in section '{section}' in {}", .file.display())]
    NoLoader {
        /// The section.
        section: String,
        /// Its file.
        file: PathBuf,
    },
    /// A section has more than one factory key.
    #[error("Multiple protocols given in section '{section}' in {}: {}", .file.display(), quote_join(.protocols, ", "))]
    MultipleProtocols {
        /// The section.
        section: String,
        /// Its file.
        file: PathBuf,
        /// The factory keys found.
        protocols: Vec<String>,
    },
    /// A `pipeline:` section without a `pipeline` key, or with an empty one.
    #[error("The [{section}] section in {} is missing a 'pipeline' setting", .file.display())]
    MissingPipeline {
        /// The section.
        section: String,
        /// Its file.
        file: PathBuf,
    },
    /// A `pipeline:` section with keys other than `pipeline`.
    #[error("The [{section}] pipeline section in {} has extra (disallowed) settings: {}", .file.display(), .keys.join(", "))]
    PipelineExtraSettings {
        /// The section.
        section: String,
        /// Its file.
        file: PathBuf,
        /// The disallowed keys.
        keys: Vec<String>,
    },
    /// A `filter-app:` section without `next`.
    #[error("The [{section}] section in {} is missing a 'next' setting", .file.display())]
    MissingNext {
        /// The section.
        section: String,
        /// Its file.
        file: PathBuf,
    },
    /// A factory name that the registry does not know.
    #[error("No {protocol} named '{factory}' is known (section [{section}] in {})", .file.display())]
    UnknownFactory {
        /// The factory kind (`paste.app_factory`, ...).
        protocol: String,
        /// The factory name as written.
        factory: String,
        /// The section naming it.
        section: String,
        /// Its file.
        file: PathBuf,
    },
    /// An object of the wrong kind where an app or a filter is needed.
    #[error("'{name}' (section [{section}] in {}) is not {expected}", .file.display())]
    WrongKind {
        /// The name used.
        name: String,
        /// Its section.
        section: String,
        /// Its file.
        file: PathBuf,
        /// What was needed ("an app", "a filter").
        expected: String,
    },
    /// A name with a `scheme:` that paste.deploy does not know.
    #[error("URI scheme not known: '{scheme}' in '{uri}' (from config, egg, call)")]
    UnknownScheme {
        /// The scheme.
        scheme: String,
        /// The whole URI.
        uri: String,
    },
    /// A `call:` URI that is not `module:callable`.
    #[error("Configuration not in format module:function: '{uri}'")]
    BadCallUri {
        /// The URI.
        uri: String,
    },
    /// `get local = global` names a global that is not set.
    #[error("Section [{section}] in {}: 'get {local}' names the global option '{global}', which is not set", .file.display())]
    MissingGlobal {
        /// The section.
        section: String,
        /// Its file.
        file: PathBuf,
        /// The local option.
        local: String,
        /// The missing global.
        global: String,
    },
    /// A `%(name)s` reference could not be resolved.
    #[error("Error in file {} at line {line}: option '{option}' of section [{section}]: {message}", .file.display())]
    Interpolation {
        /// The file.
        file: PathBuf,
        /// The option's line.
        line: usize,
        /// The section.
        section: String,
        /// The option.
        option: String,
        /// What went wrong.
        message: String,
    },
    /// A composite factory refused its configuration.
    #[error("Composite factory '{factory}' of section [{section}] in {} failed: {message}", .file.display())]
    Composite {
        /// The factory.
        factory: String,
        /// Its section.
        section: String,
        /// Its file.
        file: PathBuf,
        /// The factory's message.
        message: String,
    },
    /// Loading nested too deep: a loop of `use`, pipelines or composites.
    #[error("Too deeply nested while loading '{name}' from {} (a loop of use, pipelines or composites?)", .file.display())]
    TooDeep {
        /// The name being loaded when the limit was hit.
        name: String,
        /// Its file.
        file: PathBuf,
    },
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no directories given".to_string();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn quote_join(items: &[String], sep: &str) -> String {
    struct Quoted<'a>(&'a [String], &'a str);
    impl fmt::Display for Quoted<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for (i, item) in self.0.iter().enumerate() {
                if i > 0 {
                    f.write_str(self.1)?;
                }
                write!(f, "'{item}'")?;
            }
            Ok(())
        }
    }
    Quoted(items, sep).to_string()
}
