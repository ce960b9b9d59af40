-- Server groups (nova's instance groups) with their members, and host
-- aggregates with their hosts and metadata.
--
-- A group's policy is one of affinity, anti-affinity, soft-affinity,
-- soft-anti-affinity; rules: the JSON object of its rules (only
-- max_server_per_host, only for anti-affinity). A member row is made by
-- the create of a server that names the group in its `group` hint; the
-- group's members are those rows whose instance is not deleted.
CREATE TABLE server_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    rules TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX server_groups_project_idx ON server_groups (project_id);

CREATE TABLE server_group_members (
    group_id BIGINT NOT NULL REFERENCES server_groups (id) ON DELETE CASCADE,
    instance_uuid TEXT NOT NULL,
    PRIMARY KEY (group_id, instance_uuid)
);
CREATE INDEX server_group_members_instance_idx ON server_group_members (instance_uuid);

-- An aggregate's id is never reused (its row goes on delete, the
-- sequence stays); its name is unique among the live ones. The
-- availability zone is the metadata key `availability_zone`, as nova
-- keeps it.
CREATE TABLE aggregates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);

CREATE TABLE aggregate_hosts (
    aggregate_id BIGINT NOT NULL REFERENCES aggregates (id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    PRIMARY KEY (aggregate_id, host)
);
CREATE INDEX aggregate_hosts_host_idx ON aggregate_hosts (host);

CREATE TABLE aggregate_metadata (
    aggregate_id BIGINT NOT NULL REFERENCES aggregates (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (aggregate_id, key)
);
