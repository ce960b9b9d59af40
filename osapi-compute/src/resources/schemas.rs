//! Request schemas of the resources in this module (bodies and query
//! strings), per microversion, written after nova's `schemas/flavor_manage.py`,
//! `flavors_extraspecs.py`, `flavor_access.py`, `keypairs.py`,
//! `quota_sets.py`, `image_metadata.py` and the resources' query schemas.
//!
//! Where this API's messages have always differed from nova's wording
//! (types listed without brackets, enums checked before types, a flavor
//! description's printable check named, the extra specs key error named
//! after the map), the schemas keep this API's messages.

use serde_json::{json, Value};

use crate::microversion::ApiVersion;
use crate::validation::{types, Format, Schema, Ty};

/// `db.MAX_INT`: the largest value of an integer column.
pub const MAX_INT: i64 = 0x7FFF_FFFF;

/// nova's flavor id pattern (shown in its message).
const FLAVOR_ID_PATTERN: &str = "^(?! )[a-zA-Z0-9. _-]+(?<! )$";
/// The same without lookaround: no leading or trailing space.
const FLAVOR_ID_REGEX: &str = "^[a-zA-Z0-9._-]([a-zA-Z0-9. _-]*[a-zA-Z0-9._-])?$";

/// The keypair name pattern before 2.92, as nova's message shows it.
const KEYPAIR_NAME_PATTERN: &str = r"^[_\\- a-zA-Z0-9]+$";
/// The keypair name pattern from 2.92, as nova's message shows it.
const KEYPAIR_NAME_PATTERN_V292: &str = r"^[_\\-\\@\\. a-zA-Z0-9]+$";

/// The metadata key pattern (extra specs, image metadata).
const METADATA_KEY: &str = "^[a-zA-Z0-9-_:. ]{1,255}$";

/// `{"<key>": <inner>}` and nothing else.
fn wrapper(key: &str, inner: Schema) -> Schema {
    Schema::object()
        .prop(key, inner)
        .required(&[key])
        .additional(false)
}

/// A query string naming `params`, which from 2.75 are the only ones
/// accepted (nova's `additionalProperties: false`).
pub fn query(version: ApiVersion, params: &[&str]) -> Schema {
    query_strict_from(version, params, 75)
}

/// A query string naming `params`, which from 2.102 are the only ones
/// accepted: nova made every query schema that 2.75 left open strict.
pub fn query_2102(version: ApiVersion, params: &[&str]) -> Schema {
    query_strict_from(version, params, 102)
}

fn query_strict_from(version: ApiVersion, params: &[&str], minor: u32) -> Schema {
    let schema = params.iter().fold(Schema::object(), |schema, name| {
        schema.prop(name, Schema::any())
    });
    if version.at_least(2, minor) {
        schema.additional(false)
    } else {
        schema
    }
}

/// A metadata map: keys of 1-255 of `[a-zA-Z0-9-_:. ]`, values strings
/// (or numbers, `numbers`) of at most 255 characters.
fn metadata(numbers: bool) -> Schema {
    let value = if numbers {
        Schema::of(&[Ty::String, Ty::Number]).plain_type_list()
    } else {
        Schema::string()
    };
    Schema::object()
        .pattern_prop(METADATA_KEY, value.length(None, Some(255)))
        .only_pattern_keys()
}

/// nova's `flavor_param_positive`/`flavor_param_non_negative`.
fn flavor_integer(minimum: i64) -> Schema {
    Schema::of(&[Ty::Integer, Ty::String])
        .plain_type_list()
        .pattern("^[0-9]+$")
        .range(Some(minimum), Some(MAX_INT))
}

/// A flavor description: printable text of at most 65535 characters, or
/// null.
fn flavor_description() -> Schema {
    Schema::string()
        .nullable()
        .length(None, Some(65535))
        .format(Format::Printable)
}

/// The flavors list query (`sort_key`, `sort_dir` checked at every
/// version; the rest named for 2.75's `additionalProperties: false`).
pub fn flavors_query(version: ApiVersion, sort_keys: &[&str]) -> Schema {
    let keys: Vec<Value> = sort_keys.iter().map(|k| json!(k)).collect();
    let params: &[&str] = if version.at_least(2, 102) {
        &["limit", "marker", "is_public", "minRam", "minDisk", "name"]
    } else {
        &["limit", "marker", "is_public", "minRam", "minDisk"]
    };
    query(version, params)
        .prop("sort_key", Schema::string().enumerated(&keys))
        .prop(
            "sort_dir",
            Schema::string().enumerated(&[json!("asc"), json!("desc")]),
        )
}

/// `POST /flavors` at `version`.
pub fn flavor_create(version: ApiVersion) -> Schema {
    let mut flavor = Schema::object()
        .prop("name", types::name())
        .prop(
            "id",
            Schema::of(&[Ty::String, Ty::Number, Ty::Null])
                .plain_type_list()
                .length(Some(1), Some(255))
                .pattern_shown(FLAVOR_ID_PATTERN, FLAVOR_ID_REGEX),
        )
        .prop("ram", flavor_integer(1))
        .prop("vcpus", flavor_integer(1))
        .prop("disk", flavor_integer(0))
        .prop("OS-FLV-EXT-DATA:ephemeral", flavor_integer(0))
        .prop("swap", flavor_integer(0))
        .prop("os-flavor-access:is_public", types::boolean_values())
        .required(&["name", "ram", "vcpus", "disk"])
        .additional(false);
    if !version.at_least(2, 102) {
        flavor = flavor.prop(
            "rxtx_factor",
            Schema::of(&[Ty::Number, Ty::String])
                .plain_type_list()
                .pattern(r"^[0-9]+(\.[0-9]+)?$")
                .float_range((0.0, "0"), (3.40282e38, "3.40282e+38")),
        );
    }
    if version.at_least(2, 55) {
        flavor = flavor.prop("description", flavor_description());
    }
    wrapper("flavor", flavor)
}

