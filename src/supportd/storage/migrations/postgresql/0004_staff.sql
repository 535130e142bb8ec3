-- Full-text search: stored tsvectors (English stemming, as SQLite's porter tokenizer)
-- under GIN indexes. Only the first 100,000 characters are indexed: a tsvector holds
-- at most 1 MB, and a longer subject must not make CreateCase fail.
ALTER TABLE cases ADD COLUMN subject_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('english', left(subject, 100000))) STORED;
ALTER TABLE communications ADD COLUMN body_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('english', left(body, 100000))) STORED;
CREATE INDEX cases_search ON cases USING gin (subject_tsv);
CREATE INDEX communications_search ON communications USING gin (body_tsv);
