-- Warnings of a run about rows that were loaded: a total row that disagrees with the sum of its
-- detail rows, with the total's location.
CREATE TABLE etl.peringatan (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint NOT NULL,
    pipeline     text NOT NULL,
    rule         text NOT NULL,               -- total_tidak_cocok
    message      text NOT NULL,
    location     text NOT NULL,
    recorded_at  text NOT NULL
);
CREATE INDEX peringatan_run ON etl.peringatan (run_id);
