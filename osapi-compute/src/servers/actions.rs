//! `POST /servers/{id}/action`: the server actions, dispatched on the one
//! key of the body as nova's `wsgi.action` does.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::links::RequestUrls;
use crate::microversion::ApiVersion;
use crate::served::Versions;
use crate::servers::core::{image_properties, personality};
use crate::servers::schemas;
use crate::servers::view::{self, ShowOpts};
use crate::state::ApiState;
use crate::validation::{int_of, Format, JsonBody, Schema};

/// One server action: the key of the body that names it, and the
/// microversions it is served at.
#[derive(Clone, Copy, Debug)]
pub struct Action {
    /// The body's one key.
    pub name: &'static str,
    /// The microversions it is served at.
    pub versions: Versions,
    /// What it does, in a few words.
    pub what: &'static str,
}

/// Every server action. The dispatcher serves a name only at the versions
/// its row gives, so an action without a row is refused as unknown.
pub const ACTIONS: &[Action] = &[
    action("reboot", Versions::ALL, "soft or hard reboot"),
    action("os-stop", Versions::ALL, "stop (SHUTOFF)"),
    action("os-start", Versions::ALL, "start a stopped server"),
    action("pause", Versions::ALL, "pause"),
    action("unpause", Versions::ALL, "unpause"),
    action("suspend", Versions::ALL, "suspend"),
    action("resume", Versions::ALL, "resume a suspended server"),
    action(
        "lock",
        Versions::ALL,
        "lock (with `locked_reason` from 2.73)",
    ),
    action("unlock", Versions::ALL, "unlock"),
    action(
        "resize",
        Versions::ALL,
        "resize to another flavor (VERIFY_RESIZE)",
    ),
    action("confirmResize", Versions::ALL, "confirm a resize"),
    action("revertResize", Versions::ALL, "revert a resize"),
    action("changePassword", Versions::ALL, "set the admin password"),
    action(
        "os-getConsoleOutput",
        Versions::ALL,
        "the simulated console log",
    ),
    action("rebuild", Versions::ALL, "rebuild from an image"),
    action(
        "createImage",
        Versions::ALL,
        "snapshot into the image catalogue",
    ),
    action(
        "addSecurityGroup",
        Versions::ALL,
        "add a group to the server's ports",
    ),
    action(
        "removeSecurityGroup",
        Versions::ALL,
        "remove a group from the server's ports",
    ),
    action(
        "addFloatingIp",
        Versions::until(43),
        "associate a floating IP",
    ),
    action(
        "removeFloatingIp",
        Versions::until(43),
        "disassociate a floating IP",
    ),
    action(
        "os-resetState",
        Versions::ALL,
        "set vm_state active or error, clear the task (admin)",
    ),
    action(
        "injectNetworkInfo",
        Versions::ALL,
        "re-inject network info (admin)",
    ),
    action(
        "resetNetwork",
        Versions::ALL,
        "removed with the Xen driver: 410 Gone",
    ),
    action("trigger_crash_dump", Versions::from(17), "NMI to the guest"),
    action("restore", Versions::ALL, "restore a SOFT_DELETED server"),
    action("forceDelete", Versions::ALL, "delete now, never soft"),
    action(
        "createBackup",
        Versions::ALL,
        "backup image with rotation (`image_id` body from 2.45)",
    ),
    action("shelve", Versions::ALL, "shelve (snapshot, SHELVED)"),
    action(
        "shelveOffload",
        Versions::ALL,
        "offload a shelved server (admin)",
    ),
    action(
        "unshelve",
        Versions::ALL,
        "unshelve (availability_zone from 2.77, host from 2.91)",
    ),
    action("rescue", Versions::ALL, "boot the rescue image (RESCUE)"),
    action(
        "os-getVNCConsole",
        Versions::until(5),
        "a noVNC console URL (then `remote-consoles`)",
    ),
    action(
        "os-getSPICEConsole",
        Versions::until(5),
        "a SPICE HTML5 console URL (then `remote-consoles`)",
    ),
    action(
        "os-getRDPConsole",
        Versions::until(5),
        "RDP went with the Hyper-V driver: always 400",
    ),
    action(
        "os-getSerialConsole",
        Versions::until(5),
        "a serial console URL (then `remote-consoles`)",
    ),
    action("unrescue", Versions::ALL, "leave rescue mode"),
    action(
        "migrate",
        Versions::ALL,
        "cold migrate to another host (VERIFY_RESIZE; `host` from 2.56; admin)",
    ),
    action(
        "os-migrateLive",
        Versions::ALL,
        "live migrate (MIGRATING; `block_migration: auto` 2.25, `force` 2.30-2.67; admin)",
    ),
    action(
        "evacuate",
        Versions::ALL,
        "rebuild on another host when its own is down (SHUTOFF from 2.95; admin)",
    ),
];

const fn action(name: &'static str, versions: Versions, what: &'static str) -> Action {
    Action {
        name,
        versions,
        what,
    }
}

