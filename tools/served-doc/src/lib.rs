//! The markdown of `docs/served.md`: what the Compute API, its companion
//! apps, the EC2 API and the metadata service serve, printed from the
//! tables their routers are built from or checked against
//! (`osapi_compute::served`, `osapi_compute::servers::actions::ACTIONS`,
//! `ec2_api::actions::ACTIONS`, `metadata_api::paths`). A test compares the
//! checked-in file with this output.

#![forbid(unsafe_code)]

use std::fmt::Write;

use metadata_api::paths::{OPENSTACK_FILES, PATH_FORMS};
use metadata_api::render::{ec2_tree, Node};
use metadata_api::versions::{Ec2Version, EC2_VERSIONS, OPENSTACK_VERSIONS};
use metadata_api::InstanceView;
use osapi_compute::microversion::{MAX_VERSION_STR, MIN_VERSION_STR};
use osapi_compute::removed::{REMOVED, REMOVED_SERVER_RESOURCES};
use osapi_compute::served::{
    Endpoint, Route, Versions, COMPUTE_ROUTES, IDENTITY_ROUTES, IMAGE_ROUTES, NETWORK_ROUTES,
};
use osapi_compute::servers::actions::ACTIONS as SERVER_ACTIONS;

/// The command that regenerates the file, as the docs and the test name it.
pub const REGENERATE: &str = "cargo run -p served-doc > docs/served.md";

/// The whole document.
pub fn render() -> String {
    let mut out = String::new();
    out.push_str("# What is served\n\n");
    let _ = writeln!(
        out,
        "Generated from the code by `{REGENERATE}`; do not edit. A test \
         (`served-doc`'s, in the unit stage) fails when this file differs from \
         what the command prints, and the API tests fail when a router differs \
         from its table.\n"
    );
    compute(&mut out);
    companions(&mut out);
    ec2(&mut out);
    metadata(&mut out);
    out
}

fn compute(out: &mut String) {
    let _ = writeln!(
        out,
        "## Compute API (`/v2.1`, port 8774)\n\n\
         Microversions {MIN_VERSION_STR} to {MAX_VERSION_STR}. Paths are relative \
         to `/v2.1` and may carry a `/{{project_id}}` prefix; `HEAD` is served \
         wherever `GET` is. A method outside its range answers 404 as nova does.\n"
    );
    table(
        out,
        &["path", "methods (microversions)", "what"],
        COMPUTE_ROUTES.iter().map(|route| {
            [
                code(route.path),
                methods_cell(route),
                route.what.to_string(),
            ]
        }),
    );
    out.push_str("\n### Server actions (`POST /servers/{id}/action`)\n\n");
    table(
        out,
        &["action", "microversions", "what"],
        SERVER_ACTIONS.iter().map(|action| {
            [
                code(action.name),
                action.versions.describe(),
                action.what.to_string(),
            ]
        }),
    );
    out.push_str(
        "\n### Removed APIs\n\nnova's removed APIs answer 410 Gone to every method at \
         every microversion, on the path and below it:\n\n",
    );
    let removed: Vec<String> = REMOVED
        .iter()
        .map(|path| code(path))
        .chain(
            REMOVED_SERVER_RESOURCES
                .iter()
                .map(|sub| code(&format!("/servers/{{id}}/{sub}"))),
        )
        .collect();
    let _ = writeln!(out, "{}.\n", removed.join(", "));
}

