-- Schema 1 (PostgreSQL): instances, actions, flavors, keypairs, images, quotas,
-- EC2 credentials and service states. Times are BIGINT microseconds (UTC).

CREATE TABLE instances (
    id BIGSERIAL PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    display_description TEXT,
    hostname TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    flavor_id TEXT NOT NULL,
    flavor_name TEXT NOT NULL,
    vcpus BIGINT NOT NULL,
    memory_mb BIGINT NOT NULL,
    root_gb BIGINT NOT NULL,
    ephemeral_gb BIGINT NOT NULL,
    swap BIGINT NOT NULL,
    flavor_extra_specs TEXT NOT NULL DEFAULT '{}',
    old_flavor TEXT,
    new_flavor TEXT,
    image_ref TEXT NOT NULL,
    key_name TEXT,
    key_data TEXT,
    user_data TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]',
    availability_zone TEXT NOT NULL,
    host TEXT,
    node TEXT,
    launch_index BIGINT NOT NULL DEFAULT 0,
    reservation_id TEXT NOT NULL,
    vm_state TEXT NOT NULL,
    task_state TEXT,
    power_state BIGINT NOT NULL DEFAULT 0,
    state_seq BIGINT NOT NULL DEFAULT 0,
    step_due_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    launched_at BIGINT,
    terminated_at BIGINT,
    deleted_at BIGINT,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    fixed_ip TEXT,
    fixed_ip_num BIGINT,
    mac_address TEXT NOT NULL,
    access_ip_v4 TEXT,
    access_ip_v6 TEXT,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    locked_by TEXT,
    locked_reason TEXT,
    config_drive BOOLEAN NOT NULL DEFAULT FALSE,
    admin_password TEXT,
    password TEXT,
    fault_code BIGINT,
    fault_message TEXT,
    fault_details TEXT,
    fault_created_at BIGINT
);
CREATE UNIQUE INDEX instances_live_fixed_ip ON instances (fixed_ip_num) WHERE deleted = FALSE AND fixed_ip_num IS NOT NULL;
CREATE INDEX instances_project_idx ON instances (project_id, deleted, created_at);
CREATE INDEX instances_host_idx ON instances (host, deleted);
CREATE INDEX instances_updated_idx ON instances (updated_at);
CREATE INDEX instances_created_idx ON instances (deleted, created_at);

CREATE TABLE instance_actions (
    id BIGSERIAL PRIMARY KEY,
    instance_uuid TEXT NOT NULL,
    action TEXT NOT NULL,
    request_id TEXT NOT NULL,
    user_id TEXT,
    project_id TEXT,
    start_time BIGINT NOT NULL,
    finish_time BIGINT,
    message TEXT,
    updated_at BIGINT
);
CREATE INDEX instance_actions_uuid_idx ON instance_actions (instance_uuid, start_time);

CREATE TABLE instance_action_events (
    id BIGSERIAL PRIMARY KEY,
    action_id BIGINT NOT NULL REFERENCES instance_actions (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    start_time BIGINT NOT NULL,
    finish_time BIGINT,
    result TEXT,
    traceback TEXT,
    host TEXT,
    details TEXT
);
CREATE INDEX instance_action_events_action_idx ON instance_action_events (action_id);

CREATE TABLE flavors (
    id BIGSERIAL PRIMARY KEY,
    flavorid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    vcpus BIGINT NOT NULL,
    memory_mb BIGINT NOT NULL,
    root_gb BIGINT NOT NULL,
    ephemeral_gb BIGINT NOT NULL DEFAULT 0,
    swap BIGINT NOT NULL DEFAULT 0,
    rxtx_factor DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    is_public BOOLEAN NOT NULL DEFAULT TRUE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);

CREATE TABLE flavor_extra_specs (
    flavor_pk BIGINT NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
    spec_key TEXT NOT NULL,
    spec_value TEXT NOT NULL,
    PRIMARY KEY (flavor_pk, spec_key)
);

CREATE TABLE flavor_projects (
    flavor_pk BIGINT NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    PRIMARY KEY (flavor_pk, project_id)
);

CREATE TABLE key_pairs (
    id BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL,
    project_id TEXT,
    name TEXT NOT NULL,
    key_type TEXT NOT NULL,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE images (
    id BIGSERIAL PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT,
    status TEXT NOT NULL,
    visibility TEXT NOT NULL,
    owner TEXT,
    disk_format TEXT,
    container_format TEXT,
    min_disk BIGINT NOT NULL DEFAULT 0,
    min_ram BIGINT NOT NULL DEFAULT 0,
    size BIGINT,
    checksum TEXT,
    protected BOOLEAN NOT NULL DEFAULT FALSE,
    properties TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);

CREATE TABLE quotas (
    project_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);

CREATE TABLE ec2_credentials (
    access TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    user_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ec2_credentials_user_idx ON ec2_credentials (user_id);

CREATE TABLE services (
    host TEXT NOT NULL,
    service_binary TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_reason TEXT,
    forced_down BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (host, service_binary)
);
