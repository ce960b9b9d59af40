-- Neutron's quotas of the Network API: a project's own limits where an
-- admin set them (the rest come from nova.conf's [quotas]).
CREATE TABLE network_quotas (
    project_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);
-- The default external network (`is_default`): where an auto-allocated
-- topology's router gets its gateway. At most one.
ALTER TABLE networks ADD COLUMN is_default BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX networks_one_default ON networks (is_default) WHERE is_default = TRUE;
UPDATE networks SET is_default = TRUE WHERE id = (
    SELECT id FROM networks WHERE router_external = TRUE AND name = 'public'
    ORDER BY created_at, id LIMIT 1);
-- A project's auto-allocated topology (`GET
-- /v2.0/auto-allocated-topology/{project_id}`): one per project.
CREATE TABLE auto_allocated_topologies (
    project_id TEXT PRIMARY KEY,
    network_id TEXT NOT NULL,
    router_id TEXT,
    created_at BIGINT NOT NULL
);
