//! The compute API's integration tests, in process: the real api-paste.ini
//! of this crate loaded through the paste runtime with `noauth2`, over a
//! SQLite file in a temp dir.

mod fixture;
mod schema;

mod admin_reports;
mod aggregates;
mod auth;
mod consoles;
mod extensions;
mod flavors;
mod hosts;
mod identity;
mod identity_app_creds;
mod identity_store;
mod image_metadefs;
mod image_v2;
mod images;
mod infra;
mod keypairs;
mod methods;
mod microversions;
mod migrations;
mod network;
mod network_floating_ips;
mod network_quotas;
mod network_security_groups;
mod numbers;
mod personality;
mod proxy_floating_ips;
mod proxy_networks;
mod proxy_security_groups;
mod quota_classes;
mod quotas;
mod request_spec;
mod served;
mod server_actions;
mod server_groups;
mod server_networks;
mod servers;
mod versions;
mod volume_attachments;
