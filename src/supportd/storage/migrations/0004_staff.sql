-- The support side: staff members, their API tokens, and what support keeps about each
-- case (assignee, SLA clock, internal notes, assignment history, who wrote a reply);
-- full-text search over subjects and communications (each dialect's own, in its folder).
CREATE TABLE staff (
    seq         BIGSERIAL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    email       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    created_ms  BIGINT  NOT NULL,
    disabled_ms BIGINT
);

-- secret_hash: SHA-256 (hex) of the token's secret part; the token itself is shown once.
CREATE TABLE staff_tokens (
    seq         BIGSERIAL PRIMARY KEY,
    token_id    TEXT    NOT NULL UNIQUE,
    staff_name  TEXT    NOT NULL REFERENCES staff (name),
    secret_hash TEXT    NOT NULL,
    created_ms  BIGINT  NOT NULL,
    revoked_ms  BIGINT
);
CREATE INDEX staff_tokens_by_staff ON staff_tokens (staff_name, seq);

-- One row per case, keyed by the case's own seq. SLA clock: sla_target names the
-- outstanding target; sla_due_ms is set while it runs, sla_remaining_ms while it is
-- paused (the case waits on the customer). pending_since_ms: when support last asked
-- the customer (the auto-resolve timer).
CREATE TABLE case_work (
    seq              BIGINT  PRIMARY KEY REFERENCES cases (seq),
    assignee         TEXT,
    sla_target       TEXT,
    sla_due_ms       BIGINT,
    sla_remaining_ms BIGINT,
    pending_since_ms BIGINT
);
-- Cases created before this migration: their first response is outstanding, due by
-- the default targets around the clock (none while a case waits on the customer).
INSERT INTO case_work (seq, sla_target, sla_due_ms)
SELECT seq,
       CASE WHEN is_open AND status <> 'pending-customer-action' THEN 'first-response' END,
       CASE WHEN is_open AND status <> 'pending-customer-action' THEN created_ms + CASE severity_code
           WHEN 'critical' THEN 900000
           WHEN 'urgent' THEN 3600000
           WHEN 'high' THEN 14400000
           WHEN 'normal' THEN 43200000
           ELSE 86400000 END END
FROM cases;
-- The staff case list pages by due time, cases without a running clock last.
CREATE INDEX case_work_by_due
    ON case_work (COALESCE(sla_due_ms, 9223372036854775807), seq);
CREATE INDEX case_work_by_assignee ON case_work (assignee, seq) WHERE assignee IS NOT NULL;
CREATE INDEX case_work_pending ON case_work (pending_since_ms)
    WHERE pending_since_ms IS NOT NULL;

CREATE TABLE case_notes (
    seq        BIGSERIAL PRIMARY KEY,
    case_seq   BIGINT  NOT NULL REFERENCES cases (seq),
    staff_name TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_ms BIGINT  NOT NULL
);
CREATE INDEX case_notes_by_case ON case_notes (case_seq, seq);

CREATE TABLE case_assignments (
    seq        BIGSERIAL PRIMARY KEY,
    case_seq   BIGINT  NOT NULL REFERENCES cases (seq),
    at_ms      BIGINT  NOT NULL,
    actor      TEXT    NOT NULL,
    from_staff TEXT,
    to_staff   TEXT
);
CREATE INDEX case_assignments_by_case ON case_assignments (case_seq, seq);

-- Which staff member wrote a support communication (keyed by the communication's seq);
-- customers see only the configured display name.
CREATE TABLE support_replies (
    seq        BIGINT  PRIMARY KEY REFERENCES communications (seq),
    staff_name TEXT    NOT NULL
);
