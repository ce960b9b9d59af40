//! DescribeImageAttribute, ModifyImageAttribute and ResetImageAttribute,
//! over the image catalogue's fields as nova's EC2 API kept them:
//!
//! - `description` is the image's `description` property;
//! - `launchPermission` is its visibility and members: the group `all`
//!   is `public` (for an admin; `community` for anyone else, since only
//!   an admin may publicize an image, as in Glance), user ids are the
//!   members of a `shared` image; reset makes it `private`;
//! - `kernel`, `ramdisk` are its `kernel_id`/`ramdisk_id` properties,
//!   `productCodes` and `blockDeviceMapping` are always empty.
//!
//! The parameters are checked before the owner, so a malformed request is
//! refused with the same code whoever the image's owner is; then only the
//! owner (or an admin) may read or change an attribute: anyone else gets
//! `AuthFailure`, as from nova's EC2 API.

use std::collections::BTreeMap;

use compute::{Image, ImageUpdate};

use super::common::{compute_ctx, map_err};
use super::images::image_by_ec2_id;
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::query::Params;
use crate::state::Ec2State;

/// The attributes DescribeImageAttribute answers.
const DESCRIBABLE: &[&str] = &[
    "description",
    "kernel",
    "ramdisk",
    "launchPermission",
    "productCodes",
    "blockDeviceMapping",
];

/// The attributes AWS has but ModifyImageAttribute cannot change here.
const NOT_MODIFIABLE: &[&str] = &["kernel", "ramdisk", "productCodes", "blockDeviceMapping"];

/// The image, which the caller must own (or be an admin).
async fn owned_image(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    ec2_id: &str,
) -> Result<Image, Ec2Error> {
    let image = image_by_ec2_id(state, req, ec2_id).await?;
    check_owner(req, &image, ec2_id)?;
    Ok(image)
}

/// `AuthFailure` unless the caller owns `image` or is an admin.
pub fn check_owner(req: &ActionRequest<'_>, image: &Image, ec2_id: &str) -> Result<(), Ec2Error> {
    if req.ctx.is_admin || image.owner.as_deref() == Some(req.ctx.project_id.as_str()) {
        Ok(())
    } else {
        Err(Ec2Error::NotAuthorizedFor(format!(
            "Not authorized for image:{ec2_id}"
        )))
    }
}

fn prop(i: &Image, key: &str) -> Option<String> {
    i.properties.get(key).map(|v| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// DescribeImageAttribute: one attribute of an image the caller owns.
pub async fn describe_image_attribute(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let ec2_id = req.params.require("ImageId")?.to_string();
    let attribute = req.params.require("Attribute")?.to_string();
    if !DESCRIBABLE.contains(&attribute.as_str()) {
        return Err(Ec2Error::InvalidRequest(format!(
            "The attribute '{attribute}' is not supported."
        )));
    }
    let image = owned_image(state, req, &ec2_id).await?;
    let members = if attribute == "launchPermission" && image.visibility == "shared" {
        state
            .compute
            .list_image_members(&compute_ctx(req), &image.uuid)
            .await
            .map_err(|e| map_err(e, Some(&ec2_id)))?
            .into_iter()
            .map(|m| m.member_id)
            .collect()
    } else {
        Vec::new()
    };
    Ok(req.respond(|x| {
        x.text("imageId", &ec2_id);
        match attribute.as_str() {
            "description" => {
                x.value("description", prop(&image, "description").as_deref());
            }
            "kernel" => {
                x.value("kernel", prop(&image, "kernel_id").as_deref());
            }
            "ramdisk" => {
                x.value("ramdisk", prop(&image, "ramdisk_id").as_deref());
            }
            "launchPermission" => {
                x.open("launchPermission");
                if matches!(image.visibility.as_str(), "public" | "community") {
                    x.elem("item", |x| {
                        x.text("group", "all");
                    });
                }
                for m in &members {
                    x.elem("item", |x| {
                        x.text("userId", m);
                    });
                }
                x.close("launchPermission");
            }
            "productCodes" => {
                x.empty("productCodes");
            }
            _ => {
                x.empty("blockDeviceMapping");
            }
        }
    }))
}

/// A launch permission change: add or remove the group `all` and/or
/// user ids.
#[derive(Debug, Default, PartialEq)]
struct PermissionChange {
    add: bool,
    all: bool,
    users: Vec<String>,
}

/// The change of the structured form (`LaunchPermission.Add.N.Group`,
/// `.UserId`; `LaunchPermission.Remove.N...`).
fn structured_change(params: &Params) -> Result<Option<PermissionChange>, Ec2Error> {
    let add = params.members("LaunchPermission.Add");
    let remove = params.members("LaunchPermission.Remove");
    let (is_add, items) = match (add.is_empty(), remove.is_empty()) {
        (true, true) => return Ok(None),
        (false, false) => {
            return Err(Ec2Error::InvalidParameterCombination(
                "Only one operation can be specified.".into(),
            ))
        }
        (false, true) => (true, add),
        (true, false) => (false, remove),
    };
    let mut change = PermissionChange {
        add: is_add,
        ..PermissionChange::default()
    };
    for item in items {
        if let Some(g) = item.get("Group") {
            change.all |= check_group(g)?;
        }
        if let Some(u) = item.get("UserId").filter(|u| !u.is_empty()) {
            change.users.push(u.to_string());
        }
    }
    Ok(Some(change))
}

/// The flat form's change (`OperationType`, `UserGroup.N`, `UserId.N`).
fn flat_change(params: &Params) -> Result<PermissionChange, Ec2Error> {
    let groups = params.list("UserGroup");
    let users = params.list("UserId");
    if groups.is_empty() && users.is_empty() {
        return Err(Ec2Error::InvalidParameterCombination(
            "No operation specified for launchPermission attribute.".into(),
        ));
    }
    let add = match params.get("OperationType") {
        Some("add") => true,
        Some("remove") => false,
        None => {
            return Err(Ec2Error::MissingParameter("OperationType".into()));
        }
        Some(other) => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid value '{other}' for OperationType: add or remove."
            )))
        }
    };
    let mut all = false;
    for g in &groups {
        all |= check_group(g)?;
    }
    Ok(PermissionChange { add, all, users })
}

