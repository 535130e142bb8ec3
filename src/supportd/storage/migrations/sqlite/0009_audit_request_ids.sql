-- Request ids are unique in the audit trail, as on PostgreSQL: an audit batch written
-- again (its flush cancelled while the store stopped) skips the rows already there
-- (ON CONFLICT (request_id) DO NOTHING). Duplicates cannot exist, but are dropped first
-- so that the index can be built whatever the file holds.
DELETE FROM audit_events
WHERE seq NOT IN (SELECT MIN(seq) FROM audit_events GROUP BY request_id);
CREATE UNIQUE INDEX audit_events_by_request_id ON audit_events (request_id);
