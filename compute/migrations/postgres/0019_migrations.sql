-- nova's migration records: one per cold migration, resize, live
-- migration and evacuation of an instance, with the hosts it moves
-- between, the flavors (the flavors table's ids) and the status nova's
-- conductor and computes move it through. Live migrations carry the
-- memory and disk counters the simulated driver reports.
CREATE TABLE migrations (
    id BIGSERIAL PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    instance_uuid TEXT NOT NULL,
    migration_type TEXT NOT NULL,
    status TEXT NOT NULL,
    source_compute TEXT,
    source_node TEXT,
    dest_compute TEXT,
    dest_node TEXT,
    dest_host TEXT,
    old_instance_type_id BIGINT,
    new_instance_type_id BIGINT,
    hidden BOOLEAN NOT NULL DEFAULT FALSE,
    user_id TEXT,
    project_id TEXT,
    memory_total BIGINT,
    memory_processed BIGINT,
    memory_remaining BIGINT,
    disk_total BIGINT,
    disk_processed BIGINT,
    disk_remaining BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);
CREATE INDEX migrations_instance_idx ON migrations (instance_uuid, status);
CREATE INDEX migrations_created_idx ON migrations (created_at, id);
