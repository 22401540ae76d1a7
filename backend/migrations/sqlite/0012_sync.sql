-- The sync engine: durable jobs, per-table progress, and one table per Stripe list. Every row
-- belongs to a connection and goes with it (ON DELETE CASCADE; foreign_keys is on).

CREATE TABLE sync_jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    connection_id BIGINT  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    status        TEXT    NOT NULL, -- queued | running | done | error
    attempts      BIGINT  NOT NULL DEFAULT 0,
    run_after     BIGINT  NOT NULL,
    lease_owner   TEXT,
    lease_until   BIGINT,
    heartbeat_at  BIGINT,
    started_at    BIGINT,
    finished_at   BIGINT,
    error_code    TEXT,
    created_at    BIGINT  NOT NULL
);
-- At most one queued-or-running job per connection: enqueueing twice is a no-op.
CREATE UNIQUE INDEX sync_jobs_one_active ON sync_jobs (connection_id)
    WHERE status IN ('queued', 'running');
CREATE INDEX sync_jobs_due ON sync_jobs (status, run_after);
CREATE INDEX sync_jobs_connection ON sync_jobs (connection_id, id);

CREATE TABLE sync_tables (
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    table_name    TEXT   NOT NULL,
    rows          BIGINT NOT NULL DEFAULT 0,
    synced_at     BIGINT,
    -- The last Stripe id stored by the backfill pass under way (NULL: none under way).
    checkpoint    TEXT,
    progress_done BIGINT NOT NULL DEFAULT 0,
    error_code    TEXT,
    -- The job whose pass completed this table: a resumed job skips it.
    done_job_id   BIGINT,
    PRIMARY KEY (connection_id, table_name)
);

CREATE TABLE stripe_customers (
    connection_id BIGINT  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    created       BIGINT,
    email         TEXT,
    name          TEXT,
    currency      TEXT,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    object        TEXT    NOT NULL,
    synced_at     BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, id)
);

CREATE TABLE stripe_charges (
    connection_id BIGINT  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    created       BIGINT,
    amount        BIGINT,
    currency      TEXT,
    status        TEXT,
    customer      TEXT,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    object        TEXT    NOT NULL,
    synced_at     BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, id)
);

CREATE TABLE stripe_coupons (
    connection_id BIGINT  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    created       BIGINT,
    percent_off   DOUBLE PRECISION,
    amount_off    BIGINT,
    duration      TEXT,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    object        TEXT    NOT NULL,
    synced_at     BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, id)
);

CREATE TABLE stripe_invoices (
    connection_id BIGINT  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    created       BIGINT,
    amount_due    BIGINT,
    currency      TEXT,
    status        TEXT,
    customer      TEXT,
    subscription  TEXT,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    object        TEXT    NOT NULL,
    synced_at     BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, id)
);

CREATE TABLE stripe_plans (
    connection_id BIGINT  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    created       BIGINT,
    amount        BIGINT,
    currency      TEXT,
    "interval"    TEXT,
    product       TEXT,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    object        TEXT    NOT NULL,
    synced_at     BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, id)
);

CREATE TABLE stripe_subscriptions (
    connection_id      BIGINT  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id                 TEXT    NOT NULL,
    created            BIGINT,
    status             TEXT,
    customer           TEXT,
    current_period_end BIGINT,
    deleted            BOOLEAN NOT NULL DEFAULT FALSE,
    object             TEXT    NOT NULL,
    synced_at          BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, id)
);

CREATE TABLE stripe_events (
    connection_id BIGINT  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    created       BIGINT,
    "type"        TEXT,
    account       TEXT,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    object        TEXT    NOT NULL,
    synced_at     BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, id)
);
CREATE INDEX stripe_events_type ON stripe_events (connection_id, "type", created);
