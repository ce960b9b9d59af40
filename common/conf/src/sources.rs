//! Where nova.conf values come from, and how the sources are layered.
//!
//! oslo.config's order, lowest first: built-in defaults, then each
//! `--config-file` in order, then every `*.conf` of each `--config-dir`
//! (sorted by name), then the environment (`OS_<GROUP>__<OPTION>`), then the
//! binary's own flags. Each source is read on its own, keeping for every
//! value the file, section and option it came from, and merged here, so that
//! an error can point at the line the operator wrote.
//!
//! Sources are plain data handed in by the caller: tests build a
//! [`ConfigSources`] by hand and never touch the process environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config::{FileFormat, Source as _};

use crate::{catalogue, ConfigError, RawValue, Schema, ValueSource};

/// The file name oslo.config searches for when no file is named.
const DEFAULT_FILE: &str = "nova.conf";
/// The directory name oslo.config searches for when no directory is named.
const DEFAULT_DIR: &str = "nova.conf.d";

/// One value set by a command-line flag; it overrides every other source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The option's group (`DEFAULT`, `wsgi`, ...).
    pub group: String,
    /// The option's name.
    pub option: String,
    /// The value, as nova.conf text.
    pub value: String,
    /// The flag that set it (`--port`), named in error messages.
    pub flag: String,
}

/// Everything a configuration is loaded from. Loading the same sources twice
/// reads the files again, which is how a reload (SIGHUP) sees edits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigSources {
    /// INI files, lowest priority first.
    pub files: Vec<PathBuf>,
    /// Directories whose `*.conf` files are read, sorted by name, after
    /// every file in `files`.
    pub dirs: Vec<PathBuf>,
    /// The environment as `(name, value)` pairs; only `OS_<GROUP>__<OPTION>`
    /// names are read.
    pub env: Vec<(String, String)>,
    /// Values from command-line flags, applied last.
    pub overrides: Vec<Override>,
}

impl ConfigSources {
    /// Sources holding only `(group, option, value)` triples, set as
    /// oslo.config's `OS_<GROUP>__<OPTION>` environment variables (so an
    /// error names the variable): how tests state a configuration.
    pub fn from_options(options: &[(&str, &str, &str)]) -> Self {
        ConfigSources {
            env: options
                .iter()
                .map(|(group, option, value)| {
                    (
                        format!("OS_{}__{}", group.to_uppercase(), option.to_uppercase()),
                        (*value).to_owned(),
                    )
                })
                .collect(),
            ..ConfigSources::default()
        }
    }

    /// Sets `[group] option` from the command-line flag `flag` when the
    /// flag was given (`value` is `Some`): the top-priority layer.
    pub fn push_flag(&mut self, group: &str, option: &str, value: Option<&str>, flag: &str) {
        if let Some(value) = value {
            self.overrides.push(Override {
                group: group.to_owned(),
                option: option.to_owned(),
                value: value.to_owned(),
                flag: flag.to_owned(),
            });
        }
    }

    /// Sources for a binary: the given files and directories (or, when both
    /// are empty, the ones oslo.config finds by default) and this process's
    /// environment.
    pub fn from_process_env(files: Vec<PathBuf>, dirs: Vec<PathBuf>) -> ConfigSources {
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        ConfigSources::with_default_search(files, dirs, env)
    }

    /// Sources from explicit files, directories and environment; when no
    /// file and no directory is given, oslo.config's default locations are
    /// searched (see [`default_config_files`]), with `HOME` taken from `env`.
    pub fn with_default_search(
        files: Vec<PathBuf>,
        dirs: Vec<PathBuf>,
        env: Vec<(String, String)>,
    ) -> ConfigSources {
        let (files, dirs) = if files.is_empty() && dirs.is_empty() {
            let home = env
                .iter()
                .find(|(k, _)| k == "HOME")
                .map(|(_, v)| PathBuf::from(v));
            default_config_files(home.as_deref())
        } else {
            (files, dirs)
        };
        ConfigSources {
            files,
            dirs,
            env,
            overrides: Vec::new(),
        }
    }
}

/// The directories oslo.config searches, in order: `~/.nova/`, `~/`,
/// `/etc/nova/`, `/etc/`.
pub fn default_search_dirs(home: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = home {
        dirs.push(home.join(".nova"));
        dirs.push(home.to_path_buf());
    }
    dirs.push(PathBuf::from("/etc/nova"));
    dirs.push(PathBuf::from("/etc"));
    dirs
}

