//! The paste factories: nova's Havana api-paste.ini and our own default
//! file load and serve the EC2 API with the factories registered here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ec2_api::{register_factories, worker_resources, Ec2Options};
use nova_paste::http::{Body, HttpService};
use nova_paste::{self as paste};

use crate::fixture::{code, compute, send, FORM};

fn havana() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../common/runtime/tests/fixtures/paste/nova-2013.2-havana.ini")
}

fn ours() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("api-paste.ini")
}

async fn build(file: &Path, strategy: &str) -> HttpService {
    let mut registry = nova_runtime::api::builtin_registry(strategy);
    register_factories(&mut registry);
    let spec = paste::load(file, "ec2", &BTreeMap::new(), &registry).unwrap();
    let mode = if strategy.starts_with("noauth") {
        ec2_api::AuthMode::NoAuth
    } else {
        ec2_api::AuthMode::Signature
    };
    let resources = worker_resources(
        compute().await,
        Ec2Options {
            auth_mode: mode,
            ..Ec2Options::default()
        },
    );
    spec.build(&registry, &resources).unwrap()
}

fn describe_regions(path: &str) -> http::Request<Body> {
    http::Request::builder()
        .method("POST")
        .uri(path)
        .header("host", "127.0.0.1:8773")
        .header("content-type", FORM)
        .body(Body::from(
            "Action=DescribeRegions&Version=2016-11-15&AWSAccessKeyId=admin",
        ))
        .unwrap()
}

#[tokio::test]
async fn havana_file_serves_services_cloud_with_noauth() {
    let app = build(&havana(), "noauth").await;
    let (status, body) = send(&app, describe_regions("/services/Cloud")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<regionEndpoint>http://127.0.0.1:8773/services/Cloud</regionEndpoint>"),
        "{body}"
    );
}

#[tokio::test]
async fn havana_keystone_pipeline_checks_signatures() {
    let app = build(&havana(), "keystone").await;
    let (status, body) = send(&app, describe_regions("/services/Cloud")).await;
    assert_eq!((status, code(&body)), (401, Some("AuthFailure")));
}

#[tokio::test]
async fn our_file_serves_root_and_services_cloud() {
    let app = build(&ours(), "noauth2").await;
    for path in ["/", "/services/Cloud", "/services/Cloud/"] {
        let (status, body) = send(&app, describe_regions(path)).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

#[tokio::test]
async fn stateful_factories_name_their_section_when_the_state_is_missing() {
    let mut registry = nova_runtime::api::builtin_registry("noauth");
    register_factories(&mut registry);
    let spec = paste::load(&ours(), "ec2", &BTreeMap::new(), &registry).unwrap();
    let err = spec
        .build(&registry, &http::Extensions::new())
        .map(|_| ())
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("the worker has no EC2 API state"),
        "{err:#}"
    );
}
