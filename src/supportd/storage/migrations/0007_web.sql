-- The web pages: people who sign in to the Support Center, browser sessions (of
-- customers and of staff), and failed sign-ins for throttling. Sessions and failures
-- are transient: they are not exported.
--
-- email: lower-cased, unique across every account (sign-in asks for nothing else).
-- password_hash: argon2id (PHC string); NULL while an invited user has none.
-- invite_hash: SHA-256 (hex) of a one-time sign-in link's token, shown once.
CREATE TABLE web_users (
    seq                 BIGSERIAL PRIMARY KEY,
    user_id             TEXT    NOT NULL UNIQUE,
    account_id          TEXT    NOT NULL,
    email               TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL,
    password_hash       TEXT,
    created_ms          BIGINT  NOT NULL,
    disabled_ms         BIGINT,
    password_changed_ms BIGINT,
    invite_hash         TEXT    UNIQUE,
    invite_expires_ms   BIGINT
);
CREATE INDEX web_users_by_account ON web_users (account_id, seq);

-- session_hash: SHA-256 (hex) of the id in the browser's cookie. subject: a user id
-- (kind customer) or a staff member's name (kind staff).
CREATE TABLE web_sessions (
    seq          BIGSERIAL PRIMARY KEY,
    session_hash TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    csrf_token   TEXT    NOT NULL,
    created_ms   BIGINT  NOT NULL,
    last_seen_ms BIGINT  NOT NULL
);
CREATE INDEX web_sessions_by_subject ON web_sessions (kind, subject);
CREATE INDEX web_sessions_by_last_seen ON web_sessions (last_seen_ms);
CREATE INDEX web_sessions_by_created ON web_sessions (created_ms);

-- scope: address (the client's IP address) or user (the e-mail address typed).
CREATE TABLE web_sign_in_failures (
    seq   BIGSERIAL PRIMARY KEY,
    scope TEXT    NOT NULL,
    key   TEXT    NOT NULL,
    at_ms BIGINT  NOT NULL
);
CREATE INDEX web_sign_in_failures_by_key ON web_sign_in_failures (scope, key, at_ms);
CREATE INDEX web_sign_in_failures_by_time ON web_sign_in_failures (at_ms);
