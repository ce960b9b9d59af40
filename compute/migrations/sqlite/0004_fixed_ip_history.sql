-- The addresses of deleted instances are kept out of circulation for a
-- while (fixed_ip_reuse_delay): allocation looks them up by address.
CREATE INDEX instances_fixed_ip_history ON instances (fixed_ip_num, deleted_at) WHERE fixed_ip_num IS NOT NULL;
