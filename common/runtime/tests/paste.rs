//! api-paste.ini loading end to end: nova's stock files (2013.2 and
//! 2025.1) load unchanged for every API they define, the trees have the
//! expected shape, the built services route like nova's urlmap, and bad
//! files fail with exact messages.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};

use http_body_util::BodyExt;
use nova_paste::http::{boxed, Body, HttpService, Request, Response, ScriptName};
use nova_paste::{
    self, AppNode, AppSpec, BuiltinOptions, FactoryContext, Filter, FilterNode, PasteError,
    Registry, UrlMapFlavor,
};
use rand::{Rng, SeedableRng};
use tower::ServiceExt;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/paste")
        .join(name)
}

const EPOXY: &str = "nova-2025.1-epoxy.ini";
const HAVANA: &str = "nova-2013.2-havana.ini";

/// The API-specific app factories of both stock files.
const TEST_APPS: &[&str] = &[
    "nova.api.metadata.handler:MetadataRequestHandler.factory",
    "nova.api.openstack.compute:APIRouterV21.factory",
    "nova.api.openstack.compute.versions:Versions.factory",
    "nova.api.openstack.compute.versions:VersionsV2.factory",
    "nova.api.openstack.compute:APIRouter.factory",
    "nova.api.openstack.compute:APIRouterV3.factory",
    "nova.api.ec2:Executor.factory",
];

/// The API-specific filter factories of both stock files.
const TEST_FILTERS: &[&str] = &[
    "nova.api.openstack.requestlog:RequestLog.factory",
    "nova.api.openstack:FaultWrapper.factory",
    "nova.api.openstack.auth:NoAuthMiddleware.factory",
    "nova.api.openstack:LegacyV2CompatibleWrapper.factory",
    "nova.api.auth:NovaKeystoneContext.factory",
    "keystonemiddleware.auth_token:filter_factory",
    "nova.api.ec2:FaultWrapper.factory",
    "nova.api.ec2:RequestLogging.factory",
    "nova.api.ec2:Lockout.factory",
    "nova.api.ec2:EC2KeystoneAuth.factory",
    "nova.api.ec2:NoAuth.factory",
    "nova.api.ec2:Requestify.factory",
    "nova.api.ec2:Authorizer.factory",
    "nova.api.ec2:Validator.factory",
    "nova.api.openstack.auth:NoAuthMiddlewareV3.factory",
    "nova.api.openstack.compute.limits:RateLimitingMiddleware.factory",
    "nova.api.openstack.compute.plugins.v3.limits:RateLimitingMiddleware.factory",
    "keystoneclient.middleware.auth_token:filter_factory",
];

/// A test app: answers `<section> <uri> script=<ScriptName> trace=<filters>`.
fn test_app(ctx: &FactoryContext<'_>) -> anyhow::Result<HttpService> {
    let label = ctx.section.to_string();
    Ok(boxed(tower::service_fn(move |req: Request| {
        let label = label.clone();
        async move {
            let script = req
                .extensions()
                .get::<ScriptName>()
                .map(|s| s.0.clone())
                .unwrap_or_default();
            let trace: Vec<&str> = req
                .headers()
                .get_all("x-trace")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let body = format!(
                "{label} {} script={script} trace={}",
                req.uri(),
                trace.join(",")
            );
            Ok::<_, Infallible>(Response::new(Body::from(body)))
        }
    })))
}

/// A test filter: records its section in the request's `x-trace` headers.
fn test_filter(ctx: &FactoryContext<'_>) -> anyhow::Result<Filter> {
    let name = ctx.section.trim_start_matches("filter:").to_string();
    Ok(Box::new(move |inner: HttpService| {
        let name = name.clone();
        boxed(tower::service_fn(move |mut req: Request| {
            req.headers_mut().append("x-trace", name.parse().unwrap());
            inner.clone().oneshot(req)
        }))
    }))
}

/// nova's compute request-id filter, as the compute API registers it.
fn register_compute_req_id(registry: &mut Registry) {
    static COMPAT: [http::HeaderName; 1] = [http::HeaderName::from_static("x-compute-request-id")];
    registry.register_filter(
        "nova.api.compute_req_id:ComputeReqIdMiddleware.factory",
        |_| Ok(nova_middleware::request_id::filter(&COMPAT)),
    );
}

