//! The loaded app as plain data ([`AppSpec`]), and its instantiation.
//!
//! The parent process loads and validates the tree before forking; each
//! worker calls [`AppSpec::build`] with its own resources. This function is
//! where the whole middleware order becomes visible: the pipeline order in
//! the tree is the order of the layers, outermost first.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::http::HttpService;
use crate::registry::{FactoryContext, Registry, UrlMapFlavor};
use crate::urlmap::{UrlMap, UrlMapKey};

/// A loaded app: the name asked for, the file, and the resolved tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSpec {
    /// The app name asked for (`osapi_compute`).
    pub name: String,
    /// The api-paste.ini it was loaded from.
    pub file: PathBuf,
    /// The resolved tree.
    pub root: AppNode,
}

/// One factory call: where it is configured and with what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactoryNode {
    /// The section (`filter:sizelimit`), or the URI when named directly.
    pub section: String,
    /// The file of the section.
    pub file: PathBuf,
    /// The factory name as written (`oslo_middleware:RequestBodySizeLimiter.factory`).
    pub factory: String,
    /// paste's `local_conf`.
    pub local_conf: BTreeMap<String, String>,
    /// paste's `global_conf`.
    pub global_conf: BTreeMap<String, String>,
}

/// An app in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppNode {
    /// An app factory (`paste.app_factory`).
    App(FactoryNode),
    /// Filters around an app: a `pipeline:` section, or a composite that
    /// picked a pipeline. `filters[0]` is the outermost.
    Pipeline {
        /// The section defining the pipeline.
        section: String,
        /// Its file.
        file: PathBuf,
        /// The composite factory that picked this pipeline
        /// (`nova.api.auth:pipeline_factory_v21`), for a composite.
        composite: Option<String>,
        /// The filters, outermost first.
        filters: Vec<FilterNode>,
        /// The app at the end.
        app: Box<AppNode>,
    },
    /// A urlmap composite.
    UrlMap {
        /// The composite's section.
        section: String,
        /// Its file.
        file: PathBuf,
        /// The composite factory.
        factory: String,
        /// The matching rules.
        flavor: UrlMapFlavor,
        /// The entries in key order.
        routes: Vec<UrlMapRoute>,
        /// The app for unmatched requests, if configured.
        not_found: Option<Box<AppNode>>,
    },
    /// One filter around an app (`filter-app:` sections and `filter-with`).
    Filtered {
        /// The filter.
        filter: FilterNode,
        /// The app it wraps.
        app: Box<AppNode>,
    },
}

/// One urlmap entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlMapRoute {
    /// The key as written (`/v2.1/+`).
    pub key: String,
    /// The parsed key.
    pub parsed: UrlMapKey,
    /// The app name as written.
    pub app_name: String,
    /// The resolved app.
    pub app: AppNode,
}

/// A filter in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterNode {
    /// A filter factory.
    Factory(FactoryNode),
    /// A filter with `filter-with`: `outer(inner(app))`.
    Composed {
        /// The filter named by `filter-with`.
        outer: Box<FilterNode>,
        /// The filter whose section said `filter-with`.
        inner: Box<FilterNode>,
    },
}

impl AppSpec {
    /// Instantiates the tree in a worker: every factory runs once per node.
    pub fn build(
        &self,
        registry: &Registry,
        resources: &http::Extensions,
    ) -> anyhow::Result<HttpService> {
        self.root.build(registry, resources).with_context(|| {
            format!(
                "building paste app '{}' from {}",
                self.name,
                self.file.display()
            )
        })
    }

    /// Every factory the tree uses, as `(kind, name)` with kind `app`,
    /// `filter` or `composite`, in tree order with duplicates.
    pub fn factories(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        self.root.collect_factories(&mut out);
        out
    }

    /// Every filter of the tree, in tree order, each distinct one once: a
    /// section used in several pipelines with the same options (nova's
    /// `osprofiler` in `/v2` and `/v2.1`) is one node here, though every
    /// worker instantiates it once per pipeline.
    pub fn filter_nodes(&self) -> Vec<&FactoryNode> {
        let mut nodes = Vec::new();
        self.root.collect_filter_nodes(&mut nodes);
        let mut distinct: Vec<&FactoryNode> = Vec::with_capacity(nodes.len());
        for node in nodes {
            if !distinct.contains(&node) {
                distinct.push(node);
            }
        }
        distinct
    }

