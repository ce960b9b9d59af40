//! Body schemas of the server APIs, per microversion, written after nova's
//! `schemas/servers.py`, `schemas/server_metadata.py` and `schemas/server_tags.py`.

use serde_json::json;

use crate::microversion::ApiVersion;
use crate::validation::{types, Format, Schema, Ty};

/// Most tags an instance may carry.
pub const MAX_TAGS: usize = 50;

fn image_id_or_empty() -> Schema {
    Schema::one_of(vec![types::uuid(), Schema::string().length(None, Some(0))])
}

/// nova's `parameter_types.personality` (create and rebuild below 2.57).
/// nova takes `path` and `contents` for granted and fails with a 500 when
/// one is missing; here they are required, which answers 400.
fn personality() -> Schema {
    Schema::array(
        Schema::object()
            .prop("path", Schema::string())
            .prop("contents", Schema::string().format(Format::Base64))
            .required(&["path", "contents"])
            .additional(false),
    )
}

fn flavor_ref() -> Schema {
    Schema::of(&[Ty::String, Ty::Integer]).length(Some(1), None)
}

fn networks_list(with_tag: bool, uuid_format: bool) -> Schema {
    let mut item = Schema::object()
        .prop("fixed_ip", Schema::string())
        .prop(
            "port",
            Schema::of(&[Ty::String, Ty::Null]).format(Format::Uuid),
        )
        .prop(
            "uuid",
            if uuid_format {
                types::uuid()
            } else {
                Schema::string()
            },
        );
    if with_tag {
        item = item.prop("tag", types::tag());
    }
    Schema::array(item.additional(false))
}

/// An item of the legacy `block_device_mapping` (nova's
/// `_legacy_block_device_mapping`).
fn bdm_legacy_item() -> Schema {
    Schema::object()
        .prop("virtual_name", Schema::string().length(None, Some(255)))
        .prop("volume_id", types::uuid())
        .prop("snapshot_id", types::uuid())
        .prop("volume_size", types::volume_size())
        .prop(
            "device_name",
            Schema::string()
                .length(Some(1), Some(255))
                .pattern("^[a-zA-Z0-9._/-]*$"),
        )
        .prop("delete_on_termination", types::boolean())
        .prop("no_device", Schema::any())
        .prop(
            "connection_info",
            Schema::string().length(None, Some(16_777_215)),
        )
        .additional(false)
}

fn bdm_v2(with_tag: bool) -> Schema {
    let mut item = bdm_legacy_item()
        .prop(
            "source_type",
            Schema::string().enumerated(&[
                json!("volume"),
                json!("image"),
                json!("snapshot"),
                json!("blank"),
            ]),
        )
        .prop(
            "uuid",
            Schema::string()
                .length(Some(1), Some(255))
                .pattern("^[a-zA-Z0-9._-]*$"),
        )
        .prop("image_id", types::uuid())
        .prop(
            "destination_type",
            Schema::string().enumerated(&[json!("local"), json!("volume")]),
        )
        .prop("guest_format", Schema::string().length(None, Some(255)))
        .prop("device_type", Schema::string().length(None, Some(255)))
        .prop("disk_bus", Schema::string().length(None, Some(255)))
        .prop(
            "boot_index",
            Schema::of(&[Ty::Integer, Ty::String, Ty::Null]).pattern("^-?[0-9]+$"),
        );
    if with_tag {
        item = item.prop("tag", types::tag());
    }
    Schema::array(item.additional(false))
}

/// The `POST /servers` body schema at `version` (legacy v2 keeps names with spaces).
pub fn create(version: ApiVersion, legacy: bool) -> Schema {
    let name = if legacy {
        types::name_with_spaces()
    } else {
        types::name()
    };
    let mut server = Schema::object()
        .prop("name", name.clone())
        .prop("imageRef", image_id_or_empty())
        .prop("flavorRef", flavor_ref())
        .prop("adminPass", types::admin_password())
        .prop("metadata", types::metadata())
        .prop(
            "networks",
            networks_list(version.at_least(2, 32) && version.at_most(2, 32), false),
        )
        .prop(
            "OS-DCF:diskConfig",
            Schema::string().enumerated(&[json!("AUTO"), json!("MANUAL")]),
        )
        .prop("accessIPv4", types::access_ipv4())
        .prop("accessIPv6", types::access_ipv6())
        .prop("personality", personality())
        .prop("availability_zone", name.clone())
        .prop("block_device_mapping", Schema::array(bdm_legacy_item()))
        .prop(
            "block_device_mapping_v2",
            bdm_v2(version.at_least(2, 42) || (version.at_least(2, 32) && version.at_most(2, 32))),
        )
        .prop("config_drive", types::boolean())
        .prop("key_name", name.clone())
        .prop("min_count", types::positive_integer())
        .prop("max_count", types::positive_integer())
        .prop("return_reservation_id", types::boolean())
        .prop(
            "security_groups",
            Schema::array(Schema::object().prop("name", name).additional(false)),
        )
        .prop(
            "user_data",
            Schema::string()
                .format(Format::Base64)
                .length(None, Some(65535)),
        );
    let mut required = vec!["name", "flavorRef"];
    if version.at_least(2, 19) {
        server = server.prop("description", types::description());
    }
    if version.at_least(2, 33) && version.at_most(2, 36) {
        server = server.prop("networks", networks_list(true, false));
    }
    if version.at_least(2, 37) {
        required.push("networks");
        server = server.prop(
            "networks",
            Schema::one_of(vec![
                networks_list(version.at_least(2, 42), true),
                Schema::string().enumerated(&[json!("none"), json!("auto")]),
            ]),
        );
    }
    if version.at_least(2, 52) {
        server = server.prop(
            "tags",
            Schema::array(types::tag()).items_count(None, Some(MAX_TAGS), false),
        );
    }
    if version.at_least(2, 57) {
        server = server.without("personality");
    }
    if version.at_least(2, 63) {
        server = server.prop(
            "trusted_image_certificates",
            Schema::of(&[Ty::Array, Ty::Null]),
        );
    }
    if version.at_least(2, 74) {
        server = server
            .prop("host", Schema::string().length(Some(1), Some(255)))
            .prop(
                "hypervisor_hostname",
                Schema::string().length(Some(1), Some(255)),
            );
    }
    if version.at_least(2, 90) {
        server = server.prop("hostname", Schema::string().length(Some(1), Some(255)));
    }
    let server = server.required(&required).additional(false);
    let hints = scheduler_hints();
    Schema::object()
        .prop("server", server)
        .prop("os:scheduler_hints", hints.clone())
        .prop("OS-SCH-HNT:scheduler_hints", hints)
        .required(&["server"])
        .additional(false)
}

