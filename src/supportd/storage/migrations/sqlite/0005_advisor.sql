-- Trusted Advisor: one result per account and check (seeded or computed), and the
-- latest refresh of each. flagged_resources holds the wire format's list as JSON text;
-- summaries read everything but it.
CREATE TABLE advisor_results (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id           TEXT    NOT NULL,
    check_id             TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    timestamp_ms         INTEGER NOT NULL,
    resources_processed  INTEGER NOT NULL,
    resources_flagged    INTEGER NOT NULL,
    resources_ignored    INTEGER NOT NULL,
    resources_suppressed INTEGER NOT NULL,
    monthly_savings      REAL,
    percent_savings      REAL,
    flagged_count        INTEGER NOT NULL,
    flagged_resources    TEXT    NOT NULL,
    source               TEXT    NOT NULL,
    UNIQUE (account_id, check_id)
);

-- Refresh state is transient, like the jobs that carry it out: not exported.
CREATE TABLE advisor_refreshes (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   TEXT    NOT NULL,
    check_id     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    requested_ms INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    last_error   TEXT,
    UNIQUE (account_id, check_id)
);