    /// Runs the option check of every filter in the tree that has one
    /// ([`Registry::register_filter_check`]): in the parent, before any
    /// worker builds the tree, so that a bad filter option stops the start
    /// (or the reload) naming its section and file. Each distinct filter
    /// is checked once ([`AppSpec::filter_nodes`]).
    pub fn check_options(&self, registry: &Registry) -> anyhow::Result<()> {
        let none = http::Extensions::new();
        for node in self.filter_nodes() {
            if let Some(check) = registry.filter_check(&node.factory) {
                check(&node.context(&none)).with_context(|| {
                    format!("filter [{}] in {}", node.section, node.file.display())
                })?;
            }
        }
        Ok(())
    }

    /// A readable outline of the tree, one node a line, for start-up logs.
    pub fn outline(&self) -> String {
        let mut out = format!("{} ({})\n", self.name, self.file.display());
        self.root.outline(1, &mut out);
        out
    }
}

impl AppNode {
    /// The section this node comes from.
    pub fn section(&self) -> &str {
        match self {
            AppNode::App(f) => &f.section,
            AppNode::Pipeline { section, .. } | AppNode::UrlMap { section, .. } => section,
            AppNode::Filtered { app, .. } => app.section(),
        }
    }

    /// Instantiates this node.
    pub fn build(
        &self,
        registry: &Registry,
        resources: &http::Extensions,
    ) -> anyhow::Result<HttpService> {
        match self {
            AppNode::App(node) => {
                let factory = registry
                    .app(&node.factory)
                    .with_context(|| format!("no paste.app_factory named '{}'", node.factory))?;
                factory(&node.context(resources)).with_context(|| {
                    format!(
                        "app factory '{}' of section [{}] in {}",
                        node.factory,
                        node.section,
                        node.file.display()
                    )
                })
            }
            AppNode::Pipeline { filters, app, .. } => {
                let mut service = app.build(registry, resources)?;
                let built = filters
                    .iter()
                    .map(|f| f.build(registry, resources))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                // The last filter is the innermost: apply in reverse.
                for filter in built.iter().rev() {
                    service = filter(service);
                }
                Ok(service)
            }
            AppNode::UrlMap {
                flavor,
                routes,
                not_found,
                ..
            } => {
                let routes = routes
                    .iter()
                    .map(|r| Ok((r.parsed.clone(), r.app.build(registry, resources)?)))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let not_found = not_found
                    .as_ref()
                    .map(|n| n.build(registry, resources))
                    .transpose()?;
                Ok(UrlMap::new(*flavor, routes, not_found).into_service())
            }
            AppNode::Filtered { filter, app } => {
                let service = app.build(registry, resources)?;
                Ok(filter.build(registry, resources)?(service))
            }
        }
    }

    fn collect_factories(&self, out: &mut Vec<(&'static str, String)>) {
        match self {
            AppNode::App(f) => out.push(("app", f.factory.clone())),
            AppNode::Pipeline {
                filters,
                app,
                composite,
                ..
            } => {
                if let Some(c) = composite {
                    out.push(("composite", c.clone()));
                }
                filters.iter().for_each(|f| f.collect_factories(out));
                app.collect_factories(out);
            }
            AppNode::UrlMap {
                factory,
                routes,
                not_found,
                ..
            } => {
                out.push(("composite", factory.clone()));
                routes.iter().for_each(|r| r.app.collect_factories(out));
                if let Some(n) = not_found {
                    n.collect_factories(out);
                }
            }
            AppNode::Filtered { filter, app } => {
                filter.collect_factories(out);
                app.collect_factories(out);
            }
        }
    }

    fn collect_filter_nodes<'a>(&'a self, out: &mut Vec<&'a FactoryNode>) {
        match self {
            AppNode::App(_) => {}
            AppNode::Pipeline { filters, app, .. } => {
                filters.iter().for_each(|f| f.collect_filter_nodes(out));
                app.collect_filter_nodes(out);
            }
            AppNode::UrlMap {
                routes, not_found, ..
            } => {
                routes.iter().for_each(|r| r.app.collect_filter_nodes(out));
                if let Some(n) = not_found {
                    n.collect_filter_nodes(out);
                }
            }
            AppNode::Filtered { filter, app } => {
                filter.collect_filter_nodes(out);
                app.collect_filter_nodes(out);
            }
        }
    }

