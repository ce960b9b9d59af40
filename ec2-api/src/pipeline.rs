//! The EC2 request pipeline as nova's paste filters built it: FaultWrapper →
//! RequestLogging → (Lockout) → NoAuth | signature auth | Keystone → Requestify →
//! (Authorizer) → Validator → Executor. Each stage is a function from the
//! next service to a new one, so paste can assemble them in any order the
//! operator's file names, and [`app`] builds the whole default order for tests.
//!
//! The stages share what they learn through request extensions: the decoded
//! request ([`RawRequest`], read from the body once by whichever stage needs
//! it first), the caller ([`Ec2Context`]) and the validated call ([`Ec2Call`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt;
use http::{header, Method, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use nova_paste::http::{boxed, Body, HttpService, Request, RequestId, Response, ScriptName};

use crate::actions;
use crate::auth::{self, Ec2Context, SignedRequest};
use crate::error::Ec2Error;
use crate::query::{decode_pairs, parse_query, Ec2Query};
use crate::state::Ec2State;
use crate::AuthMode;

/// The decoded request: the URL's query pairs, the raw body and all parameters.
#[derive(Debug)]
pub struct RawRequest {
    /// Pairs of the URL's query string (what SigV4 signs as the query).
    pub query_pairs: Vec<(String, String)>,
    /// The body as received (what SigV4 hashes).
    pub body: Bytes,
    /// All parameters, query and form body merged.
    pub query: Ec2Query,
}

/// The call Requestify validated: a known action and its API version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ec2Call {
    /// The action name (`DescribeInstances`).
    pub action: &'static str,
    /// The `Version` parameter, used for the answer's namespace.
    pub version: String,
}

/// The request id of a request, set into its extensions when absent so that
/// every stage and the answer agree on it.
pub fn request_id(req: &mut Request) -> String {
    if let Some(id) = req.extensions().get::<RequestId>() {
        return id.as_str().to_owned();
    }
    let id = RequestId::generate();
    let text = id.as_str().to_owned();
    req.extensions_mut().insert(id);
    text
}

fn is_form(req: &Request) -> bool {
    match req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some(ct) => ct
            .trim()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded"),
        None => req.method() == Method::POST,
    }
}

/// Reads and decodes the request once; later calls reuse the extension.
pub async fn ensure_parsed(
    mut req: Request,
    max_body: usize,
) -> Result<(Request, Arc<RawRequest>), (Request, Ec2Error)> {
    if let Some(raw) = req.extensions().get::<Arc<RawRequest>>() {
        let raw = raw.clone();
        return Ok((req, raw));
    }
    let form = is_form(&req);
    let (parts, body) = std::mem::replace(&mut req, Request::new(Body::empty())).into_parts();
    let bytes = match http_body_util::Limited::new(body, max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            let err = if e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Ec2Error::RequestEntityTooLarge
            } else {
                Ec2Error::InvalidRequest("The request body could not be read".into())
            };
            return Err((Request::from_parts(parts, Body::empty()), err));
        }
    };
    let mut req = Request::from_parts(parts, Body::empty());
    let query_bytes = req.uri().query().unwrap_or("").as_bytes().to_vec();
    let parsed = decode_pairs(&query_bytes).and_then(|pairs| {
        let query = parse_query(&query_bytes, form.then_some(&bytes[..]))?;
        Ok((pairs, query))
    });
    match parsed {
        Ok((query_pairs, query)) => {
            let raw = Arc::new(RawRequest {
                query_pairs,
                body: bytes,
                query,
            });
            req.extensions_mut().insert(raw.clone());
            Ok((req, raw))
        }
        Err(e) => Err((req, e.into())),
    }
}

fn error_response(req: &mut Request, err: Ec2Error) -> Response {
    let id = request_id(req);
    err.to_response(&id)
}

/// A filter: something that wraps the next service.
pub type FilterFn = Arc<dyn Fn(HttpService) -> HttpService + Send + Sync>;

/// nova.api.ec2:FaultWrapper: a panic anywhere below becomes a well-formed
/// 500 `InternalError`; it also fixes the request id first.
pub fn fault_wrapper(inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |mut req: Request| {
        let inner = inner.clone();
        async move {
            let id = request_id(&mut req);
            match AssertUnwindSafe(inner.oneshot(req)).catch_unwind().await {
                Ok(r) => r,
                Err(panic) => {
                    let what = nova_paste::http::panic_message(&*panic).unwrap_or("panic");
                    Ok::<_, Infallible>(
                        Ec2Error::Internal(format!("panic: {what}")).to_response(&id),
                    )
                }
            }
        }
    }))
}

