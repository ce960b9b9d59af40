//! api-paste.ini loading with paste.deploy's semantics, so that nova's stock
//! files load unchanged.
//!
//! The flow, as the launcher uses it:
//!
//! 1. [`find_paste_config`] resolves `api_paste_config` (nova's `Loader`:
//!    a relative name is searched in the config dirs).
//! 2. [`load`] resolves the app named after the API (`osapi_compute`,
//!    `metadata`, `ec2`) into an [`AppSpec`]: plain data, checked against a
//!    [`Registry`] (every factory it names must be registered; composites
//!    are planned). The parent does this before forking, so a bad file fails
//!    start-up once, with a message naming the app, section and file.
//! 3. Each worker calls [`AppSpec::build`] with its own resources.
//!
//! Factory names are the strings as written in the file:
//! `nova.api.openstack.compute:APIRouterV21.factory` for
//! `paste.app_factory = ...`, `nova.api.auth:pipeline_factory_v21` for
//! `use = call:nova.api.auth:pipeline_factory_v21`, `egg:Paste#urlmap` for
//! `use = egg:Paste#urlmap`.
//!
//! The crate also holds the HTTP service types a pipeline is made of
//! ([`http`]), so that it needs no crate of ours above it.

#![forbid(unsafe_code)]

mod error;
pub mod http;
pub mod ini;
mod loader;
mod registry;
mod spec;
pub mod urlmap;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::{LookupError, PasteError};
pub use registry::{
    AppFactory, BuiltinOptions, CompositeContext, CompositeFactory, CompositePlan, FactoryContext,
    Filter, FilterCheck, FilterFactory, Registry, UrlMapFlavor, UrlMapPlan,
};
pub use spec::{AppNode, AppSpec, FactoryNode, FilterNode, UrlMapRoute};

/// Loads the app `app_name` from the api-paste.ini at `path` and checks it
/// against `registry`.
///
/// `overrides` are laid over every node's `global_conf` (above the file's
/// `[DEFAULT]`, below `set`): this is how nova.conf options reach the
/// generic middleware (`max_request_body_size`, `enable_proxy_headers_parsing`,
/// `cors.allowed_origin`, ...). A missing file is [`PasteError::ConfigNotFound`].
pub fn load(
    path: &Path,
    app_name: &str,
    overrides: &BTreeMap<String, String>,
    registry: &Registry,
) -> Result<AppSpec, PasteError> {
    loader::load(path, app_name, overrides, registry)
}

/// nova's `Loader.__init__`: an absolute `name` must exist; a relative one
/// is looked for in each of `search_dirs` in order (oslo.config's
/// `find_file` over the config dirs). The error lists every path tried.
pub fn find_paste_config(name: &str, search_dirs: &[PathBuf]) -> Result<PathBuf, PasteError> {
    let path = Path::new(name);
    let candidates: Vec<PathBuf> = if path.is_absolute() {
        vec![path.to_path_buf()]
    } else {
        search_dirs.iter().map(|d| d.join(path)).collect()
    };
    match candidates.iter().find(|c| c.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(PasteError::ConfigNotFound {
            name: name.to_string(),
            searched: candidates,
        }),
    }
}

/// Parses INI text as api-paste.ini files are parsed, without loading
/// anything. Never panics, whatever the input: a fuzzing entry point.
pub fn parse_str(text: &str) -> Result<ini::IniFile, PasteError> {
    ini::IniFile::parse(text).map_err(|e| PasteError::Syntax {
        file: PathBuf::from("<string>"),
        line: e.line,
        message: e.message,
    })
}
