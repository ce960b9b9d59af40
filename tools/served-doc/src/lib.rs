//! The markdown of `docs/served.md`: what the Compute API, its companion
//! apps, the EC2 API and the metadata service serve, printed from the
//! tables their routers are built from or checked against
//! (`osapi_compute::served`, `osapi_compute::servers::actions::ACTIONS`,
//! `ec2_api::actions::ACTIONS`, `metadata_api::paths`). A test compares the
//! checked-in file with this output.

#![forbid(unsafe_code)]

use std::fmt::Write;

use metadata_api::paths::{OPENSTACK_FILES, PATH_FORMS};
use metadata_api::versions::{EC2_VERSIONS, OPENSTACK_VERSIONS};
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
    out.push_str("| path | methods (microversions) | what |\n|---|---|---|\n");
    for route in COMPUTE_ROUTES {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            route.path,
            methods_cell(route),
            route.what
        );
    }
    out.push_str("\n### Server actions (`POST /servers/{id}/action`)\n\n");
    out.push_str("| action | microversions | what |\n|---|---|---|\n");
    for action in SERVER_ACTIONS {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            action.name,
            action.versions.describe(),
            action.what
        );
    }
    out.push_str(
        "\n### Removed APIs\n\nnova's removed APIs answer 410 Gone to every method at \
         every microversion, on the path and below it:\n\n",
    );
    let removed: Vec<String> = REMOVED
        .iter()
        .map(|path| format!("`{path}`"))
        .chain(
            REMOVED_SERVER_RESOURCES
                .iter()
                .map(|sub| format!("`/servers/{{id}}/{sub}`")),
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
    for (title, table) in [
        ("Identity v3 (`/identity`)", IDENTITY_ROUTES),
        ("Image v2 (`/image`)", IMAGE_ROUTES),
        ("Network v2 (`/network`)", NETWORK_ROUTES),
    ] {
        let _ = writeln!(out, "\n### {title}\n");
        endpoint_table(out, table);
    }
    out.push('\n');
}

fn endpoint_table(out: &mut String, table: &[Endpoint]) {
    out.push_str("| path | methods |\n|---|---|\n");
    for endpoint in table {
        let _ = writeln!(
            out,
            "| `{}` | {} |",
            endpoint.path,
            endpoint.methods.join(", ")
        );
    }
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
        .map(|action| format!("`{action}`"))
        .collect();
    let _ = writeln!(out, "{}.\n", names.join(", "));
}

fn metadata(out: &mut String) {
    out.push_str("## Metadata service (port 8775)\n\n");
    out.push_str("| path | methods | what |\n|---|---|---|\n");
    for form in PATH_FORMS {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            form.path, form.methods, form.what
        );
    }
    let _ = writeln!(
        out,
        "\nEC2-style versions: {}, `latest`.\n\nOpenStack versions: {}, `latest`.\n",
        quoted(&EC2_VERSIONS),
        quoted(&OPENSTACK_VERSIONS)
    );
    out.push_str("| OpenStack file | from version |\n|---|---|\n");
    for file in OPENSTACK_FILES {
        let _ = writeln!(out, "| `{}` | {} |", file.name, file.since.name());
    }
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
