-- A version per table that moves with every change, kept by triggers: an instance may reuse what it
-- built from a table (the Data Sources answer) for as long as the version it read is current. The
-- truth stays in the database, so every instance sees every change.
CREATE TABLE change_counters (
    name    TEXT    PRIMARY KEY NOT NULL,
    version BIGINT  NOT NULL
);
INSERT INTO change_counters (name, version) VALUES ('connections', 0);
CREATE TRIGGER connections_inserted AFTER INSERT ON connections BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'connections';
END;
CREATE TRIGGER connections_updated AFTER UPDATE ON connections BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'connections';
END;
CREATE TRIGGER connections_deleted AFTER DELETE ON connections BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'connections';
END;