/// nova's `os:scheduler_hints` (and its `OS-SCH-HNT:` alias): the hints
/// its default filters read are checked, any other passes.
fn scheduler_hints() -> Schema {
    let uuids = || Schema::array(types::uuid());
    Schema::object()
        .prop("group", Schema::one_of(vec![uuids(), types::uuid()]))
        .prop(
            "different_host",
            Schema::one_of(vec![types::uuid(), uuids()]),
        )
        .prop("same_host", Schema::one_of(vec![Schema::string(), uuids()]))
        .additional(true)
}

/// The `PUT /servers/{id}` body schema.
pub fn update(version: ApiVersion, legacy: bool) -> Schema {
    let name = if legacy {
        types::name_with_spaces()
    } else {
        types::name()
    };
    let mut server = Schema::object()
        .prop("name", name)
        .prop(
            "OS-DCF:diskConfig",
            Schema::string().enumerated(&[json!("AUTO"), json!("MANUAL")]),
        )
        .prop("accessIPv4", types::access_ipv4())
        .prop("accessIPv6", types::access_ipv6());
    if version.at_least(2, 19) {
        server = server.prop("description", types::description());
    }
    if version.at_least(2, 90) {
        server = server.prop("hostname", Schema::string().length(Some(1), Some(255)));
    }
    if version.at_least(2, 104) {
        server = server.prop("pinned_availability_zone", types::name().nullable());
    }
    Schema::object()
        .prop("server", server.additional(false))
        .required(&["server"])
        .additional(false)
}

fn action(name: &str, inner: Schema) -> Schema {
    Schema::object()
        .prop(name, inner)
        .required(&[name])
        .additional(false)
}

/// `reboot`.
pub fn reboot() -> Schema {
    let kinds: Vec<serde_json::Value> = ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]
        .iter()
        .map(|s| json!(s))
        .collect();
    action(
        "reboot",
        Schema::object()
            .prop("type", Schema::string().enumerated(&kinds))
            .required(&["type"])
            .additional(false),
    )
}

/// `resize`.
pub fn resize() -> Schema {
    action(
        "resize",
        Schema::object()
            .prop("flavorRef", flavor_ref())
            .prop(
                "OS-DCF:diskConfig",
                Schema::string().enumerated(&[json!("AUTO"), json!("MANUAL")]),
            )
            .required(&["flavorRef"])
            .additional(false),
    )
}

/// `rebuild` at `version`.
pub fn rebuild(version: ApiVersion) -> Schema {
    let mut inner = Schema::object()
        .prop("name", types::name())
        .prop("imageRef", types::uuid())
        .prop("adminPass", types::admin_password())
        .prop("metadata", types::metadata())
        .prop("preserve_ephemeral", types::boolean())
        .prop(
            "OS-DCF:diskConfig",
            Schema::string().enumerated(&[json!("AUTO"), json!("MANUAL")]),
        )
        .prop("accessIPv4", types::access_ipv4())
        .prop("accessIPv6", types::access_ipv6())
        .prop("personality", personality());
    if version.at_least(2, 19) {
        inner = inner.prop("description", types::description());
    }
    if version.at_least(2, 54) {
        inner = inner.prop("key_name", Schema::of(&[Ty::String, Ty::Null]));
    }
    if version.at_least(2, 57) {
        inner = inner.without("personality").prop(
            "user_data",
            Schema::of(&[Ty::String, Ty::Null])
                .format(Format::Base64)
                .length(None, Some(65535)),
        );
    }
    if version.at_least(2, 63) {
        inner = inner.prop(
            "trusted_image_certificates",
            Schema::of(&[Ty::Array, Ty::Null]),
        );
    }
    if version.at_least(2, 90) {
        inner = inner.prop("hostname", Schema::string().length(Some(1), Some(255)));
    }
    action("rebuild", inner.required(&["imageRef"]).additional(false))
}

