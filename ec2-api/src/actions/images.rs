//! The image actions: DescribeImages, CreateImage and DeregisterImage, and
//! the mapping between image uuids and `ami-%08x`.

use std::collections::BTreeMap;

use compute::{Image, ImageFilter};

use super::common::{
    any_matches, compute_ctx, map_err, max_results, page, tag_filter_matches, unknown_filter,
};
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::ids::parse_image_id;
use crate::state::Ec2State;
use crate::xml::{timestamp, Xml};

/// The EC2 id of the image with this uuid; an image gone since (or never
/// visible) still gets an id-shaped placeholder so listings stay whole.
pub async fn image_ec2_id_of(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    uuid: &str,
) -> Result<String, Ec2Error> {
    match state.compute.get_image(&compute_ctx(req), uuid).await {
        Ok(i) => Ok(i.ec2_id()),
        Err(compute::Error::NotFound { .. }) => Ok("ami-00000000".to_string()),
        Err(e) => Err(map_err(e, None)),
    }
}

/// The uuid of the image named `ami-…`; `InvalidAMIID.Malformed` or `.NotFound`.
pub async fn image_uuid_of(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    ec2_id: &str,
) -> Result<String, Ec2Error> {
    Ok(image_by_ec2_id(state, req, ec2_id).await?.uuid)
}

pub(super) async fn image_by_ec2_id(
    state: &Ec2State,
    req: &ActionRequest<'_>,
    ec2_id: &str,
) -> Result<Image, Ec2Error> {
    parse_image_id(ec2_id).ok_or_else(|| Ec2Error::ImageMalformed(ec2_id.to_string()))?;
    let image = state
        .compute
        .get_image_by_ec2_id(&compute_ctx(req), ec2_id)
        .await
        .map_err(|e| match e {
            compute::Error::NotFound { .. } | compute::Error::Invalid(_) => {
                Ec2Error::ImageNotFound(ec2_id.to_string())
            }
            other => map_err(other, Some(ec2_id)),
        })?;
    if image.status == "deleted" || image.status == "killed" {
        return Err(Ec2Error::ImageNotFound(ec2_id.to_string()));
    }
    Ok(image)
}

fn image_state(status: &str) -> &'static str {
    match status {
        "active" => "available",
        "queued" | "saving" | "importing" | "uploading" => "pending",
        "deactivated" => "deregistered",
        _ => "failed",
    }
}

fn image_type(i: &Image) -> &'static str {
    match i.disk_format.as_deref() {
        Some("aki") => "kernel",
        Some("ari") => "ramdisk",
        _ => "machine",
    }
}

fn prop(i: &Image, key: &str) -> Option<String> {
    i.properties.get(key).map(|v| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The caller's project's EC2 tags of images, by EC2 id.
type ImageTags = BTreeMap<String, BTreeMap<String, String>>;

/// The tags of image `i` among `all`.
fn image_tags<'a>(all: &'a ImageTags, i: &Image) -> &'a BTreeMap<String, String> {
    static NONE: BTreeMap<String, String> = BTreeMap::new();
    all.get(&i.ec2_id()).unwrap_or(&NONE)
}

fn is_public(i: &Image) -> bool {
    matches!(i.visibility.as_str(), "public" | "community")
}

fn write_image(x: &mut Xml, i: &Image, tags: &BTreeMap<String, String>) {
    let name = i.name.clone().unwrap_or_default();
    let owner = i.owner.clone().unwrap_or_default();
    x.text("imageId", &i.ec2_id());
    x.text(
        "imageLocation",
        &prop(i, "image_location").unwrap_or_else(|| format!("{owner}/{name}")),
    );
    x.text("imageState", image_state(&i.status));
    x.text("imageOwnerId", &owner);
    x.text("creationDate", &timestamp(i.created_at));
    x.boolean("isPublic", is_public(i));
    x.text(
        "architecture",
        &prop(i, "architecture").unwrap_or_else(|| "x86_64".into()),
    );
    x.text("imageType", image_type(i));
    x.text("name", &name);
    if let Some(d) = prop(i, "description") {
        x.text("description", &d);
    }
    x.text("rootDeviceType", "instance-store");
    x.text(
        "rootDeviceName",
        &prop(i, "root_device_name").unwrap_or_else(|| "/dev/vda".into()),
    );
    x.empty("blockDeviceMapping");
    x.text("virtualizationType", "hvm");
    x.text("hypervisor", "xen");
    super::tags::write_tag_set(x, tags);
}

fn image_filter_matches(
    f: &crate::query::Filter,
    i: &Image,
    tags: &BTreeMap<String, String>,
) -> Result<bool, Ec2Error> {
    if let Some(m) = tag_filter_matches(f, tags) {
        return Ok(m);
    }
    Ok(match f.name.as_str() {
        "image-id" => any_matches(f, Some(&i.ec2_id())),
        "name" => any_matches(f, Some(i.name.as_deref().unwrap_or(""))),
        "state" => any_matches(f, Some(image_state(&i.status))),
        "is-public" => any_matches(f, Some(if is_public(i) { "true" } else { "false" })),
        "owner-id" => any_matches(f, i.owner.as_deref()),
        "image-type" => any_matches(f, Some(image_type(i))),
        "architecture" => any_matches(
            f,
            Some(&prop(i, "architecture").unwrap_or_else(|| "x86_64".into())),
        ),
        "root-device-type" => any_matches(f, Some("instance-store")),
        "virtualization-type" => any_matches(f, Some("hvm")),
        "description" => any_matches(f, prop(i, "description").as_deref()),
        other => return Err(unknown_filter(other)),
    })
}

