//! The factory registry: paste factories by nova's dotted names, and the
//! built-in composites every binary gets (urlmaps and nova's auth-strategy
//! pipeline selectors).
//!
//! App and filter factories are code that runs in each worker, when
//! [`crate::AppSpec::build`] instantiates the loaded tree. Composite
//! factories run at load time in the parent and return a [`CompositePlan`]
//! (plain data): nova's composites only map URLs or pick a pipeline, and
//! planning them up front is what lets the parent validate the whole tree
//! before it forks.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::http::HttpService;

/// A paste filter: wraps an app into another app.
pub type Filter = Box<dyn Fn(HttpService) -> HttpService + Send + Sync>;

/// Creates an app in a worker (`paste.app_factory`).
pub type AppFactory = Arc<dyn Fn(&FactoryContext<'_>) -> anyhow::Result<HttpService> + Send + Sync>;

/// Creates a filter in a worker (`paste.filter_factory` and
/// `paste.filter_app_factory`, which are the same thing here).
pub type FilterFactory = Arc<dyn Fn(&FactoryContext<'_>) -> anyhow::Result<Filter> + Send + Sync>;

/// Checks a filter's options in the parent, at load time, without making
/// the filter: what its factory would refuse in a worker is refused before
/// anything forks.
pub type FilterCheck = Arc<dyn Fn(&FactoryContext<'_>) -> anyhow::Result<()> + Send + Sync>;

/// Plans a composite at load time (`paste.composite_factory`).
pub type CompositeFactory =
    Arc<dyn Fn(&CompositeContext<'_>) -> anyhow::Result<CompositePlan> + Send + Sync>;

/// What an app or filter factory is given (paste's `global_conf` and
/// `**local_conf`, plus the worker's resources).
#[derive(Clone, Copy, Debug)]
pub struct FactoryContext<'a> {
    /// The section the factory comes from (`filter:sizelimit`), or the URI
    /// when it was named directly (`egg:Paste#urlmap`).
    pub section: &'a str,
    /// The factory name as written in the file.
    pub factory: &'a str,
    /// The section's own options (`use`, `set`, `get`, `filter-with` and
    /// `[DEFAULT]` keys removed).
    pub local_conf: &'a BTreeMap<String, String>,
    /// `[DEFAULT]`, `here`, `__file__`, the loader's overrides and `set`s.
    pub global_conf: &'a BTreeMap<String, String>,
    /// Per-worker resources the binary built (e.g. an `Arc<AppState>`).
    pub resources: &'a http::Extensions,
}

impl FactoryContext<'_> {
    /// A local option, else a global one: oslo.middleware's precedence.
    pub fn conf(&self, key: &str) -> Option<&str> {
        self.local_conf
            .get(key)
            .or_else(|| self.global_conf.get(key))
            .map(String::as_str)
    }
}

/// What a composite factory is given at load time.
#[derive(Clone, Copy, Debug)]
pub struct CompositeContext<'a> {
    /// The composite's section (`composite:osapi_compute`).
    pub section: &'a str,
    /// The file the section is in.
    pub file: &'a Path,
    /// The factory name as written.
    pub factory: &'a str,
    /// The section's own options.
    pub local_conf: &'a BTreeMap<String, String>,
    /// The global options.
    pub global_conf: &'a BTreeMap<String, String>,
}

/// Which matching rules a urlmap uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlMapFlavor {
    /// `egg:Paste#urlmap`: paste's longest-prefix matching.
    Paste,
    /// `nova.api.openstack.urlmap:urlmap_factory`: paste's rules plus
    /// `/prefix/+` keys and the API version from `Content-Type`/`Accept`.
    Nova,
}

/// A urlmap's plan: its keys and the app each one names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlMapPlan {
    /// `(path expression, app name)` in key order.
    pub entries: Vec<(String, String)>,
    /// The app answering unmatched requests (`not_found_app`), if any.
    pub not_found_app: Option<String>,
    /// The matching rules.
    pub flavor: UrlMapFlavor,
}

/// What a composite factory decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompositePlan {
    /// Dispatch on the URL.
    UrlMap(UrlMapPlan),
    /// A pipeline of names: filters first (outermost first), the app last.
    Pipeline(Vec<String>),
}

/// Options of the built-in factories that come from nova.conf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltinOptions {
    /// `[api] auth_strategy` (`auth_strategy` in Havana).
    pub auth_strategy: String,
    /// Havana's `api_rate_limit`.
    pub api_rate_limit: bool,
}