fn registry(auth_strategy: &str) -> Registry {
    let mut registry = nova_runtime::api::builtin_registry(auth_strategy);
    register_compute_req_id(&mut registry);
    for name in TEST_APPS {
        registry.register_app(*name, test_app);
    }
    for name in TEST_FILTERS {
        registry.register_filter(*name, test_filter);
    }
    registry
}

fn load(file: &Path, app: &str, registry: &Registry) -> Result<AppSpec, PasteError> {
    nova_paste::load(file, app, &BTreeMap::new(), registry)
}

/// The section names of a pipeline, outermost first, then the app's.
fn pipeline_sections(node: &AppNode) -> Vec<String> {
    match node {
        AppNode::Pipeline { filters, app, .. } => filters
            .iter()
            .map(|f| f.factory_node().section.clone())
            .chain(std::iter::once(app.section().to_string()))
            .collect(),
        other => panic!("not a pipeline: {other:?}"),
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn prefixed(prefix: &str, names: &str) -> Vec<String> {
    let mut v: Vec<String> = words(names)
        .into_iter()
        .map(|n| format!("filter:{n}"))
        .collect();
    let app = v.pop().unwrap().replace("filter:", prefix);
    v.push(app);
    v
}

fn urlmap_routes(node: &AppNode) -> (UrlMapFlavor, Vec<(String, &AppNode)>) {
    match node {
        AppNode::UrlMap { flavor, routes, .. } => (
            *flavor,
            routes.iter().map(|r| (r.key.clone(), &r.app)).collect(),
        ),
        other => panic!("not a urlmap: {other:?}"),
    }
}

async fn get(service: &HttpService, uri: &str) -> (u16, String, http::HeaderMap) {
    let req = http::Request::builder()
        .uri(uri)
        .header("host", "nova.example:8774")
        .body(Body::empty())
        .unwrap();
    let resp = service.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), headers)
}

const V21_KEYSTONE: &str = "cors http_proxy_to_wsgi compute_req_id faultwrap request_log sizelimit osprofiler authtoken keystonecontext osapi_compute_app_v21";
const V21_NOAUTH2: &str = "cors http_proxy_to_wsgi compute_req_id faultwrap request_log sizelimit osprofiler noauth2 osapi_compute_app_v21";

#[test]
fn epoxy_osapi_compute_loads_with_nova_urlmap_and_keystone_pipelines() {
    let spec = load(&fixture(EPOXY), "osapi_compute", &registry("keystone")).unwrap();
    assert_eq!(spec.root.section(), "composite:osapi_compute");
    let (flavor, routes) = urlmap_routes(&spec.root);
    assert_eq!(flavor, UrlMapFlavor::Nova);
    let keys: Vec<&str> = routes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["/", "/v2", "/v2.1", "/v2.1/+", "/v2/+"]);
    let route = |key: &str| routes.iter().find(|(k, _)| k == key).unwrap().1;
    assert_eq!(
        pipeline_sections(route("/")),
        prefixed(
            "app:",
            "cors faultwrap request_log http_proxy_to_wsgi oscomputeversionapp"
        )
    );
    assert_eq!(
        pipeline_sections(route("/v2.1")),
        prefixed(
            "app:",
            "cors compute_req_id faultwrap request_log http_proxy_to_wsgi oscomputeversionapp_v2"
        )
    );
    assert_eq!(
        pipeline_sections(route("/v2.1/+")),
        prefixed("app:", V21_KEYSTONE)
    );
    let mut legacy = words(V21_KEYSTONE);
    legacy.insert(legacy.len() - 1, "legacy_v2_compatible".into());
    assert_eq!(
        pipeline_sections(route("/v2/+")),
        prefixed("app:", &legacy.join(" "))
    );
    match route("/v2.1/+") {
        AppNode::Pipeline {
            section, composite, ..
        } => {
            assert_eq!(section, "composite:openstack_compute_api_v21");
            assert_eq!(
                composite.as_deref(),
                Some("nova.api.auth:pipeline_factory_v21")
            );
        }
        other => panic!("{other:?}"),
    }
    // The cors filter's local conf, and the stock file's `here`.
    let AppNode::Pipeline { filters, .. } = route("/") else {
        unreachable!()
    };
    let cors = filters[0].factory_node();
    assert_eq!(cors.factory, "oslo_middleware.cors:filter_factory");
    assert_eq!(
        cors.local_conf,
        BTreeMap::from([("oslo_config_project".to_string(), "nova".to_string())])
    );
    assert_eq!(
        cors.global_conf["here"],
        fixture("").to_str().unwrap().trim_end_matches('/')
    );
}

