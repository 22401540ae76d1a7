-- The Data Sources table's Last Connection Started / Duration describe the last sync run once there
-- is one (connection tests keep their own times in last_started_at / last_duration_ms).
ALTER TABLE connections ADD COLUMN sync_started_at BIGINT;
ALTER TABLE connections ADD COLUMN sync_duration_ms BIGINT;
