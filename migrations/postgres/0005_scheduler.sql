-- The scheduler (`satu serve`). Times are UTC RFC 3339 text with milliseconds, written by the
-- schedulers themselves, so that they compare alike on every backend.

-- One row per pipeline and cron tick, claimed by the scheduler that runs it: two schedulers
-- sharing this warehouse never run a tick twice, and a tick whose holder died (its lease ran out
-- before it finished) is taken over by another.
CREATE TABLE etl.tick (
    pipeline       text NOT NULL,
    scheduled_for  text NOT NULL,               -- the cron tick
    owner          text NOT NULL,               -- host:pid of the scheduler holding it
    lease_until    text NOT NULL,               -- renewed while the tick runs
    finished_at    text,                        -- when its run (with retries) ended
    outcome        text,                        -- success, failed, circuit_open
    PRIMARY KEY (pipeline, scheduled_for)
);
CREATE INDEX tick_open ON etl.tick (finished_at, lease_until);

-- The circuit breaker of each pipeline: consecutive failed ticks, and since when it is open
-- (the scheduler then only runs a probe now and then, until one succeeds or `satu reset`).
CREATE TABLE etl.circuit (
    pipeline     text PRIMARY KEY,
    failures     integer NOT NULL,
    opened_at    text,                          -- NULL while closed
    last_error   text,
    updated_at   text NOT NULL                  -- the last failure, probe or reset
);
