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
