-- Schema drift: the source schema each run saw, and every change found between runs.
CREATE TABLE etl.skema_sumber (
    pipeline     TEXT NOT NULL,
    run_id       INTEGER NOT NULL,
    kolom        TEXT NOT NULL,               -- JSON: [[name, type], …] in source order
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (pipeline, run_id)
);

CREATE TABLE etl.drift (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline     TEXT NOT NULL,
    run_id       INTEGER NOT NULL,
    change       TEXT NOT NULL,               -- added, removed, retyped
    column_name  TEXT NOT NULL,
    old_type     TEXT,
    new_type     TEXT,
    action       TEXT NOT NULL,               -- recorded, discarded, stopped
    recorded_at  TEXT NOT NULL
);
CREATE INDEX etl.drift_pipeline ON drift (pipeline, id);
