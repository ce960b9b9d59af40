//! A validated Keystone v3 token (`{"token": {...}}`) and the request
//! headers keystonemiddleware derives from it.

use chrono::{DateTime, Utc};
use http::{HeaderName, HeaderValue};
use serde::Deserialize;

/// What the filter learnt about a token: who, where, which roles, until when.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenInfo {
    /// The user's id.
    pub user_id: String,
    /// The user's name.
    pub user_name: String,
    /// The user's domain id.
    pub user_domain_id: Option<String>,
    /// The user's domain name.
    pub user_domain_name: Option<String>,
    /// The project of a project-scoped token.
    pub project_id: Option<String>,
    /// Its name.
    pub project_name: Option<String>,
    /// Its domain id.
    pub project_domain_id: Option<String>,
    /// Its domain name.
    pub project_domain_name: Option<String>,
    /// The domain of a domain-scoped token.
    pub domain_id: Option<String>,
    /// Its name.
    pub domain_name: Option<String>,
    /// Role names, in Keystone's order.
    pub roles: Vec<String>,
    /// `is_admin_project` (true when Keystone leaves it out).
    pub is_admin_project: bool,
    /// `all` for a system-scoped token.
    pub system_scope: Option<String>,
    /// When the token stops being valid.
    pub expires_at: DateTime<Utc>,
    /// The catalogue in keystonemiddleware's `X-Service-Catalog` (v2) form.
    pub catalog_v2: Option<String>,
}

#[derive(Deserialize)]
struct Body {
    token: RawToken,
}

#[derive(Deserialize)]
struct Named {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Scoped {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain: Option<Named>,
}

#[derive(Deserialize)]
struct RawToken {
    user: Scoped,
    #[serde(default)]
    project: Option<Scoped>,
    #[serde(default)]
    domain: Option<Named>,
    #[serde(default)]
    roles: Vec<Role>,
    expires_at: String,
    #[serde(default)]
    is_admin_project: Option<bool>,
    #[serde(default)]
    system: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    catalog: Option<Vec<Service>>,
}

#[derive(Deserialize)]
struct Role {
    name: String,
}

#[derive(Deserialize)]
struct Service {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

/// Keystone's time stamps: `2026-11-24T16:39:22.000000Z` (RFC 3339 too).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// keystonemiddleware's v3 → v2 catalogue: one entry per service and
/// region, with `publicURL`/`internalURL`/`adminURL`.
fn catalog_v2(services: &[Service]) -> String {
    let mut out = Vec::new();
    for service in services {
        let mut by_region: Vec<(Option<String>, serde_json::Map<String, serde_json::Value>)> =
            Vec::new();
        for ep in &service.endpoints {
            let region = ep.region_id.clone().or_else(|| ep.region.clone());
            let slot = match by_region.iter().position(|(r, _)| *r == region) {
                Some(i) => i,
                None => {
                    let mut m = serde_json::Map::new();
                    if let Some(r) = &region {
                        m.insert("region".into(), r.clone().into());
                    }
                    if let Some(id) = &ep.id {
                        m.insert("id".into(), id.clone().into());
                    }
                    by_region.push((region, m));
                    by_region.len() - 1
                }
            };
            if let (Some(interface), Some(url)) = (&ep.interface, &ep.url) {
                by_region[slot]
                    .1
                    .insert(format!("{interface}URL"), url.clone().into());
            }
        }
        let mut entry = serde_json::Map::new();
        if let Some(kind) = &service.kind {
            entry.insert("type".into(), kind.clone().into());
        }
        if let Some(name) = &service.name {
            entry.insert("name".into(), name.clone().into());
        }
        entry.insert(
            "endpoints".into(),
            by_region
                .into_iter()
                .map(|(_, m)| serde_json::Value::Object(m))
                .collect::<Vec<_>>()
                .into(),
        );
        out.push(serde_json::Value::Object(entry));
    }
    serde_json::Value::Array(out).to_string()
}

impl TokenInfo {
    /// Reads a validation (or ec2tokens) answer body.
    pub fn from_body(body: &[u8]) -> Result<Self, String> {
        let body: Body = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let t = body.token;
        let expires_at = parse_time(&t.expires_at)
            .ok_or_else(|| format!("unreadable expires_at {:?}", t.expires_at))?;
        let (user_domain_id, user_domain_name) = match t.user.domain {
            Some(d) => (Some(d.id), d.name),
            None => (None, None),
        };
        let (project_id, project_name, project_domain_id, project_domain_name) = match t.project {
            Some(p) => {
                let (did, dname) = match p.domain {
                    Some(d) => (Some(d.id), d.name),
                    None => (None, None),
                };
                (Some(p.id), p.name, did, dname)
            }
            None => (None, None, None, None),
        };
        let (domain_id, domain_name) = match t.domain {
            Some(d) => (Some(d.id), d.name),
            None => (None, None),
        };
        let system_scope = t
            .system
            .filter(|s| s.get("all").and_then(|v| v.as_bool()) == Some(true))
            .map(|_| "all".to_string());
        Ok(TokenInfo {
            user_name: t.user.name.unwrap_or_default(),
            user_id: t.user.id,
            user_domain_id,
            user_domain_name,
            project_id,
            project_name,
            project_domain_id,
            project_domain_name,
            domain_id,
            domain_name,
            roles: t.roles.into_iter().map(|r| r.name).collect(),
            is_admin_project: t.is_admin_project.unwrap_or(true),
            system_scope,
            expires_at,
            catalog_v2: t.catalog.as_deref().map(catalog_v2),
        })
    }

