//! nova.conf: one typed, layered view of the configuration, read with
//! oslo.config's conventions so that an operator's existing file works.
//!
//! * Layers, lowest first: built-in defaults < `--config-file`s (in order)
//!   < `--config-dir`s (`*.conf`, sorted) < `OS_<GROUP>__<OPTION>`
//!   environment variables < the binary's flags ([`ConfigSources`]).
//! * Values: booleans, integers, lists and the rest parse as oslo.config
//!   parses them; `$option` / `${group.option}` is substituted; an empty value
//!   (`option =`) means "unset": the default, or `None`.
//! * Errors: a bad value, an unreadable file or a malformed file is a
//!   [`ConfigError`] whose message is one line naming the source, the
//!   section, the option and the value. Unknown options are not errors:
//!   [`NovaConf::load`] returns them as warnings for the caller to log once
//!   logging is up (see `catalogue.rs` for what counts as known).
//! * Reload: [`NovaConf::load`] has no side effect besides reading the files,
//!   so a SIGHUP handler calls it again with the same sources and compares
//!   with [`NovaConf::diff`].

#![forbid(unsafe_code)]

mod catalogue;
mod effective;
mod error;
mod group;
mod options;
mod sources;
pub mod value;

use std::any::TypeId;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use catalogue::{
    deprecated_name, is_known, nearest_known, requires_restart, DeprecatedName, Known,
    DEPRECATED_NAMES, GROUPS, KEYSTONEAUTH,
};
pub use effective::{EffectiveValue, MASK};
pub use error::{ConfigError, InvalidValue, ValueSource};
pub use group::{GroupDecl, GroupSpec, OptionGroup, OptionSpec, Schema};
pub use options::{
    builtin_default, ApiGroup, CorsGroup, DatabaseGroup, DefaultGroup, OsloMiddlewareGroup,
    PortRange, WsgiGroup, API_NAMES, AUTH_STRATEGIES,
};
pub use sources::{
    default_config_files, default_search_dirs, normalize_group, parse_ini, ConfigSources, IniEntry,
    Override,
};

use sources::RawStore;

/// One option's value as a source gave it, before type conversion and
/// substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawValue {
    /// The text as written.
    pub value: String,
    /// Where it came from.
    pub source: ValueSource,
}

/// Where and how one API listens, resolved from `[DEFAULT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiListen {
    /// Address or host name to bind (`<api>_listen`).
    pub listen: String,
    /// Port to bind, 0 for any (`<api>_listen_port`).
    pub port: u16,
    /// Worker processes (`<api>_workers`, or the CPU count when unset).
    pub workers: usize,
    /// Whether the API is in `enabled_ssl_apis` and serves TLS.
    pub ssl: bool,
}

/// The loaded configuration: one struct per nova.conf group for the options
/// that affect serving, plus every raw value for the getters that API crates
/// use for their own groups.
#[derive(Debug, Clone)]
pub struct NovaConf {
    /// `[DEFAULT]`.
    pub default: DefaultGroup,
    /// `[wsgi]`.
    pub wsgi: WsgiGroup,
    /// `[oslo_middleware]`.
    pub oslo_middleware: OsloMiddlewareGroup,
    /// `[api]` (the options common to the APIs).
    pub api: ApiGroup,
    /// `[database]`.
    pub database: DatabaseGroup,
    /// `[cors]`.
    pub cors: CorsGroup,
    /// The groups of the binary's crates, typed (see [`NovaConf::group`]).
    groups: Vec<(TypeId, group::LoadedGroup)>,
    schema: Schema,
    raw: RawStore,
    /// Where relative file names (api-paste.ini) are looked for.
    search_dirs: Vec<PathBuf>,
}

impl NovaConf {
    /// Reads every source and checks every typed option; also returns the
    /// one-line warnings about the sources (unknown options, deprecated
    /// names) for the caller to log once logging is set up. Pure apart from
    /// reading the files, so it can be called again to reload.
    ///
    /// `schema` names the groups of the binary's crates: each is parsed and
    /// checked here too, so a bad value anywhere fails the load.
    pub fn load(
        sources: &ConfigSources,
        schema: &Schema,
    ) -> Result<(NovaConf, Vec<String>), ConfigError> {
        let (raw, warnings) = sources::collect(sources, schema)?;
        let r = Resolver { raw: &raw, schema };
        let default = DefaultGroup::load(&r)?;
        let wsgi = WsgiGroup::load(&r)?;
        let oslo_middleware = OsloMiddlewareGroup::load(&r)?;
        let api = ApiGroup::load(&r)?;
        let database = DatabaseGroup::load(&r)?;
        let cors = CorsGroup::load(&r)?;
        let groups = schema.load_all(&r)?;
        let conf = NovaConf {
            default,
            wsgi,
            oslo_middleware,
            api,
            database,
            cors,
            groups,
            schema: schema.clone(),
            raw,
            search_dirs: search_dirs(sources),
        };
        Ok((conf, warnings))
    }

