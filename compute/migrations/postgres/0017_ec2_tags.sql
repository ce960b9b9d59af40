-- EC2 tags of the resources that have no metadata of their own to keep
-- them in (images, security groups): per project, as nova's ec2-api kept
-- them, so a project may tag a public image it does not own and sees
-- only its own tags. resource_id is the EC2 id (ami-..., sg-...), which
-- is never reused; resource_type is EC2's name of its kind. An
-- instance's EC2 tags are its metadata, as in nova, not rows here.
CREATE TABLE ec2_tags (
    project_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource_id, tag_key)
);
