-- Fresh within seconds (SPEC §6.2). Each synced object keeps the moment its stored state reflects
-- (`version`, Unix seconds: the event's `created`, or when the list or object was read), so an
-- older event delivered late never overwrites a newer state. Each table knows up to when every
-- change is in it (`fresh_as_of`). Webhooks of data events wait in `webhook_queue` (durable once
-- acknowledged) until applied; a connection's last webhook and last full pass set how often it is
-- polled and reconciled.
ALTER TABLE stripe_customers ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stripe_charges ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stripe_coupons ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stripe_invoices ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stripe_plans ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stripe_subscriptions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stripe_events ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

ALTER TABLE sync_tables ADD COLUMN fresh_as_of BIGINT;
-- Until now a completed pass was as fresh as its end.
UPDATE sync_tables SET fresh_as_of = synced_at;
-- The oldest of a connection's seven tables (none while one has none), for the Data Sources table.
ALTER TABLE connections ADD COLUMN fresh_as_of BIGINT;
UPDATE connections SET fresh_as_of = (SELECT CASE WHEN COUNT(t.fresh_as_of) = 7
    THEN MIN(t.fresh_as_of) END FROM sync_tables t WHERE t.connection_id = connections.id
    AND t.table_name IN ('customers', 'charges', 'coupons', 'invoices', 'plans', 'subscriptions',
        'events'));

ALTER TABLE sync_cursors ADD COLUMN webhook_at BIGINT;
ALTER TABLE sync_cursors ADD COLUMN full_pass_at BIGINT;
-- A webhook the applier could not use asked for an events pass while one was running: the next
-- is queued when that one ends.
ALTER TABLE sync_cursors ADD COLUMN pass_wanted BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE webhook_queue (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id INTEGER  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    event_id      TEXT    NOT NULL,
    created       BIGINT  NOT NULL,
    event         TEXT    NOT NULL,
    received_at   BIGINT  NOT NULL
);
CREATE INDEX webhook_queue_connection ON webhook_queue (connection_id, id);
-- Until now a completed full pass left the events cursor: as good a mark as any.
UPDATE sync_cursors SET full_pass_at = events_from;