/// Only the group `all` exists.
fn check_group(group: &str) -> Result<bool, Ec2Error> {
    if group == "all" {
        Ok(true)
    } else {
        Err(Ec2Error::InvalidParameterValue(format!(
            "Invalid value '{group}' for UserGroup: only the group 'all' is supported."
        )))
    }
}

/// What a ModifyImageAttribute asks for, checked.
#[derive(Debug, PartialEq)]
enum Modification {
    Description(String),
    LaunchPermission(PermissionChange),
}

fn modification(params: &Params) -> Result<Modification, Ec2Error> {
    let attribute = params.get("Attribute").filter(|a| !a.is_empty());
    let structured = structured_change(params)?;
    let description = params.get("Description.Value").map(str::to_string);
    let mut named: Vec<&str> = Vec::new();
    if structured.is_some() || attribute == Some("launchPermission") {
        named.push("launchPermission");
    }
    if description.is_some() || attribute == Some("description") {
        named.push("description");
    }
    match named.as_slice() {
        [] => {
            if !params.list("ProductCode").is_empty() {
                return Err(Ec2Error::InvalidParameter(
                    "Parameter productCodes is invalid. The attribute is not supported.".into(),
                ));
            }
            match attribute {
                Some(a) if NOT_MODIFIABLE.contains(&a) => Err(Ec2Error::InvalidParameter(format!(
                    "Parameter {a} is invalid. The attribute is not supported."
                ))),
                _ => Err(Ec2Error::InvalidParameterCombination(
                    "No attributes specified.".into(),
                )),
            }
        }
        ["launchPermission"] => Ok(Modification::LaunchPermission(match structured {
            Some(change) => change,
            None => flat_change(params)?,
        })),
        ["description"] => {
            let value = description
                .or_else(|| params.get("Value").map(str::to_string))
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Ec2Error::MissingParameter("description".into()))?;
            Ok(Modification::Description(value))
        }
        _ => Err(Ec2Error::InvalidParameterCombination(
            "Fields for multiple attribute types specified: description, launchPermission".into(),
        )),
    }
}

/// ModifyImageAttribute: the description, or a launch permission added
/// or removed.
pub async fn modify_image_attribute(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let ec2_id = req.params.require("ImageId")?.to_string();
    let change = modification(req.params)?;
    let image = owned_image(state, req, &ec2_id).await?;
    let ctx = compute_ctx(req);
    let fail = |e| map_err(e, Some(&ec2_id));
    match change {
        Modification::Description(text) => {
            let mut props = BTreeMap::new();
            props.insert("description".to_string(), Some(text.into()));
            state
                .compute
                .update_image_properties(&ctx, &image.uuid, props)
                .await
                .map_err(fail)?;
        }
        Modification::LaunchPermission(change) => {
            apply_permission(state, req, &image, change)
                .await
                .map_err(fail)?;
        }
    }
    Ok(req.respond_true())
}

