-- Instances get their addresses from ports on networks, as nova does
-- with Neutron: one allocator (ip_allocations) for every address. The
-- instances' own fixed_ip columns are no longer written.
--
-- binding_host: the compute host of the port's instance (Neutron's
-- binding:host_id). device_tag: the tag a server create or an interface
-- attach gave the port (nova keeps it with the instance's interfaces).
-- preserve_on_delete: FALSE for the ports the compute API made for an
-- instance (deleted with it); TRUE for ports a user made and gave it
-- (only unbound when it goes).
ALTER TABLE ports ADD COLUMN binding_host TEXT NOT NULL DEFAULT '';
ALTER TABLE ports ADD COLUMN device_tag TEXT;
ALTER TABLE ports ADD COLUMN preserve_on_delete BOOLEAN NOT NULL DEFAULT TRUE;
-- The metadata service finds a guest by its address.
CREATE INDEX ip_allocations_live_address ON ip_allocations (ip_address) WHERE released_at IS NULL;
-- Allocation tries the address after the one it chose last (automatic:
-- chosen by the allocator, not asked for), then checks that one address.
ALTER TABLE ip_allocations ADD COLUMN automatic BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX ip_allocations_subnet_address ON ip_allocations (subnet_id, ip_address);
CREATE INDEX ip_allocations_subnet_recent ON ip_allocations (subnet_id, automatic, allocated_at);
-- Two instances on two networks may hold the same address.
DROP INDEX instances_live_fixed_ip;
