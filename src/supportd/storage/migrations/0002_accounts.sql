-- Accounts with their support plan and own limits, their access keys, and the audit
-- trail of API calls. Limits: NULL means the deployment's, -1 means no limit.
CREATE TABLE accounts (
    seq                BIGSERIAL PRIMARY KEY,
    account_id         TEXT    NOT NULL UNIQUE,
    email              TEXT    NOT NULL,
    plan               TEXT    NOT NULL,
    max_cases_per_hour INTEGER,
    case_api_tps       DOUBLE PRECISION,
    advisor_tps        DOUBLE PRECISION,
    created_ms         BIGINT  NOT NULL
);

-- secret_sealed: AES-GCM under the server key; session_token_hash: SHA-256 (hex) of a
-- temporary key's session token.
CREATE TABLE access_keys (
    seq                BIGSERIAL PRIMARY KEY,
    access_key_id      TEXT    NOT NULL UNIQUE,
    account_id         TEXT    NOT NULL REFERENCES accounts (account_id),
    user_name          TEXT    NOT NULL,
    secret_sealed      TEXT    NOT NULL,
    session_token_hash TEXT,
    expires_ms         BIGINT,
    created_ms         BIGINT  NOT NULL,
    revoked_ms         BIGINT
);
CREATE INDEX access_keys_by_account ON access_keys (account_id, seq);

-- One row per API call; no bodies, no messages, no secrets (postgresql/ adds a unique
-- request_id).
CREATE TABLE audit_events (
    seq           BIGSERIAL PRIMARY KEY,
    at_ms         BIGINT  NOT NULL,
    request_id    TEXT    NOT NULL,
    account_id    TEXT,
    access_key_id TEXT,
    caller        TEXT,
    operation     TEXT    NOT NULL,
    source_ip     TEXT    NOT NULL,
    user_agent    TEXT    NOT NULL,
    http_status   INTEGER NOT NULL,
    error_code    TEXT
);
CREATE INDEX audit_events_by_time ON audit_events (at_ms);

-- The case-creation quota counts an account's cases of the last hour.
CREATE INDEX cases_by_account_time ON cases (account_id, created_ms);
