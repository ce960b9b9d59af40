//! The auth stages through the real pipeline, in process: signatures made
//! as botocore and boto 2 make them are accepted; a wrong secret, an expired
//! time or a tampered parameter is refused with AWS's code and status.

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use ec2_api::auth::StaticCredentials;
use ec2_api::{pipeline, AuthMode, Ec2Options, Ec2State};
use hmac::{Hmac, Mac};
use http_body_util::BodyExt;
use nova_paste::http::{Body, HttpService, Request, ScriptName};

use crate::fixture::{self, alice, code, send, FORM};

fn at(s: &str) -> DateTime<Utc> {
    Utc.from_utc_datetime(&chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").unwrap())
}

async fn app(mode: AuthMode, now: DateTime<Utc>) -> HttpService {
    fixture::TestApp::build(mode, Some(now), Some(Arc::new(alice())))
        .await
        .app
}

/// A POST signed by botocore 1.44 (SigV4Auth, service ec2, region RegionOne)
/// for alice:proj1 / s3cr3t at 20261124T163811Z.
fn botocore_post(body: &str, signature: &str) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "127.0.0.1:8773")
        .header("content-type", FORM)
        .header("x-amz-date", "20261124T163811Z")
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=alice:proj1/20261124/RegionOne/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={signature}"),
        )
        .body(Body::from(body.to_string()))
        .unwrap()
}

const BOTOCORE_BODY: &str = "Action=DescribeRegions&Version=2016-11-15&RegionName.1=nova";
const BOTOCORE_SIG: &str = "ff06a39d0112b5bd1db27811789841cc2b24fe9498a76b7f6807e3c71c282f55";

#[tokio::test]
async fn sigv4_header_from_botocore_is_accepted() {
    let (status, body) = send(
        &app(AuthMode::Signature, at("20261124T164000Z")).await,
        botocore_post(BOTOCORE_BODY, BOTOCORE_SIG),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<regionName>nova</regionName>"), "{body}");
}

#[tokio::test]
async fn sigv4_header_with_tampered_parameter_is_refused() {
    let tampered = "Action=DescribeRegions&Version=2016-11-15&RegionName.1=other";
    let (status, body) = send(
        &app(AuthMode::Signature, at("20261124T164000Z")).await,
        botocore_post(tampered, BOTOCORE_SIG),
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("SignatureDoesNotMatch")));
}

#[tokio::test]
async fn sigv4_header_with_wrong_signature_is_refused() {
    let wrong = BOTOCORE_SIG.replace('f', "e");
    let (status, body) = send(
        &app(AuthMode::Signature, at("20261124T164000Z")).await,
        botocore_post(BOTOCORE_BODY, &wrong),
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("SignatureDoesNotMatch")));
}

#[tokio::test]
async fn sigv4_header_outside_the_clock_window_is_expired() {
    for now in ["20261124T164400Z", "20261124T163200Z"] {
        let (status, body) = send(
            &app(AuthMode::Signature, at(now)).await,
            botocore_post(BOTOCORE_BODY, BOTOCORE_SIG),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (400, Some("RequestExpired")),
            "{now}"
        );
    }
}

#[tokio::test]
async fn unknown_access_key_is_auth_failure() {
    let req = botocore_post(BOTOCORE_BODY, BOTOCORE_SIG);
    let (mut parts, body) = req.into_parts();
    parts.headers.insert(
        "authorization",
        format!("AWS4-HMAC-SHA256 Credential=mallory/20261124/RegionOne/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={BOTOCORE_SIG}")
            .parse()
            .unwrap(),
    );
    let (status, body) = send(
        &app(AuthMode::Signature, at("20261124T164000Z")).await,
        Request::from_parts(parts, body),
    )
    .await;
    assert_eq!((status, code(&body)), (401, Some("AuthFailure")));
}

#[tokio::test]
async fn unsigned_request_is_auth_failure_in_signature_mode() {
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", FORM)
        .body(Body::from(
            "Action=DescribeRegions&Version=2016-11-15&AWSAccessKeyId=alice:proj1",
        ))
        .unwrap();
    let (status, body) = send(&app(AuthMode::Signature, at("20261124T164000Z")).await, req).await;
    assert_eq!((status, code(&body)), (401, Some("AuthFailure")));
}

