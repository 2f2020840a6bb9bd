-- Delete detection: rows that vanished from a source are soft-deleted and counted in the run.
ALTER TABLE etl.run ADD COLUMN rows_deleted bigint NOT NULL DEFAULT 0;

-- The keys a source listed during a run, compared with the table at the end of the run.
CREATE UNLOGGED TABLE etl.kunci_sumber (
    run_id  bigint NOT NULL,
    kunci   text NOT NULL
);
CREATE INDEX kunci_sumber_run ON etl.kunci_sumber (run_id, kunci);