/// nova.api.ec2:RequestLogging: one INFO line per request with the action,
/// the status and the time taken.
pub fn request_logging(max_body: usize, inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |req: Request| {
        let inner = inner.clone();
        async move {
            let start = Instant::now();
            let method = req.method().clone();
            let script = req
                .extensions()
                .get::<ScriptName>()
                .map(|s| s.0.clone())
                .unwrap_or_default();
            let path = format!("{script}{}", req.uri().path());
            let ua = req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let (resp, action) = match ensure_parsed(req, max_body).await {
                Ok((req, raw)) => (
                    inner.oneshot(req).await?,
                    raw.query.action.clone().unwrap_or_default(),
                ),
                Err((mut req, e)) => (error_response(&mut req, e), String::new()),
            };
            tracing::info!(
                "{:.6}s {} {} CloudController:{} {} [{}] {}",
                start.elapsed().as_secs_f64(),
                method,
                path,
                action,
                resp.status().as_u16(),
                ua,
                resp.headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
            );
            Ok::<_, Infallible>(resp)
        }
    }))
}

/// Failure counts per access key for [`lockout`].
#[derive(Debug, Default)]
pub struct LockoutTable {
    entries: Mutex<HashMap<String, LockoutEntry>>,
}

#[derive(Debug)]
struct LockoutEntry {
    failures: u32,
    expires: Instant,
}

impl LockoutTable {
    fn locked(&self, key: &str, attempts: u32) -> bool {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some(e) if e.expires <= Instant::now() => {
                map.remove(key);
                false
            }
            Some(e) => e.failures >= attempts,
            None => false,
        }
    }

    fn fail(&self, key: &str, attempts: u32, window: Duration, lock: Duration) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let e = map.entry(key.to_string()).or_insert(LockoutEntry {
            failures: 0,
            expires: now + window,
        });
        if e.expires <= now {
            *e = LockoutEntry {
                failures: 0,
                expires: now + window,
            };
        }
        e.failures += 1;
        if e.failures == attempts {
            tracing::warn!(
                access_key = key,
                "access key locked out after {attempts} failed authentications"
            );
            e.expires = now + lock;
        }
    }
}

/// nova.api.ec2:Lockout: after `lockout_attempts` failed authentications
/// (401/403 answers) within `lockout_window` minutes, an access key is refused
/// for `lockout_minutes`. Counts are per worker (nova kept them in memcache).
pub fn lockout(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |req: Request| {
        let (inner, state) = (inner.clone(), state.clone());
        async move {
            let o = &state.options;
            let (mut req, raw) = match ensure_parsed(req, o.max_request_body_size).await {
                Ok(x) => x,
                Err((mut req, e)) => return Ok(error_response(&mut req, e)),
            };
            let Some(key) = auth::access_key_of(req.headers(), &raw.query.params) else {
                return inner.oneshot(req).await;
            };
            if state.lockout.locked(&key, o.lockout_attempts) {
                return Ok(error_response(&mut req, Ec2Error::LockedOut));
            }
            let resp = inner.oneshot(req).await?;
            if matches!(
                resp.status(),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ) {
                state.lockout.fail(
                    &key,
                    o.lockout_attempts,
                    Duration::from_secs(o.lockout_window.saturating_mul(60)),
                    Duration::from_secs(o.lockout_minutes.saturating_mul(60)),
                );
            }
            Ok::<_, Infallible>(resp)
        }
    }))
}

/// nova.api.ec2:NoAuth: the caller is whoever the access key names.
pub fn noauth(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |req: Request| {
        let (inner, state) = (inner.clone(), state.clone());
        async move {
            let (mut req, raw) = match ensure_parsed(req, state.options.max_request_body_size).await
            {
                Ok(x) => x,
                Err((mut req, e)) => return Ok(error_response(&mut req, e)),
            };
            match auth::noauth_context(req.headers(), &raw.query.params) {
                Ok(ctx) => {
                    req.extensions_mut().insert(ctx);
                    inner.oneshot(req).await
                }
                Err(e) => Ok::<_, Infallible>(error_response(&mut req, e)),
            }
        }
    }))
}

