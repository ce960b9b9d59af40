//! [`NetworkError`]: the errors of the network domain, as Neutron's
//! exceptions. Each variant's `Display` is Neutron's message (safe to
//! show); [`NetworkError::type_name`] is the exception's class name, the
//! `type` of Neutron's error body. Store failures are wrapped as
//! [`NetworkError::Compute`] and are internal.

/// An error of the network domain.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// No such network, or not visible to the caller (404).
    #[error("Network {0} could not be found.")]
    NetworkNotFound(String),
    /// No such subnet, or not visible to the caller (404).
    #[error("Subnet {0} could not be found.")]
    SubnetNotFound(String),
    /// No such port, or not visible to the caller (404).
    #[error("Port {0} could not be found.")]
    PortNotFound(String),
    /// The network still has ports (409).
    #[error("Unable to complete operation on network {0}. There are one or more ports still in use on the network.")]
    NetworkInUse(String),
    /// A port holds an address of the subnet (409).
    #[error("Unable to complete operation on subnet {0}: One or more ports have an IP allocation from this subnet.")]
    SubnetInUse(String),
    /// The requested address is held by another port (409).
    #[error(
        "Unable to complete operation for network {net_id}. The IP address {ip_address} is in use."
    )]
    IpAddressInUse {
        /// The network.
        net_id: String,
        /// The address.
        ip_address: String,
    },
    /// No free address is left in the subnets asked for (409).
    #[error("No more IP addresses available on network {0}.")]
    IpAddressGenerationFailure(String),
    /// The address is not in the subnet asked for (400).
    #[error("IP address {0} is not a valid IP for the specified subnet.")]
    InvalidIpForSubnet(String),
    /// The address is in none of the network's subnets (400).
    #[error("IP address {0} is not a valid IP for any of the subnets on the specified network.")]
    InvalidIpForNetwork(String),
    /// The MAC address is taken on the network (409).
    #[error("Unable to complete operation for network {net_id}. The mac address {mac} is in use.")]
    MacAddressInUse {
        /// The network.
        net_id: String,
        /// The MAC address.
        mac: String,
    },
    /// An allocation pool whose bounds are no addresses, or reversed (400).
    #[error("The allocation pool {0} is not valid.")]
    InvalidAllocationPool(String),
    /// An allocation pool outside the subnet's cidr (400).
    #[error("The allocation pool {pool} spans beyond the subnet cidr {cidr}.")]
    OutOfBoundsAllocationPool {
        /// The pool, `start-end`.
        pool: String,
        /// The subnet's cidr.
        cidr: String,
    },
    /// Two allocation pools overlap (409).
    #[error("Found overlapping allocation pools: {pool_1} {pool_2} for subnet {cidr}.")]
    OverlappingAllocationPools {
        /// One pool.
        pool_1: String,
        /// The other.
        pool_2: String,
        /// The subnet's cidr.
        cidr: String,
    },
    /// The gateway is inside an allocation pool (409).
    #[error("Gateway ip {ip} conflicts with allocation pool {pool}.")]
    GatewayConflictWithAllocationPools {
        /// The gateway address.
        ip: String,
        /// The pool it falls in.
        pool: String,
    },
    /// A request the operation refuses as a whole (400; Neutron's
    /// `InvalidInput`).
    #[error("Invalid input for operation: {0}.")]
    InvalidInput(String),
    /// An attribute whose value is refused (400; Neutron's attribute
    /// validation, answered as `HTTPBadRequest`).
    #[error("Invalid input for {field}. Reason: {reason}.")]
    InvalidAttribute {
        /// The attribute.
        field: String,
        /// Why.
        reason: String,
    },
    /// A request Neutron refuses as a plain `HTTPBadRequest` with this
    /// text (400): an unknown filter or sort key, another project's id
    /// from a non-admin.
    #[error("{0}")]
    BadRequest(String),
    /// The policy refuses the action (403); the text names the rules
    /// checked, as Neutron does (`rule:delete_network`, or
    /// `(rule:create_network and rule:create_network:shared)` for an
    /// attribute).
    #[error("{0} is disallowed by policy")]
    PolicyNotAuthorized(String),
    /// No such security group, or not visible to the caller (404).
    #[error("Security group {0} does not exist")]
    SecurityGroupNotFound(String),
    /// No such security group rule, or not visible to the caller (404).
    #[error("Security group rule {0} does not exist")]
    SecurityGroupRuleNotFound(String),
    /// A port uses the group, or its statefulness cannot change (409).
    #[error("Security Group {0} in use.")]
    SecurityGroupInUse(String),
    /// A non-admin deletes a default group (409).
    #[error("Insufficient rights for removing default security group.")]
    SecurityGroupCannotRemoveDefault,
    /// The name of a default group is not changed (409).
    #[error("Updating default security group not allowed.")]
    SecurityGroupCannotUpdateDefault,
    /// `default` is the name of the group each project gets (409).
    #[error("Default security group already exists.")]
    SecurityGroupDefaultAlreadyExists,
    /// The project has a group of that name and the create asked for
    /// unique names (EC2's rule; Neutron allows repeats) (409).
    #[error("Security group {0} already exists.")]
    SecurityGroupNameExists(String),
    /// The group holds a rule with the same meaning (409).
    #[error("Security group rule already exists. Rule id is {0}.")]
    SecurityGroupRuleExists(String),
    /// A create beyond a project's quota; the resources as Neutron lists
    /// them (409).
    #[error("Quota exceeded for resources: [{}].", .0.iter().map(|r| format!("'{r}'")).collect::<Vec<_>>().join(", "))]
    OverQuota(Vec<String>),
    /// A port range with a minimum above its maximum, or missing one (400).
    #[error("For TCP/UDP protocols, port_range_min must be <= port_range_max")]
    SecurityGroupInvalidPortRange,
    /// A quota delete for a project that has no limits of its own (404).
    #[error("Quota for tenant {0} could not be found.")]
    TenantQuotaNotFound(String),
    /// An auto-allocated topology that cannot be made (409): no default
    /// external network, or no room in the pool.
    #[error("Deployment error: {0}.")]
    AutoAllocationFailure(String),
    /// A second default external network (409).
    #[error("A default external network already exists: {0}.")]
    DefaultExternalNetworkExists(String),
    /// A port of 0 for a protocol with ports (400).
    #[error("Invalid value for port {0}")]
    SecurityGroupInvalidPortValue(String),
    /// Ports for a protocol that has none (400).
    #[error("Ports cannot be specified for protocol {0}. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.")]
    SecurityGroupInvalidProtocolForPort(String),
    /// An ICMP type or code outside 0-255 (400).
    #[error("Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.")]
    SecurityGroupInvalidIcmpValue {
        /// `type` or `code`.
        field: String,
        /// `port_range_min` or `port_range_max`.
        attr: String,
        /// The value.
        value: i64,
    },
    /// An ICMP code without a type (400).
    #[error(
        "ICMP code (port-range-max) {0} is provided but ICMP type (port-range-min) is missing."
    )]
    SecurityGroupMissingIcmpType(i64),
    /// An IPv6-only protocol on an IPv4 rule (400).
    #[error("Invalid ethertype {ethertype} for protocol {protocol}.")]
    SecurityGroupEthertypeConflictWithProtocol {
        /// The ethertype.
        ethertype: String,
        /// The protocol.
        protocol: String,
    },
    /// Ports without a protocol (400).
    #[error("Must also specify protocol if port range is given.")]
    SecurityGroupProtocolRequiredWithPorts,
    /// Both a remote prefix and a remote group (400).
    #[error("Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")]
    SecurityGroupMultipleRemoteEntites,
    /// A remote prefix of the other IP version than the ethertype (400).
    #[error("Conflicting value ethertype {ethertype} for CIDR {cidr}")]
    SecurityGroupRuleParameterConflict {
        /// The ethertype.
        ethertype: String,
        /// The prefix as given.
        cidr: String,
    },
    /// No such router, or not the caller's (404).
    #[error("Router {0} could not be found")]
    RouterNotFound(String),
    /// No such floating IP, or not the caller's (404).
    #[error("Floating IP {0} could not be found")]
    FloatingIpNotFound(String),
    /// The router still has interfaces (409).
    #[error("Router {0} still has ports")]
    RouterInUse(String),
    /// The port is no interface of the router (404).
    #[error("Router {router_id} does not have an interface with id {port_id}")]
    RouterInterfaceNotFound {
        /// The router.
        router_id: String,
        /// The port.
        port_id: String,
    },
    /// The router has no interface on the subnet (404).
    #[error("Router {router_id} has no interface on subnet {subnet_id}")]
    RouterInterfaceNotFoundForSubnet {
        /// The router.
        router_id: String,
        /// The subnet.
        subnet_id: String,
    },
    /// A floating IP reaches its port through this interface (409).
    #[error("Router interface for subnet {subnet_id} on router {router_id} cannot be deleted, as it is required by one or more floating IPs.")]
    RouterInterfaceInUseByFloatingIp {
        /// The router.
        router_id: String,
        /// The subnet.
        subnet_id: String,
    },
    /// A floating IP reaches its port through this gateway (409).
    #[error("Gateway cannot be updated for router {router_id}, since a gateway to external network {net_id} is required by one or more floating IPs.")]
    RouterExternalGatewayInUseByFloatingIp {
        /// The router.
        router_id: String,
        /// The external network.
        net_id: String,
    },
    /// No router joins the port's subnet to the external network (404).
    #[error("External network {external_network_id} is not reachable from subnet {subnet_id}.  Therefore, cannot associate Port {port_id} with a Floating IP.")]
    ExternalGatewayForFloatingIpNotFound {
        /// The floating IP's network.
        external_network_id: String,
        /// The port's subnet.
        subnet_id: String,
        /// The port.
        port_id: String,
    },
    /// The fixed IP has a floating IP of that network already (409).
    #[error("Cannot associate floating IP {floating_ip_address} ({fip_id}) with port {port_id} using fixed IP {fixed_ip}, as that fixed IP already has a floating IP on external network {net_id}.")]
    FloatingIpPortAlreadyAssociated {
        /// The floating address asked for.
        floating_ip_address: String,
        /// The floating IP asked for.
        fip_id: String,
        /// The port.
        port_id: String,
        /// Its fixed address.
        fixed_ip: String,
        /// The external network.
        net_id: String,
    },
    /// The external network has no free address (400).
    #[error("Unable to find any IP address on external network {0}.")]
    ExternalIpAddressExhausted(String),
    /// The port is used by a device already (409).
    #[error("Unable to complete operation on port {port_id} for network {net_id}. Port already has an attached device {device_id}.")]
    PortInUse {
        /// The port.
        port_id: String,
        /// Its network.
        net_id: String,
        /// What uses it.
        device_id: String,
    },
    /// A router's or floating IP's port, deleted through the port API (409).
    #[error("Port {port_id} cannot be deleted directly via the port API: has device owner {device_owner}.")]
    ServicePortInUse {
        /// The port.
        port_id: String,
        /// Its device owner.
        device_owner: String,
    },
    /// The port has no address on the subnet named with it (400).
    #[error("Subnet on port {port_id} does not match the requested subnet {subnet_id}.")]
    SubnetMismatchForPort {
        /// The port.
        port_id: String,
        /// The subnet.
        subnet_id: String,
    },
    /// A network with router gateways or floating IPs stays external (409).
    #[error("External network {0} cannot be updated to be made non-external, since it has existing gateway ports")]
    ExternalNetworkInUse(String),
    /// Neutron's generic `BadRequest` of a resource (400).
    #[error("Bad {resource} request: {message}.")]
    BadResourceRequest {
        /// `router`, `floatingip`.
        resource: &'static str,
        /// Why.
        message: String,
    },
    /// A store failure. Internal: log it, answer 500 without the text.
    #[error(transparent)]
    Compute(#[from] crate::Error),
}

