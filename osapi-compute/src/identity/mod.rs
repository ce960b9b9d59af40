//! The Identity v3 app osapi-compute serves beside the compute API, so
//! that clients configured with an ordinary `clouds.yaml` work without a
//! separate Keystone. It runs in one of two modes, chosen once from
//! nova.conf ([`compute::identity::IdentityMode`]):
//!
//! - **noauth** (`[api] auth_strategy = noauth2`, or a real Keystone
//!   configured): nova's trusting noauth2, unchanged: no password is
//!   checked, a token is the text `user:project` that noauth2 parses back,
//!   the user `admin` is the one admin, nothing is stored ([`noauth`]).
//! - **store** (`auth_strategy = keystone` and no Keystone configured):
//!   Keystone's v3 API over the identity in the shared store: real
//!   users, projects, domains, groups, roles and assignments, passwords
//!   checked against their hashes, opaque expiring tokens, Keystone's
//!   default policies ([`policy`]).
//!
//! | module | holds |
//! |---|---|
//! | [`errors`] | [`errors::IdentityError`]: the one place errors become Keystone's `{"error": {...}}` |
//! | [`catalog`] | the request's origin, the version documents, the service catalogue |
//! | [`noauth`] | the noauth mode's handlers |
//! | [`policy`] | the store mode's caller and Keystone's default policies |
//! | [`tokens`] | `/v3/auth/*` in store mode: issue, validate, revoke; auth projects, domains, system, catalog |
//! | [`projects`], [`users`], [`groups`], [`roles`], [`domains`], [`assignments`] | the store mode's resources |
//! | [`source`] | the store as the `authtoken` filter's token source (item 2 of issue 20: the compute API validates against the store directly) |
//! | [`credentials`] | Keystone's OS-EC2 credential API over the compute domain's EC2 credentials (both modes); `/v3/credentials` (store mode), whose `ec2` credentials are the same |
//! | [`app_creds`] | application credentials and their access rules (store mode) |
//!
//! Errors use Keystone's body `{"error": {"code", "message", "title"}}`.

pub mod app_creds;
pub mod assignments;
pub mod catalog;
pub mod credentials;
pub mod domains;
pub mod errors;
pub mod groups;
pub mod noauth;
pub mod policy;
pub mod projects;
pub mod roles;
pub mod source;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

pub use compute::identity::IdentityMode;

/// The Identity API version this endpoint claims (Keystone 2023.x's).
pub(crate) const IDENTITY_VERSION: &str = "v3.14";

/// Where the catalogue points and what it calls the region. Each URL left
/// `None` is built from the request (`<scheme>://<Host>` plus the usual
/// path), which is right whenever clients reach every API through the same
/// host name.
///
/// Read from the identity app's paste section (`local_conf`) by
/// [`IdentityOptions::from_raw`]:
///
/// ```ini
/// [app:identity]
/// compute_endpoint = https://cloud.example.com:8774/v2.1
/// image_endpoint = https://cloud.example.com:8774/image
/// network_endpoint = https://cloud.example.com:8774/network
/// ec2_endpoint = https://cloud.example.com:8773/
/// region_name = RegionOne
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityOptions {
    /// `compute_endpoint`: the Compute API v2.1 URL (default `<base>/v2.1`).
    pub compute_endpoint: Option<String>,
    /// `image_endpoint`: the Image API URL, unversioned (default `<base>/image`).
    pub image_endpoint: Option<String>,
    /// `network_endpoint`: the Network API URL, unversioned (default `<base>/network`).
    pub network_endpoint: Option<String>,
    /// `identity_endpoint`: this endpoint's URL (default `<base><mount point>`).
    pub identity_endpoint: Option<String>,
    /// `ec2_endpoint`: the EC2 API URL (default `<scheme>://<host name>:<ec2_port>/`).
    pub ec2_endpoint: Option<String>,
    /// `ec2_port`: the port of the default EC2 URL; unset, nova.conf's
    /// `[DEFAULT] ec2_listen_port` (8773; see [`IdentityOptions::from_raw_over`]).
    pub ec2_port: u16,
    /// `region_name`: the region of every endpoint (`RegionOne`).
    pub region_name: String,
}

impl Default for IdentityOptions {
    fn default() -> Self {
        IdentityOptions {
            compute_endpoint: None,
            image_endpoint: None,
            network_endpoint: None,
            identity_endpoint: None,
            ec2_endpoint: None,
            ec2_port: 8773,
            region_name: "RegionOne".into(),
        }
    }
}

