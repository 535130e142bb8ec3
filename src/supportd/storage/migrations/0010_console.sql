-- The staff console: staff members' console passwords, and the canned replies agents
-- insert into their replies (managed by admins).
--
-- password_hash: argon2id (PHC string). Staff sign in with their e-mail address: at
-- most one staff member per address (compared lower-cased) has a password, which the
-- store checks when a password is set.
CREATE TABLE staff_passwords (
    seq           BIGSERIAL PRIMARY KEY,
    staff_name    TEXT    NOT NULL UNIQUE REFERENCES staff (name),
    password_hash TEXT    NOT NULL,
    changed_ms    BIGINT  NOT NULL
);
CREATE INDEX staff_by_email ON staff (lower(email));

-- title: unique, as agents pick a canned reply by it. created_by / updated_by: staff names.
CREATE TABLE canned_replies (
    seq        BIGSERIAL PRIMARY KEY,
    title      TEXT    NOT NULL UNIQUE,
    body       TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_ms BIGINT  NOT NULL,
    updated_by TEXT    NOT NULL,
    updated_ms BIGINT  NOT NULL
);
