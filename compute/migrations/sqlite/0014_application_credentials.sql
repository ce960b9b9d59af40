-- Keystone's application credentials and their access rules, the
-- credentials of /v3/credentials, and the application credential a token
-- was issued through.
--
-- An application credential belongs to its user and is bound to the
-- project of the token that made it; its secret is kept only as an
-- Argon2id PHC string, as a password is. roles: the JSON list of
-- {"id", "name"} it delegates (a subset of the creator's roles there).
CREATE TABLE identity_app_creds (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    secret_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    unrestricted BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identity_app_creds_name_idx ON identity_app_creds (user_id, name);
CREATE INDEX identity_app_creds_project_idx ON identity_app_creds (project_id);

-- An access rule is its user's, shared by the credentials that name the
-- same (service, path, method); it outlives them until deleted.
CREATE TABLE identity_access_rules (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    service TEXT NOT NULL,
    path TEXT NOT NULL,
    method TEXT NOT NULL
);
CREATE UNIQUE INDEX identity_access_rules_rule_idx ON identity_access_rules (user_id, service, path, method);

CREATE TABLE identity_app_cred_access_rules (
    app_cred_id TEXT NOT NULL REFERENCES identity_app_creds (id) ON DELETE CASCADE,
    access_rule_id TEXT NOT NULL REFERENCES identity_access_rules (id),
    PRIMARY KEY (app_cred_id, access_rule_id)
);
CREATE INDEX identity_app_cred_access_rules_rule_idx ON identity_app_cred_access_rules (access_rule_id);

-- The application credential a token was issued through (NULL: none).
ALTER TABLE identity_tokens ADD COLUMN app_cred_id TEXT;

-- The credentials of /v3/credentials other than ec2 ones; an ec2
-- credential is a row of ec2_credentials (the EC2 API signs with it),
-- whose id is the SHA-256 of its access key at creation and whose blob
-- is the one a client gave (NULL: made through OS-EC2, shown as
-- {"access", "secret", "trust_id"}).
CREATE TABLE identity_credentials (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    project_id TEXT,
    type TEXT NOT NULL,
    blob TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX identity_credentials_user_idx ON identity_credentials (user_id);

ALTER TABLE ec2_credentials ADD COLUMN credential_id TEXT;
ALTER TABLE ec2_credentials ADD COLUMN blob TEXT;
CREATE UNIQUE INDEX ec2_credentials_credential_id_idx ON ec2_credentials (credential_id);
