-- What a server shows of its network lives in other tables: its ports,
-- their addresses, their floating addresses, their security groups, and
-- the names of their networks and groups. Every change to one of those
-- rows bumps the instance's net_seq, in the same transaction, so that a
-- cached view of an instance's network is checked against the database as
-- state_seq checks the instance row itself. Triggers keep this true of
-- every writer, whichever code path or process it is.
ALTER TABLE instances ADD COLUMN net_seq BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER ports_net_seq_insert AFTER INSERT ON ports BEGIN
    UPDATE instances SET net_seq = net_seq + 1 WHERE uuid = NEW.device_id;
END;
CREATE TRIGGER ports_net_seq_update AFTER UPDATE ON ports BEGIN
    UPDATE instances SET net_seq = net_seq + 1 WHERE uuid IN (OLD.device_id, NEW.device_id);
END;
CREATE TRIGGER ports_net_seq_delete AFTER DELETE ON ports BEGIN
    UPDATE instances SET net_seq = net_seq + 1 WHERE uuid = OLD.device_id;
END;

CREATE TRIGGER ip_allocations_net_seq_insert AFTER INSERT ON ip_allocations BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE id = NEW.port_id);
END;
CREATE TRIGGER ip_allocations_net_seq_update AFTER UPDATE ON ip_allocations BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE id IN (OLD.port_id, NEW.port_id));
END;
CREATE TRIGGER ip_allocations_net_seq_delete AFTER DELETE ON ip_allocations BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE id = OLD.port_id);
END;

CREATE TRIGGER floating_ips_net_seq_insert AFTER INSERT ON floating_ips BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE id = NEW.fixed_port_id);
END;
CREATE TRIGGER floating_ips_net_seq_update AFTER UPDATE ON floating_ips BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE id IN (OLD.fixed_port_id, NEW.fixed_port_id));
END;
CREATE TRIGGER floating_ips_net_seq_delete AFTER DELETE ON floating_ips BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE id = OLD.fixed_port_id);
END;

CREATE TRIGGER port_security_groups_net_seq_insert AFTER INSERT ON port_security_groups BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE id = NEW.port_id);
END;
CREATE TRIGGER port_security_groups_net_seq_update AFTER UPDATE ON port_security_groups BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE id IN (OLD.port_id, NEW.port_id));
END;
CREATE TRIGGER port_security_groups_net_seq_delete AFTER DELETE ON port_security_groups BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE id = OLD.port_id);
END;

CREATE TRIGGER security_groups_net_seq_rename AFTER UPDATE OF name ON security_groups BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT p.device_id FROM port_security_groups b JOIN ports p ON p.id = b.port_id
                   WHERE b.security_group_id = NEW.id);
END;
CREATE TRIGGER networks_net_seq_rename AFTER UPDATE OF name ON networks BEGIN
    UPDATE instances SET net_seq = net_seq + 1
    WHERE uuid IN (SELECT device_id FROM ports WHERE network_id = NEW.id);
END;
