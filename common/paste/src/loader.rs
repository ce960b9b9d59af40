//! paste.deploy's loader (`loadwsgi.py`): resolves a named app of an
//! api-paste.ini into an [`AppSpec`] tree, with the same two phases as
//! paste: first a *context* per name (section lookup, `use`, `[DEFAULT]`,
//! `set`/`get`, `filter-with`), then its *creation*. Creation runs composite
//! factories (they return plans) and checks that every app and filter
//! factory exists in the [`Registry`]; it calls no app or filter factory.
//!
//! One deliberate difference from paste: the caller's overrides (options
//! from nova.conf) are laid over every node's `global_conf`, but they are
//! not added to the file's `[DEFAULT]`s, so a section's own option of the
//! same name stays in its `local_conf` and keeps precedence, as it does over
//! nova.conf in oslo.middleware.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{LookupError, PasteError};
use crate::ini::{IniFile, InterpolationError, LiteralDefaults, Section};
use crate::registry::{CompositeContext, CompositePlan, Registry};
use crate::spec::{AppNode, AppSpec, FactoryNode, FilterNode, UrlMapRoute};
use crate::urlmap::parse_path_expression;

type Conf = BTreeMap<String, String>;

/// How deep `use`, pipelines and composites may nest before we call it a
/// loop (Python would hit its recursion limit).
const MAX_DEPTH: usize = 64;

/// A parsed file as one load sees it: its defaults include `here`,
/// `__file__` and the globals a parent file handed down.
struct ConfigFile {
    path: PathBuf,
    ini: Arc<IniFile>,
    literals: LiteralDefaults,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    App,
    Filter,
}

impl Kind {
    /// paste's `config_prefixes`: groups of equivalent prefixes.
    fn prefixes(self) -> &'static [&'static [&'static str]] {
        match self {
            Kind::App => &[
                &["app", "application"],
                &["composite", "composit"],
                &["pipeline"],
                &["filter-app"],
            ],
            Kind::Filter => &[&["filter"]],
        }
    }

    /// paste's `egg_protocols`: groups of keys, the first found in a group wins.
    fn protocols(self) -> &'static [&'static [(&'static str, Protocol)]] {
        match self {
            Kind::App => &[
                &[("paste.app_factory", Protocol::App)],
                &[("paste.composite_factory", Protocol::Composite)],
                &[("paste.composit_factory", Protocol::Composite)],
            ],
            Kind::Filter => &[&[
                ("paste.filter_factory", Protocol::Filter),
                ("paste.filter_app_factory", Protocol::Filter),
            ]],
        }
    }
}

/// The factory protocol of an object. `paste.filter_app_factory` is a
/// filter factory here: both become a [`crate::Filter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    App,
    Composite,
    Filter,
}

impl Protocol {
    fn key(self) -> &'static str {
        match self {
            Protocol::App => "paste.app_factory",
            Protocol::Composite => "paste.composite_factory",
            Protocol::Filter => "paste.filter_factory",
        }
    }
}

/// paste's `LoaderContext`, before creation.
enum Ctx {
    Object {
        protocol: Option<Protocol>,
        factory: String,
        section: String,
        file: PathBuf,
        local: Conf,
        global: Conf,
        /// The file whose names a composite resolves (paste's
        /// `context.loader`, replaced by the file of a section that `use`s it).
        loader: Arc<ConfigFile>,
    },
    Pipeline {
        section: String,
        file: PathBuf,
        app: Box<Ctx>,
        filters: Vec<Ctx>,
    },
    FilterApp {
        filter: Box<Ctx>,
        next: Box<Ctx>,
    },
    FilterWith {
        filter: Box<Ctx>,
        next: Box<Ctx>,
        next_is_app: bool,
    },
}