/// A URL presigned by botocore 1.44 (SigV4QueryAuth, 300 s) for the urlmap
/// prefix `/services/Cloud`, which the app sees as its ScriptName.
fn botocore_presigned(signature: &str, action: &str) -> Request {
    let uri = format!("/?Action={action}&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=alice%3Aproj1%2F20261124%2FRegionOne%2Fec2%2Faws4_request&X-Amz-Date=20261124T163811Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}");
    let mut req = http::Request::builder()
        .method("GET")
        .uri(uri)
        .header("host", "127.0.0.1:8773")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ScriptName("/services/Cloud".into()));
    req
}

const PRESIGNED_SIG: &str = "f28663a78dd9899da3c4a643b4c2ffa99573f01014a9bca2ce47694913e5363d";

#[tokio::test]
async fn sigv4_presigned_url_from_botocore_is_accepted_until_it_expires() {
    let (status, body) = send(
        &app(AuthMode::Signature, at("20261124T164000Z")).await,
        botocore_presigned(PRESIGNED_SIG, "DescribeRegions"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        &app(AuthMode::Signature, at("20261124T164400Z")).await,
        botocore_presigned(PRESIGNED_SIG, "DescribeRegions"),
    )
    .await;
    assert_eq!((status, code(&body)), (400, Some("RequestExpired")));
}

#[tokio::test]
async fn sigv4_presigned_url_with_tampered_action_is_refused() {
    let (status, body) = send(
        &app(AuthMode::Signature, at("20261124T164000Z")).await,
        botocore_presigned(PRESIGNED_SIG, "DescribeAccountAttributes"),
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("SignatureDoesNotMatch")));
}

/// Signs `params` with SigV2 the way boto 2 does: the string to sign is
/// built here by hand from AWS's description, independently of the server.
fn sigv2_request(params: &[(&str, &str)], secret: &str, method: &str) -> Request {
    let mut sorted: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    sorted.sort();
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let canonical = sorted
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("POST\n127.0.0.1:8773\n/\n{canonical}");
    let sig = match method {
        "HmacSHA1" => {
            let mut m = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
            m.update(to_sign.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            m.update(to_sign.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
    };
    let sig = base64::engine::general_purpose::STANDARD.encode(sig);
    let body = format!("{canonical}&Signature={}", enc(&sig));
    http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "127.0.0.1:8773")
        .header("content-type", FORM)
        .body(Body::from(body))
        .unwrap()
}

fn v2_params<'a>(method: &'a str, timestamp: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Action", "DescribeRegions"),
        ("Version", "2016-11-15"),
        ("AWSAccessKeyId", "alice:proj1"),
        ("SignatureVersion", "2"),
        ("SignatureMethod", method),
        ("Timestamp", timestamp),
        ("RegionName.1", "nova"),
    ]
}

#[tokio::test]
async fn sigv2_hmac_sha256_and_sha1_are_accepted() {
    let app = app(AuthMode::Signature, at("20261124T120100Z")).await;
    for method in ["HmacSHA256", "HmacSHA1"] {
        let (status, body) = send(
            &app,
            sigv2_request(&v2_params(method, "2026-11-24T12:00:00Z"), "s3cr3t", method),
        )
        .await;
        assert_eq!(status, 200, "{method}: {body}");
    }
}

#[tokio::test]
async fn sigv2_with_wrong_secret_is_refused() {
    let app = app(AuthMode::Signature, at("20261124T120100Z")).await;
    let (status, body) = send(
        &app,
        sigv2_request(
            &v2_params("HmacSHA256", "2026-11-24T12:00:00Z"),
            "guess",
            "HmacSHA256",
        ),
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("SignatureDoesNotMatch")));
}

#[tokio::test]
async fn sigv2_with_expired_timestamp_is_refused() {
    let app = app(AuthMode::Signature, at("20261124T121000Z")).await;
    let (status, body) = send(
        &app,
        sigv2_request(
            &v2_params("HmacSHA256", "2026-11-24T12:00:00Z"),
            "s3cr3t",
            "HmacSHA256",
        ),
    )
    .await;
    assert_eq!((status, code(&body)), (400, Some("RequestExpired")));
}