#[test]
fn epoxy_noauth2_strategy_selects_the_noauth2_pipeline() {
    let spec = load(&fixture(EPOXY), "osapi_compute", &registry("noauth2")).unwrap();
    let (_, routes) = urlmap_routes(&spec.root);
    let v21 = routes.iter().find(|(k, _)| k == "/v2.1/+").unwrap().1;
    assert_eq!(pipeline_sections(v21), prefixed("app:", V21_NOAUTH2));
}

#[test]
fn epoxy_metadata_loads_with_paste_urlmap() {
    let spec = load(&fixture(EPOXY), "metadata", &registry("keystone")).unwrap();
    let (flavor, routes) = urlmap_routes(&spec.root);
    assert_eq!(flavor, UrlMapFlavor::Paste);
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].0, "/");
    assert_eq!(
        pipeline_sections(routes[0].1),
        ["filter:cors", "filter:http_proxy_to_wsgi", "app:metaapp"]
    );
    assert_eq!(
        spec.factories(),
        [
            ("composite", "egg:Paste#urlmap".to_string()),
            ("filter", "oslo_middleware.cors:filter_factory".to_string()),
            (
                "filter",
                "oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory".to_string()
            ),
            (
                "app",
                "nova.api.metadata.handler:MetadataRequestHandler.factory".to_string()
            ),
        ]
    );
}

#[test]
fn havana_file_loads_every_api_for_both_strategies() {
    for strategy in ["noauth2", "keystone"] {
        let registry = registry(strategy);
        for app in ["metadata", "ec2", "osapi_compute"] {
            let spec = load(&fixture(HAVANA), app, &registry);
            assert!(spec.is_ok(), "{app} with {strategy}: {}", spec.unwrap_err());
        }
    }
}

#[test]
fn havana_pipelines_follow_auth_strategy_and_nolimit() {
    let spec = load(&fixture(HAVANA), "ec2", &registry("noauth2")).unwrap();
    let (_, routes) = urlmap_routes(&spec.root);
    assert_eq!(routes[0].0, "/services/Cloud");
    assert_eq!(
        pipeline_sections(routes[0].1),
        prefixed(
            "app:",
            "ec2faultwrap logrequest ec2noauth cloudrequest validator ec2executor"
        )
    );
    let AppNode::Pipeline { filters, .. } = routes[0].1 else {
        unreachable!()
    };
    assert_eq!(
        filters[3].factory_node().local_conf,
        BTreeMap::from([(
            "controller".to_string(),
            "nova.api.ec2.cloud.CloudController".to_string()
        )])
    );

    let spec = load(&fixture(HAVANA), "osapi_compute", &registry("keystone")).unwrap();
    let (_, routes) = urlmap_routes(&spec.root);
    let v2 = routes.iter().find(|(k, _)| k == "/v2").unwrap().1;
    assert_eq!(
        pipeline_sections(v2),
        prefixed(
            "app:",
            "faultwrap sizelimit authtoken keystonecontext osapi_compute_app_v2"
        )
    );
    // The %SERVICE_USER% placeholders are kept literally.
    let AppNode::Pipeline { filters, .. } = v2 else {
        unreachable!()
    };
    let authtoken = filters[2].factory_node();
    assert_eq!(authtoken.local_conf["admin_user"], "%SERVICE_USER%");
    assert_eq!(authtoken.local_conf["auth_version"], "v2.0");

    let mut limited = Registry::with_options(&BuiltinOptions {
        auth_strategy: "keystone".into(),
        api_rate_limit: true,
    });
    nova_middleware::register(&mut limited);
    for name in TEST_APPS {
        limited.register_app(*name, test_app);
    }
    for name in TEST_FILTERS {
        limited.register_filter(*name, test_filter);
    }
    let spec = load(&fixture(HAVANA), "osapi_compute", &limited).unwrap();
    let (_, routes) = urlmap_routes(&spec.root);
    let v3 = routes.iter().find(|(k, _)| k == "/v3").unwrap().1;
    assert_eq!(
        pipeline_sections(v3),
        prefixed(
            "app:",
            "faultwrap sizelimit authtoken keystonecontext ratelimit_v3 osapi_compute_app_v3"
        )
    );
}