    /// The typed group `T` of one of the binary's crates, as loaded (and
    /// checked) with the rest of the configuration.
    ///
    /// # Panics
    ///
    /// When `T` is not in the schema the configuration was loaded with: a
    /// binary that reads a group must list its crate's groups.
    pub fn group<T: OptionGroup>(&self) -> &T {
        self.groups
            .iter()
            .find(|(id, _)| *id == TypeId::of::<T>())
            .and_then(|(_, g)| g.get::<T>())
            .unwrap_or_else(|| {
                panic!(
                    "option group [{}] is not in this binary's schema",
                    T::SPEC.group
                )
            })
    }

    /// The schema the configuration was loaded with.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Where and how `api` (`osapi_compute`, `ec2` or `metadata`) listens.
    /// Any other name has no options of its own: it gets `0.0.0.0`, port 0
    /// and one worker per CPU.
    pub fn api_listener(&self, api: &str) -> ApiListen {
        let d = &self.default;
        let (listen, port, workers) = match api {
            "osapi_compute" => (
                d.osapi_compute_listen.clone(),
                d.osapi_compute_listen_port,
                d.osapi_compute_workers,
            ),
            "ec2" => (d.ec2_listen.clone(), d.ec2_listen_port, d.ec2_workers),
            "metadata" => (
                d.metadata_listen.clone(),
                d.metadata_listen_port,
                d.metadata_workers,
            ),
            _ => ("0.0.0.0".to_owned(), 0, None),
        };
        let workers = match workers {
            Some(n) => n as usize,
            // nova (oslo.concurrency's get_worker_count): one per CPU.
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        ApiListen {
            listen,
            port,
            workers,
            ssl: d.enabled_ssl_apis.iter().any(|a| a == api),
        }
    }

    /// The log file as oslo.log computes it: `log_file`, under `log_dir`
    /// when both are set; `None` (log to standard error) without
    /// `log_file`. See [`NovaConf::log_path_for`] for `log_dir` alone.
    pub fn log_path(&self) -> Option<PathBuf> {
        let file = self.default.log_file.as_ref()?;
        Some(match &self.default.log_dir {
            Some(dir) => dir.join(file),
            None => file.clone(),
        })
    }

    /// Like [`NovaConf::log_path`], but with `log_dir` alone the file is
    /// `<log_dir>/<prog>.log`, as oslo.log names it.
    pub fn log_path_for(&self, prog: &str) -> Option<PathBuf> {
        self.log_path().or_else(|| {
            self.default
                .log_dir
                .as_ref()
                .map(|dir| dir.join(format!("{prog}.log")))
        })
    }

    /// The directories where a relative file name from nova.conf (such as
    /// `api_paste_config`) is looked for, in oslo.config's `find_file`
    /// order: the config directories, the directories of the config files
    /// (last file first), then `~/.nova`, `~`, `/etc/nova`, `/etc`.
    pub fn search_dirs(&self) -> Vec<PathBuf> {
        self.search_dirs.clone()
    }

    /// The raw value of `[group] option` as its highest-priority source set
    /// it (under the option's current name); `None` when no source set it.
    pub fn raw(&self, group: &str, option: &str) -> Option<&RawValue> {
        self.raw.get(&(normalize_group(group), option.to_owned()))
    }

    /// Every raw value a source set, by `(group, option)`.
    pub(crate) fn raw_values(&self) -> impl Iterator<Item = (&(String, String), &RawValue)> {
        self.raw.iter()
    }

    /// The error for a value that a crate's own option group refused
    /// (`[ec2]`, `[metadata]`, ...): one line naming where the value came
    /// from (file, environment variable or flag), the section, the option,
    /// the value and what is allowed, like the errors of the groups typed
    /// here.
    pub fn invalid_value(
        &self,
        group: &str,
        option: &str,
        value: &str,
        reason: impl Into<String>,
    ) -> ConfigError {
        let origin = self
            .raw(group, option)
            .map(|raw| raw.source.clone())
            .unwrap_or(ValueSource::Default);
        ConfigError::invalid(group, option, value, &origin, reason)
    }

    fn resolver(&self) -> Resolver<'_> {
        Resolver {
            raw: &self.raw,
            schema: &self.schema,
        }
    }

    /// A string option, substituted; `None` when unset or empty.
    pub fn get_str(&self, group: &str, option: &str) -> Result<Option<String>, ConfigError> {
        self.resolver()
            .optional(&normalize_group(group), option, value::string)
    }

