//! What the actions share: the compute context of a caller, the mapping of
//! compute errors onto EC2 codes, EC2 tags kept as instance metadata (as
//! nova did), paging tokens and the default security group.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::ActionRequest;
use crate::error::Ec2Error;
use crate::query::Filter;

/// The compute request context of an EC2 caller.
pub fn compute_ctx(req: &ActionRequest<'_>) -> compute::RequestContext {
    compute::RequestContext {
        user_id: req.ctx.user_id.clone(),
        project_id: req.ctx.project_id.clone(),
        roles: req.ctx.roles.clone(),
        is_admin: req.ctx.is_admin,
        request_id: req.request_id.to_string(),
    }
}

/// Maps a compute error onto EC2's codes; `id` is the EC2 id or name the
/// client used for the thing, when there is one.
pub fn map_err(e: compute::Error, id: Option<&str>) -> Ec2Error {
    use compute::{Error as E, Kind as K};
    let named = |fallback: &str| {
        id.map(str::to_string)
            .unwrap_or_else(|| fallback.to_string())
    };
    match e {
        E::NotFound {
            kind: K::Instance,
            id: raw,
        } => Ec2Error::InstanceNotFound(named(&raw)),
        E::NotFound {
            kind: K::Image,
            id: raw,
        } => Ec2Error::ImageNotFound(named(&raw)),
        E::NotFound {
            kind: K::Keypair,
            id: raw,
        } => Ec2Error::KeyPairNotFound(named(&raw)),
        E::NotFound {
            kind: K::Flavor,
            id: raw,
        } => Ec2Error::InvalidParameterValue(format!(
            "Invalid value '{}' for InstanceType.",
            named(&raw)
        )),
        E::NotFound {
            kind: K::AvailabilityZone,
            id: raw,
        } => {
            Ec2Error::InvalidParameterValue(format!("Invalid availability zone: [{}]", named(&raw)))
        }
        E::NotFound { .. } => Ec2Error::InvalidParameterValue(e.to_string()),
        E::InvalidState { .. } | E::Locked { .. } => {
            Ec2Error::IncorrectInstanceState(e.to_string())
        }
        E::QuotaExceeded { ref resource, .. }
            if resource.contains("instances")
                || resource.contains("cores")
                || resource.contains("ram") =>
        {
            Ec2Error::InstanceLimitExceeded(format!(
                "Your quota allows for 0 more running instance(s). {e}"
            ))
        }
        E::QuotaExceeded { .. } => Ec2Error::ResourceLimitExceeded(e.to_string()),
        E::Duplicate {
            kind: K::Keypair,
            name,
            ..
        } => Ec2Error::KeyPairDuplicate(name),
        E::Duplicate { .. } => Ec2Error::InvalidParameterValue(e.to_string()),
        E::Conflict(m) => Ec2Error::IncorrectState(m),
        E::Invalid(m) => Ec2Error::InvalidParameterValue(m),
        E::Forbidden(_) => Ec2Error::UnauthorizedOperation,
        other => Ec2Error::Internal(other.to_string()),
    }
}

