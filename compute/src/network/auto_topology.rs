//! Auto-allocated topologies ("get me a network"): on first asking, a
//! project gets a private network, an IPv4 subnet and a router with its
//! gateway on the default external network (`is_default`) and an
//! interface on that subnet; later askings answer the same network. A
//! server created with `networks: auto` where its project sees no network
//! gets one this way, as nova asks Neutron for it.
//!
//! The subnet comes from `[simulator] auto_allocate_pool` (a Neutron cloud
//! has a default subnet pool for it): the first block of
//! `auto_allocate_prefixlen` that no IPv4 subnet overlaps.
//!
//! The resources are made through the same calls as the API's (so quotas
//! and checks apply), one after the other; the topology is recorded last,
//! under a unique key per project. Two concurrent first askings both
//! build; the one whose record loses removes what it built and answers the
//! winner's network, as Neutron does.

use ipnet::{IpNet, Ipv4Net};

use super::networks::NewNetwork;
use super::routers::{GatewayRequest, InterfaceRequest, NewRouter};
use super::subnets::{GatewayIp, NewSubnet};
use super::{NetworkError, NetworkResult};
use crate::store::{args, is_unique_violation, now_micros};
use crate::{Compute, RequestContext};

/// The names Neutron gives the resources of a topology.
const NETWORK_NAME: &str = "auto_allocated_network";
const SUBNET_NAME: &str = "auto_allocated_subnet_v4";
const ROUTER_NAME: &str = "auto_allocated_router";

/// What `GET /v2.0/auto-allocated-topology/{project_id}` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoAllocatedTopology {
    /// The project's auto-allocated network.
    pub network_id: String,
    /// The project.
    pub project_id: String,
}

/// What was built so far, to be removed when a later step fails.
#[derive(Default)]
struct Built {
    network: Option<String>,
    subnet: Option<String>,
    router: Option<String>,
}

impl Compute {
    /// The project whose topology `ctx` asks about: `None` (as clients
    /// send it when they name none) is the caller's own; another one needs
    /// an admin.
    fn topology_project(&self, ctx: &RequestContext, project: &str) -> NetworkResult<String> {
        let project = if project == "None" || project.is_empty() {
            ctx.project_id.as_str()
        } else {
            project
        };
        if !ctx.is_admin && project != ctx.project_id {
            return Err(NetworkError::PolicyNotAuthorized(
                "rule:get_auto_allocated_topology".into(),
            ));
        }
        Ok(project.to_string())
    }

    /// `project`'s auto-allocated network, built on first asking.
    pub async fn auto_allocated_topology(
        &self,
        ctx: &RequestContext,
        project: &str,
    ) -> NetworkResult<AutoAllocatedTopology> {
        let project = self.topology_project(ctx, project)?;
        if let Some(network_id) = self.recorded_topology(&project).await? {
            return Ok(AutoAllocatedTopology {
                network_id,
                project_id: project,
            });
        }
        let external = self.default_external_network().await?;
        let mut built = Built::default();
        match self
            .build_topology(ctx, &project, &external, &mut built)
            .await
        {
            Ok(network_id) => Ok(AutoAllocatedTopology {
                network_id,
                project_id: project,
            }),
            Err(e) => {
                self.remove_built(ctx, &built).await;
                Err(e)
            }
        }
    }

    /// The dry run (`?fields=dry-run`): whether a topology could be built
    /// for `project`, without building it.
    pub async fn check_auto_allocation(
        &self,
        ctx: &RequestContext,
        project: &str,
    ) -> NetworkResult<()> {
        self.topology_project(ctx, project)?;
        self.default_external_network().await?;
        self.free_auto_allocate_block().await?;
        Ok(())
    }

    /// Removes `project`'s topology (its router, interface, subnet and
    /// network); nothing to remove is not an error.
    pub async fn delete_auto_allocated_topology(
        &self,
        ctx: &RequestContext,
        project: &str,
    ) -> NetworkResult<()> {
        let project = self.topology_project(ctx, project)?;
        let row: Option<(String, Option<String>)> = self
            .store
            .fetch_optional(
                "SELECT network_id, router_id FROM auto_allocated_topologies WHERE project_id = $1",
                args![&project],
            )
            .await?;
        let Some((network, router)) = row else {
            return Ok(());
        };
        let subnets: Vec<(String,)> = self
            .store
            .fetch_all(
                "SELECT id FROM subnets WHERE network_id = $1",
                args![&network],
            )
            .await?;
        let admin = RequestContext {
            is_admin: true,
            ..ctx.clone()
        };
        if let Some(router) = &router {
            for (subnet,) in &subnets {
                ignore_not_found(
                    self.remove_router_interface(
                        &admin,
                        router,
                        InterfaceRequest {
                            subnet_id: Some(subnet.clone()),
                            port_id: None,
                        },
                    )
                    .await,
                )?;
            }
            ignore_not_found(self.delete_router(&admin, router).await)?;
        }
        ignore_not_found(self.delete_network(&admin, &network).await)?;
        self.store
            .execute(
                "DELETE FROM auto_allocated_topologies WHERE project_id = $1",
                args![&project],
            )
            .await?;
        Ok(())
    }

    async fn recorded_topology(&self, project: &str) -> NetworkResult<Option<String>> {
        let row: Option<(String,)> = self
            .store
            .fetch_optional(
                "SELECT network_id FROM auto_allocated_topologies WHERE project_id = $1",
                args![project],
            )
            .await?;
        Ok(row.map(|(n,)| n))
    }