    fn outline(&self, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        match self {
            AppNode::App(f) => {
                let _ = writeln!(out, "{pad}app [{}] {}", f.section, f.factory);
            }
            AppNode::Pipeline {
                section,
                filters,
                app,
                composite,
                ..
            } => {
                match composite {
                    Some(c) => writeln!(out, "{pad}pipeline [{section}] {c}"),
                    None => writeln!(out, "{pad}pipeline [{section}]"),
                }
                .ok();
                for f in filters {
                    f.outline(depth + 1, out);
                }
                app.outline(depth + 1, out);
            }
            AppNode::UrlMap {
                section,
                factory,
                routes,
                not_found,
                ..
            } => {
                let _ = writeln!(out, "{pad}urlmap [{section}] {factory}");
                for r in routes {
                    let _ = writeln!(out, "{pad}  {} -> {}", r.key, r.app_name);
                    r.app.outline(depth + 2, out);
                }
                if let Some(n) = not_found {
                    let _ = writeln!(out, "{pad}  (not found)");
                    n.outline(depth + 2, out);
                }
            }
            AppNode::Filtered { filter, app } => {
                filter.outline(depth, out);
                app.outline(depth + 1, out);
            }
        }
    }
}

impl FilterNode {
    /// Appends the factory nodes of this filter, outermost first.
    fn collect_filter_nodes<'a>(&'a self, out: &mut Vec<&'a FactoryNode>) {
        match self {
            FilterNode::Factory(node) => out.push(node),
            FilterNode::Composed { outer, inner } => {
                outer.collect_filter_nodes(out);
                inner.collect_filter_nodes(out);
            }
        }
    }

    /// Instantiates this filter.
    pub fn build(
        &self,
        registry: &Registry,
        resources: &http::Extensions,
    ) -> anyhow::Result<crate::Filter> {
        match self {
            FilterNode::Factory(node) => {
                let factory = registry
                    .filter(&node.factory)
                    .with_context(|| format!("no paste.filter_factory named '{}'", node.factory))?;
                factory(&node.context(resources)).with_context(|| {
                    format!(
                        "filter factory '{}' of section [{}] in {}",
                        node.factory,
                        node.section,
                        node.file.display()
                    )
                })
            }
            FilterNode::Composed { outer, inner } => {
                let outer = outer.build(registry, resources)?;
                let inner = inner.build(registry, resources)?;
                Ok(Box::new(move |app| outer(inner(app))))
            }
        }
    }

    /// The factory node, or the inner one of a composed filter.
    pub fn factory_node(&self) -> &FactoryNode {
        match self {
            FilterNode::Factory(f) => f,
            FilterNode::Composed { inner, .. } => inner.factory_node(),
        }
    }

    fn collect_factories(&self, out: &mut Vec<(&'static str, String)>) {
        match self {
            FilterNode::Factory(f) => out.push(("filter", f.factory.clone())),
            FilterNode::Composed { outer, inner } => {
                outer.collect_factories(out);
                inner.collect_factories(out);
            }
        }
    }

    fn outline(&self, depth: usize, out: &mut String) {
        match self {
            FilterNode::Factory(f) => {
                let _ = writeln!(
                    out,
                    "{}filter [{}] {}",
                    "  ".repeat(depth),
                    f.section,
                    f.factory
                );
            }
            FilterNode::Composed { outer, inner } => {
                outer.outline(depth, out);
                inner.outline(depth, out);
            }
        }
    }
}

impl FactoryNode {
    fn context<'a>(&'a self, resources: &'a http::Extensions) -> FactoryContext<'a> {
        FactoryContext {
            section: &self.section,
            factory: &self.factory,
            local_conf: &self.local_conf,
            global_conf: &self.global_conf,
            resources,
        }
    }
}
