-- Image v2 writes as Glance keeps them: hidden images, the multihash of
-- the data, tags, members of shared images, and the time of a delete
-- (the row stays, status `deleted`, so an integer id, and so an EC2 id,
-- is never given to another image). The data itself lives in files under
-- `<state_path>/images/`, named by the image's uuid.
ALTER TABLE images ADD COLUMN os_hidden BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE images ADD COLUMN os_hash_algo TEXT;
ALTER TABLE images ADD COLUMN os_hash_value TEXT;
ALTER TABLE images ADD COLUMN virtual_size BIGINT;
ALTER TABLE images ADD COLUMN deleted_at BIGINT;

CREATE TABLE image_tags (
    image_uuid TEXT NOT NULL REFERENCES images (uuid),
    tag TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (image_uuid, tag)
);

-- A project an image is shared with; status pending, accepted or rejected,
-- set by the member only.
CREATE TABLE image_members (
    image_uuid TEXT NOT NULL REFERENCES images (uuid),
    member TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (image_uuid, member)
);
CREATE INDEX image_members_member_idx ON image_members (member);