/// Signature verification (SigV4 header or query, SigV2) against the EC2
/// credentials of the store (the `signature` mode).
pub fn signature_auth(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |req: Request| {
        let (inner, state) = (inner.clone(), state.clone());
        async move {
            let (mut req, raw) = match ensure_parsed(req, state.options.max_request_body_size).await
            {
                Ok(x) => x,
                Err((mut req, e)) => return Ok(error_response(&mut req, e)),
            };
            let script = req
                .extensions()
                .get::<ScriptName>()
                .map(|s| s.0.clone())
                .unwrap_or_default();
            let path = format!("{script}{}", req.uri().path());
            // A urlmap hands `/prefix` and `/prefix/` both as `/`: try both spellings.
            let alt_path = (!script.is_empty() && req.uri().path() == "/").then(|| script.clone());
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
            let verdict = auth::verify(
                &signed,
                state.credentials.as_ref(),
                state.now(),
                state.options.ec2_timestamp_expiry,
                state.sigv4_policy(),
            )
            .await;
            match verdict {
                Ok(ctx) => {
                    req.extensions_mut().insert(ctx);
                    inner.oneshot(req).await
                }
                Err(e) => Ok::<_, Infallible>(error_response(&mut req, e)),
            }
        }
    }))
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
    boxed(tower::service_fn(move |req: Request| {
        let (inner, state, keystone) = (inner.clone(), state.clone(), keystone.clone());
        async move {
            let (mut req, raw) = match ensure_parsed(req, state.options.max_request_body_size).await
            {
                Ok(x) => x,
                Err((mut req, e)) => return Ok(error_response(&mut req, e)),
            };
            let Some(keystone) = keystone else {
                return Ok(error_response(&mut req, Ec2Error::Unavailable));
            };
            let script = req
                .extensions()
                .get::<ScriptName>()
                .map(|s| s.0.clone())
                .unwrap_or_default();
            let path = format!("{script}{}", req.uri().path());
            let mut paths = vec![path.as_str()];
            // A urlmap hands `/prefix` and `/prefix/` both as `/`: try both spellings.
            if !script.is_empty() && req.uri().path() == "/" {
                paths.push(script.as_str());
            }
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
            if let Err(e) = auth::sigv4::check_claims(&signed, state.sigv4_policy()) {
                return Ok(error_response(&mut req, e));
            }
            match keystone.verify(&signed, &paths).await {
                Ok(ctx) => {
                    req.extensions_mut().insert(ctx);
                    inner.oneshot(req).await
                }
                Err(e) => Ok::<_, Infallible>(error_response(&mut req, e)),
            }
        }
    }))
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

/// Checks what Requestify checks: `Action` and `Version` present, the action
/// known, and the `Timestamp`/`Expires` parameters within limits.
pub fn requestify_check(state: &Ec2State, raw: &RawRequest) -> Result<Ec2Call, Ec2Error> {
    let q = &raw.query;
    let action = q
        .action
        .as_deref()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Ec2Error::MissingParameter("Action".into()))?;
    let action =
        actions::lookup(action).ok_or_else(|| Ec2Error::InvalidAction(action.to_string()))?;
    let version = q
        .version
        .clone()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Ec2Error::MissingParameter("Version".into()))?;
    auth::check_param_times(&q.params, state.now(), state.options.ec2_timestamp_expiry)?;
    Ok(Ec2Call { action, version })
}

/// nova.api.ec2:Requestify: validates the call and records it.
pub fn requestify(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |req: Request| {
        let (inner, state) = (inner.clone(), state.clone());
        async move {
            let (mut req, raw) = match ensure_parsed(req, state.options.max_request_body_size).await
            {
                Ok(x) => x,
                Err((mut req, e)) => return Ok(error_response(&mut req, e)),
            };
            match requestify_check(&state, &raw) {
                Ok(call) => {
                    req.extensions_mut().insert(call);
                    inner.oneshot(req).await
                }
                Err(e) => Ok::<_, Infallible>(error_response(&mut req, e)),
            }
        }
    }))
}

/// Roles that may change things (nova's Authorizer map named projectmanager
/// and sysadmin; keystone's default member roles stand for them today).
const WRITER_ROLES: &[&str] = &[
    "admin",
    "member",
    "_member_",
    "projectmanager",
    "sysadmin",
    "netadmin",
];