impl Ctx {
    fn origin(&self) -> (String, PathBuf) {
        match self {
            Ctx::Object { section, file, .. } | Ctx::Pipeline { section, file, .. } => {
                (section.clone(), file.clone())
            }
            Ctx::FilterApp { next, .. } | Ctx::FilterWith { next, .. } => next.origin(),
        }
    }
}

/// One load: the registry to check against, the caller's overrides, the
/// files read so far.
pub(crate) struct Loader<'r> {
    registry: &'r Registry,
    overrides: &'r Conf,
    app: String,
    top: PathBuf,
    parsed: HashMap<PathBuf, Arc<IniFile>>,
    depth: usize,
}

/// Loads `app_name` from the api-paste.ini at `path`. See [`crate::load`].
pub(crate) fn load(
    path: &Path,
    app_name: &str,
    overrides: &Conf,
    registry: &Registry,
) -> Result<AppSpec, PasteError> {
    let mut loader = Loader {
        registry,
        overrides,
        app: app_name.to_string(),
        top: path.to_path_buf(),
        parsed: HashMap::new(),
        depth: 0,
    };
    let file = loader.open(path, None).map_err(|e| match e {
        PasteError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PasteError::ConfigNotFound {
                name: path.display().to_string(),
                searched: vec![path.to_path_buf()],
            }
        }
        other => other,
    })?;
    loader.top = file.path.clone();
    let ctx = loader.get_context(Kind::App, app_name, &file, None)?;
    let root = loader.create_app(ctx)?;
    Ok(AppSpec {
        name: app_name.to_string(),
        file: file.path.clone(),
        root,
    })
}

