-- The console authorizations nova's ConsoleAuthToken keeps: the token
-- itself is never stored, only its SHA-256 (hex); a row lives until it
-- expires or its instance is deleted.
CREATE TABLE console_auth_tokens (
    token_hash TEXT PRIMARY KEY,
    console_type TEXT NOT NULL,
    host TEXT,
    port BIGINT NOT NULL,
    tls_port BIGINT,
    internal_access_path TEXT,
    instance_uuid TEXT NOT NULL,
    access_url_base TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX console_auth_tokens_instance ON console_auth_tokens (instance_uuid);
CREATE INDEX console_auth_tokens_expires ON console_auth_tokens (expires);

-- The snapshot a createImage is uploading: its image is queued until
-- `saving_at`, saving until `active_at`, then active (settled when read).
CREATE TABLE snapshot_uploads (
    image_uuid TEXT PRIMARY KEY,
    instance_uuid TEXT NOT NULL,
    saving_at BIGINT NOT NULL,
    active_at BIGINT NOT NULL
);
CREATE INDEX snapshot_uploads_instance ON snapshot_uploads (instance_uuid);
CREATE INDEX snapshot_uploads_active_at ON snapshot_uploads (active_at);