impl From<sqlx::Error> for NetworkError {
    fn from(err: sqlx::Error) -> Self {
        NetworkError::Compute(crate::Error::from(err))
    }
}

impl NetworkError {
    /// An [`NetworkError::InvalidAttribute`].
    pub fn invalid_attribute(field: &str, reason: &str) -> Self {
        NetworkError::InvalidAttribute {
            field: field.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Neutron's exception class name: the `type` of its error body.
    pub fn type_name(&self) -> &'static str {
        match self {
            NetworkError::NetworkNotFound(_) => "NetworkNotFound",
            NetworkError::SubnetNotFound(_) => "SubnetNotFound",
            NetworkError::PortNotFound(_) => "PortNotFound",
            NetworkError::NetworkInUse(_) => "NetworkInUse",
            NetworkError::SubnetInUse(_) => "SubnetInUse",
            NetworkError::IpAddressInUse { .. } => "IpAddressInUse",
            NetworkError::IpAddressGenerationFailure(_) => "IpAddressGenerationFailure",
            NetworkError::InvalidIpForSubnet(_) => "InvalidIpForSubnet",
            NetworkError::InvalidIpForNetwork(_) => "InvalidIpForNetwork",
            NetworkError::MacAddressInUse { .. } => "MacAddressInUse",
            NetworkError::InvalidAllocationPool(_) => "InvalidAllocationPool",
            NetworkError::OutOfBoundsAllocationPool { .. } => "OutOfBoundsAllocationPool",
            NetworkError::OverlappingAllocationPools { .. } => "OverlappingAllocationPools",
            NetworkError::GatewayConflictWithAllocationPools { .. } => {
                "GatewayConflictWithAllocationPools"
            }
            NetworkError::SecurityGroupNotFound(_) => "SecurityGroupNotFound",
            NetworkError::SecurityGroupRuleNotFound(_) => "SecurityGroupRuleNotFound",
            NetworkError::SecurityGroupInUse(_) => "SecurityGroupInUse",
            NetworkError::SecurityGroupCannotRemoveDefault => "SecurityGroupCannotRemoveDefault",
            NetworkError::SecurityGroupCannotUpdateDefault => "SecurityGroupCannotUpdateDefault",
            NetworkError::SecurityGroupDefaultAlreadyExists => "SecurityGroupDefaultAlreadyExists",
            NetworkError::SecurityGroupNameExists(_) => "SecurityGroupNameExists",
            NetworkError::SecurityGroupRuleExists(_) => "SecurityGroupRuleExists",
            NetworkError::OverQuota(_) => "OverQuota",
            NetworkError::TenantQuotaNotFound(_) => "TenantQuotaNotFound",
            NetworkError::AutoAllocationFailure(_) => "AutoAllocationFailure",
            NetworkError::DefaultExternalNetworkExists(_) => "DefaultExternalNetworkExists",
            NetworkError::SecurityGroupInvalidPortRange => "SecurityGroupInvalidPortRange",
            NetworkError::SecurityGroupInvalidPortValue(_) => "SecurityGroupInvalidPortValue",
            NetworkError::SecurityGroupInvalidProtocolForPort(_) => {
                "SecurityGroupInvalidProtocolForPort"
            }
            NetworkError::SecurityGroupInvalidIcmpValue { .. } => "SecurityGroupInvalidIcmpValue",
            NetworkError::SecurityGroupMissingIcmpType(_) => "SecurityGroupMissingIcmpType",
            NetworkError::SecurityGroupEthertypeConflictWithProtocol { .. } => {
                "SecurityGroupEthertypeConflictWithProtocol"
            }
            NetworkError::SecurityGroupProtocolRequiredWithPorts => {
                "SecurityGroupProtocolRequiredWithPorts"
            }
            NetworkError::SecurityGroupMultipleRemoteEntites => {
                "SecurityGroupMultipleRemoteEntites"
            }
            NetworkError::SecurityGroupRuleParameterConflict { .. } => {
                "SecurityGroupRuleParameterConflict"
            }
            NetworkError::RouterNotFound(_) => "RouterNotFound",
            NetworkError::FloatingIpNotFound(_) => "FloatingIPNotFound",
            NetworkError::RouterInUse(_) => "RouterInUse",
            NetworkError::RouterInterfaceNotFound { .. } => "RouterInterfaceNotFound",
            NetworkError::RouterInterfaceNotFoundForSubnet { .. } => {
                "RouterInterfaceNotFoundForSubnet"
            }
            NetworkError::RouterInterfaceInUseByFloatingIp { .. } => {
                "RouterInterfaceInUseByFloatingIP"
            }
            NetworkError::RouterExternalGatewayInUseByFloatingIp { .. } => {
                "RouterExternalGatewayInUseByFloatingIp"
            }
            NetworkError::ExternalGatewayForFloatingIpNotFound { .. } => {
                "ExternalGatewayForFloatingIPNotFound"
            }
            NetworkError::FloatingIpPortAlreadyAssociated { .. } => {
                "FloatingIPPortAlreadyAssociated"
            }
            NetworkError::ExternalIpAddressExhausted(_) => "ExternalIpAddressExhausted",
            NetworkError::PortInUse { .. } => "PortInUse",
            NetworkError::ServicePortInUse { .. } => "ServicePortInUse",
            NetworkError::SubnetMismatchForPort { .. } => "SubnetMismatchForPort",
            NetworkError::ExternalNetworkInUse(_) => "ExternalNetworkInUse",
            NetworkError::BadResourceRequest { .. } => "BadRequest",
            NetworkError::InvalidInput(_) => "InvalidInput",
            NetworkError::InvalidAttribute { .. } | NetworkError::BadRequest(_) => "HTTPBadRequest",
            NetworkError::PolicyNotAuthorized(_) => "PolicyNotAuthorized",
            NetworkError::Compute(_) => "HTTPInternalServerError",
        }
    }

    /// Which family it belongs to, for the API's status code.
    pub fn class(&self) -> ErrorClass {
        use NetworkError::*;
        match self {
            NetworkNotFound(_)
            | SubnetNotFound(_)
            | PortNotFound(_)
            | SecurityGroupNotFound(_)
            | SecurityGroupRuleNotFound(_)
            | RouterNotFound(_)
            | FloatingIpNotFound(_)
            | RouterInterfaceNotFound { .. }
            | RouterInterfaceNotFoundForSubnet { .. }
            | ExternalGatewayForFloatingIpNotFound { .. }
            | TenantQuotaNotFound(_) => ErrorClass::NotFound,
            NetworkInUse(_)
            | SubnetInUse(_)
            | IpAddressInUse { .. }
            | IpAddressGenerationFailure(_)
            | MacAddressInUse { .. }
            | OverlappingAllocationPools { .. }
            | GatewayConflictWithAllocationPools { .. }
            | SecurityGroupInUse(_)
            | SecurityGroupCannotRemoveDefault
            | SecurityGroupCannotUpdateDefault
            | SecurityGroupDefaultAlreadyExists
            | SecurityGroupNameExists(_)
            | SecurityGroupRuleExists(_)
            | OverQuota(_)
            | RouterInUse(_)
            | RouterInterfaceInUseByFloatingIp { .. }
            | RouterExternalGatewayInUseByFloatingIp { .. }
            | FloatingIpPortAlreadyAssociated { .. }
            | PortInUse { .. }
            | ServicePortInUse { .. }
            | ExternalNetworkInUse(_)
            | AutoAllocationFailure(_)
            | DefaultExternalNetworkExists(_) => ErrorClass::Conflict,
            InvalidIpForSubnet(_)
            | InvalidIpForNetwork(_)
            | InvalidAllocationPool(_)
            | OutOfBoundsAllocationPool { .. }
            | InvalidInput(_)
            | InvalidAttribute { .. }
            | BadRequest(_)
            | SecurityGroupInvalidPortRange
            | SecurityGroupInvalidPortValue(_)
            | SecurityGroupInvalidProtocolForPort(_)
            | SecurityGroupInvalidIcmpValue { .. }
            | SecurityGroupMissingIcmpType(_)
            | SecurityGroupEthertypeConflictWithProtocol { .. }
            | SecurityGroupProtocolRequiredWithPorts
            | SecurityGroupMultipleRemoteEntites
            | SecurityGroupRuleParameterConflict { .. }
            | ExternalIpAddressExhausted(_)
            | SubnetMismatchForPort { .. }
            | BadResourceRequest { .. } => ErrorClass::BadRequest,
            PolicyNotAuthorized(_) => ErrorClass::Forbidden,
            Compute(_) => ErrorClass::Internal,
        }
    }
}

/// The families of [`NetworkError`] (Neutron's exception bases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// `BadRequest`.
    BadRequest,
    /// `NotAuthorized`.
    Forbidden,
    /// `NotFound`.
    NotFound,
    /// `Conflict` and `InUse`.
    Conflict,
    /// Anything internal.
    Internal,
}

/// The result type of the network domain.
pub type NetworkResult<T> = std::result::Result<T, NetworkError>;