    /// A boolean option (oslo spellings), or `default` when unset.
    pub fn get_bool(&self, group: &str, option: &str, default: bool) -> Result<bool, ConfigError> {
        let v = self
            .resolver()
            .optional(&normalize_group(group), option, value::boolean)?;
        Ok(v.unwrap_or(default))
    }

    /// An integer option within the inclusive bounds, or `default` when
    /// unset.
    pub fn get_int(
        &self,
        group: &str,
        option: &str,
        default: i64,
        min: Option<i64>,
        max: Option<i64>,
    ) -> Result<i64, ConfigError> {
        let v = self
            .resolver()
            .optional(&normalize_group(group), option, value::int(min, max))?;
        Ok(v.unwrap_or(default))
    }

    /// A floating-point option within the inclusive bounds, or `default`
    /// when unset.
    pub fn get_float(
        &self,
        group: &str,
        option: &str,
        default: f64,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<f64, ConfigError> {
        let v =
            self.resolver()
                .optional(&normalize_group(group), option, value::float(min, max))?;
        Ok(v.unwrap_or(default))
    }

    /// A comma-separated list option, or `default` when unset.
    pub fn get_list(
        &self,
        group: &str,
        option: &str,
        default: &[&str],
    ) -> Result<Vec<String>, ConfigError> {
        let v = self
            .resolver()
            .optional(&normalize_group(group), option, value::list)?;
        Ok(v.unwrap_or_else(|| default.iter().map(|s| (*s).to_owned()).collect()))
    }

    /// A string option restricted to `choices`, or `default` when unset.
    pub fn get_choice(
        &self,
        group: &str,
        option: &str,
        default: &str,
        choices: &'static [&'static str],
    ) -> Result<String, ConfigError> {
        let v =
            self.resolver()
                .optional(&normalize_group(group), option, value::choice(choices))?;
        Ok(v.unwrap_or_else(|| default.to_owned()))
    }

    /// A port option (0-65535), or `default` when unset.
    pub fn get_port(&self, group: &str, option: &str, default: u16) -> Result<u16, ConfigError> {
        let v = self
            .resolver()
            .optional(&normalize_group(group), option, value::port)?;
        Ok(v.unwrap_or(default))
    }

    /// The options whose effective value differs between `self` and `new`,
    /// as `[group] option`, sorted: typed options compared by value, every
    /// other option by its raw text.
    pub fn diff(&self, new: &NovaConf) -> Vec<String> {
        let mut out = Vec::new();
        self.default.diff(&new.default, &mut out);
        self.wsgi.diff(&new.wsgi, &mut out);
        self.oslo_middleware.diff(&new.oslo_middleware, &mut out);
        self.api.diff(&new.api, &mut out);
        self.database.diff(&new.database, &mut out);
        self.cors.diff(&new.cors, &mut out);
        self.schema.diff(&self.groups, &new.groups, &mut out);
        let keys: BTreeSet<&(String, String)> = self.raw.keys().chain(new.raw.keys()).collect();
        for key in keys {
            let (group, option) = key;
            if self.schema.option(group, option).is_some() {
                continue;
            }
            let old_value = self.raw.get(key).map(|r| &r.value);
            let new_value = new.raw.get(key).map(|r| &r.value);
            if old_value != new_value {
                out.push(format!("[{group}] {option}"));
            }
        }
        out.sort();
        out
    }

    /// The subset of [`NovaConf::diff`] that a reload cannot apply: changes
    /// that need the sockets rebound (see [`requires_restart`]).
    pub fn diff_requiring_restart(&self, new: &NovaConf) -> Vec<String> {
        self.diff(new)
            .into_iter()
            .filter(|name| {
                name.strip_prefix('[')
                    .and_then(|rest| rest.split_once("] "))
                    .is_some_and(|(group, option)| requires_restart(group, option))
            })
            .collect()
    }
}

/// See [`NovaConf::search_dirs`].
fn search_dirs(sources: &ConfigSources) -> Vec<PathBuf> {
    let home = sources
        .env
        .iter()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| PathBuf::from(v));
    let mut dirs: Vec<PathBuf> = sources.dirs.iter().rev().cloned().collect();
    dirs.extend(
        sources
            .files
            .iter()
            .rev()
            .map(|f| {
                f.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            })
            .map(|d| {
                if d.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    d
                }
            }),
    );
    dirs.extend(default_search_dirs(home.as_deref()));
    let mut seen = BTreeSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// Most levels of `$option` inside `$option` followed before giving up (a
/// loop such as `a = $b`, `b = $a`).
const MAX_SUBSTITUTION_DEPTH: usize = 16;

/// Reads typed values out of the layered raw values: substitution, the
/// empty-means-unset rule, and errors that name the source. The loaders
/// that [`option_group!`] makes call it.
pub struct Resolver<'a> {
    raw: &'a RawStore,
    schema: &'a Schema,
}