    /// Whether one of `wanted` is among the token's roles (case-insensitive,
    /// as oslo.policy compares roles).
    pub fn has_any_role(&self, wanted: &[String]) -> bool {
        self.roles
            .iter()
            .any(|r| wanted.iter().any(|w| w.eq_ignore_ascii_case(r)))
    }

    /// The headers keystonemiddleware sets for this token: `prefix` is `X-`
    /// for the user's token and `X-Service-` for a service token.
    pub fn headers(&self, prefix: &str, with_catalog: bool) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::new();
        let mut put = |name: &str, value: &str| {
            if let (Ok(n), Ok(v)) = (
                HeaderName::try_from(name.to_ascii_lowercase()),
                HeaderValue::from_str(value),
            ) {
                out.push((n, v));
            }
        };
        let opt = |v: &Option<String>| v.clone();
        let status = if prefix == "X-" {
            "X-Identity-Status".to_string()
        } else {
            "X-Service-Identity-Status".to_string()
        };
        put(&status, "Confirmed");
        put(&format!("{prefix}User-Id"), &self.user_id);
        put(&format!("{prefix}User-Name"), &self.user_name);
        for (name, value) in [
            ("User-Domain-Id", opt(&self.user_domain_id)),
            ("User-Domain-Name", opt(&self.user_domain_name)),
            ("Project-Id", opt(&self.project_id)),
            ("Project-Name", opt(&self.project_name)),
            ("Project-Domain-Id", opt(&self.project_domain_id)),
            ("Project-Domain-Name", opt(&self.project_domain_name)),
            ("Domain-Id", opt(&self.domain_id)),
            ("Domain-Name", opt(&self.domain_name)),
            ("System-Scope", opt(&self.system_scope)),
        ] {
            if let Some(v) = value {
                put(&format!("{prefix}{name}"), &v);
            }
        }
        let roles = self.roles.join(",");
        put(&format!("{prefix}Roles"), &roles);
        put(
            &format!("{prefix}Is-Admin-Project"),
            if self.is_admin_project {
                "True"
            } else {
                "False"
            },
        );
        if prefix == "X-" {
            // The names keystonemiddleware still sets for older consumers.
            put("X-User", &self.user_name);
            put("X-Role", &roles);
            if let Some(p) = &self.project_id {
                put("X-Tenant-Id", p);
            }
            if let Some(p) = &self.project_name {
                put("X-Tenant-Name", p);
                put("X-Tenant", p);
            }
            if with_catalog {
                if let Some(c) = &self.catalog_v2 {
                    put("X-Service-Catalog", c);
                }
            }
        }
        out
    }
}

/// Every header keystonemiddleware sets, which it removes from the incoming
/// request first so that a client cannot forge them (lower-case).
pub fn forgeable_headers() -> Vec<HeaderName> {
    let mut names = vec![
        "x-identity-status".to_string(),
        "x-service-identity-status".to_string(),
        "x-service-catalog".to_string(),
        "x-user".to_string(),
        "x-role".to_string(),
        "x-tenant-id".to_string(),
        "x-tenant-name".to_string(),
        "x-tenant".to_string(),
    ];
    for prefix in ["x-", "x-service-"] {
        for name in [
            "user-id",
            "user-name",
            "user-domain-id",
            "user-domain-name",
            "project-id",
            "project-name",
            "project-domain-id",
            "project-domain-name",
            "domain-id",
            "domain-name",
            "system-scope",
            "roles",
            "is-admin-project",
        ] {
            names.push(format!("{prefix}{name}"));
        }
    }
    names
        .into_iter()
        .filter_map(|n| HeaderName::try_from(n).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keystones_validation_body() {
        let body = br#"{"token": {"methods": ["password"],
          "user": {"domain": {"id": "default", "name": "Default"}, "id": "u1", "name": "alice"},
          "expires_at": "2030-11-24T16:39:22.000000Z",
          "project": {"domain": {"id": "default", "name": "Default"}, "id": "p1", "name": "demo"},
          "is_domain": false,
          "roles": [{"id": "r1", "name": "member"}, {"id": "r2", "name": "reader"}],
          "catalog": [{"type": "compute", "name": "nova", "endpoints": [
             {"interface": "public", "region_id": "RegionOne", "url": "http://c/v2.1", "id": "e1"},
             {"interface": "internal", "region_id": "RegionOne", "url": "http://i/v2.1", "id": "e2"}]}]}}"#;
        let t = TokenInfo::from_body(body).unwrap();
        assert_eq!(
            (
                t.user_id.as_str(),
                t.project_id.as_deref(),
                t.roles.join(",")
            ),
            ("u1", Some("p1"), "member,reader".to_string())
        );
        assert_eq!(t.expires_at, parse_time("2030-11-24T16:39:22Z").unwrap());
        let catalog: serde_json::Value =
            serde_json::from_str(t.catalog_v2.as_deref().unwrap()).unwrap();
        assert_eq!(
            catalog[0]["endpoints"][0]["publicURL"],
            serde_json::json!("http://c/v2.1")
        );
        assert_eq!(
            catalog[0]["endpoints"][0]["internalURL"],
            serde_json::json!("http://i/v2.1")
        );
        let headers = t.headers("X-", true);
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.as_str() == n)
                .map(|(_, v)| v.to_str().unwrap().to_string())
        };
        assert_eq!(get("x-project-id").as_deref(), Some("p1"));
        assert_eq!(get("x-roles").as_deref(), Some("member,reader"));
        assert_eq!(get("x-identity-status").as_deref(), Some("Confirmed"));
        assert_eq!(get("x-domain-id"), None);
    }
}
