//! The shared compute domain: the state store (SQLite default, PostgreSQL),
//! the instance lifecycle, quotas and ids. It knows nothing about HTTP.
//!
//! # Map
//!
//! | module | holds |
//! |---|---|
//! | [`store`] | [`Store`]: one interface over SQLite and PostgreSQL (how SQL is written once for both), URL parsing, [`store::migrate`] |
//! | [`compute`] | [`Compute`]: the facade every API holds; its operations live in the modules below |
//! | [`context`] | [`RequestContext`]: who calls; every operation is scoped by it |
//! | [`config`] | [`ComputeConfig`], [`QuotaLimits`]: nova's `[quota]` defaults, zones, simulated hosts, delays, IP range |
//! | [`error`] | [`Error`]: the one error type, with nova's messages |
//! | [`instance`] | [`Instance`]: create (quota + fixed IP, atomic; idempotent by client token), get, list with filters/sort/paging, update, metadata, tags, password, console |
//! | [`injected`] | personality (injected) files: nova's quota checks, kept with the instance for the metadata service |
//! | [`lifecycle`] | the simulated driver: stop/start/reboot/pause/suspend/rebuild/resize/delete/lock, lazy state advance, injected failures |
//! | [`states`] | vm_state / task_state / power_state, API `status` and EC2 state mappings |
//! | [`diagnostics`] | server diagnostics from the simulated hypervisor |
//! | [`actions`] | os-instance-actions records and events |
//! | [`flavor`] | flavors, extra specs, access lists |
//! | [`keypair`], [`keys`] | keypairs (ssh, x509; import and generation; nova fingerprints) |
//! | [`image`] | the image catalogue (`ami-%08x` ids) |
//! | [`metadefs`] | Glance's metadata definitions catalog: namespaces, objects, properties, tags, resource types |
//! | [`quota`] | limits per project and usage from live rows |
//! | [`quota_class`] | quota classes: the `default` class replaces the configured defaults |
//! | [`ec2`] | EC2 ids and EC2 credentials |
//! | [`identity`] | the built-in Identity v3: domains, projects, users, groups, roles, assignments, tokens, bootstrap |
//! | [`network`] | networks, subnets and ports (Neutron's core resources); fixed IPs allocated atomically |
//! | [`infra`] | availability zones, services, hypervisors, usage reports |
//! | [`usage_audit`] | the instance usage audit: periods and each host's log |
//! | [`server_group`] | server groups: policies, rules, members, their quotas |
//! | [`scheduler`] | the simulated scheduler: nova's default filters and weighers over the configured hosts |
//! | [`aggregate`] | host aggregates, their hosts and metadata, the zones they give hosts |
//! | [`host`] | os-hosts: the hosts of the services and their resources |
//! | [`seed`] | default flavors, cirros image and the shared `private` network, seed files |
//! | [`validate`] | input rules shared by all operations |
//! | [`open`] | opening the domain from nova.conf options: `open`, `db sync`, start-up preparation |
//!
//! # Use
//!
//! ```no_run
//! # async fn demo() -> compute::Result<()> {
//! use compute::{Compute, ComputeConfig, CreateInstance, RequestContext, Store, StoreOptions};
//! let store = Store::connect("sqlite:////var/lib/nova/nova.sqlite", StoreOptions::default()).await?;
//! store.migrate().await?;
//! let compute = Compute::new(store, ComputeConfig::default());
//! let ctx = RequestContext::new("alice", "project-a");
//! let created = compute
//!     .create_instances(&ctx, CreateInstance {
//!         name: "vm1".into(),
//!         flavor_id: "1".into(),
//!         image_ref: compute::CIRROS_IMAGE_UUID.into(),
//!         ..Default::default()
//!     })
//!     .await?;
//! let vm = compute.stop_instance(&ctx, &created.instances[0].uuid).await?;
//! println!("{} is {}", vm.uuid, vm.status());
//! # Ok(()) }
//! ```
//!
//! **Invariant:** nothing here knows about HTTP, nova.conf files or the
//! `common` crate; the APIs turn [`Error`] into their own wire formats.

