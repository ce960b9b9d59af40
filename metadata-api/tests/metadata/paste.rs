//! The paste factories: nova's stock metadata pipelines (2013.2 and 2025.1)
//! load and serve, and the Havana fault wrapper turns a panic into a 500.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::StatusCode;
use http_body_util::BodyExt;
use tower::ServiceExt;

use nova_paste::http::{Body, RemoteAddr, Request, Response};

use crate::support::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/metadata/fixtures")
        .join(name)
}

async fn serve_through(file: &str) -> (StatusCode, String) {
    let mut registry = nova_runtime::api::builtin_registry("keystone");
    metadata_api::register_factories(&mut registry);
    let spec = nova_paste::load(&fixture(file), "metadata", &BTreeMap::new(), &registry)
        .expect("the stock metadata pipeline loads");
    let mut resources = axum::http::Extensions::new();
    resources.insert(service(config(), compute_with_sample()));
    let app = spec
        .build(&registry, &resources)
        .expect("the pipeline builds");
    let mut req = axum::http::Request::builder()
        .uri("/latest/meta-data/instance-id")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut().insert(RemoteAddr(SocketAddr::new(
        FIXED_IP.parse().unwrap(),
        50000,
    )));
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn havana_metadata_pipeline_loads_and_serves() {
    assert_eq!(
        serve_through("metadata-2013.2.ini").await,
        (StatusCode::OK, "i-00000001".to_owned())
    );
}

#[tokio::test]
async fn epoxy_metadata_pipeline_loads_and_serves() {
    assert_eq!(
        serve_through("metadata-2025.1.ini").await,
        (StatusCode::OK, "i-00000001".to_owned())
    );
}

#[tokio::test]
async fn app_factory_without_a_service_fails_to_build() {
    let mut registry = nova_runtime::api::builtin_registry("keystone");
    metadata_api::register_factories(&mut registry);
    let spec = nova_paste::load(
        &fixture("metadata-2025.1.ini"),
        "metadata",
        &BTreeMap::new(),
        &registry,
    )
    .unwrap();
    let Err(err) = spec.build(&registry, &axum::http::Extensions::new()) else {
        panic!("the app built without a metadata service");
    };
    assert!(
        format!("{err:#}").contains("no metadata service"),
        "{err:#}"
    );
}

#[tokio::test]
async fn fault_wrapper_turns_a_panic_into_the_metadata_500() {
    let panicking = nova_paste::http::boxed(tower::service_fn(|req: Request| async move {
        if req.uri().path() == "/boom" {
            panic!("handler bug");
        }
        Ok::<Response, std::convert::Infallible>(Response::new(Body::from("fine")))
    }));
    let wrapped = metadata_api::factories::fault_wrapper(panicking);
    let req = axum::http::Request::builder()
        .uri("/boom")
        .body(Body::empty())
        .unwrap();
    let resp = wrapped.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.contains("An unknown error has occurred."), "{text}");
    assert!(!text.contains("handler bug"));
    let ok = wrapped
        .oneshot(
            axum::http::Request::builder()
                .uri("/")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}
