//! The EC2 request pipeline as nova's paste filters built it: FaultWrapper →
//! RequestLogging → (Lockout) → NoAuth | signature auth | Keystone → Requestify →
//! (Authorizer) → Validator → Executor. Each stage is a function from the
//! next service to a new one, so paste can assemble them in any order the
//! operator's file names, and [`app`] builds the whole default order for tests.
//!
//! The stages share what they learn through request extensions: the decoded
//! request ([`RawRequest`], read from the body once by whichever stage needs
//! it first), the caller ([`Ec2Context`]) and the validated call ([`Ec2Call`]).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::FutureExt;
use http::{header, Method, StatusCode};
use http_body_util::BodyExt;

use nova_paste::http::{Body, HttpFuture, HttpService, Request, RequestId, Response, ScriptName};

use crate::actions;
use crate::auth::{self, Ec2Context};
use crate::error::Ec2Error;
use crate::query::{decode_pairs, parse_query, Ec2Query};
use crate::state::Ec2State;

mod authentication;
mod lockout;

pub use authentication::{
    configured_auth, ec2_keystone_auth, keystone_auth, noauth, signature_auth,
};
pub use lockout::{lockout, LockoutTable};

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

/// A service that needs the decoded request. For each request it fixes the
/// request id ([`request_id`]), reads the request ([`ensure_parsed`]) and
/// hands `ctx`, the request and its decoded form to `stage`. An error, the
/// body's or the one `stage` answers, becomes EC2's error answer here, in
/// the one place, under the request's id.
pub fn parsed_service<C, F, Fut>(max_body: usize, ctx: C, stage: F) -> HttpService
where
    C: Clone + Send + Sync + 'static,
    F: Fn(C, Request, Arc<RawRequest>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, Ec2Error>> + Send + 'static,
{
    let stage = Arc::new(stage);
    HttpService::new(move |mut req| {
        let (ctx, stage) = (ctx.clone(), stage.clone());
        HttpFuture::new(async move {
            let id = request_id(&mut req);
            let answer = match ensure_parsed(req, max_body).await {
                Ok((req, raw)) => stage(ctx, req, raw).await,
                Err((_, e)) => Err(e),
            };
            answer.unwrap_or_else(|e| e.to_response(&id))
        })
    })
}

/// A filter that needs the decoded request: `stage` gets the state, the
/// next service, the request and its decoded form (read up to
/// `max_request_body_size`), and its errors are answered as
/// [`parsed_service`] answers them.
pub fn parsed_filter<F, Fut>(state: Arc<Ec2State>, inner: HttpService, stage: F) -> HttpService
where
    F: Fn(Arc<Ec2State>, HttpService, Request, Arc<RawRequest>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, Ec2Error>> + Send + 'static,
{
    let max_body = state.options.max_request_body_size;
    parsed_service(max_body, (state, inner), move |(state, inner), req, raw| {
        stage(state, inner, req, raw)
    })
}

/// nova.api.ec2:FaultWrapper: a panic anywhere below becomes a well-formed
/// 500 `InternalError`; it also fixes the request id first.
pub fn fault_wrapper(inner: HttpService) -> HttpService {
    HttpService::new(move |mut req| {
        let inner = inner.clone();
        HttpFuture::new(async move {
            let id = request_id(&mut req);
            // `answer` calls the inner service when first polled, so a panic
            // in the call itself is caught too.
            match AssertUnwindSafe(inner.answer(req)).catch_unwind().await {
                Ok(r) => r,
                Err(panic) => {
                    let what = nova_paste::http::panic_message(&*panic).unwrap_or("panic");
                    Ec2Error::Internal(format!("panic: {what}")).to_response(&id)
                }
            }
        })
    })
}

/// nova.api.ec2:RequestLogging: one INFO line per request with the action,
/// the status and the time taken.
pub fn request_logging(max_body: usize, inner: HttpService) -> HttpService {
    // Not a `parsed_filter`: an undecodable request is logged too.
    HttpService::new(move |req| {
        let inner = inner.clone();
        HttpFuture::new(async move {
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
                    inner.answer(req).await,
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
            resp
        })
    })
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
    parsed_filter(state, inner, |state, inner, mut req, raw| async move {
        let call = requestify_check(&state, &raw)?;
        req.extensions_mut().insert(call);
        Ok(inner.answer(req).await)
    })
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
    HttpService::new(move |mut req| {
        let action = req.extensions().get::<Ec2Call>().map(|c| c.action);
        let refused = match (req.extensions().get::<Ec2Context>(), action) {
            (Some(ctx), Some(action)) => !authorized(ctx, action),
            _ => false,
        };
        if refused {
            HttpFuture::ready(error_response(&mut req, Ec2Error::UnauthorizedOperation))
        } else {
            inner.serve(req)
        }
    })
}

/// nova.api.ec2:Validator: refuses malformed ids before any action runs
/// (when `ec2_strict_validation` is on; off, it is the next service).
pub fn validator(state: Arc<Ec2State>, inner: HttpService) -> HttpService {
    if !state.options.ec2_strict_validation {
        return inner;
    }
    parsed_filter(state, inner, |_, inner, req, raw| async move {
        validate_params(&raw.query)?;
        Ok(inner.answer(req).await)
    })
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
    let max_body = state.options.max_request_body_size;
    parsed_service(max_body, state, execute)
}

/// The Executor's work on a decoded request.
async fn execute(
    state: Arc<Ec2State>,
    mut req: Request,
    raw: Arc<RawRequest>,
) -> Result<Response, Ec2Error> {
    let id = request_id(&mut req);
    let call = match req.extensions().get::<Ec2Call>() {
        Some(c) => c.clone(),
        None => requestify_check(&state, &raw)?,
    };
    let ctx = req
        .extensions()
        .get::<Ec2Context>()
        .cloned()
        .ok_or_else(|| Ec2Error::AuthFailure("No authentication in the pipeline".into()))?;
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
    let xml = actions::dispatch(&state, &action_req).await?;
    Ok(http::Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/xml")
        .body(Body::from(xml))
        .unwrap_or_else(|_| Response::new(Body::empty())))
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
