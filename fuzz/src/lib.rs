//! The bodies of the fuzz targets, as plain functions: the cargo-fuzz
//! binaries (`fuzz_targets/*.rs`, nightly, libFuzzer) and the stable smoke
//! test (`cargo test --lib`: seed corpus plus deterministic mutations) call
//! the same code, so the smoke proves what the fuzzer runs.
//!
//! Every body must return normally whatever the bytes: a panic is a finding.
//! Where the code under test has an invariant cheap to check (an error
//! message on one line, a route that is stable under re-normalisation), the
//! body asserts it as well.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use http::{HeaderMap, HeaderName, HeaderValue};

/// A target body: takes any bytes, panics only on a finding.
pub type Body = fn(&[u8]);

/// The targets by name, as `fuzz_targets/<name>.rs` and `corpus/<name>/`.
pub const TARGETS: &[(&str, Body)] = &[
    ("paste_ini", paste_ini),
    ("nova_conf", nova_conf),
    ("ec2_query", ec2_query),
    ("ec2_signature", ec2_signature),
    ("compute_body", compute_body),
    ("compute_query", compute_query),
    ("metadata_path", metadata_path),
];

/// A scratch directory per process for the loaders that read files.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("nova-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    })
}

fn write_scratch(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    let mut f = std::fs::File::create(&path).expect("scratch file");
    f.write_all(data).expect("write scratch file");
    path
}

/// Splits at the first NUL: (before, after or empty).
fn split_nul(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// api-paste.ini: the INI parser with paste's interpolation, then the full
/// loader (sections, `use`, pipelines, composites, `config:` references
/// relative to the file) for each API's app against the real factory
/// registries. Errors are fine; they must fit on one line per cause.
pub fn paste_ini(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(ini) = nova_paste::parse_str(&text) {
        let mut literals = BTreeMap::new();
        literals.insert("here".to_string(), "/srv".to_string());
        literals.insert("__file__".to_string(), "/srv/api-paste.ini".to_string());
        let _ = ini.interpolated_defaults(&literals);
        let names: Vec<String> = ini.section_names().map(str::to_string).collect();
        for name in &names {
            if let Some(section) = ini.section(name) {
                for entry in &section.entries {
                    let _ = ini.get(Some(name), &entry.key, &literals);
                }
            }
        }
    }
    static REGISTRY: OnceLock<nova_paste::Registry> = OnceLock::new();
    let registry = REGISTRY.get_or_init(|| {
        let mut r = nova_runtime::api::builtin_registry("noauth2");
        osapi_compute::factories::register_factories(&mut r);
        ec2_api::register_factories(&mut r);
        metadata_api::factories::register_factories(&mut r);
        r
    });
    let path = write_scratch("api-paste.ini", data);
    let overrides = BTreeMap::new();
    for app in ["osapi_compute", "ec2", "metadata"] {
        if let Err(e) = nova_paste::load(&path, app, &overrides, registry) {
            let _ = e.to_string();
        }
    }
}

/// nova.conf: the INI reader, then the typed load (every option of the
/// catalogue parsed and range-checked) and the typed getters. A bad value is
/// an error of one line naming file, section, option and value.
pub fn nova_conf(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = nova_conf::parse_ini(&text, Path::new("fuzz.conf"));
    let path = write_scratch("nova.conf", data);
    let sources = nova_conf::ConfigSources {
        files: vec![path],
        ..Default::default()
    };
    match nova_conf::NovaConf::load(&sources, &nova_conf::Schema::default()) {
        Ok((conf, _warnings)) => {
            for api in ["osapi_compute", "ec2", "metadata"] {
                let _ = conf.api_listener(api);
            }
            let _ = conf.get_bool("DEFAULT", "debug", false);
            let _ = conf.get_int("wsgi", "default_pool_size", 1000, Some(0), None);
            let _ = conf.get_float("DEFAULT", "report_interval", 10.0, Some(0.0), None);
            let _ = conf.get_list("DEFAULT", "enabled_apis", &["osapi_compute"]);
            let _ = conf.get_port("DEFAULT", "osapi_compute_listen_port", 8774);
            let _ = conf.diff(&conf);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                !message.contains('\n'),
                "multi-line config error: {message}"
            );
        }
    }
}

/// The EC2 Query parser: the bytes before a NUL are the URL's query string,
/// the rest a form body; every typed view of the parameters is exercised
/// (`ec2_api::query::fuzz_one`), then the validation of the action.
pub fn ec2_query(data: &[u8]) {
    ec2_api::query::fuzz_one(data);
}

const SECRET: &str = "fuzz-secret";