/// oslo.config's defaults when no `--config-file` or `--config-dir` is
/// given: the first `nova.conf` and the first `nova.conf.d/` found in
/// [`default_search_dirs`].
pub fn default_config_files(home: Option<&Path>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let dirs = default_search_dirs(home);
    let file = dirs
        .iter()
        .map(|d| d.join(DEFAULT_FILE))
        .find(|p| p.is_file());
    let dir = dirs
        .iter()
        .map(|d| d.join(DEFAULT_DIR))
        .find(|p| p.is_dir());
    (file.into_iter().collect(), dir.into_iter().collect())
}

/// One `option = value` line of an INI file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniEntry {
    /// The section it is in, as written.
    pub section: String,
    /// The option name, as written.
    pub option: String,
    /// The value, unquoted, with continuation lines joined by `\n`.
    pub value: String,
}

/// A run of lines under one section header, as handed to the INI parser.
struct Chunk {
    /// The section name; `None` before the first header.
    section: Option<String>,
    /// The 0-based line of the file the chunk's first body line is on.
    first_line: usize,
    /// The body, one output line per input line so line numbers survive.
    body: Vec<String>,
    /// The 1-based line of the chunk's first option, if any.
    first_option_line: Option<usize>,
}

/// Parses nova.conf text with oslo.config's INI rules, using the `config`
/// crate's INI format for the `option = value` lines. Never panics, whatever
/// the input; `path` only names the file in errors.
///
/// Beyond what the `config` crate does, this keeps oslo's meaning for:
/// repeated sections (merged, later values win), comment lines starting
/// with `#` or `;` (also when indented), indented continuation lines (joined
/// to the value with `\n`), and backslashes (kept literally).
pub fn parse_ini(text: &str, path: &Path) -> Result<Vec<IniEntry>, ConfigError> {
    let parse_error = |line: usize, message: &str| ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        message: message.to_owned(),
    };
    let mut chunks = vec![Chunk {
        section: None,
        first_line: 0,
        body: Vec::new(),
        first_option_line: None,
    }];
    // Index in the current chunk's body of the last option line, which an
    // indented line continues.
    let mut last_option: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        let chunk = chunks.last_mut().expect("chunks starts non-empty");
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            chunk.body.push(String::new());
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match last_option {
                Some(at) => {
                    // The config crate's INI reader unescapes `\n`, so a
                    // continuation becomes a real newline in the value.
                    chunk.body[at].push_str("\\n");
                    chunk.body[at].push_str(&escape(trimmed));
                    chunk.body.push(String::new());
                    continue;
                }
                None => return Err(parse_error(index + 1, "unexpected indented line")),
            }
        }
        if let Some(header) = trimmed.strip_prefix('[') {
            let Some(name) = header.strip_suffix(']') else {
                return Err(parse_error(index + 1, "section header must end with \"]\""));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(parse_error(index + 1, "empty section name"));
            }
            chunks.push(Chunk {
                section: Some(name.to_owned()),
                first_line: index + 1,
                body: Vec::new(),
                first_option_line: None,
            });
            last_option = None;
            continue;
        }
        let Some(delimiter) = trimmed.find(['=', ':']) else {
            return Err(parse_error(index + 1, "expected \"option = value\""));
        };
        let option = trimmed[..delimiter].trim();
        if option.is_empty() {
            return Err(parse_error(index + 1, "missing option name"));
        }
        chunk.first_option_line.get_or_insert(index + 1);
        last_option = Some(chunk.body.len());
        let value = trimmed[delimiter + 1..].trim();
        chunk
            .body
            .push(format!("{} = {}", escape(option), escape_value(value)));
    }

    let mut entries = Vec::new();
    for chunk in chunks {
        let Some(section) = chunk.section else {
            if let Some(line) = chunk.first_option_line {
                return Err(parse_error(line, "option outside any [section]"));
            }
            continue;
        };
        let body = chunk.body.join("\n");
        let map = config::File::from_str(&body, FileFormat::Ini)
            .collect()
            .map_err(|e| chunk_error(path, chunk.first_line, e))?;
        let mut options: Vec<(String, config::Value)> = map.into_iter().collect();
        // The config crate keeps a hash map; sort so entries are repeatable.
        options.sort_by(|a, b| a.0.cmp(&b.0));
        for (option, value) in options {
            let value = value
                .into_string()
                .map_err(|e| parse_error(chunk.first_line, &e.to_string()))?;
            entries.push(IniEntry {
                section: section.clone(),
                option,
                value,
            });
        }
    }
    Ok(entries)
}

/// Doubles backslashes, which the `config` crate's INI reader would treat
/// as escapes; oslo.config keeps them as written. A carriage return inside
/// a line would end the line for that reader, so it is dropped.
fn escape(text: &str) -> String {
    text.replace('\r', "").replace('\\', "\\\\")
}