/// A bad option value of the identity app; names the option and the value.
#[derive(Debug, thiserror::Error)]
#[error("invalid value '{value}' for identity option {option}: {reason}")]
pub struct IdentityOptionError {
    /// The option name.
    pub option: String,
    /// The value as given.
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

impl IdentityOptions {
    /// Builds the options from a lookup of the app's paste `local_conf`
    /// (absent or empty options keep their defaults).
    pub fn from_raw(get: impl Fn(&str) -> Option<String>) -> Result<Self, IdentityOptionError> {
        Self::from_raw_over(IdentityOptions::default(), get)
    }

    /// As [`IdentityOptions::from_raw`], over `defaults` instead of ours:
    /// the factory's defaults carry nova.conf's `ec2_listen_port`, so the
    /// catalogue's EC2 URL follows the port ec2-api is configured on.
    pub fn from_raw_over(
        defaults: IdentityOptions,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, IdentityOptionError> {
        let mut options = defaults;
        let url = |name: &str| -> Result<Option<String>, IdentityOptionError> {
            match get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                None => Ok(None),
                Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                    Ok(Some(v.trim_end_matches('/').to_string()))
                }
                Some(v) => Err(IdentityOptionError {
                    option: name.into(),
                    value: v,
                    reason: "expected an http:// or https:// URL".into(),
                }),
            }
        };
        options.compute_endpoint = url("compute_endpoint")?;
        options.image_endpoint = url("image_endpoint")?;
        options.network_endpoint = url("network_endpoint")?;
        options.identity_endpoint = url("identity_endpoint")?;
        options.ec2_endpoint = url("ec2_endpoint")?;
        if let Some(port) = get("ec2_port").filter(|v| !v.trim().is_empty()) {
            options.ec2_port = port.trim().parse().map_err(|_| IdentityOptionError {
                option: "ec2_port".into(),
                value: port.clone(),
                reason: "expected a port number".into(),
            })?;
        }
        if let Some(region) = get("region_name").filter(|v| !v.trim().is_empty()) {
            options.region_name = region.trim().to_string();
        }
        Ok(options)
    }
}

/// The Identity v3 app in noauth mode, without the compute store (so
/// without the OS-EC2 credential API). Mount it under a prefix
/// (`/identity` in the sample api-paste.ini) and point clients'
/// `auth_url` at `<prefix>/v3`.
pub fn identity_router(options: IdentityOptions) -> Router {
    build(Shared {
        options,
        compute: None,
        mode: IdentityMode::NoAuth,
    })
}

/// The noauth app plus Keystone's OS-EC2 credential API
/// (`/v3/users/{user_id}/credentials/OS-EC2[/{access}]`) over the compute
/// domain's EC2 credentials, so that `openstack ec2 credentials create`
/// hands out keys the EC2 API accepts.
pub fn identity_router_with_ec2_credentials(
    options: IdentityOptions,
    state: crate::state::ApiState,
) -> Router {
    identity_router_in(options, state, IdentityMode::NoAuth)
}

/// The app in `mode` over the compute store of `state`: Keystone's API
/// over the store's identity in [`IdentityMode::Store`], noauth's
/// otherwise.
pub fn identity_router_in(
    options: IdentityOptions,
    state: crate::state::ApiState,
    mode: IdentityMode,
) -> Router {
    build(Shared {
        options,
        compute: Some(state.compute),
        mode,
    })
}

/// What every handler of the app shares.
pub struct Shared {
    pub(crate) options: IdentityOptions,
    pub(crate) compute: Option<Arc<compute::Compute>>,
    pub(crate) mode: IdentityMode,
}

impl std::ops::Deref for Shared {
    type Target = IdentityOptions;

    fn deref(&self) -> &IdentityOptions {
        &self.options
    }
}

/// The state handlers take.
pub type Options = axum::extract::State<Arc<Shared>>;