/// Changes visibility and members as a launch permission change says.
async fn apply_permission(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    image: &Image,
    change: PermissionChange,
) -> compute::Result<()> {
    let ctx = compute_ctx(req);
    let set_visibility = |v: &str| ImageUpdate {
        visibility: Some(v.to_string()),
        ..ImageUpdate::default()
    };
    let everyone = if ctx.is_admin { "public" } else { "community" };
    let mut visibility = image.visibility.clone();
    if change.all {
        visibility = if change.add {
            everyone.to_string()
        } else if change.users.is_empty() && visibility != "shared" {
            "private".to_string()
        } else {
            "shared".to_string()
        };
    }
    if change.add && !change.users.is_empty() && !change.all && visibility == "private" {
        visibility = "shared".to_string();
    }
    if visibility != image.visibility {
        state
            .compute
            .update_image(&ctx, &image.uuid, set_visibility(&visibility))
            .await?;
    }
    if change.users.is_empty() || visibility != "shared" {
        return Ok(());
    }
    for user in &change.users {
        let r = if change.add {
            state
                .compute
                .add_image_member(&ctx, &image.uuid, user)
                .await
                .map(|_| ())
        } else {
            state
                .compute
                .remove_image_member(&ctx, &image.uuid, user)
                .await
        };
        match r {
            // Adding a member twice or removing one that is not there
            // changes nothing, as on EC2.
            Ok(()) | Err(compute::Error::Conflict(_)) | Err(compute::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// ResetImageAttribute: `launchPermission` only, back to private.
pub async fn reset_image_attribute(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let ec2_id = req.params.require("ImageId")?.to_string();
    let attribute = req.params.require("Attribute")?;
    if attribute != "launchPermission" {
        return Err(Ec2Error::InvalidRequest(format!(
            "The attribute '{attribute}' cannot be reset."
        )));
    }
    let image = owned_image(state, req, &ec2_id).await?;
    if image.visibility != "private" {
        state
            .compute
            .update_image(
                &compute_ctx(req),
                &image.uuid,
                ImageUpdate {
                    visibility: Some("private".into()),
                    ..ImageUpdate::default()
                },
            )
            .await
            .map_err(|e| map_err(e, Some(&ec2_id)))?;
    }
    Ok(req.respond_true())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn code(pairs: &[(&str, &str)]) -> &'static str {
        modification(&params(pairs)).unwrap_err().code()
    }

    #[test]
    fn a_modification_names_exactly_one_attribute_with_its_value() {
        assert_eq!(code(&[]), "InvalidParameterCombination");
        assert_eq!(
            code(&[("Attribute", "unsupported")]),
            "InvalidParameterCombination"
        );
        assert_eq!(
            code(&[("Attribute", "blockDeviceMapping")]),
            "InvalidParameter"
        );
        assert_eq!(code(&[("Attribute", "description")]), "MissingParameter");
        assert_eq!(
            code(&[("Attribute", "launchPermission")]),
            "InvalidParameterCombination"
        );
        assert_eq!(
            code(&[
                ("Description.Value", "d"),
                ("LaunchPermission.Add.1.Group", "all")
            ]),
            "InvalidParameterCombination"
        );
        assert_eq!(
            code(&[
                ("LaunchPermission.Add.1.Group", "all"),
                ("LaunchPermission.Remove.1.Group", "all")
            ]),
            "InvalidParameterCombination"
        );
        assert_eq!(
            code(&[("LaunchPermission.Add.1.Group", "friends")]),
            "InvalidParameterValue"
        );
        assert_eq!(
            modification(&params(&[("Description.Value", "web")])).unwrap(),
            Modification::Description("web".into())
        );
        assert_eq!(
            modification(&params(&[
                ("Attribute", "launchPermission"),
                ("OperationType", "remove"),
                ("UserId.1", "p2")
            ]))
            .unwrap(),
            Modification::LaunchPermission(PermissionChange {
                add: false,
                all: false,
                users: vec!["p2".into()]
            })
        );
    }
}