#[tokio::test]
async fn epoxy_osapi_compute_routes_like_nova() {
    let registry = registry("keystone");
    let spec = load(&fixture(EPOXY), "osapi_compute", &registry).unwrap();
    let service = spec.build(&registry, &http::Extensions::new()).unwrap();

    let versions_v2 = "app:oscomputeversionapp_v2 / script=/v2.1 trace=faultwrap,request_log";
    for uri in ["/v2.1", "/v2.1/"] {
        let (status, body, headers) = get(&service, uri).await;
        assert_eq!(status, 200);
        assert_eq!(body, versions_v2, "{uri}");
        assert!(headers.contains_key("x-compute-request-id"), "{uri}");
    }
    let (_, body, headers) = get(&service, "/v2.1/servers?limit=1").await;
    assert_eq!(
        body,
        "app:osapi_compute_app_v21 /servers?limit=1 script=/v2.1 trace=faultwrap,request_log,authtoken,keystonecontext"
    );
    assert_eq!(
        headers["x-openstack-request-id"],
        headers["x-compute-request-id"]
    );
    let (_, body, _) = get(&service, "/v2/servers").await;
    assert_eq!(
        body,
        "app:osapi_compute_app_v21 /servers script=/v2 trace=faultwrap,request_log,authtoken,keystonecontext,legacy_v2_compatible"
    );
    let (_, body, _) = get(&service, "/v2").await;
    assert_eq!(
        body,
        "app:oscomputeversionapp_v2 / script=/v2 trace=faultwrap,request_log,legacy_v2_compatible"
    );
    let (_, body, headers) = get(&service, "/").await;
    assert_eq!(
        body,
        "app:oscomputeversionapp / script= trace=faultwrap,request_log"
    );
    assert!(!headers.contains_key("x-compute-request-id"));
    // `//` collapses before matching; an unknown prefix falls to `/`.
    let (_, body, _) = get(&service, "/v2.1//flavors").await;
    assert!(
        body.starts_with("app:osapi_compute_app_v21 /flavors script=/v2.1 "),
        "{body}"
    );
    let (_, body, _) = get(&service, "/v3/servers").await;
    assert!(
        body.starts_with("app:oscomputeversionapp /v3/servers script= "),
        "{body}"
    );
}

#[tokio::test]
async fn nova_urlmap_picks_the_version_from_accept_when_the_path_has_none() {
    let registry = registry("keystone");
    let spec = load(&fixture(EPOXY), "osapi_compute", &registry).unwrap();
    let service = spec.build(&registry, &http::Extensions::new()).unwrap();
    let req = http::Request::builder()
        .uri("/servers")
        .header("accept", "application/json;version=2.1")
        .body(Body::empty())
        .unwrap();
    let resp = service.oneshot(req).await.unwrap();
    let body =
        String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).into_owned();
    assert_eq!(
        body,
        "app:oscomputeversionapp_v2 /servers script=/v2.1 trace=faultwrap,request_log"
    );
}

#[tokio::test]
async fn paste_urlmap_answers_404_outside_its_prefixes() {
    let registry = registry("noauth2");
    let spec = load(&fixture(HAVANA), "ec2", &registry).unwrap();
    let service = spec.build(&registry, &http::Extensions::new()).unwrap();
    let (status, body, headers) = get(&service, "/latest/meta-data").await;
    assert_eq!(status, 404);
    assert_eq!(body, "404 Not Found\n\nThe resource could not be found.\n");
    assert_eq!(headers["content-type"], "text/plain; charset=UTF-8");
    let (status, body, _) = get(&service, "/services/Cloud?Action=DescribeInstances").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "app:ec2executor /?Action=DescribeInstances script=/services/Cloud trace=ec2faultwrap,logrequest,ec2noauth,cloudrequest,validator"
    );
}

