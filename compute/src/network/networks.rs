//! Networks: create, show, list, update, delete.

use serde::Serialize;

use super::listing::{self, ListQuery, Page};
use super::quotas::{self, quota_lock};
use super::{check_text, owner_project, require_admin, NetworkError, NetworkResult, DEFAULT_MTU};
use crate::store::{args, from_micros, now_micros, Tx};
use crate::{Compute, RequestContext};

/// A network as Neutron shows it (attribute names are Neutron's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    /// The uuid.
    pub id: String,
    /// The owner project.
    pub project_id: String,
    /// The name ('' when none).
    pub name: String,
    /// The description.
    pub description: String,
    /// Visible to (and usable by) every project.
    pub shared: bool,
    /// An external network (`router:external`).
    #[serde(rename = "router:external")]
    pub router_external: bool,
    /// The default external network, where auto-allocated topologies get
    /// their gateway (`is_default`; false on any other network).
    pub is_default: bool,
    /// The administrative state.
    pub admin_state_up: bool,
    /// The MTU.
    pub mtu: i64,
    /// `ACTIVE`.
    pub status: String,
    /// The ids of its subnets, oldest first.
    pub subnets: Vec<String>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Network {
    /// The attributes a list may filter and sort on.
    pub const FIELDS: &'static [&'static str] = &[
        "id",
        "project_id",
        "name",
        "description",
        "shared",
        "router:external",
        "is_default",
        "admin_state_up",
        "mtu",
        "status",
        "subnets",
        "created_at",
        "updated_at",
    ];
}

/// What to create (`POST /v2.0/networks`); `None` takes Neutron's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewNetwork {
    /// The name ('').
    pub name: Option<String>,
    /// The description ('').
    pub description: Option<String>,
    /// The owner project (the caller's; another one: admin only).
    pub project_id: Option<String>,
    /// Shared (false; true: admin only).
    pub shared: Option<bool>,
    /// External (false; true: admin only).
    pub router_external: Option<bool>,
    /// The default external network (false; true: admin only, external
    /// networks only, one at most).
    pub is_default: Option<bool>,
    /// The administrative state (true).
    pub admin_state_up: Option<bool>,
    /// The MTU ([`DEFAULT_MTU`]; 68 or more).
    pub mtu: Option<i64>,
}