#[tokio::test]
async fn sigv2_with_tampered_parameter_is_refused() {
    let app = app(AuthMode::Signature, at("20261124T120100Z")).await;
    let req = sigv2_request(
        &v2_params("HmacSHA256", "2026-11-24T12:00:00Z"),
        "s3cr3t",
        "HmacSHA256",
    );
    let (parts, body) = req.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let tampered = String::from_utf8(bytes.to_vec())
        .unwrap()
        .replace("RegionName.1=nova", "RegionName.1=nowhere");
    let (status, body) = send(&app, Request::from_parts(parts, Body::from(tampered))).await;
    assert_eq!((status, code(&body)), (403, Some("SignatureDoesNotMatch")));
}

#[tokio::test]
async fn noauth_accepts_any_signature_and_names_the_caller() {
    let app = app(AuthMode::NoAuth, Utc::now()).await;
    let (status, body) = send(&app, botocore_post(BOTOCORE_BODY, "not-a-signature")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn missing_and_unknown_actions_get_aws_codes() {
    let app = app(AuthMode::NoAuth, Utc::now()).await;
    let post = |body: &str| {
        http::Request::builder()
            .method("POST")
            .uri("/")
            .header("content-type", FORM)
            .body(Body::from(format!("AWSAccessKeyId=admin&{body}")))
            .unwrap()
    };
    let (s, b) = send(&app, post("Version=2016-11-15")).await;
    assert_eq!((s, code(&b)), (400, Some("MissingParameter")));
    let (s, b) = send(&app, post("Action=FlyToTheMoon&Version=2016-11-15")).await;
    assert_eq!((s, code(&b)), (400, Some("InvalidAction")));
    let (s, b) = send(&app, post("Action=DescribeRegions")).await;
    assert_eq!((s, code(&b)), (400, Some("MissingParameter")));
    let (s, b) = send(
        &app,
        post("Action=DescribeRegions&Version=2016-11-15&Name=%ff"),
    )
    .await;
    assert_eq!((s, code(&b)), (400, Some("InvalidParameterValue")));
    let (s, b) = send(
        &app,
        post("Action=DescribeRegions&Version=2016-11-15&DryRun=true"),
    )
    .await;
    assert_eq!((s, code(&b)), (412, Some("DryRunOperation")));
}

#[tokio::test]
async fn get_query_string_works_like_a_form_post() {
    let app = app(AuthMode::NoAuth, Utc::now()).await;
    let req = http::Request::builder()
        .method("GET")
        .uri("/?Action=DescribeRegions&Version=2014-01-01&AWSAccessKeyId=admin")
        .header("host", "ec2.example:8773")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&app, req).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("xmlns=\"http://ec2.amazonaws.com/doc/2014-01-01/\""),
        "{body}"
    );
    assert!(
        body.contains("<regionEndpoint>http://ec2.example:8773/</regionEndpoint>"),
        "{body}"
    );
}

#[tokio::test]
async fn oversized_body_is_refused_before_parsing() {
    let app = app(AuthMode::NoAuth, Utc::now()).await;
    let big = format!(
        "Action=DescribeRegions&Version=2016-11-15&AWSAccessKeyId=admin&Pad={}",
        "x".repeat(200_000)
    );
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", FORM)
        .body(Body::from(big))
        .unwrap();
    let (status, body) = send(&app, req).await;
    assert_eq!((status, code(&body)), (413, Some("RequestEntityTooLarge")));
}

#[tokio::test]
async fn a_panic_below_the_fault_wrapper_is_a_bare_internal_error() {
    let panicking: HttpService =
        nova_paste::http::boxed(tower::service_fn(|_req: Request| async move {
            if true {
                panic!("secret detail");
            }
            Ok::<_, std::convert::Infallible>(nova_paste::http::Response::new(Body::empty()))
        }));
    let app = pipeline::fault_wrapper(panicking);
    let (status, body) = send(&app, http::Request::new(Body::empty())).await;
    assert_eq!((status, code(&body)), (500, Some("InternalError")));
    assert!(!body.contains("secret"));
}

