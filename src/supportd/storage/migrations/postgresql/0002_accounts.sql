-- request_id is unique so that a batch retried after a connection lost during COMMIT is
-- not written twice (SQLite's writer knows the outcome of each COMMIT). The constraint's
-- name is the one an inline UNIQUE gets.
ALTER TABLE audit_events ADD CONSTRAINT audit_events_request_id_key UNIQUE (request_id);
