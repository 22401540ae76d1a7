-- Stripe data as a warehouse (SPEC §6.3). Each connection gets a schema name (given on its first
-- sync, changeable by an Admin); each of its tables a typed relation built from what Stripe sends:
-- `warehouse_tables` says which exist (and counts values kept only in the JSON because they did not
-- fit their column), `warehouse_columns` lists each relation's columns in the order first seen,
-- with their type and whether they are tracked. The relations themselves are created at run time
-- (their columns follow Stripe), named after the connection's id: `warehouse_c<id>_<table>`, shown
-- through views named after the schema.
ALTER TABLE connections ADD COLUMN warehouse_schema TEXT;
CREATE UNIQUE INDEX connections_warehouse_schema ON connections (warehouse_schema);

CREATE TABLE warehouse_tables (
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    table_name    TEXT   NOT NULL,
    misfits       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, table_name)
);

CREATE TABLE warehouse_columns (
    connection_id BIGINT  NOT NULL,
    table_name    TEXT    NOT NULL,
    column_name   TEXT    NOT NULL,
    column_type   TEXT    NOT NULL,
    position      BIGINT  NOT NULL,
    tracked       BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (connection_id, table_name, column_name),
    FOREIGN KEY (connection_id, table_name)
        REFERENCES warehouse_tables (connection_id, table_name) ON DELETE CASCADE
);
