-- Quota classes (os-quota-class-sets): the limits of the `default` class
-- replace the configured `[quota]` defaults of every project without its
-- own; other classes are kept and shown, as nova keeps them.
CREATE TABLE quota_classes (
    class_name TEXT NOT NULL,
    resource TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (class_name, resource)
);

-- What nova keeps of a create's request spec and shows from 2.96 and
-- 2.100: the availability zone the server was asked into (the zone it
-- stays pinned to until unpinned, 2.104) and the scheduler hints (JSON).
ALTER TABLE instances ADD COLUMN pinned_availability_zone TEXT;
ALTER TABLE instances ADD COLUMN scheduler_hints TEXT;

-- OS-DCF:diskConfig: AUTO (true) resizes the root partition to the disk,
-- MANUAL (false) leaves it as the image has it.
ALTER TABLE instances ADD COLUMN auto_disk_config BOOLEAN NOT NULL DEFAULT FALSE;
