-- The built-in Identity v3 (Keystone's model, as far as this service
-- serves it): domains, projects, users with Argon2id password hashes,
-- groups, roles and the roles they imply, role assignments, and tokens
-- kept only as the SHA-256 of their text.
CREATE TABLE identity_domains (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_domains_name_idx ON identity_domains (name);

INSERT INTO identity_domains (id, name, description, enabled, created_at)
VALUES ('default', 'Default', 'The default domain', TRUE, 0);

CREATE TABLE identity_projects (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES identity_domains (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    -- the project it sits under (its domain for a top-level project)
    parent_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_projects_name_idx ON identity_projects (domain_id, name);

CREATE TABLE identity_users (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES identity_domains (id),
    name TEXT NOT NULL,
    -- PHC string of an Argon2id hash; NULL: no password, none accepted
    password_hash TEXT,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    default_project_id TEXT,
    description TEXT,
    email TEXT,
    -- the other attributes a client gave, as a JSON object (Keystone's extra)
    extra TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT
);
CREATE UNIQUE INDEX identity_users_name_idx ON identity_users (domain_id, name);

CREATE TABLE identity_groups (
    id TEXT PRIMARY KEY,
    domain_id TEXT NOT NULL REFERENCES identity_domains (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_groups_name_idx ON identity_groups (domain_id, name);

CREATE TABLE identity_group_members (
    group_id TEXT NOT NULL REFERENCES identity_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES identity_users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX identity_group_members_user_idx ON identity_group_members (user_id);

-- domain_id is '' for a global role (Keystone's null), so that a name is
-- unique among the global roles and within each domain alike.
CREATE TABLE identity_roles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain_id TEXT NOT NULL DEFAULT '',
    description TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_roles_name_idx ON identity_roles (domain_id, name);

CREATE TABLE identity_implied_roles (
    prior_role_id TEXT NOT NULL REFERENCES identity_roles (id) ON DELETE CASCADE,
    implied_role_id TEXT NOT NULL REFERENCES identity_roles (id) ON DELETE CASCADE,
    PRIMARY KEY (prior_role_id, implied_role_id)
);

-- actor_type: 'user' or 'group'; target_type: 'project', 'domain' or
-- 'system' (target_id 'all'). Rows go with their actor, target or role
-- (deleted by the operations that delete those).
CREATE TABLE identity_assignments (
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    role_id TEXT NOT NULL REFERENCES identity_roles (id) ON DELETE CASCADE,
    PRIMARY KEY (actor_type, actor_id, target_type, target_id, role_id)
);
CREATE INDEX identity_assignments_target_idx ON identity_assignments (target_type, target_id);
CREATE INDEX identity_assignments_role_idx ON identity_assignments (role_id);

-- id_hash: lowercase hex SHA-256 of the token text, which is never stored.
-- scope_type: 'unscoped', 'project', 'domain' or 'system'; roles: the
-- JSON list of {"id", "name"} the assignment gave at issue time.
CREATE TABLE identity_tokens (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    methods TEXT NOT NULL,
    scope_type TEXT NOT NULL,
    scope_id TEXT,
    roles TEXT NOT NULL,
    audit_id TEXT NOT NULL,
    parent_audit_id TEXT,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX identity_tokens_user_idx ON identity_tokens (user_id);
CREATE INDEX identity_tokens_expires_idx ON identity_tokens (expires_at);
