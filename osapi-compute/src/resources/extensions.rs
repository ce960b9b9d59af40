//! `/extensions` and `/extensions/{alias}`: nova's list of the v2
//! extensions, kept since 2.1 for clients that still look features up by
//! alias. nova answers the same fixed list whatever a deployment serves
//! (the list is history, not a feature probe), to anyone authenticated, and
//! 404 for an alias it does not hold; so does this. The descriptions are
//! ours: each is the extension's name in words.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::context::Context;
use crate::fault::ApiError;
use crate::resources::json_response;
use crate::state::ApiState;

/// nova's extensions, as `(alias, name)`, in nova's order.
const EXTENSIONS: &[(&str, &str)] = &[
    ("NMN", "Multinic"),
    ("OS-DCF", "DiskConfig"),
    ("OS-EXT-AZ", "ExtendedAvailabilityZone"),
    ("OS-EXT-IMG-SIZE", "ImageSize"),
    ("OS-EXT-IPS", "ExtendedIps"),
    ("OS-EXT-IPS-MAC", "ExtendedIpsMac"),
    ("OS-EXT-SRV-ATTR", "ExtendedServerAttributes"),
    ("OS-EXT-STS", "ExtendedStatus"),
    ("OS-FLV-DISABLED", "FlavorDisabled"),
    ("OS-FLV-EXT-DATA", "FlavorExtraData"),
    ("OS-SCH-HNT", "SchedulerHints"),
    ("OS-SRV-USG", "ServerUsage"),
    ("os-access-ips", "AccessIPs"),
    ("os-admin-password", "AdminPassword"),
    ("os-agents", "Agents"),
    ("os-aggregates", "Aggregates"),
    ("os-assisted-volume-snapshots", "AssistedVolumeSnapshots"),
    ("os-attach-interfaces", "AttachInterfaces"),
    ("os-baremetal-ext-status", "BareMetalExtStatus"),
    ("os-baremetal-nodes", "BareMetalNodes"),
    ("os-block-device-mapping", "BlockDeviceMapping"),
    (
        "os-block-device-mapping-v2-boot",
        "BlockDeviceMappingV2Boot",
    ),
    ("os-cell-capacities", "CellCapacities"),
    ("os-certificates", "Certificates"),
    ("os-config-drive", "ConfigDrive"),
    ("os-console-auth-tokens", "ConsoleAuthTokens"),
    ("os-console-output", "ConsoleOutput"),
    ("os-consoles", "Consoles"),
    ("os-create-backup", "CreateBackup"),
    ("os-create-server-ext", "Createserverext"),
    ("os-deferred-delete", "DeferredDelete"),
    ("os-evacuate", "Evacuate"),
    ("os-extended-hypervisors", "ExtendedHypervisors"),
    ("os-extended-networks", "ExtendedNetworks"),
    ("os-extended-services", "ExtendedServices"),
    ("os-extended-services-delete", "ExtendedServicesDelete"),
    ("os-extended-status", "ExtendedStatus"),
    ("os-extended-volumes", "ExtendedVolumes"),
    ("os-fixed-ips", "FixedIPs"),
    ("os-flavor-access", "FlavorAccess"),
    ("os-flavor-extra-specs", "FlavorExtraSpecs"),
    ("os-flavor-manage", "FlavorManage"),
    ("os-flavor-rxtx", "FlavorRxtx"),
    ("os-flavor-swap", "FlavorSwap"),
    ("os-floating-ip-dns", "FloatingIpDns"),
    ("os-floating-ip-pools", "FloatingIpPools"),
    ("os-floating-ips", "FloatingIps"),
    ("os-floating-ips-bulk", "FloatingIpsBulk"),
    ("os-fping", "Fping"),
    ("os-hide-server-addresses", "HideServerAddresses"),
    ("os-hosts", "Hosts"),
    ("os-hypervisor-status", "HypervisorStatus"),
    ("os-hypervisors", "Hypervisors"),
    ("os-instance_usage_audit_log", "OSInstanceUsageAuditLog"),
    ("os-keypairs", "Keypairs"),
    ("os-lock-server", "LockServer"),
    ("os-migrate-server", "MigrateServer"),
    ("os-migrations", "Migrations"),
    ("os-multiple-create", "MultipleCreate"),
    ("os-networks", "Networks"),
    ("os-networks-associate", "NetworkAssociationSupport"),
    ("os-pause-server", "PauseServer"),
    ("os-personality", "Personality"),
    ("os-quota-class-sets", "QuotaClasses"),
    ("os-quota-sets", "Quotas"),
    ("os-rescue", "Rescue"),
    (
        "os-security-group-default-rules",
        "SecurityGroupDefaultRules",
    ),
    ("os-security-groups", "SecurityGroups"),
    ("os-server-external-events", "ServerExternalEvents"),
    ("os-server-group-quotas", "ServerGroupQuotas"),
    ("os-server-groups", "ServerGroups"),
    ("os-server-password", "ServerPassword"),
    ("os-server-sort-keys", "ServerSortKeys"),
    ("os-server-start-stop", "ServerStartStop"),
    ("os-services", "Services"),
    ("os-shelve", "Shelve"),
    ("os-simple-tenant-usage", "SimpleTenantUsage"),
    ("os-suspend-server", "SuspendServer"),
    ("os-tenant-networks", "OSTenantNetworks"),
    ("os-user-data", "UserData"),
    ("os-user-quotas", "UserQuotas"),
    ("os-virtual-interfaces", "VirtualInterfaces"),
    ("os-volume-attachment-update", "VolumeAttachmentUpdate"),
    ("os-volumes", "Volumes"),
];

