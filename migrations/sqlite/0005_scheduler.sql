-- The scheduler (`satu serve`). Times are UTC RFC 3339 text with milliseconds, written by the
-- schedulers themselves, so that they compare alike on every backend.

-- One row per pipeline and cron tick, claimed by the scheduler that runs it: two schedulers
-- sharing this warehouse never run a tick twice, and a tick whose holder died (its lease ran out
-- before it finished) is taken over by another.
CREATE TABLE etl.tick (
    pipeline       TEXT NOT NULL,
    scheduled_for  TEXT NOT NULL,               -- the cron tick
    owner          TEXT NOT NULL,               -- host:pid of the scheduler holding it
    lease_until    TEXT NOT NULL,               -- renewed while the tick runs
    finished_at    TEXT,                        -- when its run (with retries) ended
    outcome        TEXT,                        -- success, failed, circuit_open
    PRIMARY KEY (pipeline, scheduled_for)
);
CREATE INDEX etl.tick_open ON tick (finished_at, lease_until);

-- The circuit breaker of each pipeline: consecutive failed ticks, and since when it is open
-- (the scheduler then only runs a probe now and then, until one succeeds or `satu reset`).
CREATE TABLE etl.circuit (
    pipeline     TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    opened_at    TEXT,                          -- NULL while closed
    last_error   TEXT,
    updated_at   TEXT NOT NULL                  -- the last failure, probe or reset
);
