-- Delete detection: rows that vanished from a source are soft-deleted and counted in the run.
ALTER TABLE etl.run ADD COLUMN rows_deleted INTEGER NOT NULL DEFAULT 0;

-- The keys a source listed during a run, compared with the table at the end of the run.
CREATE TABLE etl.kunci_sumber (
    run_id  INTEGER NOT NULL,
    kunci   TEXT NOT NULL
);
CREATE INDEX etl.kunci_sumber_run ON kunci_sumber (run_id, kunci);
