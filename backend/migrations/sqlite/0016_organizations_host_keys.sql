-- Host products embed the Connections widget: each has a key (stored hashed) and the origins allowed
-- to embed it. Connections belong to an organization: the app's own to the default one (id 1), a
-- host's to the organization its backend names when it opens a connect session.
CREATE TABLE host_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name        TEXT    NOT NULL,
    -- JSON array of exact origins (`https://host.example[:port]`).
    origins     TEXT    NOT NULL,
    key_hash    TEXT    NOT NULL UNIQUE,
    key_last4   TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE organizations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- NULL: the app's own (default) organization.
    host_key_id  BIGINT  REFERENCES host_keys (id),
    -- The host's id of the organization.
    external_id  TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE UNIQUE INDEX organizations_by_host ON organizations (host_key_id, external_id);
INSERT INTO organizations (id, host_key_id, external_id, name, created_at)
    VALUES (1, NULL, 'default', 'Default', 0);

ALTER TABLE connections ADD COLUMN organization_id BIGINT NOT NULL DEFAULT 1
    REFERENCES organizations (id);
CREATE INDEX connections_by_organization ON connections (organization_id);

-- A connect session: a token (stored hashed) that a host's backend obtained with its key, valid 30
-- minutes, scoped to one organization and end user.
CREATE TABLE connect_sessions (
    token_hash      TEXT    PRIMARY KEY NOT NULL,
    host_key_id     BIGINT  NOT NULL REFERENCES host_keys (id) ON DELETE CASCADE,
    organization_id BIGINT  NOT NULL REFERENCES organizations (id),
    end_user_id     TEXT    NOT NULL,
    end_user_email  TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL
);
CREATE INDEX connect_sessions_expires_at ON connect_sessions (expires_at);

-- An OAuth flow started from a connect session files its connection under that organization.
ALTER TABLE oauth_states ADD COLUMN organization_id BIGINT NOT NULL DEFAULT 1;

-- Host keys and connect sessions decide who may call: changes end reuse of what was read.
CREATE TRIGGER host_keys_changed AFTER UPDATE ON host_keys BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'auth';
END;
CREATE TRIGGER organizations_changed AFTER UPDATE ON organizations BEGIN
    UPDATE change_counters SET version = version + 1 WHERE name = 'connections';
END;
