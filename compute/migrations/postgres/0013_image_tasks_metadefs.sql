-- Glance's tasks: the record of an image import (`api_image_import`, made
-- by `POST /v2/images/{id}/import`), shown by `GET /v2/images/{id}/tasks`
-- and the tasks API. `input` and `result` are JSON text.
CREATE TABLE image_tasks (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    result TEXT,
    message TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL,
    image_id TEXT,
    request_id TEXT,
    user_id TEXT,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX image_tasks_image_idx ON image_tasks (image_id);

-- The metadata definitions catalog (metadefs): namespaces, named
-- uniquely, and what they hold. Children name their namespace by its
-- uuid, so a namespace is renamed in one row.
CREATE TABLE metadef_namespaces (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL UNIQUE,
    display_name TEXT,
    description TEXT,
    visibility TEXT NOT NULL,
    protected BOOLEAN NOT NULL DEFAULT FALSE,
    owner TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Objects and properties keep the rest of their definition (a JSON
-- schema fragment) as JSON text.
CREATE TABLE metadef_objects (
    namespace_id TEXT NOT NULL REFERENCES metadef_namespaces (id),
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name)
);
CREATE TABLE metadef_properties (
    namespace_id TEXT NOT NULL REFERENCES metadef_namespaces (id),
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name)
);
CREATE TABLE metadef_tags (
    namespace_id TEXT NOT NULL REFERENCES metadef_namespaces (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, name)
);

-- The kinds of resource a namespace applies to. Glance seeds them from
-- its metadefs files; here a small set of the services' own names.
CREATE TABLE metadef_resource_types (
    name TEXT PRIMARY KEY,
    protected BOOLEAN NOT NULL DEFAULT FALSE,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE metadef_namespace_resource_types (
    namespace_id TEXT NOT NULL REFERENCES metadef_namespaces (id),
    resource_type TEXT NOT NULL REFERENCES metadef_resource_types (name),
    prefix TEXT,
    properties_target TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, resource_type)
);
INSERT INTO metadef_resource_types (name, protected, position, created_at, updated_at) VALUES
    ('OS::Glance::Image', TRUE, 1, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT)),
    ('OS::Cinder::Volume', TRUE, 2, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT)),
    ('OS::Nova::Flavor', TRUE, 3, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT)),
    ('OS::Nova::Server', TRUE, 4, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT)),
    ('OS::Nova::Aggregate', TRUE, 5, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT)),
    ('OS::Glance::Snapshot', TRUE, 6, CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000000 AS BIGINT));