impl Loader<'_> {
    fn fail(&self, reason: LookupError) -> PasteError {
        PasteError::AppNotFound {
            app: self.app.clone(),
            file: self.top.clone(),
            reason: Box::new(reason),
        }
    }

    fn interpolation(&self, file: &Path, e: InterpolationError) -> PasteError {
        self.fail(LookupError::Interpolation {
            file: file.to_path_buf(),
            line: e.line,
            section: e.section,
            option: e.option,
            message: e.message,
        })
    }

    fn descend(&mut self, name: &str, file: &Path) -> Result<(), PasteError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail(LookupError::TooDeep {
                name: name.to_string(),
                file: file.to_path_buf(),
            }));
        }
        Ok(())
    }

    /// Reads and parses a file (once per load), with `inherited` globals
    /// added to its defaults where the file has none of that name
    /// (paste's `update_defaults(..., overwrite=False)`).
    fn open(
        &mut self,
        path: &Path,
        inherited: Option<&Conf>,
    ) -> Result<Arc<ConfigFile>, PasteError> {
        let path = std::path::absolute(path).map_err(|source| PasteError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let ini = match self.parsed.get(&path) {
            Some(ini) => ini.clone(),
            None => {
                let text = std::fs::read(&path).map_err(|source| PasteError::Read {
                    path: path.clone(),
                    source,
                })?;
                let text = String::from_utf8_lossy(&text);
                let ini = Arc::new(IniFile::parse(&text).map_err(|e| PasteError::Syntax {
                    file: path.clone(),
                    line: e.line,
                    message: e.message,
                })?);
                self.parsed.insert(path.clone(), ini.clone());
                ini
            }
        };
        let here = path
            .parent()
            .unwrap_or(Path::new("/"))
            .to_string_lossy()
            .into_owned();
        let mut literals = LiteralDefaults::from([
            ("here".to_string(), here),
            ("__file__".to_string(), path.to_string_lossy().into_owned()),
        ]);
        for (key, value) in inherited.into_iter().flatten() {
            if !ini.is_default(key, &literals) {
                literals.insert(key.clone(), value.clone());
            }
        }
        Ok(Arc::new(ConfigFile {
            path,
            ini,
            literals,
        }))
    }

    fn get_context(
        &mut self,
        kind: Kind,
        name: &str,
        file: &Arc<ConfigFile>,
        global_conf: Option<&Conf>,
    ) -> Result<Ctx, PasteError> {
        self.descend(name, &file.path)?;
        let ctx = self.get_context_inner(kind, name, file, global_conf);
        self.depth -= 1;
        ctx
    }

    fn get_context_inner(
        &mut self,
        kind: Kind,
        name: &str,
        file: &Arc<ConfigFile>,
        global_conf: Option<&Conf>,
    ) -> Result<Ctx, PasteError> {
        if is_absolute_name(name) {
            return self.load_uri(kind, name, file, global_conf);
        }
        let section = self.find_section(kind, name, file)?.clone();
        let defaults = file
            .ini
            .interpolated_defaults(&file.literals)
            .map_err(|e| self.interpolation(&file.path, e))?;
        let mut global = defaults.clone();
        global.extend(self.overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(g) = global_conf {
            global.extend(g.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let mut local = Conf::new();
        let mut additions = Conf::new();
        let mut gets: Vec<(String, String)> = Vec::new();
        // ConfigParser's options(): the section's keys, then the defaults'.
        let mut keys: Vec<String> = section.entries.iter().map(|e| e.key.clone()).collect();
        for key in defaults.keys() {
            if section.entry(key).is_none() {
                keys.push(key.clone());
            }
        }
        for key in keys {
            let value = || -> Result<String, PasteError> {
                file.ini
                    .get(Some(&section.name), &key, &file.literals)
                    .map_err(|e| self.interpolation(&file.path, e))
                    .map(Option::unwrap_or_default)
            };
            if let Some(name) = key.strip_prefix("set ") {
                let v = value()?;
                additions.insert(name.trim().to_string(), v.clone());
                global.insert(name.trim().to_string(), v);
            } else if let Some(name) = key.strip_prefix("get ") {
                gets.push((name.trim().to_string(), value()?));
            } else if !defaults.contains_key(&key) {
                local.insert(key.clone(), value()?);
            }
        }
        for (local_name, global_name) in gets {
            let Some(v) = global.get(&global_name) else {
                return Err(self.fail(LookupError::MissingGlobal {
                    section: section.name.clone(),
                    file: file.path.clone(),
                    local: local_name,
                    global: global_name,
                }));
            };
            local.insert(local_name, v.clone());
        }
        let filter_with = local.remove("filter-with");
        // `require` checks that Python distributions are installed; there
        // are none here.
        local.remove("require");
        let ctx = if section.name.starts_with("filter-app:") {
            let Some(next) = local.remove("next") else {
                return Err(self.fail(LookupError::MissingNext {
                    section: section.name.clone(),
                    file: file.path.clone(),
                }));
            };
            let next = self.get_context(Kind::App, &next, file, Some(&global))?;
            let filter = if local.contains_key("use") {
                self.context_from_use(Kind::Filter, local, &global, additions, &section, file)?
            } else {
                self.context_from_explicit(Kind::Filter, local, global.clone(), &section, file)?
            };
            Ctx::FilterApp {
                filter: Box::new(filter),
                next: Box::new(next),
            }
        } else if section.name.starts_with("pipeline:") {
            let names: Vec<String> = match local.remove("pipeline") {
                Some(p) => p.split_whitespace().map(str::to_string).collect(),
                None => Vec::new(),
            };
            if !local.is_empty() {
                return Err(self.fail(LookupError::PipelineExtraSettings {
                    section: section.name.clone(),
                    file: file.path.clone(),
                    keys: local.into_keys().collect(),
                }));
            }
            let Some((last, filters)) = names.split_last() else {
                return Err(self.fail(LookupError::MissingPipeline {
                    section: section.name.clone(),
                    file: file.path.clone(),
                }));
            };
            let app = self.get_context(Kind::App, last, file, Some(&global))?;
            let filters = filters
                .iter()
                .map(|n| self.get_context(Kind::Filter, n, file, Some(&global)))
                .collect::<Result<Vec<_>, _>>()?;
            Ctx::Pipeline {
                section: section.name.clone(),
                file: file.path.clone(),
                app: Box::new(app),
                filters,
            }
        } else if local.contains_key("use") {
            self.context_from_use(kind, local, &global, additions, &section, file)?
        } else {
            self.context_from_explicit(kind, local, global.clone(), &section, file)?
        };
        match filter_with {
            Some(filter_name) => {
                let filter = self.get_context(Kind::Filter, &filter_name, file, Some(&global))?;
                Ok(Ctx::FilterWith {
                    filter: Box::new(filter),
                    next: Box::new(ctx),
                    next_is_app: kind == Kind::App,
                })
            }
            None => Ok(ctx),
        }
    }

    /// paste's `find_config_section`: exactly one section `prefix:name`.
    fn find_section<'f>(
        &self,
        kind: Kind,
        name: &str,
        file: &'f ConfigFile,
    ) -> Result<&'f Section, PasteError> {
        let mut found: Vec<&Section> = Vec::new();
        for group in kind.prefixes() {
            for prefix in *group {
                let matches: Vec<&Section> = file
                    .ini
                    .sections
                    .iter()
                    .filter(|s| {
                        s.name
                            .strip_prefix(prefix)
                            .and_then(|rest| rest.strip_prefix(':'))
                            .is_some_and(|rest| rest.trim() == name)
                    })
                    .collect();
                if !matches.is_empty() {
                    found.extend(matches);
                    break;
                }
            }
        }
        let prefixes = || {
            kind.prefixes()
                .iter()
                .flat_map(|g| g.iter().map(|p| p.to_string()))
                .collect::<Vec<_>>()
        };
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(self.fail(LookupError::NoSection {
                name: name.to_string(),
                prefixes: prefixes(),
                file: file.path.clone(),
            })),
            many => Err(self.fail(LookupError::AmbiguousSection {
                sections: many.iter().map(|s| s.name.clone()).collect(),
                name: name.to_string(),
                prefixes: prefixes(),
                file: file.path.clone(),
            })),
        }
    }

    fn context_from_use(
        &mut self,
        kind: Kind,
        mut local: Conf,
        global: &Conf,
        additions: Conf,
        section: &Section,
        file: &Arc<ConfigFile>,
    ) -> Result<Ctx, PasteError> {
        let used = local.remove("use").unwrap_or_default();
        // An `egg:`/`call:` object has no section of its own: errors and
        // the tree name the section that uses it.
        let mut ctx = match self.get_context(kind, &used, file, Some(global)) {
            Ok(ctx) => ctx,
            Err(PasteError::AppNotFound {
                app,
                file: top,
                mut reason,
            }) => {
                if let LookupError::UnknownFactory {
                    section: uri,
                    file: uri_file,
                    ..
                } = reason.as_mut()
                {
                    if *uri == used {
                        *uri = section.name.clone();
                        *uri_file = file.path.clone();
                    }
                }
                return Err(PasteError::AppNotFound {
                    app,
                    file: top,
                    reason,
                });
            }
            Err(other) => return Err(other),
        };
        if let Ctx::Object {
            protocol,
            local: used_local,
            global: used_global,
            loader,
            section: used_section,
            file: used_file,
            ..
        } = &mut ctx
        {
            if *used_section == used {
                *used_section = section.name.clone();
                *used_file = file.path.clone();
            }
            used_global.extend(additions);
            used_local.extend(local);
            // A used section keeps the using file's `__file__`.
            if let Some(f) = global.get("__file__") {
                used_global.insert("__file__".to_string(), f.clone());
            }
            *loader = file.clone();
            if protocol.is_none() {
                let prefix = section.name.split(':').next().unwrap_or("");
                *protocol = Some(match prefix {
                    "app" | "application" => Protocol::App,
                    "composite" | "composit" => Protocol::Composite,
                    _ => Protocol::Filter,
                });
            }
        }
        Ok(ctx)
    }

    fn context_from_explicit(
        &self,
        kind: Kind,
        mut local: Conf,
        global: Conf,
        section: &Section,
        file: &Arc<ConfigFile>,
    ) -> Result<Ctx, PasteError> {
        let mut possible: Vec<(&str, Protocol)> = Vec::new();
        for group in kind.protocols() {
            if let Some(found) = group.iter().find(|(key, _)| local.contains_key(*key)) {
                possible.push(*found);
            }
        }
        let (key, protocol) = match possible.as_slice() {
            [one] => *one,
            [] => {
                return Err(self.fail(LookupError::NoLoader {
                    section: section.name.clone(),
                    file: file.path.clone(),
                }))
            }
            many => {
                return Err(self.fail(LookupError::MultipleProtocols {
                    section: section.name.clone(),
                    file: file.path.clone(),
                    protocols: many.iter().map(|(k, _)| k.to_string()).collect(),
                }))
            }
        };
        let factory = local.remove(key).unwrap_or_default().trim().to_string();
        Ok(Ctx::Object {
            protocol: Some(protocol),
            factory,
            section: section.name.clone(),
            file: file.path.clone(),
            local,
            global,
            loader: file.clone(),
        })
    }

    /// paste's `loadcontext` for a name with a scheme.
    fn load_uri(
        &mut self,
        kind: Kind,
        uri: &str,
        current: &Arc<ConfigFile>,
        global_conf: Option<&Conf>,
    ) -> Result<Ctx, PasteError> {
        let (base, name) = uri.split_once('#').unwrap_or((uri, "main"));
        let (scheme, spec) = base.split_once(':').unwrap_or((base, ""));
        let mut global = self.overrides.clone();
        global.extend(
            global_conf
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        match scheme.to_ascii_lowercase().as_str() {
            "config" => {
                let mut spec = spec.replace('\\', "/");
                if spec.starts_with("///") {
                    spec.drain(..2);
                }
                let spec = percent_decode(&spec);
                let dir = current.path.parent().unwrap_or(Path::new("/"));
                let file = self.open(&dir.join(spec), global_conf)?;
                self.get_context(kind, name, &file, global_conf)
            }
            "egg" => {
                let factory = format!("egg:{spec}#{name}");
                let protocol = match kind {
                    Kind::App if self.registry.composite(&factory).is_some() => {
                        Some(Protocol::Composite)
                    }
                    Kind::App if self.registry.app(&factory).is_some() => Some(Protocol::App),
                    Kind::Filter if self.registry.filter(&factory).is_some() => {
                        Some(Protocol::Filter)
                    }
                    _ => None,
                };
                let Some(protocol) = protocol else {
                    return Err(self.fail(LookupError::UnknownFactory {
                        protocol: match kind {
                            Kind::App => "paste.app_factory or paste.composite_factory".to_string(),
                            Kind::Filter => "paste.filter_factory".to_string(),
                        },
                        factory,
                        section: uri.to_string(),
                        file: current.path.clone(),
                    }));
                };
                Ok(Ctx::Object {
                    protocol: Some(protocol),
                    factory,
                    section: uri.to_string(),
                    file: current.path.clone(),
                    local: Conf::new(),
                    global,
                    loader: current.clone(),
                })
            }
            "call" => {
                if !spec.contains(':') {
                    return Err(self.fail(LookupError::BadCallUri {
                        uri: uri.to_string(),
                    }));
                }
                Ok(Ctx::Object {
                    protocol: None,
                    factory: spec.to_string(),
                    section: uri.to_string(),
                    file: current.path.clone(),
                    local: Conf::new(),
                    global,
                    loader: current.clone(),
                })
            }
            other => Err(self.fail(LookupError::UnknownScheme {
                scheme: other.to_string(),
                uri: uri.to_string(),
            })),
        }
    }

    fn create_app(&mut self, ctx: Ctx) -> Result<AppNode, PasteError> {
        let (section, file) = ctx.origin();
        self.descend(&section, &file)?;
        let node = self.create_app_inner(ctx);
        self.depth -= 1;
        node
    }

    fn create_app_inner(&mut self, ctx: Ctx) -> Result<AppNode, PasteError> {
        match ctx {
            Ctx::Object {
                protocol,
                factory,
                section,
                file,
                local,
                global,
                loader,
            } => match protocol.unwrap_or(Protocol::App) {
                Protocol::App => {
                    self.check(
                        self.registry.app(&factory).is_some(),
                        Protocol::App,
                        &factory,
                        &section,
                        &file,
                    )?;
                    Ok(AppNode::App(FactoryNode {
                        section,
                        file,
                        factory,
                        local_conf: local,
                        global_conf: global,
                    }))
                }
                Protocol::Composite => {
                    let Some(composite) = self.registry.composite(&factory) else {
                        return Err(self.unknown(Protocol::Composite, &factory, &section, &file));
                    };
                    let plan = composite(&CompositeContext {
                        section: &section,
                        file: &file,
                        factory: &factory,
                        local_conf: &local,
                        global_conf: &global,
                    })
                    .map_err(|e| {
                        self.composite_error(&factory, &section, &file, format!("{e:#}"))
                    })?;
                    self.create_composite(plan, factory, section, file, global, &loader)
                }
                Protocol::Filter => Err(self.fail(LookupError::WrongKind {
                    name: factory,
                    section,
                    file,
                    expected: "an app".to_string(),
                })),
            },
            Ctx::Pipeline {
                section,
                file,
                app,
                filters,
            } => {
                let app = self.create_app(*app)?;
                let filters = filters
                    .into_iter()
                    .map(|f| self.create_filter(f))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(AppNode::Pipeline {
                    section,
                    file,
                    composite: None,
                    filters,
                    app: Box::new(app),
                })
            }
            Ctx::FilterApp { filter, next } => {
                let app = self.create_app(*next)?;
                let filter = self.create_filter(*filter)?;
                Ok(AppNode::Filtered {
                    filter,
                    app: Box::new(app),
                })
            }
            Ctx::FilterWith {
                filter,
                next,
                next_is_app,
            } => {
                if !next_is_app {
                    let (section, file) = next.origin();
                    return Err(self.fail(LookupError::WrongKind {
                        name: section.clone(),
                        section,
                        file,
                        expected: "an app".to_string(),
                    }));
                }
                let filter = self.create_filter(*filter)?;
                let app = self.create_app(*next)?;
                Ok(AppNode::Filtered {
                    filter,
                    app: Box::new(app),
                })
            }
        }
    }

    fn create_composite(
        &mut self,
        plan: CompositePlan,
        factory: String,
        section: String,
        file: PathBuf,
        global: Conf,
        loader: &Arc<ConfigFile>,
    ) -> Result<AppNode, PasteError> {
        match plan {
            CompositePlan::UrlMap(plan) => {
                let mut routes = Vec::with_capacity(plan.entries.len());
                for (key, app_name) in plan.entries {
                    let parsed = parse_path_expression(&key)
                        .map_err(|m| self.composite_error(&factory, &section, &file, m))?;
                    let ctx = self.get_context(Kind::App, &app_name, loader, Some(&global))?;
                    let app = self.create_app(ctx)?;
                    routes.push(UrlMapRoute {
                        key,
                        parsed,
                        app_name,
                        app,
                    });
                }
                let not_found = match plan.not_found_app {
                    Some(name) => {
                        let ctx = self.get_context(Kind::App, &name, loader, Some(&global))?;
                        Some(Box::new(self.create_app(ctx)?))
                    }
                    None => None,
                };
                Ok(AppNode::UrlMap {
                    section,
                    file,
                    factory,
                    flavor: plan.flavor,
                    routes,
                    not_found,
                })
            }
            CompositePlan::Pipeline(names) => {
                let Some((last, filter_names)) = names.split_last() else {
                    return Err(self.composite_error(
                        &factory,
                        &section,
                        &file,
                        "the pipeline is empty".into(),
                    ));
                };
                // nova's `_load_pipeline`: get_filter/get_app without global_conf.
                let mut filters = Vec::with_capacity(filter_names.len());
                for name in filter_names {
                    let ctx = self.get_context(Kind::Filter, name, loader, None)?;
                    filters.push(self.create_filter(ctx)?);
                }
                let ctx = self.get_context(Kind::App, last, loader, None)?;
                let app = self.create_app(ctx)?;
                Ok(AppNode::Pipeline {
                    section,
                    file,
                    composite: Some(factory),
                    filters,
                    app: Box::new(app),
                })
            }
        }
    }

    fn create_filter(&mut self, ctx: Ctx) -> Result<FilterNode, PasteError> {
        let (section, file) = ctx.origin();
        self.descend(&section, &file)?;
        let node = self.create_filter_inner(ctx);
        self.depth -= 1;
        node
    }

    fn create_filter_inner(&mut self, ctx: Ctx) -> Result<FilterNode, PasteError> {
        match ctx {
            Ctx::Object {
                protocol: None | Some(Protocol::Filter),
                factory,
                section,
                file,
                local,
                global,
                ..
            } => {
                self.check(
                    self.registry.filter(&factory).is_some(),
                    Protocol::Filter,
                    &factory,
                    &section,
                    &file,
                )?;
                Ok(FilterNode::Factory(FactoryNode {
                    section,
                    file,
                    factory,
                    local_conf: local,
                    global_conf: global,
                }))
            }
            Ctx::FilterWith {
                filter,
                next,
                next_is_app: false,
            } => {
                let outer = self.create_filter(*filter)?;
                let inner = self.create_filter(*next)?;
                Ok(FilterNode::Composed {
                    outer: Box::new(outer),
                    inner: Box::new(inner),
                })
            }
            other => {
                let (section, file) = other.origin();
                Err(self.fail(LookupError::WrongKind {
                    name: section.clone(),
                    section,
                    file,
                    expected: "a filter".to_string(),
                }))
            }
        }
    }

    fn check(
        &self,
        known: bool,
        protocol: Protocol,
        factory: &str,
        section: &str,
        file: &Path,
    ) -> Result<(), PasteError> {
        if known {
            Ok(())
        } else {
            Err(self.unknown(protocol, factory, section, file))
        }
    }

    fn unknown(&self, protocol: Protocol, factory: &str, section: &str, file: &Path) -> PasteError {
        self.fail(LookupError::UnknownFactory {
            protocol: protocol.key().to_string(),
            factory: factory.to_string(),
            section: section.to_string(),
            file: file.to_path_buf(),
        })
    }

    fn composite_error(
        &self,
        factory: &str,
        section: &str,
        file: &Path,
        message: String,
    ) -> PasteError {
        self.fail(LookupError::Composite {
            factory: factory.to_string(),
            section: section.to_string(),
            file: file.to_path_buf(),
            message,
        })
    }
}

/// paste's `absolute_name`: the name starts with `scheme:`.
fn is_absolute_name(name: &str) -> bool {
    match name.split_once(':') {
        Some((scheme, _)) => !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic()),
        None => false,
    }
}

/// `urllib.parse.unquote` for `config:` paths.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_names_need_a_letters_only_scheme() {
        assert!(is_absolute_name("egg:Paste#urlmap"));
        assert!(is_absolute_name("config:other.ini#x"));
        assert!(!is_absolute_name("meta"));
        assert!(!is_absolute_name("/v2: x"));
        assert!(!is_absolute_name("a1:b"));
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
    }
}
