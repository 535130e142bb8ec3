-- The background job queue. Jobs are transient: they are not exported.
CREATE TABLE jobs (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL,
    key            TEXT    UNIQUE,
    payload        TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    run_at_ms      INTEGER NOT NULL,
    lease          TEXT,
    lease_until_ms INTEGER,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    created_ms     INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at_ms);
