-- The support side: staff members, their API tokens, and what support keeps about each
-- case (assignee, SLA clock, internal notes, assignment history, who wrote a reply);
-- full-text search over subjects and communications.
CREATE TABLE staff (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    email       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    disabled_ms INTEGER
);

-- secret_hash: SHA-256 (hex) of the token's secret part; the token itself is shown once.
CREATE TABLE staff_tokens (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id    TEXT    NOT NULL UNIQUE,
    staff_name  TEXT    NOT NULL REFERENCES staff (name),
    secret_hash TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
);
CREATE INDEX staff_tokens_by_staff ON staff_tokens (staff_name, seq);

-- One row per case, keyed by the case's own seq. SLA clock: sla_target names the
-- outstanding target; sla_due_ms is set while it runs, sla_remaining_ms while it is
-- paused (the case waits on the customer). pending_since_ms: when support last asked
-- the customer (the auto-resolve timer).
CREATE TABLE case_work (
    seq              INTEGER PRIMARY KEY REFERENCES cases (seq),
    assignee         TEXT,
    sla_target       TEXT,
    sla_due_ms       INTEGER,
    sla_remaining_ms INTEGER,
    pending_since_ms INTEGER
);
-- The staff case list pages by due time, cases without a running clock last.
CREATE INDEX case_work_by_due
    ON case_work (COALESCE(sla_due_ms, 9223372036854775807), seq);
CREATE INDEX case_work_by_assignee ON case_work (assignee, seq) WHERE assignee IS NOT NULL;
CREATE INDEX case_work_pending ON case_work (pending_since_ms)
    WHERE pending_since_ms IS NOT NULL;

-- Cases created before this migration: their first response is outstanding, due by
-- the default targets around the clock (none while a case waits on the customer).
INSERT INTO case_work (seq, sla_target, sla_due_ms)
SELECT seq,
       CASE WHEN is_open = 1 AND status <> 'pending-customer-action' THEN 'first-response' END,
       CASE WHEN is_open = 1 AND status <> 'pending-customer-action' THEN created_ms + CASE severity_code
           WHEN 'critical' THEN 900000
           WHEN 'urgent' THEN 3600000
           WHEN 'high' THEN 14400000
           WHEN 'normal' THEN 43200000
           ELSE 86400000 END END
FROM cases;

CREATE TABLE case_notes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    case_seq   INTEGER NOT NULL REFERENCES cases (seq),
    staff_name TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX case_notes_by_case ON case_notes (case_seq, seq);

CREATE TABLE case_assignments (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    case_seq   INTEGER NOT NULL REFERENCES cases (seq),
    at_ms      INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    from_staff TEXT,
    to_staff   TEXT
);
CREATE INDEX case_assignments_by_case ON case_assignments (case_seq, seq);

-- Which staff member wrote a support communication (keyed by the communication's seq);
-- customers see only the configured display name.
CREATE TABLE support_replies (
    seq        INTEGER PRIMARY KEY REFERENCES communications (seq),
    staff_name TEXT    NOT NULL
);

-- Full-text search: FTS5 indexes over the subject and body columns. They are filled
-- behind the writes, not in them (an FTS5 insert inside the writer's per-write
-- savepoint flushes a segment each time: it would triple CreateCase's cost):
-- search_progress holds the last seq indexed of each table, and every search first
-- indexes what was committed since (rows are only ever appended, in seq order).
CREATE VIRTUAL TABLE cases_fts USING fts5(
    subject, content = 'cases', content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE communications_fts USING fts5(
    body, content = 'communications', content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE search_progress (
    name TEXT    PRIMARY KEY,
    upto INTEGER NOT NULL
);
INSERT INTO search_progress (name, upto) VALUES ('cases', 0), ('communications', 0);