fn build(shared: Shared) -> Router {
    let routes = match (shared.mode, shared.compute.is_some()) {
        (IdentityMode::Store, true) => store_routes(),
        _ => noauth::routes(),
    };
    Router::new()
        .route("/", get(catalog::versions))
        .route("/v3", get(catalog::version))
        .route("/v3/", get(catalog::version))
        .route(
            "/v3/users/{user_id}/credentials/OS-EC2",
            get(credentials::list_ec2_credentials).post(credentials::create_ec2_credential),
        )
        .route(
            "/v3/users/{user_id}/credentials/OS-EC2/{access}",
            get(credentials::show_ec2_credential).delete(credentials::delete_ec2_credential),
        )
        .merge(routes)
        .fallback(errors::not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .with_state(Arc::new(shared))
}

/// Keystone's v3 routes over the store.
fn store_routes() -> Router<Arc<Shared>> {
    use axum::routing::{get, put};
    Router::new()
        .route(
            "/v3/auth/tokens",
            get(tokens::validate)
                .head(tokens::check)
                .post(tokens::issue)
                .delete(tokens::revoke),
        )
        .route("/v3/auth/catalog", get(tokens::auth_catalog))
        .route("/v3/auth/projects", get(tokens::auth_projects))
        .route("/v3/auth/domains", get(tokens::auth_domains))
        .route("/v3/auth/system", get(tokens::auth_system))
        .route("/v3/projects", get(projects::list).post(projects::create))
        .route(
            "/v3/projects/{id}",
            get(projects::show)
                .patch(projects::update)
                .delete(projects::delete),
        )
        .route("/v3/users", get(users::list).post(users::create))
        .route(
            "/v3/users/{id}",
            get(users::show).patch(users::update).delete(users::delete),
        )
        .route(
            "/v3/users/{id}/password",
            axum::routing::post(users::change_password),
        )
        .route("/v3/users/{id}/projects", get(users::projects))
        .route("/v3/users/{id}/groups", get(users::groups))
        .route(
            "/v3/users/{id}/application_credentials",
            get(app_creds::list).post(app_creds::create),
        )
        .route(
            "/v3/users/{id}/application_credentials/{app_cred_id}",
            get(app_creds::show).delete(app_creds::delete),
        )
        .route(
            "/v3/users/{id}/access_rules",
            get(app_creds::list_access_rules),
        )
        .route(
            "/v3/users/{id}/access_rules/{access_rule_id}",
            get(app_creds::show_access_rule).delete(app_creds::delete_access_rule),
        )
        .route(
            "/v3/credentials",
            get(credentials::list_credentials).post(credentials::create_credential),
        )
        .route(
            "/v3/credentials/{id}",
            get(credentials::show_credential)
                .patch(credentials::update_credential)
                .delete(credentials::delete_credential),
        )
        .route("/v3/groups", get(groups::list).post(groups::create))
        .route(
            "/v3/groups/{id}",
            get(groups::show)
                .patch(groups::update)
                .delete(groups::delete),
        )
        .route("/v3/groups/{id}/users", get(groups::members))
        .route(
            "/v3/groups/{id}/users/{user_id}",
            put(groups::add_member)
                .head(groups::check_member)
                .delete(groups::remove_member),
        )
        .route("/v3/roles", get(roles::list).post(roles::create))
        .route(
            "/v3/roles/{id}",
            get(roles::show).patch(roles::update).delete(roles::delete),
        )
        .route("/v3/roles/{id}/implies", get(roles::list_implied))
        .route(
            "/v3/roles/{id}/implies/{implied}",
            put(roles::create_implied)
                .get(roles::check_implied)
                .head(roles::check_implied)
                .delete(roles::delete_implied),
        )
        .route("/v3/role_inferences", get(roles::inferences))
        .route("/v3/domains", get(domains::list).post(domains::create))
        .route(
            "/v3/domains/{id}",
            get(domains::show)
                .patch(domains::update)
                .delete(domains::delete),
        )
        .route("/v3/role_assignments", get(assignments::list))
        .merge(assignments::routes())
}

#[cfg(test)]
mod tests {
    use super::catalog::Origin;
    use super::noauth::Principal;
    use super::*;

    #[test]
    fn noauth_token_parsing_matches_noauth2() {
        let p = Principal::from_token("alice:proj").unwrap();
        assert_eq!(
            (p.user.as_str(), p.project.as_deref()),
            ("alice", Some("proj"))
        );
        let p = Principal::from_token("alice").unwrap();
        assert_eq!(p.project.as_deref(), Some("alice"));
        let p = Principal::from_token("alice:").unwrap();
        assert_eq!(p.project.as_deref(), Some("alice"));
        assert!(Principal::from_token("").is_none());
        assert!(Principal::from_token(":proj").is_none());
    }

    #[test]
    fn options_reject_a_non_url_and_name_it() {
        let err =
            IdentityOptions::from_raw(|k| (k == "compute_endpoint").then(|| "ftp://x".into()))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value 'ftp://x' for identity option compute_endpoint: expected an http:// or https:// URL"
        );
    }

    #[test]
    fn host_name_drops_the_port() {
        let origin = |host: &str| Origin {
            scheme: "http".into(),
            host: host.into(),
            script_name: String::new(),
        };
        assert_eq!(origin("127.0.0.1:8774").host_name(), "127.0.0.1");
        assert_eq!(origin("[::1]:8774").host_name(), "[::1]");
        assert_eq!(origin("example.com").host_name(), "example.com");
    }
}