/// The namespace nova gives every extension since v2.1.
const NAMESPACE: &str = "http://docs.openstack.org/compute/ext/fake_xml";
/// The `updated` time nova gives every extension since v2.1.
const UPDATED: &str = "2014-12-03T00:00:00Z";

/// The extension routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/extensions", get(index))
        .route("/extensions/{alias}", get(show))
}

/// `DiskConfig` as "Disk config.": the name's words, then a full stop.
fn description(name: &str) -> String {
    let mut words = String::new();
    for (i, c) in name.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            words.push(' ');
            words.push(c.to_ascii_lowercase());
        } else {
            words.push(c);
        }
    }
    words.push('.');
    words
}

fn view(alias: &str, name: &str) -> Value {
    json!({
        "alias": alias,
        "description": description(name),
        "links": [],
        "name": name,
        "namespace": NAMESPACE,
        "updated": UPDATED,
    })
}

async fn index(State(_): State<ApiState>, Context(_): Context) -> Result<Response, ApiError> {
    let extensions: Vec<Value> = EXTENSIONS.iter().map(|(a, n)| view(a, n)).collect();
    Ok(json_response(
        StatusCode::OK,
        json!({ "extensions": extensions }),
    ))
}

async fn show(
    State(_): State<ApiState>,
    Context(_): Context,
    Path(alias): Path<String>,
) -> Result<Response, ApiError> {
    EXTENSIONS
        .iter()
        .find(|(a, _)| *a == alias)
        .map(|(a, n)| json_response(StatusCode::OK, json!({ "extension": view(a, n) })))
        .ok_or_else(|| ApiError::NotFound("The resource could not be found.".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_the_names_in_words() {
        assert_eq!(description("DiskConfig"), "Disk config.");
        assert_eq!(description("Hosts"), "Hosts.");
    }

    #[test]
    fn every_alias_is_listed_once() {
        let mut aliases: Vec<&str> = EXTENSIONS.iter().map(|(a, _)| *a).collect();
        let count = aliases.len();
        aliases.sort_unstable();
        aliases.dedup();
        assert_eq!(aliases.len(), count);
    }
}
