-- Notifications (the transactional outbox). An outbox event is written in the
-- transaction of the change it reports (a case created, a communication, a resolution,
-- a reopening); the background worker fans it out into one delivery per target (the
-- e-mail to the case's contacts, each matching webhook, the EventBridge bus) and
-- delivers each with retries. Deliveries keep what went to whom, when, and the result.
-- List columns (recipients, events): TEXT[], JSON arrays on SQLite.
CREATE TABLE outbox_events (
    seq               BIGSERIAL PRIMARY KEY,
    event_id          TEXT    NOT NULL UNIQUE,
    case_seq          BIGINT  NOT NULL REFERENCES cases (seq),
    event_name        TEXT    NOT NULL,
    origin            TEXT    NOT NULL,
    communication_seq BIGINT,
    created_ms        BIGINT  NOT NULL,
    fanned_out_ms     BIGINT
);
CREATE INDEX outbox_events_by_case ON outbox_events (case_seq, seq);
CREATE INDEX outbox_events_unfanned ON outbox_events (created_ms) WHERE fanned_out_ms IS NULL;

CREATE TABLE outbox_deliveries (
    seq             BIGSERIAL PRIMARY KEY,
    event_seq       BIGINT  NOT NULL REFERENCES outbox_events (seq),
    channel         TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    recipients      TEXT[]  NOT NULL,
    message_id      TEXT,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    retry_base      INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT,
    last_result     TEXT,
    created_ms      BIGINT  NOT NULL,
    updated_ms      BIGINT  NOT NULL,
    delivered_ms    BIGINT,
    UNIQUE (event_seq, channel, target)
);
CREATE INDEX outbox_deliveries_by_status ON outbox_deliveries (status, seq);

-- Webhook targets. secret_sealed: AES-GCM under the server key (the secret signs each
-- body, so it must be recoverable); account_id NULL: every account's events.
CREATE TABLE webhooks (
    seq           BIGSERIAL PRIMARY KEY,
    webhook_id    TEXT    NOT NULL UNIQUE,
    url           TEXT    NOT NULL,
    secret_sealed TEXT    NOT NULL,
    account_id    TEXT,
    events        TEXT[]  NOT NULL,
    created_ms    BIGINT  NOT NULL
);

-- E-mail in: the Message-IDs of replies made into communications, so that a message
-- delivered twice (an MTA retrying) is added once. Written in the communication's
-- transaction.
CREATE TABLE inbound_messages (
    seq               BIGSERIAL PRIMARY KEY,
    message_id        TEXT    NOT NULL UNIQUE,
    case_seq          BIGINT  NOT NULL REFERENCES cases (seq),
    communication_seq BIGINT  NOT NULL,
    received_ms       BIGINT  NOT NULL
);
CREATE INDEX outbox_deliveries_by_message_id ON outbox_deliveries (message_id);
