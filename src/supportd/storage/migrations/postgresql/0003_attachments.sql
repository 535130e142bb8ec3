-- File bytes in chunks of 1 MiB. Keys collate as bytes ("C") so that a key prefix
-- (every part of one upload) is an index range. Not exported as a table: `supportd
-- export` writes each blob as lines of its own. STORAGE EXTERNAL: files are often
-- compressed already, so PostgreSQL does not try.
CREATE TABLE blob_chunks (
    blob_key    TEXT COLLATE "C" NOT NULL,
    chunk_index INTEGER NOT NULL,
    data        BYTEA   NOT NULL,
    created_ms  BIGINT  NOT NULL,
    PRIMARY KEY (blob_key, chunk_index)
);
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
