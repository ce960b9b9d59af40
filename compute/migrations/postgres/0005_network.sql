-- The network domain (Neutron's core resources): networks, their subnets
-- and ports, and the addresses ports hold. Rows are deleted outright, as
-- Neutron does, except the address history below.
CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    shared BOOLEAN NOT NULL DEFAULT FALSE,
    router_external BOOLEAN NOT NULL DEFAULT FALSE,
    admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
    mtu BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX networks_project_idx ON networks (project_id);

CREATE TABLE subnets (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES networks (id),
    project_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    ip_version BIGINT NOT NULL,
    cidr TEXT NOT NULL,
    gateway_ip TEXT,
    -- JSON: [{"start": ..., "end": ...}], ["8.8.8.8"], [{"destination": ..., "nexthop": ...}]
    allocation_pools TEXT NOT NULL,
    dns_nameservers TEXT NOT NULL,
    host_routes TEXT NOT NULL,
    enable_dhcp BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX subnets_network_idx ON subnets (network_id);

CREATE TABLE ports (
    id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL REFERENCES networks (id),
    project_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    mac_address TEXT NOT NULL,
    device_id TEXT NOT NULL DEFAULT '',
    device_owner TEXT NOT NULL DEFAULT '',
    admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ports_network_idx ON ports (network_id);
CREATE UNIQUE INDEX ports_network_mac ON ports (network_id, mac_address);

-- The addresses ports hold (released_at NULL) and held (released_at set):
-- a released address stays out of circulation for fixed_ip_reuse_delay.
-- At most one live holder per (subnet, address), whatever the process.
CREATE TABLE ip_allocations (
    subnet_id TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    port_id TEXT NOT NULL,
    network_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    allocated_at BIGINT NOT NULL,
    released_at BIGINT
);
CREATE UNIQUE INDEX ip_allocations_live ON ip_allocations (subnet_id, ip_address) WHERE released_at IS NULL;
CREATE INDEX ip_allocations_port_idx ON ip_allocations (port_id);
CREATE INDEX ip_allocations_history ON ip_allocations (subnet_id, released_at);