/// `PUT /flavors/{id}` (2.55).
pub fn flavor_update() -> Schema {
    wrapper(
        "flavor",
        Schema::object()
            .prop("description", flavor_description())
            .required(&["description"])
            .additional(false),
    )
}

/// The `addTenantAccess`/`removeTenantAccess` action bodies.
pub fn flavor_access(action: &str) -> Schema {
    wrapper(
        action,
        Schema::object()
            .prop("tenant", Schema::string().length(Some(1), Some(255)))
            .required(&["tenant"])
            .additional(false),
    )
}

/// `POST /flavors/{id}/os-extra_specs`.
pub fn extra_specs_create() -> Schema {
    wrapper("extra_specs", metadata(true))
}

/// `PUT /flavors/{id}/os-extra_specs/{key}`, first part: one property.
pub fn extra_spec_update_count() -> Schema {
    Schema::object().properties_count(Some(1), Some(1))
}

/// `PUT /flavors/{id}/os-extra_specs/{key}`, second part: the body as the
/// map named `extra_specs` (its key errors have always named it so).
pub fn extra_spec_update_map() -> Schema {
    Schema::object().prop("extra_specs", metadata(true))
}

/// `POST /os-keypairs` at `version`.
pub fn keypair_create(version: ApiVersion) -> Schema {
    let (shown, regex) = if version.at_least(2, 92) {
        (KEYPAIR_NAME_PATTERN_V292, "^[-_@. a-zA-Z0-9]+$")
    } else {
        (KEYPAIR_NAME_PATTERN, "^[-_ a-zA-Z0-9]+$")
    };
    let name = Schema::all_of(vec![
        types::name(),
        Schema::string().pattern_shown(shown, regex),
    ]);
    let mut keypair = Schema::object()
        .prop("name", name)
        .prop("public_key", Schema::string());
    if version.at_least(2, 2) {
        keypair = keypair.prop(
            "type",
            Schema::any().enumerated(&[json!("ssh"), json!("x509")]),
        );
    }
    if version.at_least(2, 10) {
        keypair = keypair.prop("user_id", Schema::string());
    }
    let required: &[&str] = if version.at_least(2, 92) {
        &["name", "public_key"]
    } else {
        &["name"]
    };
    wrapper("keypair", keypair.required(required).additional(false))
}

/// `PUT /os-quota-sets/{id}` naming `resources` (sorted).
pub fn quota_update(resources: &[&str]) -> Schema {
    let set = quota_limits(
        Schema::object().prop("force", types::boolean_values()),
        resources,
    );
    wrapper("quota_set", set.additional(false))
}

/// `PUT /os-quota-class-sets/{class}`: the limits of `resources`.
pub fn quota_class_update(resources: &[&str]) -> Schema {
    let set = quota_limits(Schema::object(), resources);
    wrapper("quota_class_set", set.additional(false))
}

/// `set` with a limit property (-1 to 2^31-1, a number or its digits)
/// for each of `resources`.
fn quota_limits(set: Schema, resources: &[&str]) -> Schema {
    let value = Schema::of(&[Ty::Integer, Ty::String])
        .plain_type_list()
        .pattern("^-?[0-9]+$")
        .range(Some(-1), Some(MAX_INT));
    resources
        .iter()
        .fold(set, |set, name| set.prop(name, value.clone()))
}

/// `POST`/`PUT /images/{id}/metadata`.
pub fn image_metadata() -> Schema {
    wrapper("metadata", metadata(false))
}

/// `PUT /images/{id}/metadata/{key}`.
pub fn image_meta() -> Schema {
    wrapper("meta", metadata(false).properties_count(Some(1), Some(1)))
}

/// `POST /os-server-external-events` at `version`: the event names each
/// microversion added (`volume-extended` 2.51, `power-update` 2.76,
/// `accelerator-request-bound` 2.82, `volume-reimaged` 2.93).
pub fn external_events(version: ApiVersion) -> Schema {
    let mut names = vec![
        json!("network-changed"),
        json!("network-vif-plugged"),
        json!("network-vif-unplugged"),
        json!("network-vif-deleted"),
    ];
    for (minor, name) in [
        (51, "volume-extended"),
        (76, "power-update"),
        (82, "accelerator-request-bound"),
        (93, "volume-reimaged"),
    ] {
        if version.at_least(2, minor) {
            names.push(json!(name));
        }
    }
    let event = Schema::object()
        .prop("server_uuid", types::uuid())
        .prop("name", Schema::string().enumerated(&names))
        .prop(
            "status",
            Schema::string().enumerated(&[
                json!("failed"),
                json!("completed"),
                json!("in-progress"),
            ]),
        )
        .prop("tag", Schema::string().length(None, Some(255)))
        .required(&["server_uuid", "name"])
        .additional(false);
    Schema::object()
        .prop(
            "events",
            Schema::array(event).items_count(Some(1), None, false),
        )
        .required(&["events"])
        .additional(false)
}