/// Escapes a value. oslo.config removes quotes only when they wrap the whole
/// value; the `config` crate's reader would read an unbalanced leading quote
/// up to the next quote anywhere in the section, so such a quote is escaped
/// to stay literal.
fn escape_value(value: &str) -> String {
    let escaped = escape(value);
    match value.chars().next() {
        Some(q @ ('"' | '\'')) if !(value.len() >= 2 && value.ends_with(q)) => {
            format!("\\{escaped}")
        }
        _ => escaped,
    }
}

/// Turns the INI reader's error (`line:col message`, counted within the
/// chunk) into one that counts lines of the whole file.
fn chunk_error(path: &Path, first_line: usize, error: config::ConfigError) -> ConfigError {
    let text = match error {
        config::ConfigError::FileParse { cause, .. } => cause.to_string(),
        other => other.to_string(),
    };
    let (line, message) = text
        .split_once(' ')
        .and_then(|(pos, msg)| {
            let line: usize = pos.split(':').next()?.parse().ok()?;
            Some((first_line + line, msg.to_owned()))
        })
        .unwrap_or((first_line.max(1), text));
    ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// The group name as stored: `DEFAULT` in any case is `DEFAULT`, any other
/// group is lower case (oslo.config compares group names that way).
pub fn normalize_group(group: &str) -> String {
    if group.eq_ignore_ascii_case("DEFAULT") {
        "DEFAULT".to_owned()
    } else {
        group.to_ascii_lowercase()
    }
}

/// The layered raw values, keyed by `(group, option)` under current names.
pub(crate) type RawStore = BTreeMap<(String, String), RawValue>;

/// Reads every source and merges them in priority order; returns the raw
/// values and the warnings (unknown and deprecated options) to log.
pub(crate) fn collect(
    sources: &ConfigSources,
    schema: &Schema,
) -> Result<(RawStore, Vec<String>), ConfigError> {
    let mut store = RawStore::new();
    let mut warnings = Vec::new();

    let mut files: Vec<PathBuf> = sources.files.clone();
    for dir in &sources.dirs {
        files.extend(conf_files_in(dir)?);
    }
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::UnreadableFile {
            path: path.clone(),
            error,
        })?;
        let layer = parse_ini(&text, &path)?
            .into_iter()
            .map(|e| {
                let origin = ValueSource::File {
                    path: path.clone(),
                    section: e.section.clone(),
                    option: e.option.clone(),
                };
                (e.section, e.option, e.value, origin)
            })
            .collect();
        apply_layer(&mut store, layer, schema, &mut warnings);
    }

    let env_layer = sources
        .env
        .iter()
        .filter_map(|(name, value)| {
            let (group, option) = env_option(name)?;
            let origin = ValueSource::Env { var: name.clone() };
            Some((group, option, value.clone(), origin))
        })
        .collect();
    apply_layer(&mut store, env_layer, schema, &mut warnings);

    let cli_layer = sources
        .overrides
        .iter()
        .map(|o| {
            let origin = ValueSource::Cli {
                flag: o.flag.clone(),
            };
            (o.group.clone(), o.option.clone(), o.value.clone(), origin)
        })
        .collect();
    apply_layer(&mut store, cli_layer, schema, &mut warnings);

    Ok((store, warnings))
}