/// Whether action `name` is served at `version`.
fn served(name: &str, version: ApiVersion) -> bool {
    ACTIONS
        .iter()
        .any(|action| action.name == name && action.versions.contains(version))
}

fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// `POST /servers/{id}/action`.
pub async fn dispatch(
    State(state): State<ApiState>,
    ctx: Context,
    version: ApiVersion,
    urls: RequestUrls,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let name = match &body.value {
        Value::Object(map) if !map.is_empty() => map.keys().next().cloned().unwrap_or_default(),
        _ => return Err(ApiError::BadRequest("Malformed request body".into())),
    };
    if !served(&name, version) {
        return Err(no_such_action(&name));
    }
    if let Some(answer) =
        super::driver_actions::dispatch(&state, &ctx, version, &urls, &id, &name, &body).await
    {
        return answer;
    }
    if let Some(answer) =
        super::move_actions::dispatch(&state, &ctx, version, &id, &name, &body).await
    {
        return answer;
    }
    let c = &state.compute;
    let ctx_ref = &ctx.0;
    match name.as_str() {
        "reboot" => {
            let v = body.validate(schemas::reboot())?;
            let hard = v["reboot"]["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("hard"));
            c.reboot_instance(ctx_ref, &id, hard).await?;
            Ok(accepted())
        }
        "os-stop" => {
            c.stop_instance(ctx_ref, &id).await?;
            Ok(accepted())
        }
        "os-start" => {
            c.start_instance(ctx_ref, &id).await?;
            Ok(accepted())
        }
        "pause" => {
            c.pause_instance(ctx_ref, &id).await?;
            Ok(accepted())
        }
        "unpause" => {
            c.unpause_instance(ctx_ref, &id).await?;
            Ok(accepted())
        }
        "suspend" => {
            c.suspend_instance(ctx_ref, &id).await?;
            Ok(accepted())
        }
        "resume" => {
            c.resume_instance(ctx_ref, &id).await?;
            Ok(accepted())
        }
        "lock" => {
            let v = body.validate(schemas::lock(version))?;
            let reason = v["lock"]
                .get("locked_reason")
                .and_then(Value::as_str)
                .map(str::to_string);
            c.lock_instance(ctx_ref, &id, reason).await?;
            Ok(accepted())
        }
        "unlock" => {
            c.unlock_instance(ctx_ref, &id).await?;
            Ok(accepted())
        }
        "resize" => {
            let v = body.validate(schemas::resize())?;
            let flavor = match &v["resize"]["flavorRef"] {
                Value::String(s) => s
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or(s)
                    .to_string(),
                other => other.to_string(),
            };
            c.resize_instance(ctx_ref, &id, &flavor)
                .await
                .map_err(|err| match err {
                    compute::Error::NotFound {
                        kind: compute::Kind::Flavor,
                        id,
                    } => ApiError::BadRequest(format!("Flavor {id} could not be found.")),
                    other => other.into(),
                })?;
            if let Some(auto) = super::core::disk_config(&v["resize"]) {
                // The resized disk is laid out as asked (nova keeps it on
                // the instance when the resize starts).
                let change = compute::UpdateInstance {
                    auto_disk_config: Some(auto),
                    ..Default::default()
                };
                c.update_instance(ctx_ref, &id, change).await?;
            }
            Ok(accepted())
        }
        "confirmResize" => {
            c.confirm_resize(ctx_ref, &id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        "revertResize" => {
            c.revert_resize(ctx_ref, &id).await?;
            Ok(accepted())
        }
        "changePassword" => {
            let v = body.validate(schemas::change_password())?;
            let password = v["changePassword"]["adminPass"]
                .as_str()
                .unwrap_or_default();
            c.change_admin_password(ctx_ref, &id, password).await?;
            Ok(accepted())
        }
        "os-getConsoleOutput" => {
            let v = body.validate(schemas::console_output())?;
            // -1 (or none) is the whole output; the schema refuses below -1.
            let length = v["os-getConsoleOutput"]
                .get("length")
                .and_then(int_of)
                .and_then(|l| usize::try_from(l).ok());
            let output = c
                .console_output(ctx_ref, &id, length)
                .await
                .map_err(|err| match err {
                    compute::Error::InvalidState { .. } => {
                        ApiError::Conflict(format!("Instance {id} is not ready yet"))
                    }
                    other => other.into(),
                })?;
            Ok(Json(json!({ "output": output })).into_response())
        }
        "rebuild" => rebuild(&state, &ctx, version, &urls, &id, &body).await,
        "createImage" => create_image(&state, &ctx, version, &urls, &id, &body).await,
        console if super::consoles::is_console_action(console) => {
            super::consoles::action(&state, &ctx, &id, console, &body).await
        }
        "addSecurityGroup" | "removeSecurityGroup" => {
            let v = body.validate(security_group_body(&name))?;
            let group = v[name.as_str()]["name"].as_str().unwrap_or_default();
            if name == "addSecurityGroup" {
                c.add_security_group(ctx_ref, &id, group).await?;
            } else {
                c.remove_security_group(ctx_ref, &id, group).await?;
            }
            Ok(accepted())
        }
        // nova's floating IP proxies (up to 2.43, as their rows say).
        "addFloatingIp" | "removeFloatingIp" => {
            let v = body.validate(floating_ip_body(&name))?;
            let args = &v[name.as_str()];
            let address = args["address"].as_str().unwrap_or_default();
            if name == "addFloatingIp" {
                let fixed = args.get("fixed_address").and_then(Value::as_str);
                c.add_floating_ip(ctx_ref, &id, address, fixed).await?;
            } else {
                c.remove_floating_ip(ctx_ref, &id, address).await?;
            }
            Ok(accepted())
        }
        other => Err(no_such_action(other)),
    }
}

/// nova's answer to an action it does not know (or not at this version).
fn no_such_action(name: &str) -> ApiError {
    ApiError::BadRequest(format!("There is no such action: {name}"))
}

/// `{"addSecurityGroup"|"removeSecurityGroup": {"name": <group>}}`.
fn security_group_body(action: &str) -> Schema {
    Schema::object()
        .prop(
            action,
            Schema::object()
                .prop("name", Schema::string().length(Some(1), None))
                .required(&["name"])
                .additional(false),
        )
        .required(&[action])
        .additional(false)
}

/// `{"addFloatingIp": {"address", "fixed_address"}}` or
/// `{"removeFloatingIp": {"address"}}`.
fn floating_ip_body(action: &str) -> Schema {
    let address = || {
        Schema::one_of(vec![
            Schema::string().format(Format::Ipv4),
            Schema::string().format(Format::Ipv6),
        ])
    };
    let mut args = Schema::object().prop("address", address());
    if action == "addFloatingIp" {
        args = args.prop("fixed_address", address());
    }
    Schema::object()
        .prop(action, args.required(&["address"]).additional(false))
        .required(&[action])
        .additional(false)
}

async fn rebuild(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    urls: &RequestUrls,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    let v = body.validate(schemas::rebuild(version))?;
    let r = &v["rebuild"];
    let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
    let nullable = |k: &str| r.get(k).map(|v| v.as_str().map(str::to_string));
    let request = compute::RebuildInstance {
        image_ref: text("imageRef").unwrap_or_default(),
        name: text("name"),
        admin_password: text("adminPass"),
        metadata: r.get("metadata").and_then(Value::as_object).map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        }),
        description: nullable("description"),
        access_ip_v4: nullable("accessIPv4"),
        access_ip_v6: nullable("accessIPv6").map(|v| v.map(super::core::canonical_ipv6)),
        injected_files: personality(r.get("personality")),
        key_name: nullable("key_name"),
        user_data: nullable("user_data"),
        hostname: text("hostname"),
        auto_disk_config: super::core::disk_config(r),
    };
    let image_ref = request.image_ref.clone();
    let (instance, password) = state
        .compute
        .rebuild_instance(&ctx.0, id, request)
        .await
        .map_err(|err| match err {
            compute::Error::NotFound {
                kind: compute::Kind::Image,
                ..
            } => ApiError::BadRequest(format!("Image {image_ref} could not be found.")),
            other => other.into(),
        })?;
    let opts = ShowOpts::for_rebuild(ctx.0.is_admin, version);
    let props = image_properties(state, ctx, version, &instance.image_ref).await;
    let mut server = view::show(urls, &ctx.0, version, &instance, opts, props.as_ref());
    super::core::put_server_groups(state, version, &instance.uuid, &mut server).await?;
    // nova adds the user data to the rebuild answer from 2.57 (under its
    // plain name, not the admin-only extended attribute).
    if version.at_least(2, 57) {
        server["user_data"] = json!(instance.user_data);
    }
    if state.config.enable_instance_password {
        server["adminPass"] = json!(password);
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "server": server }))).into_response())
}

/// `createImage`: the snapshot (`compute::snapshot`), answered with the
/// image's id (2.45+) or its Location.
async fn create_image(
    state: &ApiState,
    ctx: &Context,
    version: ApiVersion,
    urls: &RequestUrls,
    id: &str,
    body: &JsonBody,
) -> Result<Response, ApiError> {
    let v = body.validate(schemas::create_image())?;
    let request = compute::Snapshot {
        name: v["createImage"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        properties: v["createImage"]
            .get("metadata")
            .and_then(Value::as_object)
            .map(|meta| {
                meta.iter()
                    .map(|(k, val)| (k.clone(), val.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let image = state.compute.snapshot_instance(&ctx.0, id, request).await?;
    if version.at_least(2, 45) {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "image_id": image.uuid })),
        )
            .into_response());
    }
    let mut response = accepted();
    let location = crate::links::url_join(&[
        &crate::links::update_link_prefix(
            &crate::links::remove_trailing_version(&urls.raw_application_url),
            urls.glance_link_prefix.as_deref(),
        ),
        "images",
        &image.uuid,
    ]);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}
