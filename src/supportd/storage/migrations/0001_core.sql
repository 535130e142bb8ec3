-- Cases, their communications and the history of their status changes.
CREATE TABLE cases (
    seq           BIGSERIAL PRIMARY KEY,
    case_id       TEXT    NOT NULL UNIQUE,
    account_id    TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    service_code  TEXT,
    category_code TEXT,
    severity_code TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    is_open       BOOLEAN NOT NULL,
    language      TEXT    NOT NULL,
    issue_type    TEXT    NOT NULL,
    submitted_by  TEXT    NOT NULL,
    cc_emails     TEXT[]  NOT NULL,
    created_ms    BIGINT  NOT NULL,
    resolved_ms   BIGINT
);
-- DescribeCases pages newest first, with or without resolved cases.
CREATE INDEX cases_by_account ON cases (account_id, seq);
CREATE INDEX cases_open_by_account ON cases (account_id, is_open, seq);

CREATE TABLE communications (
    seq          BIGSERIAL PRIMARY KEY,
    case_seq     BIGINT  NOT NULL REFERENCES cases (seq),
    body         TEXT    NOT NULL,
    submitted_by TEXT    NOT NULL,
    author_kind  TEXT    NOT NULL,
    cc_emails    TEXT[]  NOT NULL,
    created_ms   BIGINT  NOT NULL
);
CREATE INDEX communications_by_case ON communications (case_seq, seq);

CREATE TABLE case_events (
    seq         BIGSERIAL PRIMARY KEY,
    case_seq    BIGINT  NOT NULL REFERENCES cases (seq),
    at_ms       BIGINT  NOT NULL,
    actor       TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT    NOT NULL
);
CREATE INDEX case_events_by_case ON case_events (case_seq, seq);