/// What to change (`PUT /v2.0/networks/{id}`); `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkUpdate {
    /// The name.
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Shared (admin only).
    pub shared: Option<bool>,
    /// External (admin only).
    pub router_external: Option<bool>,
    /// The default external network (admin only).
    pub is_default: Option<bool>,
    /// The administrative state.
    pub admin_state_up: Option<bool>,
    /// The MTU.
    pub mtu: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct NetworkRow {
    id: String,
    project_id: String,
    name: String,
    description: String,
    shared: bool,
    router_external: bool,
    is_default: bool,
    admin_state_up: bool,
    mtu: i64,
    status: String,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, project_id, name, description, shared, router_external, is_default, admin_state_up, mtu, status, created_at, updated_at";

/// The visibility condition of a non-admin caller on `networks` (`$1`:
/// the project): its own, the shared ones and the external ones (as
/// Neutron's policy lets every project see an external network).
const VISIBLE: &str = "(project_id = $1 OR shared = TRUE OR router_external = TRUE)";

impl NetworkRow {
    fn into_network(self, subnets: Vec<String>) -> Network {
        Network {
            id: self.id,
            project_id: self.project_id,
            name: self.name,
            description: self.description,
            shared: self.shared,
            router_external: self.router_external,
            is_default: self.is_default,
            admin_state_up: self.admin_state_up,
            mtu: self.mtu,
            status: self.status,
            subnets,
            created_at: from_micros(self.created_at),
            updated_at: from_micros(self.updated_at),
        }
    }
}

/// Refuses a second default external network (`id` is the one becoming
/// it). The unique index `networks_one_default` backs this under races.
async fn check_no_other_default(tx: &mut Tx, id: &str) -> NetworkResult<()> {
    let other: Option<(String,)> = tx
        .fetch_optional(
            "SELECT id FROM networks WHERE is_default = TRUE AND id <> $1",
            args![id],
        )
        .await?;
    match other {
        Some((other,)) => Err(NetworkError::DefaultExternalNetworkExists(other)),
        None => Ok(()),
    }
}

fn check_mtu(mtu: i64) -> NetworkResult<()> {
    if !(68..=65535).contains(&mtu) {
        return Err(NetworkError::invalid_attribute(
            "mtu",
            &format!("'{mtu}' is not in range 68 through 65535"),
        ));
    }
    Ok(())
}

/// The network `id` as `ctx` may see it, inside a transaction.
pub(crate) async fn visible_in_tx(
    tx: &mut Tx,
    ctx: &RequestContext,
    id: &str,
) -> NetworkResult<(String, bool)> {
    let row: Vec<(String, bool)> = tx
        .fetch_all(
            "SELECT project_id, shared FROM networks WHERE id = $1",
            args![id],
        )
        .await?;
    match row.into_iter().next() {
        Some((project, shared)) if ctx.is_admin || shared || project == ctx.project_id => {
            Ok((project, shared))
        }
        _ => Err(NetworkError::NetworkNotFound(id.to_string())),
    }
}

impl Compute {
    async fn network_rows(
        &self,
        ctx: &RequestContext,
        id: Option<&str>,
    ) -> NetworkResult<Vec<NetworkRow>> {
        let rows = match (ctx.is_admin, id) {
            (true, None) => {
                self.store
                    .fetch_all(&format!("SELECT {COLUMNS} FROM networks"), args![])
                    .await?
            }
            (true, Some(id)) => {
                self.store
                    .fetch_all(
                        &format!("SELECT {COLUMNS} FROM networks WHERE id = $1"),
                        args![id],
                    )
                    .await?
            }
            (false, None) => {
                self.store
                    .fetch_all(
                        &format!("SELECT {COLUMNS} FROM networks WHERE {VISIBLE}"),
                        args![&ctx.project_id],
                    )
                    .await?
            }
            (false, Some(id)) => {
                self.store
                    .fetch_all(
                        &format!("SELECT {COLUMNS} FROM networks WHERE {VISIBLE} AND id = $2"),
                        args![&ctx.project_id, id],
                    )
                    .await?
            }
        };
        Ok(rows)
    }

    async fn with_subnets(&self, rows: Vec<NetworkRow>) -> NetworkResult<Vec<Network>> {
        let pairs: Vec<(String, String)> = self
            .store
            .fetch_all(
                "SELECT network_id, id FROM subnets ORDER BY created_at, id",
                args![],
            )
            .await?;
        let mut by_network: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for (net, id) in pairs {
            by_network.entry(net).or_default().push(id);
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let subnets = by_network.remove(&r.id).unwrap_or_default();
                r.into_network(subnets)
            })
            .collect())
    }

    /// Creates a network owned by the caller's project (or, admin only,
    /// the one given). `shared` and `router:external` need an admin.
    pub async fn create_network(
        &self,
        ctx: &RequestContext,
        req: NewNetwork,
    ) -> NetworkResult<Network> {
        let project = owner_project(ctx, req.project_id.as_deref())?;
        let name = req.name.unwrap_or_default();
        check_text("name", &name)?;
        let description = req.description.unwrap_or_default();
        check_text("description", &description)?;
        let shared = req.shared.unwrap_or(false);
        if shared {
            require_admin(ctx, "create_network", "shared")?;
        }
        let external = req.router_external.unwrap_or(false);
        if external {
            require_admin(ctx, "create_network", "router:external")?;
        }
        let mtu = req.mtu.unwrap_or(DEFAULT_MTU);
        check_mtu(mtu)?;
        let is_default = req.is_default.unwrap_or(false);
        if is_default {
            require_admin(ctx, "create_network", "is_default")?;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_micros();
        let mut tx = self.store.begin_locked(&quota_lock(&project)).await?;
        quotas::check(&mut tx, &self.config.network_quota, &project, "network", 1).await?;
        if is_default && external {
            check_no_other_default(&mut tx, &id).await?;
        }
        tx.execute(
            "INSERT INTO networks (id, project_id, name, description, shared, router_external, \
             is_default, admin_state_up, mtu, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'ACTIVE', $10, $10)",
            args![
                &id,
                project,
                name,
                description,
                shared,
                external,
                is_default && external,
                req.admin_state_up.unwrap_or(true),
                mtu,
                now
            ],
        )
        .await?;
        tx.commit().await?;
        self.get_network(ctx, &id).await
    }

    /// The network `id`, when the caller may see it.
    pub async fn get_network(&self, ctx: &RequestContext, id: &str) -> NetworkResult<Network> {
        let rows = self.network_rows(ctx, Some(id)).await?;
        if rows.is_empty() {
            return Err(NetworkError::NetworkNotFound(id.to_string()));
        }
        Ok(self.with_subnets(rows).await?.remove(0))
    }

    /// The networks the caller sees (its own, the shared and the external
    /// ones; all for an admin), filtered, sorted and paged by `query`.
    pub async fn list_networks(
        &self,
        ctx: &RequestContext,
        query: &ListQuery,
    ) -> NetworkResult<Page<Network>> {
        let rows = self.network_rows(ctx, None).await?;
        let networks = self.with_subnets(rows).await?;
        listing::page(
            networks,
            query,
            Network::FIELDS,
            |n| n.id.as_str(),
            NetworkError::NetworkNotFound,
        )
    }

    /// The network `id` as the caller may change it: visible and owned
    /// (or the caller is admin).
    async fn owned_network(
        &self,
        ctx: &RequestContext,
        id: &str,
        action: &str,
    ) -> NetworkResult<Network> {
        let network = self.get_network(ctx, id).await?;
        if !ctx.is_admin && network.project_id != ctx.project_id {
            return Err(super::not_owner(action));
        }
        Ok(network)
    }

    /// Changes a network (its owner or an admin; `shared` and
    /// `router:external` need an admin). A network with router gateways or
    /// floating IPs stays external ([`NetworkError::ExternalNetworkInUse`]).
    pub async fn update_network(
        &self,
        ctx: &RequestContext,
        id: &str,
        req: NetworkUpdate,
    ) -> NetworkResult<Network> {
        let current = self.owned_network(ctx, id, "update_network").await?;
        if let Some(n) = &req.name {
            check_text("name", n)?;
        }
        if let Some(d) = &req.description {
            check_text("description", d)?;
        }
        if req.shared.is_some_and(|s| s != current.shared) {
            require_admin(ctx, "update_network", "shared")?;
        }
        if req
            .router_external
            .is_some_and(|s| s != current.router_external)
        {
            require_admin(ctx, "update_network", "router:external")?;
        }
        if let Some(m) = req.mtu {
            check_mtu(m)?;
        }
        if req.is_default.is_some_and(|d| d != current.is_default) {
            require_admin(ctx, "update_network", "is_default")?;
        }
        let external = req.router_external.unwrap_or(current.router_external);
        // Neutron keeps the flag only on an external network.
        let is_default = external && req.is_default.unwrap_or(current.is_default);
        let mut tx = self.store.begin_locked(&format!("network:{id}")).await?;
        if is_default && !current.is_default {
            check_no_other_default(&mut tx, id).await?;
        }
        if current.router_external && req.router_external == Some(false) {
            // Router gateways and floating IPs need it external.
            let (l3_ports,): (i64,) = tx
                .fetch_one(
                    "SELECT COUNT(*) FROM ports WHERE network_id = $1 \
                     AND device_owner IN ($2, $3)",
                    args![
                        id,
                        super::l3::DEVICE_OWNER_ROUTER_GATEWAY,
                        super::l3::DEVICE_OWNER_FLOATINGIP
                    ],
                )
                .await?;
            if l3_ports > 0 {
                return Err(NetworkError::ExternalNetworkInUse(id.to_string()));
            }
        }
        tx.execute(
            "UPDATE networks SET name = $2, description = $3, shared = $4, router_external = $5, \
                 admin_state_up = $6, mtu = $7, updated_at = $8, is_default = $9 WHERE id = $1",
            args![
                id,
                req.name.unwrap_or(current.name),
                req.description.unwrap_or(current.description),
                req.shared.unwrap_or(current.shared),
                external,
                req.admin_state_up.unwrap_or(current.admin_state_up),
                req.mtu.unwrap_or(current.mtu),
                now_micros(),
                is_default
            ],
        )
        .await?;
        tx.commit().await?;
        self.get_network(ctx, id).await
    }

    /// Deletes a network and its subnets ([`NetworkError::NetworkInUse`]
    /// while it has ports); an external network's floating IPs that no
    /// port holds go with it.
    pub async fn delete_network(&self, ctx: &RequestContext, id: &str) -> NetworkResult<()> {
        let network = self.owned_network(ctx, id, "delete_network").await?;
        let mut tx = self.store.begin_locked(&format!("network:{id}")).await?;
        if network.router_external {
            // As Neutron, the floating IPs no port holds go with their
            // external network; an associated one keeps it in use.
            tx.lock(super::l3::L3_LOCK).await?;
            let free: Vec<(String, String)> = tx
                .fetch_all(
                    "SELECT id, floating_port_id FROM floating_ips \
                     WHERE floating_network_id = $1 AND fixed_port_id IS NULL",
                    args![id],
                )
                .await?;
            for (fip, port) in free {
                tx.execute("DELETE FROM floating_ips WHERE id = $1", args![&fip])
                    .await?;
                super::ports::remove_port_rows(&mut tx, &port).await?;
            }
        }
        let (ports,): (i64,) = tx
            .fetch_one(
                "SELECT COUNT(*) FROM ports WHERE network_id = $1",
                args![id],
            )
            .await?;
        if ports > 0 {
            return Err(NetworkError::NetworkInUse(id.to_string()));
        }
        tx.execute(
            "DELETE FROM ip_allocations WHERE network_id = $1",
            args![id],
        )
        .await?;
        tx.execute("DELETE FROM subnets WHERE network_id = $1", args![id])
            .await?;
        let deleted = tx
            .execute("DELETE FROM networks WHERE id = $1", args![id])
            .await?;
        if deleted == 0 {
            return Err(NetworkError::NetworkNotFound(id.to_string()));
        }
        tx.commit().await?;
        Ok(())
    }
}
