-- The order of an instance's interfaces, as nova keeps it in the
-- instance's network info: the create's networks as asked for, then each
-- attached one after the others, whenever its port was made. The guest
-- sees it (network_data.json's links, local-ipv4). Set when a port is
-- made for or bound to an instance; the ports bound before this version
-- keep 0 (and their creation order among themselves).
ALTER TABLE ports ADD COLUMN device_position BIGINT NOT NULL DEFAULT 0;