// ---- hand-written files -------------------------------------------------

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn small_registry() -> Registry {
    let mut registry = nova_runtime::api::builtin_registry("keystone");
    registry.register_app("t:App.factory", test_app);
    registry.register_filter("t:Filter.factory", test_filter);
    registry
}

fn load_err(path: &Path, app: &str) -> String {
    match nova_paste::load(path, app, &BTreeMap::new(), &small_registry()) {
        Ok(spec) => panic!("loaded: {spec:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_app_names_the_app_and_the_file() {
    let path = fixture(EPOXY);
    let p = path.display();
    assert_eq!(
        load_err(&path, "osapi_volume"),
        format!(
            "Could not load paste app 'osapi_volume' from {p}: No section 'osapi_volume' (prefixed by 'app' or 'application' or 'composite' or 'composit' or 'pipeline' or 'filter-app') found in config {p}"
        )
    );
}

#[test]
fn unknown_factory_names_app_section_factory_and_file() {
    let path = fixture(EPOXY);
    let p = path.display();
    assert_eq!(
        load_err(&path, "metadata"),
        format!(
            "Could not load paste app 'metadata' from {p}: No paste.app_factory named 'nova.api.metadata.handler:MetadataRequestHandler.factory' is known (section [app:metaapp] in {p})"
        )
    );
    let s = Scratch::new();
    let f = s.write("f.ini", "[pipeline:main]\npipeline = nosuch t\n[app:t]\npaste.app_factory = t:App.factory\n[filter:nosuch]\npaste.filter_factory = a.b:C.factory\n");
    let p = f.display();
    assert_eq!(
        load_err(&f, "main"),
        format!("Could not load paste app 'main' from {p}: No paste.filter_factory named 'a.b:C.factory' is known (section [filter:nosuch] in {p})")
    );
}

#[test]
fn missing_file_lists_every_place_searched() {
    let a = Scratch::new();
    let b = Scratch::new();
    let dirs = vec![a.dir.path().to_path_buf(), b.dir.path().to_path_buf()];
    let err = nova_paste::find_paste_config("api-paste.ini", &dirs).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Could not find config at api-paste.ini (searched: {}, {})",
            a.dir.path().join("api-paste.ini").display(),
            b.dir.path().join("api-paste.ini").display()
        )
    );
    let found = b.write(
        "api-paste.ini",
        "[app:x]\npaste.app_factory = t:App.factory\n",
    );
    assert_eq!(
        nova_paste::find_paste_config("api-paste.ini", &dirs).unwrap(),
        found
    );
    assert_eq!(
        nova_paste::find_paste_config(found.to_str().unwrap(), &[]).unwrap(),
        found
    );
    let missing = a.dir.path().join("nope.ini");
    let err = nova_paste::load(&missing, "x", &BTreeMap::new(), &small_registry()).unwrap_err();
    assert!(matches!(err, PasteError::ConfigNotFound { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "Could not find config at {0} (searched: {0})",
            missing.display()
        )
    );
}

#[test]
fn bad_sections_fail_with_pastes_messages() {
    let s = Scratch::new();
    let cases: &[(&str, &str, &str)] = &[
        (
            "extra.ini",
            "[pipeline:main]\npipeline = t\nuse = x\nfoo = bar\n[app:t]\npaste.app_factory = t:App.factory\n",
            "The [pipeline:main] pipeline section in {p} has extra (disallowed) settings: foo, use",
        ),
        (
            "ambiguous.ini",
            "[app:main]\npaste.app_factory = t:App.factory\n[pipeline: main ]\npipeline = t\n",
            "Ambiguous section names ['app:main', 'pipeline: main '] for section 'main' (prefixed by 'app' or 'application' or 'composite' or 'composit' or 'pipeline' or 'filter-app') found in config {p}",
        ),
        ("noloader.ini", "[app:main]\nfoo = bar\n", "No loader given in section 'app:main' in {p}"),
        (
            "multiple.ini",
            "[app:main]\npaste.app_factory = t:App.factory\npaste.composite_factory = x:y\n",
            "Multiple protocols given in section 'app:main' in {p}: 'paste.app_factory', 'paste.composite_factory'",
        ),
        ("nopipeline.ini", "[pipeline:main]\n", "The [pipeline:main] section in {p} is missing a 'pipeline' setting"),
        (
            "nonext.ini",
            "[filter-app:main]\npaste.filter_factory = t:Filter.factory\n",
            "The [filter-app:main] section in {p} is missing a 'next' setting",
        ),
        ("loop.ini", "[app:main]\nuse = main\n", "Too deeply nested while loading 'main' from {p} (a loop of use, pipelines or composites?)"),
        (
            "strategy.ini",
            "[composite:main]\nuse = call:nova.api.auth:pipeline_factory_v21\nnoauth2 = t\n[app:t]\npaste.app_factory = t:App.factory\n",
            "Composite factory 'nova.api.auth:pipeline_factory_v21' of section [composite:main] in {p} failed: no pipeline for auth_strategy 'keystone': the section has no 'keystone' key",
        ),
        (
            "interp.ini",
            "[app:main]\npaste.app_factory = t:App.factory\nx = %(nope)s\n",
            "Error in file {p} at line 3: option 'x' of section [app:main]: interpolation key \"nope\" is not a valid option name",
        ),
        ("scheme.ini", "[pipeline:main]\npipeline = zip:foo\n", "URI scheme not known: 'zip' in 'zip:foo' (from config, egg, call)"),
        (
            "egg.ini",
            "[app:main]\nuse = egg:Nope#thing\n",
            "No paste.app_factory or paste.composite_factory named 'egg:Nope#thing' is known (section [app:main] in {p})",
        ),
        (
            "get.ini",
            "[app:main]\npaste.app_factory = t:App.factory\nget x = missing\n",
            "Section [app:main] in {p}: 'get x' names the global option 'missing', which is not set",
        ),
        (
            "wrongkind.ini",
            "[pipeline:main]\npipeline = t t\n[app:t]\npaste.app_factory = t:App.factory\n",
            "No section 't' (prefixed by 'filter') found in config {p}",
        ),
        (
            "badkey.ini",
            "[composite:main]\nuse = egg:Paste#urlmap\nv2 = t\n[app:t]\npaste.app_factory = t:App.factory\n",
            "Composite factory 'egg:Paste#urlmap' of section [composite:main] in {p} failed: URL fragments must start with / or http:// (you gave 'v2')",
        ),
    ];
    for (name, text, reason) in cases {
        let path = s.write(name, text);
        let p = path.display().to_string();
        let expected = format!(
            "Could not load paste app 'main' from {p}: {}",
            reason.replace("{p}", &p)
        );
        assert_eq!(load_err(&path, "main"), expected, "{name}");
    }
}

#[test]
fn syntax_errors_name_file_and_line() {
    let s = Scratch::new();
    let path = s.write(
        "syntax.ini",
        "[app:main]\npaste.app_factory = t:App.factory\nthis is not an option\n",
    );
    assert_eq!(
        load_err(&path, "main"),
        format!(
            "Error in file {} at line 3: not an option, a section header or a continuation: \"this is not an option\"",
            path.display()
        )
    );
}

#[test]
fn defaults_set_get_and_use_merge_like_paste() {
    let s = Scratch::new();
    let path = s.write(
        "merge.ini",
        "[DEFAULT]\nshared = from-default\nroot = %(here)s/root\n\n\
         [app:main]\nuse = base\nset shared = from-set\nget copied = root\nshared = dropped-because-default\nextra = %(root)s/x\n\n\
         [app:base]\npaste.app_factory = t:App.factory\nbasekey = 1\nextra = overridden\n",
    );
    let overrides = BTreeMap::from([("max_request_body_size".to_string(), "5".to_string())]);
    let spec = nova_paste::load(&path, "main", &overrides, &small_registry()).unwrap();
    let AppNode::App(node) = &spec.root else {
        panic!("{:?}", spec.root)
    };
    let here = s.dir.path().display().to_string();
    assert_eq!(node.section, "app:base");
    assert_eq!(node.factory, "t:App.factory");
    assert_eq!(
        node.local_conf,
        BTreeMap::from([
            ("basekey".to_string(), "1".to_string()),
            ("copied".to_string(), format!("{here}/root")),
            ("extra".to_string(), format!("{here}/root/x")),
        ])
    );
    assert_eq!(node.global_conf["shared"], "from-set");
    assert_eq!(node.global_conf["max_request_body_size"], "5");
    assert_eq!(node.global_conf["here"], here);
    assert_eq!(node.global_conf["__file__"], path.display().to_string());
}

#[test]
fn config_uri_loads_relative_to_here_and_filter_with_and_filter_app_wrap() {
    let s = Scratch::new();
    std::fs::create_dir(s.dir.path().join("sub")).unwrap();
    s.write(
        "sub/other.ini",
        "[app:inner]\npaste.app_factory = t:App.factory\nfrom = other\n",
    );
    let path = s.write(
        "main.ini",
        "[filter-app:main]\nuse = fw\nnext = wrapped\n\n\
         [app:wrapped]\nuse = config:sub/other.ini#inner\nfilter-with = outer\n\n\
         [filter:fw]\npaste.filter_factory = t:Filter.factory\n\n\
         [filter:outer]\npaste.filter_factory = t:Filter.factory\nfilter-with = fw\n",
    );
    let spec = nova_paste::load(&path, "main", &BTreeMap::new(), &small_registry()).unwrap();
    let AppNode::Filtered { filter, app } = &spec.root else {
        panic!("{:?}", spec.root)
    };
    assert_eq!(filter.factory_node().section, "filter:fw");
    let AppNode::Filtered {
        filter: outer,
        app: inner,
    } = app.as_ref()
    else {
        panic!("{app:?}")
    };
    let FilterNode::Composed {
        outer: fw,
        inner: outer_inner,
    } = outer
    else {
        panic!("{outer:?}")
    };
    assert_eq!(fw.factory_node().section, "filter:fw");
    assert_eq!(outer_inner.factory_node().section, "filter:outer");
    let AppNode::App(node) = inner.as_ref() else {
        panic!("{inner:?}")
    };
    assert_eq!(node.section, "app:inner");
    assert_eq!(node.file, s.dir.path().join("sub/other.ini"));
    assert_eq!(node.local_conf["from"], "other");
    // `use` keeps the using file's `__file__`.
    assert_eq!(node.global_conf["__file__"], path.display().to_string());
}

#[tokio::test]
async fn builtin_filters_instantiate_from_a_file() {
    let s = Scratch::new();
    let path = s.write(
        "builtin.ini",
        "[pipeline:main]\npipeline = reqid sizelimit healthcheck profiler t\n\
         [filter:reqid]\npaste.filter_factory = oslo_middleware:RequestId.factory\n\
         [filter:sizelimit]\npaste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory\nmax_request_body_size = 4\n\
         [filter:healthcheck]\npaste.filter_factory = oslo_middleware:Healthcheck.factory\n\
         [filter:profiler]\npaste.filter_factory = nova.profiler:WsgiMiddleware.factory\n\
         [app:t]\npaste.app_factory = t:App.factory\n",
    );
    let registry = small_registry();
    let spec = nova_paste::load(&path, "main", &BTreeMap::new(), &registry).unwrap();
    let service = spec.build(&registry, &http::Extensions::new()).unwrap();
    let (status, body, headers) = get(&service, "/healthcheck").await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert!(headers["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req-"));
    let req = http::Request::builder()
        .uri("/x")
        .header("content-length", "5")
        .body(Body::from("12345"))
        .unwrap();
    assert_eq!(service.clone().oneshot(req).await.unwrap().status(), 413);
    let (status, body, _) = get(&service, "/x").await;
    assert_eq!((status, body.as_str()), (200, "app:t /x script= trace="));
}

#[test]
fn a_failing_factory_fails_build_with_its_section() {
    let s = Scratch::new();
    let path = s.write(
        "cors.ini",
        "[pipeline:main]\npipeline = cors t\n[filter:cors]\npaste.filter_factory = oslo_middleware.cors:filter_factory\n[app:t]\npaste.app_factory = t:App.factory\n",
    );
    let registry = small_registry();
    let spec = nova_paste::load(&path, "main", &BTreeMap::new(), &registry).unwrap();
    let err = spec
        .build(&registry, &http::Extensions::new())
        .err()
        .unwrap();
    assert_eq!(
        format!("{err:#}"),
        format!(
            "building paste app 'main' from {0}: filter factory 'oslo_middleware.cors:filter_factory' of section [filter:cors] in {0}: allowed_origin or oslo_config_project is required",
            path.display()
        )
    );
}

// ---- robustness ---------------------------------------------------------

/// Text shaped like an INI file (headers, options, continuations,
/// comments, junk), so that random input reaches deep into the parser,
/// interpolation and loader.
fn random_ini(rng: &mut impl Rng) -> String {
    const WORDS: &[&str] = &[
        "main",
        "t",
        "x",
        "use",
        "pipeline",
        "next",
        "paste.app_factory",
        "paste.filter_factory",
        "paste.composite_factory",
        "t:App.factory",
        "t:Filter.factory",
        "egg:Paste#urlmap",
        "config:fuzz.ini#x",
        "call:nova.api.auth:pipeline_factory_v21",
        "set x",
        "get y",
        "filter-with",
        "keystone",
        "/",
        "/v2.1/+",
        "domain a port 1 /",
        "%(here)s",
        "%(x)s",
        "%%",
        "%",
        "%(",
        "\u{e9}",
        "=",
        ":",
    ];
    const PREFIXES: &[&str] = &[
        "app:",
        "pipeline:",
        "composite:",
        "filter:",
        "filter-app:",
        "DEFAULT",
        "application:",
        "",
    ];
    let word = |rng: &mut dyn rand::RngCore| -> String {
        if rng.gen_bool(0.1) {
            let bytes: Vec<u8> = (0..rng.gen_range(1..6)).map(|_| rng.gen()).collect();
            String::from_utf8_lossy(&bytes).replace(['\n', '\r'], "")
        } else {
            WORDS[rng.gen_range(0..WORDS.len())].to_string()
        }
    };
    let mut out = String::new();
    for _ in 0..rng.gen_range(0..14) {
        match rng.gen_range(0..10) {
            0..=2 => {
                let prefix = PREFIXES[rng.gen_range(0..PREFIXES.len())];
                let name = if prefix == "DEFAULT" {
                    String::new()
                } else {
                    word(rng)
                };
                out.push_str(&format!("[{prefix}{name}]"));
            }
            3..=6 => {
                let sep = if rng.gen_bool(0.7) { " = " } else { ": " };
                out.push_str(&format!("{}{sep}{} {}", word(rng), word(rng), word(rng)));
            }
            7 => out.push_str(&format!("    {}", word(rng))),
            8 => out.push_str(if rng.gen_bool(0.5) { "# comment" } else { "" }),
            _ => out.push_str(&word(rng)),
        }
        out.push_str(if rng.gen_bool(0.9) { "\n" } else { "\r\n" });
    }
    out
}

#[test]
fn parse_str_and_load_never_panic_on_random_input() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_2013_2025);
    let scratch = Scratch::new();
    let registry = small_registry();
    let mut parsed = 0;
    for i in 0..3000 {
        let text = if i % 3 == 0 {
            let bytes: Vec<u8> = (0..rng.gen_range(0..400)).map(|_| rng.gen()).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            random_ini(&mut rng)
        };
        if let Ok(ini) = nova_paste::parse_str(&text) {
            parsed += 1;
            let literals = BTreeMap::from([("here".to_string(), "/x".to_string())]);
            let _ = ini.interpolated_defaults(&literals);
            for section in &ini.sections {
                for entry in &section.entries {
                    let _ = ini.get(Some(&section.name), &entry.key, &literals);
                }
            }
            if i % 10 == 1 {
                let path = scratch.write("fuzz.ini", &text);
                let _ = nova_paste::load(&path, "main", &BTreeMap::new(), &registry);
            }
        }
    }
    // The generator must reach past the syntax checks often enough to be useful.
    assert!(parsed > 300, "only {parsed} inputs parsed");
}