#[tokio::test]
async fn lockout_refuses_a_key_after_repeated_failures() {
    let creds = StaticCredentials::new([]);
    let options = Ec2Options {
        auth_mode: AuthMode::Signature,
        lockout_attempts: 2,
        ..Ec2Options::default()
    };
    let state = Arc::new(Ec2State::with_parts(
        fixture::compute().await,
        options,
        Arc::new(creds),
    ));
    let app = pipeline::lockout(
        state.clone(),
        pipeline::signature_auth(state.clone(), pipeline::executor(state)),
    );
    let req = || botocore_post(BOTOCORE_BODY, BOTOCORE_SIG);
    assert_eq!(code(&send(&app, req()).await.1), Some("AuthFailure"));
    assert_eq!(code(&send(&app, req()).await.1), Some("AuthFailure"));
    let (status, body) = send(&app, req()).await;
    assert_eq!(status, 403);
    assert!(body.contains("Too many failed authentications."), "{body}");
}

#[tokio::test]
async fn credentials_in_the_compute_store_authenticate() {
    let now = at("20261124T120100Z");
    let app = fixture::TestApp::build(AuthMode::Signature, Some(now), None).await;
    let ctx = compute::RequestContext::new("bob", "projb");
    let cred = app
        .compute
        .create_ec2_credential(&ctx, None, None)
        .await
        .unwrap();
    let mut params = v2_params("HmacSHA256", "2026-11-24T12:00:00Z");
    params.retain(|(k, _)| *k != "AWSAccessKeyId");
    params.push(("AWSAccessKeyId", &cred.access));
    let (status, body) = app
        .send(sigv2_request(&params, &cred.secret, "HmacSHA256"))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .send(sigv2_request(&params, "not-the-secret", "HmacSHA256"))
        .await;
    assert_eq!((status, code(&body)), (403, Some("SignatureDoesNotMatch")));
}

/// Signs a form POST with SigV4 for alice:proj1 / s3cr3t at
/// 20261124T163811Z, built here by hand from AWS's description of the
/// algorithm (independently of the server's code), for any scope and any
/// list of signed headers.
fn sigv4_post(body: &str, region: &str, service: &str, signed: &[&str]) -> Request {
    use sha2::{Digest, Sha256};
    let hmac = |key: &[u8], data: &str| {
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    let values = [
        ("content-type", FORM),
        ("host", "127.0.0.1:8773"),
        ("x-amz-date", "20261124T163811Z"),
    ];
    let canonical_headers: String = signed
        .iter()
        .map(|h| {
            let v = values.iter().find(|(n, _)| n == h).unwrap().1;
            format!("{h}:{v}\n")
        })
        .collect();
    let signed_headers = signed.join(";");
    let canonical = format!(
        "POST\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
        hex::encode(Sha256::digest(body.as_bytes()))
    );
    let scope = format!("20261124/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n20261124T163811Z\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = b"AWS4s3cr3t".to_vec();
    for part in scope.split('/') {
        key = hmac(&key, part);
    }
    let signature = hex::encode(hmac(&key, &to_sign));
    let mut req = http::Request::builder().method("POST").uri("/");
    for (name, value) in values {
        req = req.header(name, value);
    }
    req.header(
        "authorization",
        format!("AWS4-HMAC-SHA256 Credential=alice:proj1/{scope}, SignedHeaders={signed_headers}, Signature={signature}"),
    )
    .body(Body::from(body.to_string()))
    .unwrap()
}

const BOTOCORE_HEADERS: &[&str] = &["content-type", "host", "x-amz-date"];

#[test]
fn the_test_signer_agrees_with_botocore() {
    let req = sigv4_post(BOTOCORE_BODY, "RegionOne", "ec2", BOTOCORE_HEADERS);
    let auth = req.headers()["authorization"].to_str().unwrap();
    assert!(
        auth.ends_with(&format!("Signature={BOTOCORE_SIG}")),
        "{auth}"
    );
}

/// Adds `X-Amz-Content-SHA256` naming the hash of `body` (unsigned, as an
/// attacker can add it).
fn claim_content_sha256_of(req: &mut Request, body: &str) {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    req.headers_mut()
        .insert("x-amz-content-sha256", hash.parse().unwrap());
}

/// The replay of issue 17: a captured signed request whose body is swapped
/// for another action, with `X-Amz-Content-SHA256` naming the original
/// body's hash. The signature covers the body received, so it is refused
/// and the swapped action does not run.
#[tokio::test]
async fn sigv4_body_swapped_under_a_content_sha256_header_is_refused() {
    let mut req = botocore_post("Action=DescribeKeyPairs&Version=2016-11-15", BOTOCORE_SIG);
    claim_content_sha256_of(&mut req, BOTOCORE_BODY);
    let (status, body) = send(&app(AuthMode::Signature, at("20261124T164000Z")).await, req).await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("XAmzContentSHA256Mismatch")),
        "{body}"
    );
    assert!(!body.contains("keySet"), "{body}");
}

