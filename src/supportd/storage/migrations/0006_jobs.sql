-- The background job queue. Jobs are transient: they are not exported.
CREATE TABLE jobs (
    seq            BIGSERIAL PRIMARY KEY,
    kind           TEXT    NOT NULL,
    key            TEXT    UNIQUE,
    payload        JSONB   NOT NULL,
    state          TEXT    NOT NULL,
    run_at_ms      BIGINT  NOT NULL,
    lease          TEXT,
    lease_until_ms BIGINT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    created_ms     BIGINT  NOT NULL,
    updated_ms     BIGINT  NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at_ms);
