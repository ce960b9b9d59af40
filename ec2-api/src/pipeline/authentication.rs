//! The authentication stages: nova.api.ec2:NoAuth, signature verification
//! against the local store, and Keystone's (`EC2KeystoneAuth`), each
//! recording the caller ([`Ec2Context`](crate::auth::Ec2Context)) for the
//! stages below.

use std::sync::Arc;

use nova_paste::http::{HttpService, Request, ScriptName};

use super::parsed_filter;
use crate::auth::{self, SignedRequest};
use crate::error::Ec2Error;
use crate::state::Ec2State;
use crate::AuthMode;

/// The path the client signed: the prefix a urlmap consumed, then the rest.
/// Also the script name alone, the other spelling of a request a urlmap
/// handed as `/` (it hands `/prefix` and `/prefix/` both so).
fn signed_paths(req: &Request) -> (String, Option<String>) {
    let script = req
        .extensions()
        .get::<ScriptName>()
        .map(|s| s.0.clone())
        .unwrap_or_default();
    let path = format!("{script}{}", req.uri().path());
    let alt_path = (!script.is_empty() && req.uri().path() == "/").then_some(script);
    (path, alt_path)
}

/// nova.api.ec2:NoAuth: the caller is whoever the access key names.
pub fn noauth(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    parsed_filter(state, inner, |_, inner, mut req, raw| async move {
        let ctx = auth::noauth_context(req.headers(), &raw.query.params)?;
        req.extensions_mut().insert(ctx);
        Ok(inner.answer(req).await)
    })
}

/// Signature verification (SigV4 header or query, SigV2) against the EC2
/// credentials of the store (the `signature` mode).
pub fn signature_auth(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    parsed_filter(state, inner, |state, inner, mut req, raw| async move {
        let (path, alt_path) = signed_paths(&req);
        let method = req.method().as_str().to_string();
        let signed = SignedRequest {
            method: &method,
            path: &path,
            alt_path: alt_path.as_deref(),
            headers: req.headers(),
            query_pairs: &raw.query_pairs,
            params: &raw.query.params,
            body: &raw.body,
        };
        let ctx = auth::verify(
            &signed,
            state.credentials.as_ref(),
            state.now(),
            state.options.ec2_timestamp_expiry,
            state.sigv4_policy(),
        )
        .await?;
        req.extensions_mut().insert(ctx);
        Ok(inner.answer(req).await)
    })
}

/// Signature verification by Keystone (`POST /v3/ec2tokens`), nova's
/// `EC2KeystoneAuth`: see [`auth::keystone`]. The Keystone client (and its
/// service token) is shared by the requests of this pipeline in the worker.
pub fn keystone_auth(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    let keystone = match auth::keystone::KeystoneEc2::new(&state.options) {
        Ok(k) => Some(Arc::new(k)),
        Err(e) => {
            tracing::error!(error = %e, "the EC2 keystone mode cannot reach Keystone: every request gets 503");
            None
        }
    };
    parsed_filter(state, inner, move |state, inner, mut req, raw| {
        let keystone = keystone.clone();
        async move {
            let keystone = keystone.ok_or(Ec2Error::Unavailable)?;
            let (path, alt_path) = signed_paths(&req);
            let mut paths = vec![path.as_str()];
            paths.extend(alt_path.as_deref());
            let method = req.method().as_str().to_string();
            let signed = SignedRequest {
                method: &method,
                path: &path,
                alt_path: None,
                headers: req.headers(),
                query_pairs: &raw.query_pairs,
                params: &raw.query.params,
                body: &raw.body,
            };
            // Keystone checks the HMAC; what the signature claims to cover
            // (the body received, our region and service) is checked here,
            // whatever Keystone's signer takes on trust.
            auth::sigv4::check_claims(&signed, state.sigv4_policy())?;
            let ctx = keystone.verify(&signed, &paths).await?;
            req.extensions_mut().insert(ctx);
            Ok(inner.answer(req).await)
        }
    })
}

/// nova.api.ec2:EC2KeystoneAuth: Keystone checks signatures in the keystone
/// mode; in the signature mode the local store does.
pub fn ec2_keystone_auth(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    match state.options.auth_mode {
        AuthMode::Keystone => keystone_auth(state, inner),
        _ => signature_auth(state, inner),
    }
}

/// The auth stage `[ec2] auth_mode` selects.
pub fn configured_auth(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    match state.options.auth_mode {
        AuthMode::NoAuth => noauth(state, inner),
        AuthMode::Signature => signature_auth(state, inner),
        AuthMode::Keystone => keystone_auth(state, inner),
    }
}
