-- Logins a BI tool reads the warehouse with (`backend create-reader`, PostgreSQL only): each may
-- read the warehouse schemas of one organization, or of all (NULL). A schema or view made later
-- is granted to the readers that may see it as it is made.
CREATE TABLE warehouse_readers (
    role_name       TEXT   PRIMARY KEY,
    organization_id BIGINT REFERENCES organizations (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL
);
