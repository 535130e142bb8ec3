-- Trusted Advisor: one result per account and check (seeded or computed), and the
-- latest refresh of each. flagged_resources holds the wire format's list as JSON text;
-- summaries read everything but it.
CREATE TABLE advisor_results (
    seq                  BIGSERIAL PRIMARY KEY,
    account_id           TEXT    NOT NULL,
    check_id             TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    timestamp_ms         BIGINT  NOT NULL,
    resources_processed  BIGINT  NOT NULL,
    resources_flagged    BIGINT  NOT NULL,
    resources_ignored    BIGINT  NOT NULL,
    resources_suppressed BIGINT  NOT NULL,
    monthly_savings      DOUBLE PRECISION,
    percent_savings      DOUBLE PRECISION,
    flagged_count        BIGINT  NOT NULL,
    flagged_resources    TEXT    NOT NULL,
    source               TEXT    NOT NULL,
    UNIQUE (account_id, check_id)
);

-- Refresh state is transient, like the jobs that carry it out: not exported.
CREATE TABLE advisor_refreshes (
    seq          BIGSERIAL PRIMARY KEY,
    account_id   TEXT    NOT NULL,
    check_id     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    requested_ms BIGINT  NOT NULL,
    updated_ms   BIGINT  NOT NULL,
    last_error   TEXT,
    UNIQUE (account_id, check_id)
);
