-- Schema drift: the source schema each run saw, and every change found between runs.
CREATE TABLE etl.skema_sumber (
    pipeline     text NOT NULL,
    run_id       bigint NOT NULL,
    kolom        text NOT NULL,               -- JSON: [[name, type], …] in source order
    recorded_at  text NOT NULL,
    PRIMARY KEY (pipeline, run_id)
);

CREATE TABLE etl.drift (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline     text NOT NULL,
    run_id       bigint NOT NULL,
    change       text NOT NULL,               -- added, removed, retyped
    column_name  text NOT NULL,
    old_type     text,
    new_type     text,
    action       text NOT NULL,               -- recorded, discarded, stopped
    recorded_at  text NOT NULL
);
CREATE INDEX drift_pipeline ON etl.drift (pipeline, id);
