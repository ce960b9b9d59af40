-- Schema 2 (PostgreSQL): the client tokens of idempotent creates (EC2's
-- ClientToken), one per project, naming the reservation they made. The
-- primary key makes claiming a token atomic with the create.

CREATE TABLE client_tokens (
    project_id TEXT NOT NULL,
    client_token TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, client_token)
);