/// `createImage`.
pub fn create_image() -> Schema {
    action(
        "createImage",
        Schema::object()
            .prop("name", types::name())
            .prop("metadata", types::metadata())
            .required(&["name"])
            .additional(false),
    )
}

/// `changePassword`.
pub fn change_password() -> Schema {
    action(
        "changePassword",
        Schema::object()
            .prop("adminPass", types::admin_password())
            .required(&["adminPass"])
            .additional(false),
    )
}

/// `lock` (a reason from 2.73).
pub fn lock(version: ApiVersion) -> Schema {
    let mut inner = Schema::of(&[Ty::Object, Ty::Null]);
    if version.at_least(2, 73) {
        inner = inner
            .prop("locked_reason", Schema::string().length(None, Some(255)))
            .additional(false);
    }
    action("lock", inner)
}

/// `os-getConsoleOutput`.
pub fn console_output() -> Schema {
    action(
        "os-getConsoleOutput",
        Schema::object()
            .prop(
                "length",
                Schema::of(&[Ty::Integer, Ty::String, Ty::Null])
                    .pattern("^-?[0-9]+$")
                    .range(Some(-1), None),
            )
            .additional(false),
    )
}

/// `PUT`/`POST /servers/{id}/metadata`.
pub fn metadata_all() -> Schema {
    Schema::object()
        .prop("metadata", types::metadata())
        .required(&["metadata"])
        .additional(false)
}

/// `PUT /servers/{id}/metadata/{key}`.
pub fn metadata_item() -> Schema {
    Schema::object()
        .prop("meta", types::metadata())
        .required(&["meta"])
        .additional(false)
}

/// `PUT /servers/{id}/tags`.
pub fn tags_all() -> Schema {
    Schema::object()
        .prop(
            "tags",
            Schema::array(types::tag()).items_count(None, Some(MAX_TAGS), false),
        )
        .required(&["tags"])
        .additional(false)
}

/// An action whose value nova does not look at (`{"<name>": <anything>}`).
pub fn bare_action(name: &str) -> Schema {
    action(name, Schema::any())
}

/// An action whose value must be null (`trigger_crash_dump`).
pub fn null_action(name: &str) -> Schema {
    action(name, Schema::of(&[Ty::Null]))
}

/// `os-resetState`.
pub fn reset_state() -> Schema {
    action(
        "os-resetState",
        Schema::object()
            .prop(
                "state",
                Schema::string().enumerated(&[json!("active"), json!("error")]),
            )
            .required(&["state"])
            .additional(false),
    )
}

/// `createBackup` (2.0 keeps the name's surrounding spaces).
pub fn create_backup(legacy: bool) -> Schema {
    let non_negative = Schema::of(&[Ty::Integer, Ty::String])
        .pattern("^[0-9]*$")
        .range(Some(0), None)
        .length(Some(1), None);
    action(
        "createBackup",
        Schema::object()
            .prop(
                "name",
                if legacy {
                    types::name_with_spaces()
                } else {
                    types::name()
                },
            )
            .prop("backup_type", Schema::string())
            .prop("rotation", non_negative)
            .prop("metadata", types::metadata())
            .required(&["name", "backup_type", "rotation"])
            .additional(false),
    )
}

/// `unshelve`: anything below 2.77; null or `{availability_zone}` to
/// 2.90; null or `{availability_zone (or null), host}` from 2.91.
pub fn unshelve(version: ApiVersion) -> Schema {
    if version.at_least(2, 91) {
        action(
            "unshelve",
            Schema::of(&[Ty::Object, Ty::Null])
                .prop("availability_zone", Schema::of(&[Ty::String, Ty::Null]))
                .prop("host", Schema::string())
                .additional(false),
        )
    } else if version.at_least(2, 77) {
        action(
            "unshelve",
            Schema::of(&[Ty::Object, Ty::Null])
                .prop("availability_zone", types::name())
                .required(&["availability_zone"])
                .additional(false),
        )
    } else {
        bare_action("unshelve")
    }
}

/// `rescue`: null or `{adminPass, rescue_image_ref}`.
pub fn rescue() -> Schema {
    action(
        "rescue",
        Schema::of(&[Ty::Object, Ty::Null])
            .prop("adminPass", types::admin_password())
            .prop("rescue_image_ref", types::uuid())
            .additional(false),
    )
}

/// `migrate`: null or `{host}` (a host name or null; honoured from 2.56).
pub fn migrate() -> Schema {
    action(
        "migrate",
        Schema::of(&[Ty::Object, Ty::Null])
            .prop(
                "host",
                Schema::of(&[Ty::String, Ty::Null])
                    .length(Some(1), Some(255))
                    .pattern("^[a-zA-Z0-9-._]*$"),
            )
            .additional(false),
    )
}