/// The signature code: SigV2 (query), SigV4 (header and query) verification
/// of an arbitrary request, and the pieces they are built from. Input: the
/// first line is the `Authorization` header, the second `X-Amz-Date`, the
/// third the path, the fourth the query string, the rest the body.
pub fn ec2_signature(data: &[u8]) {
    let mut parts = data.splitn(5, |b| *b == b'\n');
    let auth = parts.next().unwrap_or_default();
    let amz_date = parts.next().unwrap_or_default();
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let query = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();

    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::HOST,
        HeaderValue::from_static("127.0.0.1:8773"),
    );
    if let Ok(v) = HeaderValue::from_bytes(auth) {
        headers.insert(http::header::AUTHORIZATION, v);
    }
    if let Ok(v) = HeaderValue::from_bytes(amz_date) {
        headers.insert(HeaderName::from_static("x-amz-date"), v);
    }
    let Ok(query_pairs) = ec2_api::query::decode_pairs(query) else {
        return;
    };
    let Ok(parsed) = ec2_api::parse_query(query, Some(body)) else {
        return;
    };
    let now = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid time");
    let req = ec2_api::auth::SignedRequest {
        method: "POST",
        path: &path,
        alt_path: Some("/"),
        headers: &headers,
        query_pairs: &query_pairs,
        params: &parsed.params,
        body,
    };
    let _ = ec2_api::auth::sigv2::verify(&req, SECRET, now, 300);
    let regions = ["RegionOne".to_string()];
    let policy = ec2_api::auth::sigv4::Policy::ec2(&regions);
    let _ = ec2_api::auth::sigv4::verify_header(&req, SECRET, now, 300, policy);
    let _ = ec2_api::auth::sigv4::verify_query(&req, SECRET, now, 300, policy);
    let _ = ec2_api::auth::access_key_of(&headers, &parsed.params);
    let _ = ec2_api::auth::noauth_context(&headers, &parsed.params);
    let _ = ec2_api::auth::check_param_times(&parsed.params, now, 300);

    let auth_text = String::from_utf8_lossy(auth);
    if let Ok(a) = ec2_api::auth::sigv4::parse_authorization(&auth_text) {
        if let Some((_, scope)) = ec2_api::auth::sigv4::split_credential(&a.credential) {
            let _ = ec2_api::auth::sigv4::signing_key(SECRET, scope);
        }
    }
    let _ = ec2_api::auth::parse_iso_time(&String::from_utf8_lossy(amz_date));
    let _ = ec2_api::auth::sigv4::canonical_uri(&path);
    let _ = ec2_api::auth::sigv4::canonical_query(&query_pairs, "X-Amz-Signature");
    let _ = ec2_api::auth::sigv2::string_to_sign("POST", "127.0.0.1", &path, &parsed.params);
    let mut out = String::new();
    ec2_api::auth::aws_encode(&path, b"-_.~/", &mut out);
}

/// The compute API's JSON bodies: parsed as the API parses them (an empty
/// or blank body is null), then validated against the request schemas of
/// the server create/update/actions and metadata/tags at the oldest and the
/// newest microversion, legacy v2 and not. Validation errors are rendered
/// (the Python-style value repr nova puts in messages).
pub fn compute_body(data: &[u8]) {
    use osapi_compute::microversion::{ApiVersion, MAX_VERSION, MIN_VERSION};
    use osapi_compute::servers::schemas;

    let (body, version) = split_nul(data);
    let version = ApiVersion::parse(&String::from_utf8_lossy(version)).unwrap_or(MAX_VERSION);
    if body.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let _ = osapi_compute::validation::py_repr(&value);
    let mut all = Vec::new();
    for v in [MIN_VERSION, version, MAX_VERSION] {
        for legacy in [false, true] {
            all.push(schemas::create(v, legacy));
            all.push(schemas::update(v, legacy));
        }
        all.push(schemas::rebuild(v));
        all.push(schemas::lock(v));
    }
    all.extend([
        schemas::reboot(),
        schemas::resize(),
        schemas::create_image(),
        schemas::change_password(),
        schemas::console_output(),
        schemas::metadata_all(),
        schemas::metadata_item(),
        schemas::tags_all(),
    ]);
    for schema in all {
        for s in [schema.clone().relaxed(), schema] {
            if let Err(invalid) = s.validate(&value) {
                let _ = invalid.body_message();
            }
        }
    }
    {
        use osapi_compute::resources::schemas as resources;
        let resource_schemas = [
            resources::flavor_create(version),
            resources::flavor_update(),
            resources::flavor_access("addTenantAccess"),
            resources::extra_specs_create(),
            resources::extra_spec_update_count(),
            resources::extra_spec_update_map(),
            resources::keypair_create(version),
            resources::quota_update(&["instances", "cores", "ram"]),
            resources::image_metadata(),
            resources::image_meta(),
        ];
        for schema in resource_schemas {
            if let Err(invalid) = schema.validate(&value) {
                let _ = invalid.body_message();
            }
        }
    }
}

