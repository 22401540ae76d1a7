-- Incremental syncs: a forced job is a full pass that also reconciles ids (marks deleted what Stripe
-- no longer lists); a scheduled one reads the events since the connection's cursor.
ALTER TABLE sync_jobs ADD COLUMN full_pass BOOLEAN NOT NULL DEFAULT FALSE;

-- Per connection: where the events pass starts (`created` of Stripe's events, inclusive), and the
-- cursor a full pass under way will leave once it completes (set when it starts, kept on resume).
CREATE TABLE sync_cursors (
    connection_id  BIGINT PRIMARY KEY NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    events_from    BIGINT,
    pass_job_id    BIGINT,
    pass_cursor    BIGINT
);

-- The full pass that last listed each object: what a completed pass did not list is gone at Stripe.
ALTER TABLE stripe_customers ADD COLUMN seen_job BIGINT;
ALTER TABLE stripe_charges ADD COLUMN seen_job BIGINT;
ALTER TABLE stripe_coupons ADD COLUMN seen_job BIGINT;
ALTER TABLE stripe_invoices ADD COLUMN seen_job BIGINT;
ALTER TABLE stripe_plans ADD COLUMN seen_job BIGINT;
ALTER TABLE stripe_subscriptions ADD COLUMN seen_job BIGINT;
ALTER TABLE stripe_events ADD COLUMN seen_job BIGINT;
