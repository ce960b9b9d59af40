//! Instances (servers): their model, creation with quota check and fixed
//! IP allocation, reads and listing with filters, updates, metadata, tags,
//! the metadata-service password and console output.
//!
//! State changes (stop, reboot, resize, delete, ...) live in
//! [`crate::lifecycle`]; every read here first lets the simulated driver
//! catch up (see that module).
//!
//! | file | holds |
//! |---|---|
//! | `model.rs` | [`Instance`], [`FlavorSnapshot`], [`InstanceFault`]: what the APIs see |
//! | `row.rs` | the stored row, its conversion to the model, the compare-and-swap save, load and read-change-save |
//! | `cache.rs` | the per-process row cache a listing reads through |
//! | `filter.rs` | [`InstanceFilter`], [`SortKey`], [`SortDir`]: what a listing asks for |
//! | `listing.rs` | [`Compute::list_instances`](crate::Compute::list_instances): the SQL of a page, lazy states, paging |
//! | `lookup.rs` | one instance by uuid, id, EC2 id or fixed IP |
//! | `interfaces.rs` | [`AttachInterface`]: interfaces, security groups and floating IPs changed on a running instance |
//! | `legacy_addresses.rs` | `db sync`: the fixed IPs of instances from before ports, moved to ports |
//! | `network.rs` | [`NetworkRequest`], [`Vif`]: the ports of an instance, made, bound and released |
//! | `create.rs` | [`CreateInstance`], [`CreatedInstances`]: checks, quota, ports, inserts |
//! | `client_token.rs` | [`ClientTokenOutcome`]: creates made idempotent by a client token |
//! | `usage.rs` | what a project's instances hold against its quota |
//! | `update.rs` | [`UpdateInstance`]: `PUT /servers/{id}` |
//! | `metadata.rs`, `tags.rs` | metadata and tags |
//! | `password.rs`, `console.rs` | the metadata-service password and the console log |

mod cache;
mod client_token;
mod console;
mod create;
mod filter;
mod interfaces;
mod legacy_addresses;
mod listing;
mod lookup;
mod metadata;
mod model;
mod network;
mod password;
mod row;
mod tags;
mod update;
mod usage;

pub use client_token::{ClientTokenOutcome, MAX_CLIENT_TOKEN_LENGTH};
pub use create::{CreateInstance, CreatedInstances};
pub use filter::{shown_second_start, InstanceFilter, SortDir, SortKey};
pub use interfaces::AttachInterface;
pub use legacy_addresses::PORTS_SCHEMA_VERSION;
pub use model::{FlavorSnapshot, Instance, InstanceFault};
pub use network::{NetworkRequest, RequestedNetwork, Vif, VifGroup, VifIp};
pub use update::UpdateInstance;

pub(crate) use cache::RowCache;
pub(crate) use metadata::validate_metadata;
pub(crate) use row::{save_row, save_stmt, InstanceRow, CAS_RETRIES, INSTANCE_COLUMNS};
pub(crate) use usage::counted_now;
