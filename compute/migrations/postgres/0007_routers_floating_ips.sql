-- Neutron's routers (just far enough for floating IPs) and floating IPs.
-- A router's interfaces and its gateway are ports whose device_id is the
-- router (device_owner network:router_interface, network:router_gateway);
-- a floating address is held by a port network:floatingip on the external
-- network, so it is allocated and freed like any fixed IP.
CREATE TABLE routers (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    admin_state_up BOOLEAN NOT NULL DEFAULT TRUE,
    status TEXT NOT NULL,
    -- external_gateway_info.enable_snat, meaningful while a gateway port exists
    enable_snat BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX routers_project_idx ON routers (project_id);

-- fixed_port_id, fixed_ip_address and router_id are NULL while the
-- floating IP is not associated. One floating IP per fixed address of a
-- port on each external network, whatever the process.
CREATE TABLE floating_ips (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    floating_network_id TEXT NOT NULL REFERENCES networks (id),
    floating_port_id TEXT NOT NULL REFERENCES ports (id),
    floating_ip_address TEXT NOT NULL,
    fixed_port_id TEXT REFERENCES ports (id),
    fixed_ip_address TEXT,
    router_id TEXT REFERENCES routers (id),
    status TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX floating_ips_project_idx ON floating_ips (project_id);
CREATE INDEX floating_ips_router_idx ON floating_ips (router_id);
CREATE UNIQUE INDEX floating_ips_one_per_fixed_ip
    ON floating_ips (floating_network_id, fixed_port_id, fixed_ip_address)
    WHERE fixed_port_id IS NOT NULL;
CREATE INDEX ports_device_idx ON ports (device_id);
