//! The test fixture: an EC2 app over a fresh in-memory store, and helpers
//! to send form requests and read the answers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use compute::{Compute, ComputeConfig, Store, StoreOptions};
use ec2_api::auth::{CredentialSource, Ec2Credential, StaticCredentials};
use ec2_api::{pipeline, AuthMode, Ec2Options, Ec2State};
use http_body_util::BodyExt;
use nova_paste::http::{Body, HttpService, Request};
use tower::ServiceExt;

/// The form content type botocore sends.
pub const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// A migrated, seeded in-memory compute with instant transitions.
pub async fn compute() -> Compute {
    let store = Store::connect("sqlite://", StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Compute::new(store, ComputeConfig::instant())
}

/// A refused call: action, parameters, the AWS code expected.
pub type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

/// Builds an app.
#[derive(Clone)]
pub struct TestApp {
    /// The compute behind it (to check what the actions did).
    pub compute: Compute,
    /// The pipeline.
    pub app: HttpService,
}

/// The credentials the signature tests use.
pub fn alice() -> StaticCredentials {
    StaticCredentials::new([Ec2Credential {
        access: "alice:proj1".into(),
        secret: "s3cr3t".into(),
        user_id: "alice".into(),
        project_id: "proj1".into(),
        is_admin: false,
    }])
}

impl TestApp {
    /// NoAuth app over a fresh store.
    pub async fn noauth() -> Self {
        Self::build(AuthMode::NoAuth, None, None).await
    }

    /// A NoAuth app over `compute` (another configuration of a store).
    pub fn over(compute: Compute) -> Self {
        let options = Ec2Options {
            auth_mode: AuthMode::NoAuth,
            ..Ec2Options::default()
        };
        let state = Ec2State::new(compute.clone(), options);
        Self {
            compute,
            app: pipeline::app(Arc::new(state)),
        }
    }

    /// An app with `mode`, an optional fixed clock and credential source.
    pub async fn build(
        mode: AuthMode,
        now: Option<DateTime<Utc>>,
        creds: Option<Arc<dyn CredentialSource>>,
    ) -> Self {
        let compute = compute().await;
        let options = Ec2Options {
            auth_mode: mode,
            ..Ec2Options::default()
        };
        let mut state = match creds {
            Some(c) => Ec2State::with_parts(compute.clone(), options, c),
            None => Ec2State::new(compute.clone(), options),
        };
        if let Some(now) = now {
            state = state.with_clock(Arc::new(move || now));
        }
        Self {
            compute,
            app: pipeline::app(Arc::new(state)),
        }
    }

    /// Sends a request; (status, body).
    pub async fn send(&self, req: Request) -> (u16, String) {
        send(&self.app, req).await
    }

    /// POSTs `Action=…&Version=2016-11-15&<params>` as the NoAuth user `access`.
    pub async fn call_as(
        &self,
        access: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> (u16, String) {
        // Finished before the await, so that the future is Send.
        let body = {
            let mut body = form_urlencoded::Serializer::new(String::new());
            body.append_pair("Action", action)
                .append_pair("Version", "2016-11-15")
                .append_pair("AWSAccessKeyId", access);
            for (k, v) in params {
                body.append_pair(k, v);
            }
            body.finish()
        };
        let req = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("host", "127.0.0.1:8773")
            .header("content-type", FORM)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// As [`Self::call_as`] for the user `demo` of project `demo`.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> (u16, String) {
        self.call_as("demo:demo", action, params).await
    }

    /// Sends each case as `demo` and checks it is refused with a 400 and
    /// the case's AWS code.
    pub async fn expect_codes(&self, cases: Vec<Case<'_>>) {
        for (action, params, want) in cases {
            let (status, body) = self.call(action, &params).await;
            assert_eq!(
                (status, code(&body)),
                (400, Some(want)),
                "{action} {params:?}: {body}"
            );
        }
    }

    /// A successful call's body (panics with the body otherwise).
    pub async fn ok(&self, action: &str, params: &[(&str, &str)]) -> String {
        let (status, body) = self.call(action, params).await;
        assert_eq!(status, 200, "{action}: {body}");
        body
    }
}

/// Sends `req` to `app`; (status, body).
pub async fn send(app: &HttpService, req: Request) -> (u16, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// The `<Code>` of an error document.
pub fn code(body: &str) -> Option<&str> {
    text(body, "Code")
}

/// The text of the first `<tag>…</tag>`.
pub fn text<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    Some(&body[start..start + body[start..].find(&format!("</{tag}>"))?])
}

/// Every `<tag>…</tag>` text, in order.
pub fn texts<'a>(body: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}
