-- What a server shows of its network lives in other tables: its ports,
-- their addresses, their floating addresses, their security groups, and
-- the names of their networks and groups. Every change to one of those
-- rows bumps the instance's net_seq, in the same transaction, so that a
-- cached view of an instance's network is checked against the database as
-- state_seq checks the instance row itself. Triggers keep this true of
-- every writer, whichever code path or process it is.
ALTER TABLE instances ADD COLUMN net_seq BIGINT NOT NULL DEFAULT 0;

-- Bumps the instances holding the ports `port_ids` (NULLs skipped).
CREATE FUNCTION bump_net_seq_of_ports(port_ids TEXT[]) RETURNS void LANGUAGE sql AS $$
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT p.device_id FROM ports p WHERE p.id = ANY (port_ids));
$$;

CREATE FUNCTION ports_net_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE instances SET net_seq = net_seq + 1 WHERE uuid = NEW.device_id;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE instances SET net_seq = net_seq + 1 WHERE uuid IN (OLD.device_id, NEW.device_id);
    ELSE
        UPDATE instances SET net_seq = net_seq + 1 WHERE uuid = OLD.device_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ports_net_seq AFTER INSERT OR UPDATE OR DELETE ON ports
    FOR EACH ROW EXECUTE FUNCTION ports_net_seq();

-- For the rows that name a port in the column TG_ARGV[0].
CREATE FUNCTION port_rows_net_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM bump_net_seq_of_ports(ARRAY[to_jsonb(NEW) ->> TG_ARGV[0]]);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM bump_net_seq_of_ports(
            ARRAY[to_jsonb(OLD) ->> TG_ARGV[0], to_jsonb(NEW) ->> TG_ARGV[0]]);
    ELSE
        PERFORM bump_net_seq_of_ports(ARRAY[to_jsonb(OLD) ->> TG_ARGV[0]]);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ip_allocations_net_seq AFTER INSERT OR UPDATE OR DELETE ON ip_allocations
    FOR EACH ROW EXECUTE FUNCTION port_rows_net_seq('port_id');
CREATE TRIGGER port_security_groups_net_seq AFTER INSERT OR UPDATE OR DELETE ON port_security_groups
    FOR EACH ROW EXECUTE FUNCTION port_rows_net_seq('port_id');
CREATE TRIGGER floating_ips_net_seq AFTER INSERT OR UPDATE OR DELETE ON floating_ips
    FOR EACH ROW EXECUTE FUNCTION port_rows_net_seq('fixed_port_id');

CREATE FUNCTION security_groups_net_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT p.device_id FROM port_security_groups b JOIN ports p ON p.id = b.port_id
                   WHERE b.security_group_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER security_groups_net_seq AFTER UPDATE OF name ON security_groups
    FOR EACH ROW EXECUTE FUNCTION security_groups_net_seq();

CREATE FUNCTION networks_net_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE network_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER networks_net_seq AFTER UPDATE OF name ON networks
    FOR EACH ROW EXECUTE FUNCTION networks_net_seq();
