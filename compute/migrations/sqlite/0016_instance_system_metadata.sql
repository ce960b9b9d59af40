-- What nova keeps in an instance's system metadata for the actions that
-- span several requests (the shelve snapshot's image id, when it was
-- shelved and where): one row per name.
CREATE TABLE instance_system_metadata (
    instance_uuid TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (instance_uuid, name)
);