#![forbid(unsafe_code)]

pub mod actions;
pub mod admin_actions;
pub mod aggregate;
pub mod backup;
pub mod compute;
pub mod config;
pub mod console;
pub mod console_auth;
pub mod context;
pub mod diagnostics;
pub mod ec2;
pub mod ec2_tags;
pub mod error;
pub mod evacuate;
pub mod flavor;
pub mod host;
pub mod identity;
pub mod image;
pub mod infra;
pub mod injected;
pub mod instance;
pub mod keypair;
pub mod keys;
pub mod lifecycle;
pub mod live_migration;
pub mod metadefs;
pub mod migration;
pub mod migration_record;
pub mod network;
pub mod open;
pub mod options;
pub mod quota;
pub mod quota_class;
pub mod rescue;
pub mod scheduler;
pub mod seed;
pub mod server_group;
pub mod shelve;
pub mod snapshot;
pub mod soft_delete;
pub mod states;
pub mod store;
pub mod usage_audit;
pub mod validate;

pub use actions::{InstanceAction, InstanceActionEvent};
pub use admin_actions::ResetState;
pub use aggregate::Aggregate;
pub use backup::Backup;
pub use compute::Compute;
pub use config::{ComputeConfig, QuotaLimits, SimHost, QUOTA_RESOURCES};
pub use context::{new_request_id, RequestContext};
pub use ec2::{ec2_image_id, ec2_instance_id, ec2_key_pair_id, parse_ec2_id, Ec2Credential};
pub use error::{Error, Kind, Result};
pub use evacuate::Evacuate;
pub use flavor::{Flavor, FlavorFilter, NewFlavor};
pub use image::{
    Image, ImageData, ImageDataError, ImageFilter, ImageMember, ImageSort, ImageStoreConfig,
    ImageTask, ImageUpdate, ImageUpload, MemberStatus, NewImage, TaskFilter,
};
pub use infra::{
    AvailabilityZone, Hypervisor, ServerUsage, Service, ServiceUpdate, TenantUsage, ZoneHost,
    ZoneService,
};
pub use injected::InjectedFile;
pub use instance::{
    AttachInterface, ClientTokenOutcome, CreateInstance, CreatedInstances, FlavorSnapshot,
    Instance, InstanceFault, InstanceFilter, NetworkRequest, RequestedNetwork, SortDir, SortKey,
    UpdateInstance, Vif, VifGroup, VifIp, MAX_CLIENT_TOKEN_LENGTH,
};
pub use keypair::{KeyType, Keypair, NewKeypair};
pub use lifecycle::{RebuildInstance, FAIL_EXTRA_SPEC, FAIL_METADATA_KEY};
pub use live_migration::LiveMigrate;
pub use metadefs::{MetadefError, MetadefResult};
pub use migration_record::{Migration, MigrationFilter, MigrationPage, MigrationType};
pub use network::{NetworkError, NetworkResult};
pub use quota::QuotaUsage;
pub use rescue::Rescue;
pub use scheduler::SchedulerHints;
pub use seed::{
    Seed, SeedReport, CIRROS_IMAGE_NAME, CIRROS_IMAGE_UUID, DEFAULT_FLAVORS, PRIVATE_NETWORK_NAME,
    PRIVATE_SUBNET_NAME, PUBLIC_NETWORK_NAME, PUBLIC_SUBNET_NAME,
};
pub use server_group::{NewServerGroup, Policy as ServerGroupPolicy, ServerGroup};
pub use shelve::Unshelve;
pub use snapshot::Snapshot;
pub use states::{api_status, ec2_state, vm_states_for_status, PowerState, TaskState, VmState};
pub use store::migrate::{MigrationReport, LATEST_SCHEMA_VERSION};
pub use store::{DatabaseUrl, Engine, Store, StoreOptions};
