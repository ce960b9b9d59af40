-- Schema 3 (PostgreSQL): the personality files (nova's injected files) an
-- instance was created or last rebuilt with, in request order, for the
-- metadata service. Contents are the base64 text the client sent.

CREATE TABLE instance_injected_files (
    instance_uuid TEXT NOT NULL,
    position BIGINT NOT NULL,
    path TEXT NOT NULL,
    contents TEXT NOT NULL,
    PRIMARY KEY (instance_uuid, position)
);