/// Paste factories by name.
#[derive(Clone, Default)]
pub struct Registry {
    apps: BTreeMap<String, AppFactory>,
    filters: BTreeMap<String, FilterFactory>,
    filter_checks: BTreeMap<String, FilterCheck>,
    composites: BTreeMap<String, CompositeFactory>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("apps", &self.apps.keys().collect::<Vec<_>>())
            .field("filters", &self.filters.keys().collect::<Vec<_>>())
            .field("composites", &self.composites.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The names under which the urlmaps are registered.
const PASTE_URLMAP: &[&str] = &["egg:Paste#urlmap", "paste.urlmap:urlmap_factory"];
const NOVA_URLMAP: &str = "nova.api.openstack.urlmap:urlmap_factory";

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with the built-ins, for `auth_strategy` and Havana's
    /// default `api_rate_limit` (false).
    pub fn with_builtins(auth_strategy: &str) -> Self {
        Self::with_options(&BuiltinOptions {
            auth_strategy: auth_strategy.to_string(),
            api_rate_limit: false,
        })
    }

    /// A registry with the built-ins:
    ///
    /// - composites: `egg:Paste#urlmap`, `nova.api.openstack.urlmap:urlmap_factory`,
    ///   `nova.api.auth:pipeline_factory_v21` and Havana's `nova.api.auth:pipeline_factory`;
    ///
    /// The generic middleware's filters are not paste's: the runtime adds
    /// them (`nova_middleware::register`), so this crate needs nothing above
    /// it.
    pub fn with_options(options: &BuiltinOptions) -> Self {
        let mut registry = Self::new();
        for name in PASTE_URLMAP {
            registry.register_composite(*name, |ctx| urlmap_plan(ctx, UrlMapFlavor::Paste));
        }
        registry.register_composite(NOVA_URLMAP, |ctx| urlmap_plan(ctx, UrlMapFlavor::Nova));
        let strategy = options.auth_strategy.clone();
        registry.register_composite("nova.api.auth:pipeline_factory_v21", move |ctx| {
            pipeline_factory_v21(ctx, &strategy)
        });
        let options = options.clone();
        registry.register_composite("nova.api.auth:pipeline_factory", move |ctx| {
            pipeline_factory_havana(ctx, &options)
        });
        registry
    }

    /// Registers an app factory under `name`, replacing any previous one.
    pub fn register_app<F>(&mut self, name: impl Into<String>, factory: F)
    where
        F: Fn(&FactoryContext<'_>) -> anyhow::Result<HttpService> + Send + Sync + 'static,
    {
        self.apps.insert(name.into(), Arc::new(factory));
    }

    /// Registers a filter factory under `name`, replacing any previous one.
    pub fn register_filter<F>(&mut self, name: impl Into<String>, factory: F)
    where
        F: Fn(&FactoryContext<'_>) -> anyhow::Result<Filter> + Send + Sync + 'static,
    {
        self.filters.insert(name.into(), Arc::new(factory));
    }

    /// Registers the option check of the filter factory `name` (see
    /// [`FilterCheck`]), replacing any previous one.
    pub fn register_filter_check<F>(&mut self, name: impl Into<String>, check: F)
    where
        F: Fn(&FactoryContext<'_>) -> anyhow::Result<()> + Send + Sync + 'static,
    {
        self.filter_checks.insert(name.into(), Arc::new(check));
    }

    /// Registers a composite factory under `name`, replacing any previous one.
    pub fn register_composite<F>(&mut self, name: impl Into<String>, factory: F)
    where
        F: Fn(&CompositeContext<'_>) -> anyhow::Result<CompositePlan> + Send + Sync + 'static,
    {
        self.composites.insert(name.into(), Arc::new(factory));
    }

    /// The app factory named `name`.
    pub fn app(&self, name: &str) -> Option<&AppFactory> {
        self.apps.get(name)
    }

    /// The filter factory named `name`.
    pub fn filter(&self, name: &str) -> Option<&FilterFactory> {
        self.filters.get(name)
    }

    /// The option check of the filter factory named `name`, if it has one.
    pub fn filter_check(&self, name: &str) -> Option<&FilterCheck> {
        self.filter_checks.get(name)
    }

    /// The composite factory named `name`.
    pub fn composite(&self, name: &str) -> Option<&CompositeFactory> {
        self.composites.get(name)
    }
}

/// paste's and nova's `urlmap_factory`: every local key is a path
/// expression naming an app, except `not_found_app` (local, else global).
fn urlmap_plan(ctx: &CompositeContext<'_>, flavor: UrlMapFlavor) -> anyhow::Result<CompositePlan> {
    let mut entries = Vec::new();
    let mut not_found_app = ctx.global_conf.get("not_found_app").cloned();
    for (key, value) in ctx.local_conf {
        if key == "not_found_app" {
            not_found_app = Some(value.clone());
            continue;
        }
        crate::urlmap::parse_path_expression(key).map_err(anyhow::Error::msg)?;
        entries.push((key.clone(), value.clone()));
    }
    let not_found_app = not_found_app.filter(|v| !v.is_empty());
    Ok(CompositePlan::UrlMap(UrlMapPlan {
        entries,
        not_found_app,
        flavor,
    }))
}

/// nova's `pipeline_factory_v21`: the pipeline under the key named by
/// `[api] auth_strategy`.
fn pipeline_factory_v21(
    ctx: &CompositeContext<'_>,
    strategy: &str,
) -> anyhow::Result<CompositePlan> {
    if strategy == "noauth2" {
        tracing::warn!(
            section = ctx.section,
            "The noauth2 auth_strategy is deprecated (as in nova) and is for testing only"
        );
    }
    let pipeline = ctx.local_conf.get(strategy).ok_or_else(|| {
        anyhow::anyhow!(
            "no pipeline for auth_strategy '{strategy}': the section has no '{strategy}' key"
        )
    })?;
    pipeline_plan(pipeline)
}

/// Havana's `nova.api.auth:pipeline_factory`: the pipeline under the key
/// named by `auth_strategy`; with `api_rate_limit` false, the
/// `<strategy>_nolimit` key when there is one.
///
/// Havana's file names its no-auth pipelines `noauth`, while today's nova
/// (and our config) calls the strategy `noauth2`. So that one nova.conf works
/// with both files, a `noauth2` strategy uses the `noauth` key when the
/// section has no `noauth2` key (and `noauth_nolimit` likewise).
fn pipeline_factory_havana(
    ctx: &CompositeContext<'_>,
    options: &BuiltinOptions,
) -> anyhow::Result<CompositePlan> {
    let mut strategy = options.auth_strategy.as_str();
    if strategy == "noauth2" && !ctx.local_conf.contains_key("noauth2") {
        strategy = "noauth";
    }
    let mut pipeline = ctx.local_conf.get(strategy).ok_or_else(|| {
        anyhow::anyhow!(
            "no pipeline for auth_strategy '{}': the section has no '{strategy}' key",
            options.auth_strategy
        )
    })?;
    if !options.api_rate_limit {
        if let Some(nolimit) = ctx.local_conf.get(&format!("{strategy}_nolimit")) {
            pipeline = nolimit;
        }
    }
    pipeline_plan(pipeline)
}

fn pipeline_plan(pipeline: &str) -> anyhow::Result<CompositePlan> {
    let names: Vec<String> = pipeline.split_whitespace().map(str::to_string).collect();
    if names.is_empty() {
        anyhow::bail!("the selected pipeline is empty");
    }
    Ok(CompositePlan::Pipeline(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(
        registry: &Registry,
        name: &str,
        local: &[(&str, &str)],
    ) -> anyhow::Result<CompositePlan> {
        let local: BTreeMap<String, String> = local
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let global = BTreeMap::new();
        let ctx = CompositeContext {
            section: "composite:x",
            file: Path::new("/etc/nova/api-paste.ini"),
            factory: name,
            local_conf: &local,
            global_conf: &global,
        };
        (registry.composite(name).expect("registered"))(&ctx)
    }

    fn names(v: &[&str]) -> CompositePlan {
        CompositePlan::Pipeline(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn pipeline_factory_v21_picks_the_auth_strategy_key() {
        let registry = Registry::with_builtins("noauth2");
        let got = plan(
            &registry,
            "nova.api.auth:pipeline_factory_v21",
            &[("keystone", "a k app"), ("noauth2", "a n app")],
        );
        assert_eq!(got.unwrap(), names(&["a", "n", "app"]));
        let err = plan(
            &registry,
            "nova.api.auth:pipeline_factory_v21",
            &[("keystone", "a k app")],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no pipeline for auth_strategy 'noauth2': the section has no 'noauth2' key"
        );
    }

    #[test]
    fn havana_pipeline_factory_falls_back_to_noauth_and_prefers_nolimit() {
        let local = [
            ("noauth", "f n limit app"),
            ("keystone", "f k limit app"),
            ("keystone_nolimit", "f k app"),
        ];
        let registry = Registry::with_builtins("noauth2");
        assert_eq!(
            plan(&registry, "nova.api.auth:pipeline_factory", &local).unwrap(),
            names(&["f", "n", "limit", "app"])
        );
        let registry = Registry::with_builtins("keystone");
        assert_eq!(
            plan(&registry, "nova.api.auth:pipeline_factory", &local).unwrap(),
            names(&["f", "k", "app"])
        );
        let registry = Registry::with_options(&BuiltinOptions {
            auth_strategy: "keystone".into(),
            api_rate_limit: true,
        });
        assert_eq!(
            plan(&registry, "nova.api.auth:pipeline_factory", &local).unwrap(),
            names(&["f", "k", "limit", "app"])
        );
    }

    #[test]
    fn urlmap_factory_rejects_a_key_that_is_not_a_path() {
        let registry = Registry::with_builtins("keystone");
        let err = plan(&registry, "egg:Paste#urlmap", &[("foo", "app")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "URL fragments must start with / or http:// (you gave 'foo')"
        );
        let ok = plan(
            &registry,
            NOVA_URLMAP,
            &[("/", "v"), ("/v2.1/+", "api"), ("not_found_app", "nf")],
        )
        .unwrap();
        assert_eq!(
            ok,
            CompositePlan::UrlMap(UrlMapPlan {
                entries: vec![("/".into(), "v".into()), ("/v2.1/+".into(), "api".into())],
                not_found_app: Some("nf".into()),
                flavor: UrlMapFlavor::Nova,
            })
        );
    }
}
