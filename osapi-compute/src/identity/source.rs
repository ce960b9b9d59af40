//! The store's tokens as the `authtoken` filter's
//! [`TokenSource`](nova_middleware::authtoken::TokenSource): with
//! `auth_strategy = keystone` and no Keystone configured, the compute
//! API's filter validates against the store directly (no HTTP), and nova's
//! policies see the roles and project the identity gave the token.
//!
//! A token of an application credential with access rules is refused
//! here (401), as Keystone refuses it to a keystonemiddleware that does
//! not enforce access rules: the compute API does not enforce them.

use std::sync::Arc;

use nova_middleware::authtoken::{LocalTokenSource, TokenInfo, TokenSource};

use compute::identity::{IdentityError, TokenScope};
use compute::Compute;

/// The compute store's identity as a token source.
pub struct StoreTokenSource(pub Arc<Compute>);

impl StoreTokenSource {
    /// The source as the filter finds it among a worker's resources.
    pub fn installable(compute: Arc<Compute>) -> LocalTokenSource {
        LocalTokenSource(Arc::new(StoreTokenSource(compute)))
    }
}

impl TokenSource for StoreTokenSource {
    fn validate<'a>(
        &'a self,
        token: &'a str,
    ) -> nova_middleware::authtoken::source::Validation<'a> {
        Box::pin(async move {
            match self.0.validate_token(token).await {
                Ok(token)
                    if token
                        .application_credential
                        .as_ref()
                        .is_some_and(|c| !c.access_rules.is_empty()) =>
                {
                    Ok(None)
                }
                Ok(token) => Ok(Some(info(&token))),
                Err(IdentityError::NotFound { .. }) => Ok(None),
                Err(err) => {
                    tracing::error!(error = %err, "cannot validate a token against the store");
                    Err(nova_middleware::authtoken::KeystoneError::Unexpected {
                        status: 500,
                        body: "the identity store could not answer".into(),
                    })
                }
            }
        })
    }

    fn generation(&self) -> u64 {
        self.0.identity_generation()
    }
}

/// keystonemiddleware's facts of a store token.
fn info(token: &compute::identity::Token) -> TokenInfo {
    let (project, domain) = match &token.scope {
        TokenScope::Project(p, d) => (Some((p, d)), None),
        TokenScope::Domain(d) => (None, Some(d)),
        _ => (None, None),
    };
    TokenInfo {
        user_id: token.user.id.clone(),
        user_name: token.user.name.clone(),
        user_domain_id: Some(token.user_domain.id.clone()),
        user_domain_name: Some(token.user_domain.name.clone()),
        project_id: project.map(|(p, _)| p.id.clone()),
        project_name: project.map(|(p, _)| p.name.clone()),
        project_domain_id: project.map(|(_, d)| d.id.clone()),
        project_domain_name: project.map(|(_, d)| d.name.clone()),
        domain_id: domain.map(|d| d.id.clone()),
        domain_name: domain.map(|d| d.name.clone()),
        roles: token.roles.iter().map(|r| r.name.clone()).collect(),
        is_admin_project: true,
        system_scope: matches!(token.scope, TokenScope::System).then(|| "all".to_string()),
        expires_at: token.expires_at,
        catalog_v2: None,
    }
}
