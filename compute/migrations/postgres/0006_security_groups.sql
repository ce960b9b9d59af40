-- Neutron's security groups and their rules, and which groups each port
-- has. A project has at most one default group (`is_default`), whatever
-- the number of processes that make it on first use at once.
CREATE TABLE security_groups (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    stateful BOOLEAN NOT NULL DEFAULT TRUE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX security_groups_project_idx ON security_groups (project_id);
CREATE UNIQUE INDEX security_groups_one_default ON security_groups (project_id) WHERE is_default = TRUE;

-- protocol: a name or a number as text, NULL for any; port_range_min/max
-- are ICMP type and code for ICMP.
CREATE TABLE security_group_rules (
    id TEXT PRIMARY KEY,
    security_group_id TEXT NOT NULL REFERENCES security_groups (id),
    project_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    ethertype TEXT NOT NULL,
    protocol TEXT,
    port_range_min BIGINT,
    port_range_max BIGINT,
    remote_ip_prefix TEXT,
    remote_group_id TEXT REFERENCES security_groups (id),
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX security_group_rules_group_idx ON security_group_rules (security_group_id);
CREATE INDEX security_group_rules_project_idx ON security_group_rules (project_id);
CREATE INDEX security_group_rules_remote_idx ON security_group_rules (remote_group_id);

CREATE TABLE port_security_groups (
    port_id TEXT NOT NULL REFERENCES ports (id),
    security_group_id TEXT NOT NULL REFERENCES security_groups (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (port_id, security_group_id)
);
CREATE INDEX port_security_groups_group_idx ON port_security_groups (security_group_id);