/// The compute API's query strings: decoded as the router decodes them,
/// checked against the allowed names, and the typed readers (microversion
/// header values, integers, booleans) run over each value.
pub fn compute_query(data: &[u8]) {
    use osapi_compute::microversion::MAX_VERSION;
    use osapi_compute::resources::schemas as resources;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for schema in [
        resources::query(
            MAX_VERSION,
            &["limit", "marker", "name", "all_tenants", "changes-since"],
        ),
        resources::flavors_query(MAX_VERSION, &["flavorid", "name", "memory_mb"]),
    ] {
        let _ = schema.validate_query(&pairs);
    }
    for (k, value) in &pairs {
        let _ = osapi_compute::microversion::ApiVersion::parse(value);
        let _ = osapi_compute::validation::int_from_str(value);
        let _ = osapi_compute::validation::query_error(k, value, "fuzz");
    }
    let mut headers = HeaderMap::new();
    if let Ok(h) = HeaderValue::from_bytes(data) {
        headers.insert(HeaderName::from_static("openstack-api-version"), h.clone());
        headers.insert(HeaderName::from_static("x-openstack-nova-api-version"), h);
    }
    let _ = osapi_compute::microversion::ApiVersion::from_headers(&headers);
}

/// The metadata path router (nova's `lookup`): total over any bytes, and a
/// routed path routes the same once normalised again.
pub fn metadata_path(data: &[u8]) {
    let route = metadata_api::paths::route_bytes(data);
    let decoded = metadata_api::paths::decode_path(&String::from_utf8_lossy(data));
    // The router normalises the path as absolute: no `..` may survive that
    // (a relative path keeps its leading `..`, as Python's normpath does).
    let absolute = if decoded.starts_with('/') {
        decoded.clone()
    } else {
        format!("/{decoded}")
    };
    let normal = metadata_api::paths::normpath(&absolute);
    assert!(
        !normal.split('/').any(|seg| seg == ".."),
        "normpath left a '..' segment: {normal:?}"
    );
    let again = metadata_api::paths::route(&normal);
    if decoded.starts_with('/') {
        assert_eq!(
            format!("{route:?}"),
            format!("{again:?}"),
            "route changed once normalised: {decoded:?}"
        );
    }
    let _ = metadata_api::paths::is_root(&decoded);
    let _ = metadata_api::paths::is_token_path(&decoded);
}

/// Deterministic mutations of a seed, the stable smoke's stand-in for
/// libFuzzer: byte flips, insertions of interesting bytes and tokens,
/// truncations, duplications and splices with the other seeds.
pub struct Mutator {
    state: u64,
}

const TOKENS: &[&[u8]] = &[
    b"\0",
    b"\n",
    b"\r\n",
    b"%",
    b"%00",
    b"%ff",
    b"%2e%2e/",
    b"../",
    b"//",
    b"[",
    b"]",
    b"=",
    b"&",
    b"{",
    b"}",
    b"\"",
    b":",
    b",",
    b"[[[[[[[[",
    b"99999999999999999999999",
    b"-1",
    b"1e400",
    b"\xff\xfe",
    b"\xc3\x28",
    b"%(here)s",
    b"${x}",
    b"$",
    b"use = ",
    b"config:",
    b"egg:Paste#urlmap",
    b"pipeline = ",
    b"Action=",
    b"Filter.1.Name=",
    b".member.",
    b"X-Amz-",
    b"Signature=",
    b"AWS4-HMAC-SHA256 Credential=",
    b"/latest/meta-data/",
    b"openstack/",
    b"\\u0000",
];

impl Mutator {
    /// A mutator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed | 1 }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// One mutant of `seed`, maybe spliced with `other`.
    pub fn mutate(&mut self, seed: &[u8], other: &[u8]) -> Vec<u8> {
        let mut out = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(out.len() + 1);
            match self.below(7) {
                0 if !out.is_empty() => {
                    let i = self.below(out.len());
                    out[i] ^= 1 << self.below(8);
                }
                1 => {
                    let byte = self.next() as u8;
                    out.insert(at, byte);
                }
                2 => {
                    let tok = TOKENS[self.below(TOKENS.len())];
                    out.splice(at..at, tok.iter().copied());
                }
                3 => out.truncate(at),
                4 if !out.is_empty() => {
                    let end = at + self.below(out.len() - at.min(out.len()) + 1);
                    let piece = out[at.min(out.len())..end.min(out.len())].to_vec();
                    out.splice(at..at, piece);
                }
                5 if !other.is_empty() => {
                    let from = self.below(other.len());
                    out.splice(at..at, other[from..].iter().copied());
                }
                _ => {
                    let tok = TOKENS[self.below(TOKENS.len())];
                    let n = 1 + self.below(64);
                    for _ in 0..n {
                        out.splice(at..at, tok.iter().copied());
                    }
                }
            }
        }
        out.truncate(64 * 1024);
        out
    }
}

#[cfg(test)]
mod smoke;