/// `GET, DELETE; PUT 2.55-2.100`: the methods served at every version
/// first, then each range's methods.
fn methods_cell(route: &Route) -> String {
    let mut groups: Vec<(Versions, Vec<&str>)> = Vec::new();
    for (method, versions) in route.methods {
        match groups.iter_mut().find(|(v, _)| v == versions) {
            Some((_, methods)) => methods.push(method),
            None => groups.push((*versions, vec![method])),
        }
    }
    groups.sort_by_key(|(v, _)| *v != Versions::ALL);
    groups
        .iter()
        .map(|(versions, methods)| {
            if *versions == Versions::ALL {
                methods.join(", ")
            } else {
                format!("{} ({})", methods.join(", "), versions.describe())
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn companions(out: &mut String) {
    out.push_str(
        "## Companion endpoints (osapi-compute, port 8774)\n\n\
         Served beside the Compute API when `api-paste.ini` maps them (the \
         sample does); no microversions. Paths are relative to the mount \
         point; `HEAD` is served wherever `GET` is.\n",
    );
    for (title, endpoints) in [
        ("Identity v3 (`/identity`)", IDENTITY_ROUTES),
        ("Image v2 (`/image`)", IMAGE_ROUTES),
        ("Network v2 (`/network`)", NETWORK_ROUTES),
    ] {
        let _ = writeln!(out, "\n### {title}\n");
        table(
            out,
            &["path", "methods"],
            endpoints
                .iter()
                .map(|endpoint: &Endpoint| [code(endpoint.path), endpoint.methods.join(", ")]),
        );
    }
    out.push('\n');
}

fn ec2(out: &mut String) {
    let _ = writeln!(
        out,
        "## EC2 Query API (port 8773)\n\n\
         `GET` or `POST` of `Action=...` on `/` (or the paste mount point), \
         signed with SigV2 or SigV4 (or `noauth2`'s `user:project` access key). \
         The {} actions:\n",
        ec2_api::actions::ACTIONS.len()
    );
    let names: Vec<String> = ec2_api::actions::ACTIONS
        .iter()
        .map(|action| code(action))
        .collect();
    let _ = writeln!(out, "{}.\n", names.join(", "));
}

fn metadata(out: &mut String) {
    out.push_str("## Metadata service (port 8775)\n\n");
    table(
        out,
        &["path", "methods", "what"],
        PATH_FORMS.iter().map(|form| {
            [
                code(form.path),
                form.methods.to_string(),
                form.what.to_string(),
            ]
        }),
    );
    let _ = writeln!(
        out,
        "\nEC2-style versions: {}, `latest`.\n\nOpenStack versions: {}, `latest`.\n",
        quoted(&EC2_VERSIONS),
        quoted(&OPENSTACK_VERSIONS)
    );
    out.push_str(
        "The EC2-style tree of an instance that has every optional \
         part (a keypair, a kernel and a ramdisk, user data), by the first \
         version that serves each entry:\n\n",
    );
    table(
        out,
        &["entry", "from version"],
        ec2_entries()
            .into_iter()
            .map(|(entry, since)| [code(&entry), since.to_string()]),
    );
    out.push('\n');
    table(
        out,
        &["OpenStack file", "from version"],
        OPENSTACK_FILES
            .iter()
            .map(|file| [code(file.name), file.since.name().to_string()]),
    );
}

/// Every entry of the EC2-style tree, as the metadata service renders it
/// for a sample instance at each version, with the first version it is in.
fn ec2_entries() -> Vec<(String, &'static str)> {
    let instance = sample_instance();
    let mut first_seen: Vec<(String, &'static str)> = Vec::new();
    for name in EC2_VERSIONS {
        let Some(version) = Ec2Version::parse(name) else {
            continue;
        };
        let mut entries = Vec::new();
        flatten(&ec2_tree(&instance, version, "", None), "", &mut entries);
        for entry in entries {
            if !first_seen.iter().any(|(seen, _)| *seen == entry) {
                first_seen.push((entry, name));
            }
        }
    }
    first_seen.sort();
    first_seen
}

/// The paths of a tree's leaves (`meta-data/placement/availability-zone`).
fn flatten(node: &Node, prefix: &str, out: &mut Vec<String>) {
    match node {
        Node::Dir { entries, .. } => {
            for (name, child) in entries {
                flatten(child, &format!("{prefix}{name}/"), out);
            }
        }
        _ => out.push(prefix.trim_end_matches('/').to_string()),
    }
}

/// An instance with every optional part the EC2-style tree shows.
fn sample_instance() -> InstanceView {
    let some = |text: &str| Some(text.to_string());
    InstanceView {
        uuid: "00000000-0000-0000-0000-000000000001".into(),
        project_id: "demo".into(),
        name: "sample".into(),
        hostname: "sample".into(),
        launch_index: 0,
        reservation_id: "r-00000001".into(),
        availability_zone: some("nova"),
        ec2_instance_id: "i-00000001".into(),
        ec2_ami_id: "ami-00000001".into(),
        ec2_kernel_id: some("aki-00000002"),
        ec2_ramdisk_id: some("ari-00000003"),
        image_ref: "00000000-0000-0000-0000-000000000002".into(),
        flavor_name: "m1.tiny".into(),
        key_name: some("key"),
        key_data: some("ssh-ed25519 AAAA sample"),
        keypair: None,
        user_data_b64: some("aGk="),
        user_data: Some(b"hi".to_vec()),
        metadata: Default::default(),
        boot_roles: String::new(),
        security_groups: vec!["default".into()],
        fixed_ips: vec!["10.0.0.2".into()],
        floating_ips: vec![],
        block_device_mapping: [("ami".to_string(), "vda".to_string())]
            .into_iter()
            .collect(),
        vifs: vec![],
        files: vec![],
    }
}

/// A markdown table: the header, its rule, a line per row.
fn table<const N: usize>(
    out: &mut String,
    header: &[&str; N],
    rows: impl Iterator<Item = [String; N]>,
) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(N));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
}

/// `text` as inline code.
fn code(text: &str) -> String {
    format!("`{text}`")
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| code(item))
        .collect::<Vec<_>>()
        .join(", ")
}