    /// The default external network, or Neutron's refusal.
    async fn default_external_network(&self) -> NetworkResult<String> {
        let row: Option<(String,)> = self
            .store
            .fetch_optional(
                "SELECT id FROM networks WHERE is_default = TRUE AND router_external = TRUE \
                 ORDER BY created_at, id LIMIT 1",
                args![],
            )
            .await?;
        row.map(|(id,)| id).ok_or_else(|| {
            NetworkError::AutoAllocationFailure("No default router:external network".into())
        })
    }

    /// The first block of the pool that no IPv4 subnet overlaps.
    async fn free_auto_allocate_block(&self) -> NetworkResult<Ipv4Net> {
        let pool = self.config.auto_allocate_pool;
        let taken: Vec<Ipv4Net> = self
            .store
            .fetch_all::<(String,)>("SELECT cidr FROM subnets WHERE ip_version = 4", args![])
            .await?
            .into_iter()
            .filter_map(|(cidr,)| match cidr.parse::<IpNet>() {
                Ok(IpNet::V4(net)) => Some(net),
                _ => None,
            })
            .filter(|net| net.contains(&pool.network()) || pool.contains(&net.network()))
            .collect();
        let blocks = pool
            .subnets(self.config.auto_allocate_prefixlen.max(pool.prefix_len()))
            .map_err(|_| unable_private_network())?;
        for block in blocks {
            let overlaps = taken
                .iter()
                .any(|t| t.contains(&block.network()) || block.contains(&t.network()));
            if !overlaps {
                return Ok(block);
            }
        }
        Err(unable_private_network())
    }

    async fn build_topology(
        &self,
        ctx: &RequestContext,
        project: &str,
        external: &str,
        built: &mut Built,
    ) -> NetworkResult<String> {
        let block = self.free_auto_allocate_block().await?;
        let network = self
            .create_network(
                ctx,
                NewNetwork {
                    name: Some(NETWORK_NAME.into()),
                    project_id: Some(project.into()),
                    shared: Some(false),
                    // Up once the topology is recorded, as Neutron does.
                    admin_state_up: Some(false),
                    ..NewNetwork::default()
                },
            )
            .await
            .map_err(private_network_failure)?;
        built.network = Some(network.id.clone());
        let subnet = self
            .create_subnet(
                ctx,
                NewSubnet {
                    network_id: network.id.clone(),
                    ip_version: 4,
                    cidr: block.to_string(),
                    name: Some(SUBNET_NAME.into()),
                    project_id: Some(project.into()),
                    gateway_ip: GatewayIp::Default,
                    ..NewSubnet::default()
                },
            )
            .await
            .map_err(private_network_failure)?;
        built.subnet = Some(subnet.id.clone());
        let router = self
            .create_router(
                ctx,
                NewRouter {
                    name: Some(ROUTER_NAME.into()),
                    project_id: Some(project.into()),
                    admin_state_up: Some(true),
                    external_gateway_info: Some(GatewayRequest {
                        network_id: external.into(),
                        ..GatewayRequest::default()
                    }),
                    ..NewRouter::default()
                },
            )
            .await
            .map_err(connectivity_failure)?;
        built.router = Some(router.id.clone());
        self.add_router_interface(
            ctx,
            &router.id,
            InterfaceRequest {
                subnet_id: Some(subnet.id.clone()),
                port_id: None,
            },
        )
        .await
        .map_err(connectivity_failure)?;
        let recorded = self
            .store
            .execute(
                "INSERT INTO auto_allocated_topologies (project_id, network_id, router_id, created_at) \
                 VALUES ($1, $2, $3, $4)",
                args![project, &network.id, &router.id, now_micros()],
            )
            .await;
        match recorded {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                // Another asking recorded its topology first: that one is
                // the project's.
                self.remove_built(ctx, built).await;
                *built = Built::default();
                return self.recorded_topology(project).await?.ok_or_else(|| {
                    NetworkError::AutoAllocationFailure(
                        "Unable to provide tenant private network".into(),
                    )
                });
            }
            Err(e) => return Err(e.into()),
        }
        self.store
            .execute(
                "UPDATE networks SET admin_state_up = TRUE, updated_at = $2 WHERE id = $1",
                args![&network.id, now_micros()],
            )
            .await?;
        Ok(network.id)
    }

    /// Removes what a failed or superseded build made; what is already
    /// gone is ignored, and so are further errors (the build's own error
    /// is the one to report).
    async fn remove_built(&self, ctx: &RequestContext, built: &Built) {
        let admin = RequestContext {
            is_admin: true,
            ..ctx.clone()
        };
        if let Some(router) = &built.router {
            if let Some(subnet) = &built.subnet {
                let _ = self
                    .remove_router_interface(
                        &admin,
                        router,
                        InterfaceRequest {
                            subnet_id: Some(subnet.clone()),
                            port_id: None,
                        },
                    )
                    .await;
            }
            let _ = self.delete_router(&admin, router).await;
        }
        if let Some(network) = &built.network {
            let _ = self.delete_network(&admin, network).await;
        }
    }
}

fn unable_private_network() -> NetworkError {
    NetworkError::AutoAllocationFailure("Unable to provide tenant private network".into())
}

/// A failure to make the network or subnet: quotas stay what they are,
/// the rest is Neutron's "Unable to provide tenant private network".
fn private_network_failure(e: NetworkError) -> NetworkError {
    match e {
        NetworkError::OverQuota(_) | NetworkError::Compute(_) => e,
        _ => unable_private_network(),
    }
}

/// A failure to make the router or its interface.
fn connectivity_failure(e: NetworkError) -> NetworkError {
    match e {
        NetworkError::OverQuota(_) | NetworkError::Compute(_) => e,
        _ => NetworkError::AutoAllocationFailure("Unable to provide external connectivity".into()),
    }
}

/// `result`, with a not-found error (already removed) taken as success.
fn ignore_not_found<T>(result: NetworkResult<T>) -> NetworkResult<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.class() == super::error::ErrorClass::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
