-- Warnings of a run about rows that were loaded: a total row that disagrees with the sum of its
-- detail rows, with the total's location.
CREATE TABLE etl.peringatan (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL,
    pipeline     TEXT NOT NULL,
    rule         TEXT NOT NULL,               -- total_tidak_cocok
    message      TEXT NOT NULL,
    location     TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
);
CREATE INDEX etl.peringatan_run ON peringatan (run_id);