/// The `*.conf` files of a config directory, sorted by name.
fn conf_files_in(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let unreadable = |error| ConfigError::UnreadableDir {
        path: dir.to_path_buf(),
        error,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.extension().is_some_and(|e| e == "conf") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// `(group, option)` of an `OS_<GROUP>__<OPTION>` variable, matched without
/// regard to case; `None` for any other variable.
fn env_option(name: &str) -> Option<(String, String)> {
    let rest = name
        .get(..3)
        .filter(|prefix| prefix.eq_ignore_ascii_case("OS_"))
        .and_then(|_| name.get(3..))?;
    let (group, option) = rest.split_once("__")?;
    if group.is_empty() || option.is_empty() {
        return None;
    }
    Some((group.to_owned(), option.to_ascii_lowercase()))
}

/// Merges one source's values over the store. Within the source, a current
/// name wins over a deprecated spelling of the same option, as oslo.config
/// does within one file; across sources, the later source wins.
fn apply_layer(
    store: &mut RawStore,
    layer: Vec<(String, String, String, ValueSource)>,
    schema: &Schema,
    warnings: &mut Vec<String>,
) {
    let mut current: RawStore = RawStore::new();
    let mut deprecated: RawStore = RawStore::new();
    for (group, option, value, origin) in layer {
        let group = normalize_group(&group);
        if let Some((new_group, new_option)) = catalogue::deprecated_name(schema, &group, &option) {
            warnings.push(format!(
                "deprecated option [{group}] {option} in {origin}: use [{new_group}] {new_option} instead"
            ));
            let key = (new_group.to_owned(), new_option.to_owned());
            deprecated.insert(
                key,
                RawValue {
                    value,
                    source: origin,
                },
            );
            continue;
        }
        if !catalogue::is_known(schema, &group, &option) {
            warnings.push(match catalogue::nearest_known(schema, &group, &option) {
                Some(near) => {
                    format!("unknown option [{group}] {option} in {origin}: did you mean {near}?")
                }
                None => format!("unknown option [{group}] {option} in {origin}"),
            });
        }
        current.insert(
            (group, option),
            RawValue {
                value,
                source: origin,
            },
        );
    }
    for (key, value) in deprecated {
        current.entry(key).or_insert(value);
    }
    store.extend(current);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<(String, String, String)>, String> {
        parse_ini(text, Path::new("nova.conf"))
            .map(|v| {
                v.into_iter()
                    .map(|e| (e.section, e.option, e.value))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    fn entry(s: &str, o: &str, v: &str) -> (String, String, String) {
        (s.to_owned(), o.to_owned(), v.to_owned())
    }

    #[test]
    fn repeated_sections_merge_and_later_values_win() {
        let got = parse("[DEFAULT]\na = 1\nb = 2\n[wsgi]\nc = 3\n[DEFAULT]\na = 4\n");
        assert_eq!(
            got,
            Ok(vec![
                entry("DEFAULT", "a", "1"),
                entry("DEFAULT", "b", "2"),
                entry("wsgi", "c", "3"),
                entry("DEFAULT", "a", "4"),
            ])
        );
    }

    #[test]
    fn comments_quotes_backslashes_and_continuations_follow_oslo() {
        let text = "# top\n[DEFAULT]\n  # indented comment\n; semi\nx = \"quoted value\"\n\
                    y = C:\\dir\\n\nz: one\n  two\nw =\n";
        assert_eq!(
            parse(text),
            Ok(vec![
                entry("DEFAULT", "w", ""),
                entry("DEFAULT", "x", "quoted value"),
                entry("DEFAULT", "y", "C:\\dir\\n"),
                entry("DEFAULT", "z", "one\ntwo"),
            ])
        );
    }

    #[test]
    fn values_keep_inner_quotes_and_equals_signs() {
        let text = "[wsgi]\nwsgi_log_format = %(client_ip)s \"%(request_line)s\" x\n\
                    [database]\nconnection = mysql+pymysql://u:p@h/nova?charset=utf8\n";
        assert_eq!(
            parse(text),
            Ok(vec![
                entry(
                    "wsgi",
                    "wsgi_log_format",
                    "%(client_ip)s \"%(request_line)s\" x"
                ),
                entry(
                    "database",
                    "connection",
                    "mysql+pymysql://u:p@h/nova?charset=utf8"
                ),
            ])
        );
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line_number() {
        assert_eq!(
            parse("[DEFAULT]\n\njust words\n"),
            Err("cannot parse config file nova.conf at line 3: expected \"option = value\"".into())
        );
        assert_eq!(
            parse("debug = true\n"),
            Err(
                "cannot parse config file nova.conf at line 1: option outside any [section]".into()
            )
        );
        assert_eq!(
            parse("[DEFAULT\n"),
            Err(
                "cannot parse config file nova.conf at line 1: section header must end with \"]\""
                    .into()
            )
        );
        assert_eq!(
            parse("[DEFAULT]\n  = x\n"),
            Err("cannot parse config file nova.conf at line 2: unexpected indented line".into())
        );
        assert_eq!(
            parse("[DEFAULT]\n= x\n"),
            Err("cannot parse config file nova.conf at line 2: missing option name".into())
        );
    }

    #[test]
    fn env_names_follow_oslo_in_any_case() {
        assert_eq!(
            env_option("OS_DEFAULT__DEBUG"),
            Some(("DEFAULT".into(), "debug".into()))
        );
        assert_eq!(
            env_option("os_Wsgi__Keep_Alive"),
            Some(("Wsgi".into(), "keep_alive".into()))
        );
        assert_eq!(env_option("OS_AUTH_URL"), None);
        assert_eq!(env_option("OS___X"), None);
        assert_eq!(env_option("HOME"), None);
        assert_eq!(env_option("Ö"), None);
    }

    #[test]
    fn default_search_prefers_the_home_directory() {
        let home = Path::new("/home/op");
        let dirs = default_search_dirs(Some(home));
        assert_eq!(
            dirs,
            vec![
                PathBuf::from("/home/op/.nova"),
                PathBuf::from("/home/op"),
                PathBuf::from("/etc/nova"),
                PathBuf::from("/etc"),
            ]
        );
        assert_eq!(default_search_dirs(None).len(), 2);
    }
}
