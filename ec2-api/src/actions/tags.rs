//! CreateTags, DeleteTags and DescribeTags. As in nova, an instance's EC2
//! tags are its metadata: what EC2 tags, the Compute API and the metadata
//! service show as metadata, and the other way round. Only instances can
//! carry tags here.

use std::collections::BTreeMap;

use compute::InstanceFilter;

use super::common::{any_matches, compute_ctx, map_err, max_results, page, unknown_filter};
use super::ActionRequest;
use crate::error::Ec2Error;
use crate::ids::parse_instance_id;
use crate::state::Ec2State;

/// The instance uuids behind `ResourceId.N` (all must be visible instances).
async fn resources(
    state: &Ec2State,
    req: &ActionRequest<'_>,
) -> Result<Vec<(String, String)>, Ec2Error> {
    let ids = req.params.list("ResourceId");
    if ids.is_empty() {
        return Err(Ec2Error::MissingParameter("ResourceId".into()));
    }
    let ctx = compute_ctx(req);
    let mut out = Vec::with_capacity(ids.len());
    for ec2 in ids {
        if !ec2.starts_with("i-") {
            return Err(Ec2Error::InvalidId(ec2));
        }
        let id = parse_instance_id(&ec2).ok_or_else(|| Ec2Error::InstanceMalformed(ec2.clone()))?;
        let inst = state
            .compute
            .get_instance_by_id(&ctx, id)
            .await
            .map_err(|e| map_err(e, Some(&ec2)))?;
        out.push((ec2, inst.uuid));
    }
    Ok(out)
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
    if let Some(k) = items.keys().find(|k| k.starts_with("aws:")) {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Tag keys starting with 'aws:' are reserved for internal use: {k}"
        )));
    }
    let ctx = compute_ctx(req);
    for (ec2, uuid) in resources(state, req).await? {
        state
            .compute
            .update_instance_metadata(&ctx, &uuid, items.clone(), false)
            .await
            .map_err(|e| map_err(e, Some(&ec2)))?;
    }
    Ok(req.respond_true())
}

/// DeleteTags: a tag given with a value is removed only when the value matches.
pub async fn delete_tags(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    let tags = req.params.tags("Tag")?;
    let ctx = compute_ctx(req);
    for (ec2, uuid) in resources(state, req).await? {
        let current = state
            .compute
            .get_instance_metadata(&ctx, &uuid)
            .await
            .map_err(|e| map_err(e, Some(&ec2)))?;
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
                .delete_instance_metadata_item(&ctx, &uuid, key)
                .await
                .map_err(|e| map_err(e, Some(&ec2)))?;
        }
    }
    Ok(req.respond_true())
}

/// DescribeTags (filters `resource-id`, `resource-type`, `key`, `value`).
pub async fn describe_tags(state: &Ec2State, req: &ActionRequest<'_>) -> Result<String, Ec2Error> {
    let limit = max_results(req, 5)?;
    let filters = req.params.filters()?;
    let ctx = compute_ctx(req);
    let list = state
        .compute
        .list_instances(&ctx, &InstanceFilter::default())
        .await
        .map_err(|e| map_err(e, None))?;
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for i in &list {
        let ec2 = i.ec2_id();
        'tag: for (k, v) in &i.metadata {
            for f in &filters {
                let ok = match f.name.as_str() {
                    "resource-id" => any_matches(f, Some(&ec2)),
                    "resource-type" => any_matches(f, Some("instance")),
                    "key" => any_matches(f, Some(k)),
                    "value" => any_matches(f, Some(v)),
                    other => return Err(unknown_filter(other)),
                };
                if !ok {
                    continue 'tag;
                }
            }
            rows.push((ec2.clone(), k.clone(), v.clone()));
        }
    }
    let (rows, next) = page(req, rows, limit, |(id, k, _)| format!("{id}\u{1}{k}"))?;
    Ok(req.respond(|x| {
        x.set("tagSet", &rows, |x, (id, k, v)| {
            x.text("resourceId", id)
                .text("resourceType", "instance")
                .text("key", k)
                .text("value", v);
        });
        if let Some(n) = &next {
            x.text("nextToken", n);
        }
    }))
}