/// Whether `ctx` may perform `action` (nova's Authorizer rules: reads are
/// open to every authenticated caller, changes need a member role).
pub fn authorized(ctx: &Ec2Context, action: &str) -> bool {
    ctx.is_admin
        || action.starts_with("Describe")
        || action == "GetConsoleOutput"
        || ctx.roles.iter().any(|r| WRITER_ROLES.contains(&r.as_str()))
}

/// nova.api.ec2:Authorizer: refuses actions the caller's roles do not allow.
pub fn authorizer(inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |mut req: Request| {
        let inner = inner.clone();
        async move {
            let call = req.extensions().get::<Ec2Call>().map(|c| c.action);
            let ctx = req.extensions().get::<Ec2Context>();
            match (ctx, call) {
                (Some(ctx), Some(action)) if !authorized(ctx, action) => {
                    Ok::<_, Infallible>(error_response(&mut req, Ec2Error::UnauthorizedOperation))
                }
                _ => inner.oneshot(req).await,
            }
        }
    }))
}

/// nova.api.ec2:Validator: refuses malformed ids before any action runs
/// (when `ec2_strict_validation` is on).
pub fn validator(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    boxed(tower::service_fn(move |req: Request| {
        let (inner, state) = (inner.clone(), state.clone());
        async move {
            if !state.options.ec2_strict_validation {
                return inner.oneshot(req).await;
            }
            let (mut req, raw) = match ensure_parsed(req, state.options.max_request_body_size).await
            {
                Ok(x) => x,
                Err((mut req, e)) => return Ok(error_response(&mut req, e)),
            };
            match validate_params(&raw.query) {
                Ok(()) => inner.oneshot(req).await,
                Err(e) => Ok::<_, Infallible>(error_response(&mut req, e)),
            }
        }
    }))
}

/// The id checks of the Validator.
pub fn validate_params(q: &Ec2Query) -> Result<(), Ec2Error> {
    for (name, value) in q.params.iter() {
        let base = name.split('.').next().unwrap_or(name);
        match base {
            "InstanceId" if crate::ids::parse_instance_id(value).is_none() => {
                return Err(Ec2Error::InstanceMalformed(value.to_string()));
            }
            "ImageId" if crate::ids::parse_image_id(value).is_none() => {
                return Err(Ec2Error::ImageMalformed(value.to_string()));
            }
            "GroupName" | "GroupDescription" | "KeyName" if value.chars().count() > 255 => {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Value for parameter {name} is longer than 255"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// nova.api.ec2:Executor: runs the action and renders its answer.
pub fn executor(state: Arc<Ec2State>) -> HttpService {
    boxed(tower::service_fn(move |req: Request| {
        let state = state.clone();
        async move {
            let (mut req, raw) = match ensure_parsed(req, state.options.max_request_body_size).await
            {
                Ok(x) => x,
                Err((mut req, e)) => return Ok(error_response(&mut req, e)),
            };
            let id = request_id(&mut req);
            let call = match req.extensions().get::<Ec2Call>() {
                Some(c) => c.clone(),
                None => match requestify_check(&state, &raw) {
                    Ok(c) => c,
                    Err(e) => return Ok(e.to_response(&id)),
                },
            };
            let Some(ctx) = req.extensions().get::<Ec2Context>().cloned() else {
                return Ok(
                    Ec2Error::AuthFailure("No authentication in the pipeline".into())
                        .to_response(&id),
                );
            };
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_string();
            let script = req
                .extensions()
                .get::<ScriptName>()
                .map(|s| s.0.clone())
                .unwrap_or_default();
            let action_req = actions::ActionRequest {
                call: &call,
                params: &raw.query.params,
                ctx: &ctx,
                request_id: &id,
                host: &host,
                script_name: &script,
            };
            let result = actions::dispatch(&state, &action_req).await;
            Ok::<_, Infallible>(match result {
                Ok(xml) => http::Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, "text/xml")
                    .body(Body::from(xml))
                    .unwrap_or_else(|_| Response::new(Body::empty())),
                Err(e) => e.to_response(&id),
            })
        }
    }))
}

/// The whole default pipeline (nova's order) with the auth `auth_mode` picks.
pub fn app(state: Arc<Ec2State>) -> HttpService {
    let max = state.options.max_request_body_size;
    let svc = executor(state.clone());
    let svc = validator(state.clone(), svc);
    let svc = requestify(state.clone(), svc);
    let svc = configured_auth(state.clone(), svc);
    let svc = request_logging(max, svc);
    fault_wrapper(svc)
}
