-- A full pass reads each list as `created` ranges side by side. Each range is [lo, hi) in Unix
-- seconds (-2^63 and 2^63-1 stand for unbounded) with its own checkpoint, so a killed pass resumes
-- every range where it stopped. A range is split by lowering its `lo` and adding the part below,
-- so `hi` names a range for as long as it exists. The rows go when their table's pass completes.
CREATE TABLE sync_ranges (
    connection_id BIGINT  NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    table_name    TEXT    NOT NULL,
    hi            BIGINT  NOT NULL,
    lo            BIGINT  NOT NULL,
    -- The last Stripe id stored from this range (NULL: none yet).
    checkpoint    TEXT,
    done          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (connection_id, table_name, hi)
);

-- A pass under way keeps its place: its single cursor becomes one unbounded range.
INSERT INTO sync_ranges (connection_id, table_name, hi, lo, checkpoint, done)
SELECT connection_id, table_name, 9223372036854775807, -9223372036854775808, checkpoint, FALSE
FROM sync_tables WHERE checkpoint IS NOT NULL;

ALTER TABLE sync_tables DROP COLUMN checkpoint;
-- Pages read by the pass under way: its progress while the number of objects is not known yet.
ALTER TABLE sync_tables ADD COLUMN progress_pages BIGINT NOT NULL DEFAULT 0;