/// DescribeImages (`ImageId.N`, `Owner.N` with `self`, `Filter.N`).
pub async fn describe_images(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let ctx = compute_ctx(req);
    let limit = max_results(req, 5)?;
    let ec2_ids = req.params.list("ImageId");
    let filters = req.params.filters()?;
    let owners: Vec<String> = req
        .params
        .list("Owner")
        .into_iter()
        .map(|o| {
            if o == "self" {
                req.ctx.project_id.clone()
            } else {
                o
            }
        })
        .collect();
    let mut list: Vec<Image> = if ec2_ids.is_empty() {
        state
            .compute
            .list_images(&ctx, &ImageFilter::default())
            .await
            .map_err(|e| map_err(e, None))?
    } else {
        let mut out = Vec::new();
        for id in &ec2_ids {
            out.push(image_by_ec2_id(state, req, id).await?);
        }
        out
    };
    list.retain(|i| i.status != "deleted" && i.status != "killed");
    if !owners.is_empty() {
        list.retain(|i| i.owner.as_ref().is_some_and(|o| owners.contains(o)));
    }
    let tags = state
        .compute
        .ec2_tags_by_resource(&ctx, super::tags::IMAGE)
        .await
        .map_err(|e| map_err(e, None))?;
    let mut kept = Vec::with_capacity(list.len());
    'next: for i in list {
        for f in &filters {
            if !image_filter_matches(f, &i, image_tags(&tags, &i))? {
                continue 'next;
            }
        }
        kept.push(i);
    }
    let (kept, next) = page(req, kept, limit, |i| format!("{:016x}", i.id))?;
    Ok(req.respond(|x| {
        x.set("imagesSet", &kept, |x, i| {
            write_image(x, i, image_tags(&tags, i))
        });
        if let Some(n) = &next {
            x.text("nextToken", n);
        }
    }))
}

/// CreateImage, as nova's EC2 API had it: only an instance whose root is
/// a volume (EBS) can be imaged, and this cloud has no block storage, so
/// every instance's root is its instance store and the request is refused
/// with `InvalidParameterValue` once its parameters are checked: the
/// instance must exist and the name must be 3 to 128 characters and not
/// already name one of the project's images (`InvalidAMIName.Duplicate`).
/// Snapshots are the compute API's `createImage`.
pub async fn create_image(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    let ctx = compute_ctx(req);
    let ec2 = req.params.require("InstanceId")?.to_string();
    let name = req.params.require("Name")?.to_string();
    if name.chars().count() < 3 || name.chars().count() > 128 {
        return Err(Ec2Error::InvalidParameterValue(
            "The image name must be between 3 and 128 characters long".into(),
        ));
    }
    let id = crate::ids::parse_instance_id(&ec2)
        .ok_or_else(|| Ec2Error::InstanceMalformed(ec2.clone()))?;
    let instance = state
        .compute
        .get_instance_by_id(&ctx, id)
        .await
        .map_err(|e| map_err(e, Some(&ec2)))?;
    let existing = state
        .compute
        .list_images(
            &ctx,
            &ImageFilter {
                name: Some(name.clone()),
                owner: Some(ctx.project_id.clone()),
                ..ImageFilter::default()
            },
        )
        .await
        .map_err(|e| map_err(e, None))?;
    if let Some(taken) = existing
        .iter()
        .find(|i| i.status != "deleted" && i.status != "killed")
    {
        return Err(Ec2Error::AmiNameDuplicate(name, taken.ec2_id()));
    }
    Err(Ec2Error::InvalidParameterValue(format!(
        "Invalid value '{ec2}' for instanceId. Instance does not have a volume attached at root ({})",
        instance_root_device(&instance)
    )))
}

/// The root device an instance reports (`/dev/vda`, its instance store).
fn instance_root_device(_instance: &compute::Instance) -> &'static str {
    "/dev/vda"
}

/// DeregisterImage.
pub async fn deregister_image(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<String, Ec2Error> {
    let ec2 = req.params.require("ImageId")?.to_string();
    let image = image_by_ec2_id(state, req, &ec2).await?;
    super::image_attributes::check_owner(req, &image, &ec2)?;
    state
        .compute
        .delete_image(&compute_ctx(req), &image.uuid)
        .await
        .map_err(|e| map_err(e, Some(&ec2)))?;
    state
        .compute
        .forget_ec2_tags(&image.ec2_id())
        .await
        .map_err(|e| map_err(e, Some(&ec2)))?;
    Ok(req.respond_true())
}