impl Resolver<'_> {
    /// The value of `[group] option` of a declared group, or, when the
    /// group does not set it, of its fallback group; `default` when
    /// neither does.
    pub fn required_in<T>(
        &self,
        spec: &GroupSpec,
        option: &str,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        if let Some(v) = self.optional_in(spec, option, &parse)? {
            return Ok(v);
        }
        self.required(spec.group, option, default, parse)
    }

    /// Like [`Resolver::required_in`], for an option without a default:
    /// `None` when unset.
    pub fn optional_in<T>(
        &self,
        spec: &GroupSpec,
        option: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        if let Some(v) = self.optional(spec.group, option, &parse)? {
            return Ok(Some(v));
        }
        match spec.fallback {
            Some(fallback) => self.optional(fallback, option, parse),
            None => Ok(None),
        }
    }

    /// The value of a typed option that has a default (`default` is
    /// nova.conf text, parsed like any other value).
    fn required<T>(
        &self,
        group: &str,
        option: &str,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        if let Some(v) = self.optional(group, option, &parse)? {
            return Ok(v);
        }
        let text = self.expand(group, option, default, &ValueSource::Default)?;
        parse(&text).map_err(|reason| {
            ConfigError::invalid(group, option, default, &ValueSource::Default, reason)
        })
    }

    /// The value of an option, or `None` when no source set it (or set it
    /// to an empty value).
    fn optional<T>(
        &self,
        group: &str,
        option: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(raw) = self.raw.get(&(group.to_owned(), option.to_owned())) else {
            return Ok(None);
        };
        let text = self.expand(group, option, &raw.value, &raw.source)?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        parse(&text)
            .map(Some)
            .map_err(|reason| ConfigError::invalid(group, option, &raw.value, &raw.source, reason))
    }

    /// `text` (the value of `[group] option`) with `$name`s substituted.
    fn expand(
        &self,
        group: &str,
        option: &str,
        text: &str,
        origin: &ValueSource,
    ) -> Result<String, ConfigError> {
        self.substitute(group, text, 0)
            .map_err(|reason| ConfigError::invalid(group, option, text, origin, reason))
    }

    /// Substitutes in a value of `group`, `depth` references deep.
    fn substitute(&self, group: &str, text: &str, depth: usize) -> Result<String, String> {
        value::substitute(text, &mut |name| self.lookup(group, name, depth))
    }

    /// The expanded value a `$name` in `group` refers to: the option of the
    /// same group, else of `[DEFAULT]`; `group.option` names its group. A
    /// known option that is unset gives an empty string, as in oslo.
    fn lookup(&self, group: &str, name: &str, depth: usize) -> Result<String, String> {
        if depth >= MAX_SUBSTITUTION_DEPTH {
            return Err(format!(
                "substitution of ${name} nests too deep (is it a loop?)"
            ));
        }
        let candidates: Vec<(String, &str)> = match name.split_once('.') {
            Some((g, o)) => vec![(normalize_group(g), o)],
            None => vec![(group.to_owned(), name), ("DEFAULT".to_owned(), name)],
        };
        for (g, o) in &candidates {
            let text = match self.raw.get(&(g.clone(), (*o).to_owned())) {
                Some(raw) => Some(raw.value.as_str()),
                None => self.schema.option(g, o).and_then(|spec| spec.default),
            };
            if let Some(text) = text {
                return self.substitute(g, text, depth + 1);
            }
        }
        if candidates.iter().any(|(g, o)| is_known(self.schema, g, o)) {
            return Ok(String::new());
        }
        Err(format!("cannot substitute ${name}: no such option"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_default_parses() {
        let conf = NovaConf::load(&ConfigSources::default(), &Schema::default());
        assert!(conf.is_ok(), "{conf:?}");
        let (_, warnings) = conf.unwrap_or_else(|e| panic!("{e}"));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn a_substitution_loop_is_an_error_not_a_hang() {
        let sources = ConfigSources {
            overrides: vec![
                Override {
                    group: "DEFAULT".into(),
                    option: "state_path".into(),
                    value: "$log_dir".into(),
                    flag: "--a".into(),
                },
                Override {
                    group: "DEFAULT".into(),
                    option: "log_dir".into(),
                    value: "$state_path".into(),
                    flag: "--b".into(),
                },
            ],
            ..ConfigSources::default()
        };
        let err = NovaConf::load(&sources, &Schema::default())
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err(
                "invalid value \"$state_path\" for option [DEFAULT] log_dir in command-line \
                 flag --b: substitution of $state_path nests too deep (is it a loop?)"
                    .to_owned()
            )
        );
    }
}