#[tokio::test]
async fn sigv4_content_sha256_header_equal_to_the_body_hash_is_accepted() {
    let mut req = botocore_post(BOTOCORE_BODY, BOTOCORE_SIG);
    claim_content_sha256_of(&mut req, BOTOCORE_BODY);
    let (status, body) = send(&app(AuthMode::Signature, at("20261124T164000Z")).await, req).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn sigv4_unsigned_payload_is_refused_on_the_query_api() {
    let mut req = botocore_post(BOTOCORE_BODY, BOTOCORE_SIG);
    req.headers_mut()
        .insert("x-amz-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
    let (status, body) = send(&app(AuthMode::Signature, at("20261124T164000Z")).await, req).await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("XAmzContentSHA256Mismatch"))
    );
}

#[tokio::test]
async fn sigv4_scoped_to_another_service_is_refused() {
    let req = sigv4_post(BOTOCORE_BODY, "RegionOne", "s3", BOTOCORE_HEADERS);
    let (status, body) = send(&app(AuthMode::Signature, at("20261124T164000Z")).await, req).await;
    assert_eq!((status, code(&body)), (403, Some("SignatureDoesNotMatch")));
    assert!(
        body.contains("Credential should be scoped to correct service: &apos;ec2&apos;."),
        "{body}"
    );
}

#[tokio::test]
async fn sigv4_scoped_to_a_region_that_is_not_ours_is_refused() {
    let app = app(AuthMode::Signature, at("20261124T164000Z")).await;
    let req = sigv4_post(BOTOCORE_BODY, "us-west-2", "ec2", BOTOCORE_HEADERS);
    let (status, body) = send(&app, req).await;
    assert_eq!((status, code(&body)), (403, Some("SignatureDoesNotMatch")));
    assert!(
        body.contains("Credential should be scoped to a valid region, not &apos;us-west-2&apos;."),
        "{body}"
    );
    // `region_name` ("nova" by default) is ours as well as RegionOne.
    let req = sigv4_post(BOTOCORE_BODY, "nova", "ec2", BOTOCORE_HEADERS);
    let (status, body) = send(&app, req).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn sigv4_without_host_in_signed_headers_is_refused() {
    let req = sigv4_post(
        BOTOCORE_BODY,
        "RegionOne",
        "ec2",
        &["content-type", "x-amz-date"],
    );
    let (status, body) = send(&app(AuthMode::Signature, at("20261124T164000Z")).await, req).await;
    assert_eq!((status, code(&body)), (400, Some("IncompleteSignature")));
    assert!(
        body.contains(
            "&apos;Host&apos; must be a &apos;SignedHeader&apos; in the AWS Authorization."
        ),
        "{body}"
    );
}

/// A presigned URL is signed with UNSIGNED-PAYLOAD: a form body added to
/// it (parameters that would run unsigned) is refused.
#[tokio::test]
async fn sigv4_presigned_url_with_a_body_is_refused() {
    let req = botocore_presigned(PRESIGNED_SIG, "DescribeRegions");
    let (mut parts, _) = req.into_parts();
    parts.headers.insert("content-type", FORM.parse().unwrap());
    let req = Request::from_parts(parts, Body::from("RegionName.1=elsewhere"));
    let (status, body) = send(&app(AuthMode::Signature, at("20261124T164000Z")).await, req).await;
    assert_eq!(
        (status, code(&body)),
        (400, Some("IncompleteSignature")),
        "{body}"
    );
}
