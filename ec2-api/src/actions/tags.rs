//! CreateTags, DeleteTags and DescribeTags over every taggable resource
//! this API has: instances, images, security groups and key pairs.
//!
//! As in nova, an instance's EC2 tags are its metadata: what EC2 tags,
//! the Compute API and the metadata service show as metadata, and the
//! other way round. Images, security groups and key pairs keep their tags per
//! project in the store (`compute::ec2_tags`), as nova's ec2-api did: a
//! project may tag a public image it does not own and sees only its own
//! tags. Any other kind of id (`vol-`, `snap-`, `vpc-`, ...) names a
//! resource this cloud has not: `InvalidID`.

use std::collections::BTreeMap;

use compute::InstanceFilter;

use super::common::{any_matches, compute_ctx, map_err, max_results, page, unknown_filter};
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::ids::parse_instance_id;
use crate::state::Ec2State;
use crate::xml::Xml;

/// EC2's name of an instance.
pub const INSTANCE: &str = "instance";
/// EC2's name of an image.
pub const IMAGE: &str = "image";
/// EC2's name of a security group.
pub const SECURITY_GROUP: &str = "security-group";
/// EC2's name of a key pair.
pub const KEY_PAIR: &str = "key-pair";

/// The longest key and value (AWS's).
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 256;

/// A resource named by `ResourceId.N`.
enum Resource {
    /// An instance: its EC2 id and uuid.
    Instance(String, String),
    /// An image, security group or key pair: its kind and EC2 id.
    Stored(&'static str, String),
}

impl Resource {
    fn ec2_id(&self) -> &str {
        match self {
            Resource::Instance(id, _) | Resource::Stored(_, id) => id,
        }
    }
}

/// The resources behind `ResourceId.N`, each visible to the caller.
async fn resources(state: &Ec2State, req: &ActionRequest<'_>) -> Result<Vec<Resource>, Ec2Error> {
    let ids = req.params.list("ResourceId");
    if ids.is_empty() {
        return Err(Ec2Error::MissingParameter("ResourceId".into()));
    }
    let ctx = compute_ctx(req);
    let mut groups = None;
    let mut keys = None;
    let mut out = Vec::with_capacity(ids.len());
    for ec2 in ids {
        let kind = ec2.split_once('-').map(|(k, _)| k).unwrap_or("");
        match kind {
            "i" => {
                let id = parse_instance_id(&ec2)
                    .ok_or_else(|| Ec2Error::InstanceMalformed(ec2.clone()))?;
                let inst = state
                    .compute
                    .get_instance_by_id(&ctx, id)
                    .await
                    .map_err(|e| map_err(e, Some(&ec2)))?;
                out.push(Resource::Instance(ec2, inst.uuid));
            }
            "ami" | "aki" | "ari" => {
                let image = super::images::image_by_ec2_id(state, req, &ec2).await?;
                out.push(Resource::Stored(IMAGE, image.ec2_id()));
            }
            "sg" => {
                if groups.is_none() {
                    groups = Some(super::security_groups::visible_groups(state, req).await?);
                }
                let all = groups.as_deref().unwrap_or_default();
                let group = super::security_groups::by_id(all, &ec2)?;
                out.push(Resource::Stored(
                    SECURITY_GROUP,
                    super::security_groups::group_ec2_id(group),
                ));
            }
            "key" => {
                if keys.is_none() {
                    keys = Some(
                        state
                            .compute
                            .list_keypairs(&ctx, None, None, None)
                            .await
                            .map_err(|e| map_err(e, None))?,
                    );
                }
                if !keys
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|k| compute::ec2_key_pair_id(k.id) == ec2)
                {
                    return Err(Ec2Error::KeyPairNotFound(ec2));
                }
                out.push(Resource::Stored(KEY_PAIR, ec2));
            }
            _ => return Err(Ec2Error::InvalidId(ec2)),
        }
    }
    Ok(out)
}

/// Checks tags as AWS does: keys of 1 to 128 characters, not `aws:`,
/// values up to 256.
fn check_tags(items: &BTreeMap<String, String>) -> Result<(), Ec2Error> {
    for (k, v) in items {
        if k.starts_with("aws:") {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Tag keys starting with 'aws:' are reserved for internal use: {k}"
            )));
        }
        if k.is_empty() || k.chars().count() > MAX_KEY {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Tag key must be between 1 and {MAX_KEY} characters: '{k}'"
            )));
        }
        if v.chars().count() > MAX_VALUE {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Tag value exceeds the maximum length of {MAX_VALUE} characters"
            )));
        }
    }
    Ok(())
}

/// The tags of `TagSpecification.N` for `resource_type` (a create's own
/// kind); a specification of any other kind is refused, as AWS refuses it.
pub fn specified_tags(
    req: &ActionRequest<'_>,
    resource_type: &str,
) -> Result<BTreeMap<String, String>, Ec2Error> {
    let mut out = BTreeMap::new();
    for spec in req.params.tag_specifications()? {
        if spec.resource_type != resource_type {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "'{}' is not a valid taggable resource type for this operation.",
                spec.resource_type
            )));
        }
        for t in spec.tags {
            out.insert(t.key, t.value.unwrap_or_default());
        }
    }
    check_tags(&out)?;
    Ok(out)
}

