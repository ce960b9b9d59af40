//! `/servers` and everything under it.

use axum::routing::{get, post};
use axum::Router;

use crate::state::ApiState;

pub mod actions;
pub mod consoles;
pub mod core;
pub mod diagnostics;
pub mod driver_actions;
pub mod interfaces;
pub mod move_actions;
pub mod schemas;
pub mod sub;
pub mod view;
pub mod volumes;

/// The server routes (paths without the `/{project_id}` prefix).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/servers", get(core::index).post(core::create))
        .route("/servers/detail", get(core::detail))
        .route(
            "/servers/{id}",
            get(core::show).put(core::update).delete(core::delete),
        )
        .route("/servers/{id}/action", post(actions::dispatch))
        .route(
            "/servers/{id}/metadata",
            get(sub::metadata_index)
                .post(sub::metadata_create)
                .put(sub::metadata_update_all),
        )
        .route(
            "/servers/{id}/metadata/{key}",
            get(sub::metadata_show)
                .put(sub::metadata_update)
                .delete(sub::metadata_delete),
        )
        .route(
            "/servers/{id}/tags",
            get(sub::tags_index)
                .put(sub::tags_update_all)
                .delete(sub::tags_delete_all),
        )
        .route(
            "/servers/{id}/tags/{tag}",
            get(sub::tag_show)
                .put(sub::tag_update)
                .delete(sub::tag_delete),
        )
        .route("/servers/{id}/diagnostics", get(diagnostics::show))
        .route("/servers/{id}/remote-consoles", post(consoles::create))
        .route("/servers/{id}/ips", get(sub::ips_index))
        .route("/servers/{id}/ips/{network}", get(sub::ips_show))
        .route("/servers/{id}/os-instance-actions", get(sub::actions_index))
        .route(
            "/servers/{id}/os-instance-actions/{request_id}",
            get(sub::actions_show),
        )
        .route(
            "/servers/{id}/os-server-password",
            get(sub::password_show).delete(sub::password_clear),
        )
        .route(
            "/servers/{id}/os-interface",
            get(interfaces::index).post(interfaces::attach),
        )
        .route(
            "/servers/{id}/os-interface/{port_id}",
            get(interfaces::show).delete(interfaces::detach),
        )
        .route(
            "/servers/{id}/os-volume_attachments",
            get(volumes::index).post(volumes::attach),
        )
        .route(
            "/servers/{id}/os-volume_attachments/{volume_id}",
            get(volumes::show)
                .put(volumes::update)
                .delete(volumes::detach),
        )
}