/// Whether `value` matches a filter value with EC2's `*` and `?` wildcards.
pub fn glob(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match p.first() {
            None => v.is_empty(),
            Some('*') => (0..=v.len()).any(|i| go(&p[1..], &v[i..])),
            Some('?') => !v.is_empty() && go(&p[1..], &v[1..]),
            Some('\\') if p.len() > 1 => v.first() == Some(&p[1]) && go(&p[2..], &v[1..]),
            Some(c) => v.first() == Some(c) && go(&p[1..], &v[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

/// Whether any of a filter's values matches `value`.
pub fn any_matches(filter: &Filter, value: Option<&str>) -> bool {
    match value {
        Some(v) => filter.values.iter().any(|p| glob(p, v)),
        None => false,
    }
}

/// The tag filters every Describe supports: `tag:<key>`, `tag-key`,
/// `tag-value`. `None` when the filter is not a tag filter.
pub fn tag_filter_matches(filter: &Filter, tags: &BTreeMap<String, String>) -> Option<bool> {
    if let Some(key) = filter.name.strip_prefix("tag:") {
        return Some(any_matches(filter, tags.get(key).map(String::as_str)));
    }
    match filter.name.as_str() {
        "tag-key" => Some(tags.keys().any(|k| any_matches(filter, Some(k)))),
        "tag-value" => Some(tags.values().any(|v| any_matches(filter, Some(v)))),
        _ => None,
    }
}

/// An unknown filter name.
pub fn unknown_filter(name: &str) -> Ec2Error {
    Ec2Error::InvalidParameterValue(format!("The filter '{name}' is invalid"))
}

/// `MaxResults` within AWS's limits (`min..=1000`), if given.
pub fn max_results(req: &ActionRequest<'_>, min: usize) -> Result<Option<usize>, Ec2Error> {
    let Some(n) = req.params.int("MaxResults")? else {
        return Ok(None);
    };
    match usize::try_from(n) {
        Ok(limit) if (min..=1000).contains(&limit) => Ok(Some(limit)),
        _ => Err(Ec2Error::InvalidParameterValue(format!(
            "Value ( {n} ) for parameter maxResults is invalid. Expecting a value between {min} and 1000."
        ))),
    }
}

/// One page of `items` (sorted by `key`) after `NextToken`, and the token of the next page.
pub fn page<T>(
    req: &ActionRequest<'_>,
    mut items: Vec<T>,
    limit: Option<usize>,
    key: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>), Ec2Error> {
    items.sort_by_key(|a| key(a));
    if let Some(token) = req.params.get("NextToken").filter(|t| !t.is_empty()) {
        let after = decode_token(token).ok_or_else(|| {
            Ec2Error::InvalidParameterValue(format!("Invalid NextToken: {token}"))
        })?;
        items.retain(|i| key(i) > after);
    }
    match limit {
        Some(n) if items.len() > n => {
            items.truncate(n);
            let next = items.last().map(|i| encode_token(&key(i)));
            Ok((items, next))
        }
        _ => Ok((items, None)),
    }
}

fn encode_token(key: &str) -> String {
    hex::encode(key.as_bytes())
}

fn decode_token(token: &str) -> Option<String> {
    String::from_utf8(hex::decode(token).ok()?).ok()
}

/// The id of a project's `default` security group (`sg-` and 8 hex digits,
/// stable for the project).
pub fn default_group_id(project_id: &str) -> String {
    let digest = Sha256::digest(project_id.as_bytes());
    format!("sg-{}", hex::encode(&digest[..4]))
}

/// The compute tag that records an EC2 ClientToken on the instances it made.
pub fn client_token_tag(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    format!("ec2-client-token-{}", hex::encode(&digest[..16]))
}

/// The compute tag that records `disableApiTermination`.
pub const DISABLE_API_TERMINATION_TAG: &str = "ec2-disable-api-termination";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_supports_star_question_and_escape() {
        assert!(glob("web-*", "web-01"));
        assert!(glob("w?b", "web"));
        assert!(!glob("w?b", "weeb"));
        assert!(glob("a\\*", "a*"));
        assert!(!glob("a\\*", "ab"));
        assert!(glob("*", ""));
    }

    #[test]
    fn tag_filters_match_keys_and_values() {
        let tags: BTreeMap<String, String> = [("Name".to_string(), "web".to_string())].into();
        let f = |name: &str, v: &str| Filter {
            name: name.into(),
            values: vec![v.into()],
        };
        assert_eq!(tag_filter_matches(&f("tag:Name", "web"), &tags), Some(true));
        assert_eq!(tag_filter_matches(&f("tag:Name", "db"), &tags), Some(false));
        assert_eq!(tag_filter_matches(&f("tag-key", "Na*"), &tags), Some(true));
        assert_eq!(
            tag_filter_matches(&f("tag-value", "web"), &tags),
            Some(true)
        );
        assert_eq!(tag_filter_matches(&f("instance-id", "x"), &tags), None);
    }

    #[test]
    fn default_group_id_is_stable_per_project() {
        assert_eq!(default_group_id("p1"), default_group_id("p1"));
        assert_ne!(default_group_id("p1"), default_group_id("p2"));
        assert_eq!(default_group_id("p1").len(), 11);
    }
}