/// A resource's `tagSet`.
pub fn write_tag_set(x: &mut Xml, tags: &BTreeMap<String, String>) {
    x.set("tagSet", tags, |x, (k, v)| {
        x.text("key", k).text("value", v);
    });
}

/// CreateTags.
pub async fn create_tags(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    let tags = req.params.tags("Tag")?;
    if tags.is_empty() {
        return Err(Ec2Error::MissingParameter("Tag".into()));
    }
    let items: BTreeMap<String, String> = tags
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect();
    check_tags(&items)?;
    let ctx = compute_ctx(req);
    // Every resource is checked before any is tagged.
    for r in resources(state, req).await? {
        match &r {
            Resource::Instance(ec2, uuid) => state
                .compute
                .update_instance_metadata(&ctx, uuid, items.clone(), false)
                .await
                .map(|_| ())
                .map_err(|e| map_err(e, Some(ec2)))?,
            Resource::Stored(kind, ec2) => state
                .compute
                .set_ec2_tags(&ctx, kind, ec2, &items)
                .await
                .map_err(|e| map_err(e, Some(r.ec2_id())))?,
        }
    }
    Ok(req.respond_true())
}

/// DeleteTags: a tag given with a value is removed only when the value
/// matches; no tags at all removes every tag of the resources.
pub async fn delete_tags(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    let tags = req.params.tags("Tag")?;
    let ctx = compute_ctx(req);
    for r in resources(state, req).await? {
        match &r {
            Resource::Instance(ec2, uuid) => {
                let current = state
                    .compute
                    .get_instance_metadata(&ctx, uuid)
                    .await
                    .map_err(|e| map_err(e, Some(ec2)))?;
                let doomed: Vec<&String> = current
                    .iter()
                    .filter(|(k, v)| {
                        tags.is_empty()
                            || tags
                                .iter()
                                .any(|t| &t.key == *k && t.value.as_ref().is_none_or(|tv| tv == *v))
                    })
                    .map(|(k, _)| k)
                    .collect();
                for key in doomed {
                    state
                        .compute
                        .delete_instance_metadata_item(&ctx, uuid, key)
                        .await
                        .map_err(|e| map_err(e, Some(ec2)))?;
                }
            }
            Resource::Stored(_, ec2) => {
                let keys: Vec<(String, Option<String>)> = tags
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone()))
                    .collect();
                state
                    .compute
                    .delete_ec2_tags(&ctx, ec2, &keys)
                    .await
                    .map_err(|e| map_err(e, Some(ec2)))?;
            }
        }
    }
    Ok(req.respond_true())
}

/// One row of DescribeTags: resource id, its kind, key, value.
type TagRow = (String, &'static str, String, String);

fn kind_name(kind: &str) -> &'static str {
    match kind {
        IMAGE => IMAGE,
        SECURITY_GROUP => SECURITY_GROUP,
        KEY_PAIR => KEY_PAIR,
        _ => INSTANCE,
    }
}

/// DescribeTags across instances, images, security groups and key pairs (filters
/// `resource-id`, `resource-type`, `key`, `value`, `tag:<key>`).
pub async fn describe_tags(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    let limit = max_results(req, 5)?;
    let filters = req.params.filters()?;
    let ctx = compute_ctx(req);
    let list = state
        .compute
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .map_err(|e| map_err(e, None))?;
    let mut all: Vec<TagRow> = Vec::new();
    for i in &list {
        let ec2 = i.ec2_id();
        for (k, v) in &i.metadata {
            all.push((ec2.clone(), INSTANCE, k.clone(), v.clone()));
        }
    }
    for t in state
        .compute
        .list_ec2_tags(&ctx, None)
        .await
        .map_err(|e| map_err(e, None))?
    {
        all.push((t.resource_id, kind_name(&t.resource_type), t.key, t.value));
    }
    let mut rows: Vec<TagRow> = Vec::new();
    'tag: for row in all {
        let (id, kind, k, v) = &row;
        for f in &filters {
            let ok = match f.name.as_str() {
                "resource-id" => any_matches(f, Some(id)),
                "resource-type" => any_matches(f, Some(kind)),
                "key" => any_matches(f, Some(k)),
                "value" => any_matches(f, Some(v)),
                name => match name.strip_prefix("tag:") {
                    Some(key) => key == k && any_matches(f, Some(v)),
                    None => return Err(unknown_filter(name)),
                },
            };
            if !ok {
                continue 'tag;
            }
        }
        rows.push(row);
    }
    let (rows, next) = page(req, rows, limit, |(id, _, k, _)| format!("{id}\u{1}{k}"))?;
    Ok(req.respond(|x| {
        x.set("tagSet", &rows, |x, (id, kind, k, v)| {
            x.text("resourceId", id)
                .text("resourceType", kind)
                .text("key", k)
                .text("value", v);
        });
        if let Some(n) = &next {
            x.text("nextToken", n);
        }
    }))
}
