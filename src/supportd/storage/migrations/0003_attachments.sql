-- Attachment sets, the attachments in them (and those of uploads), large-file uploads
-- and their parts. Rows name the file bytes: blobs in the data directory (blobs/) on
-- SQLite, the blob_chunks table (postgresql/) on PostgreSQL, which every node reaches.

-- consumed_ms: when a communication took the set over (a set is used once);
-- purged_ms: when the sweeper deleted the files of the expired, unused set.
CREATE TABLE attachment_sets (
    seq         BIGSERIAL PRIMARY KEY,
    set_id      TEXT    NOT NULL UNIQUE,
    account_id  TEXT    NOT NULL,
    created_ms  BIGINT  NOT NULL,
    expires_ms  BIGINT  NOT NULL,
    consumed_ms BIGINT,
    purged_ms   BIGINT
);
-- AttachmentLimitExceeded counts an account's sets of the last window.
CREATE INDEX attachment_sets_by_account_time ON attachment_sets (account_id, created_ms);
CREATE INDEX attachment_sets_to_purge ON attachment_sets (expires_ms)
    WHERE consumed_ms IS NULL AND purged_ms IS NULL;

-- set_seq: the set it was added to (NULL for an upload's file); communication_seq: the
-- communication it is attached to (NULL until then), position: its place there (the
-- set's files in the order they were added, then the uploads in the order given).
CREATE TABLE attachments (
    seq               BIGSERIAL PRIMARY KEY,
    attachment_id     TEXT    NOT NULL UNIQUE,
    account_id        TEXT    NOT NULL,
    file_name         TEXT    NOT NULL,
    size_bytes        BIGINT  NOT NULL,
    blob_key          TEXT    NOT NULL,
    set_seq           BIGINT  REFERENCES attachment_sets (seq),
    communication_seq BIGINT  REFERENCES communications (seq),
    position          INTEGER,
    created_ms        BIGINT  NOT NULL
);
CREATE INDEX attachments_by_set ON attachments (set_seq);
CREATE INDEX attachments_by_communication ON attachments (communication_seq, position);

-- state: uploading, processing, ready or failed; attachment_id is chosen when every
-- part is reported, and names the attachment row once the upload is ready.
CREATE TABLE uploads (
    seq           BIGSERIAL PRIMARY KEY,
    upload_id     TEXT    NOT NULL UNIQUE,
    account_id    TEXT    NOT NULL,
    file_name     TEXT    NOT NULL,
    size_bytes    BIGINT  NOT NULL,
    part_bytes    BIGINT  NOT NULL,
    total_parts   INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    failure       TEXT,
    attachment_id TEXT,
    consumed_ms   BIGINT,
    created_ms    BIGINT  NOT NULL,
    updated_ms    BIGINT  NOT NULL
);
CREATE INDEX uploads_by_time ON uploads (created_ms) WHERE consumed_ms IS NULL;

-- One row per uploaded part (the latest PUT of it); completed: reported through
-- CompleteAttachmentUpload with this ETag.
CREATE TABLE upload_parts (
    seq         BIGSERIAL PRIMARY KEY,
    upload_seq  BIGINT  NOT NULL REFERENCES uploads (seq),
    part_index  INTEGER NOT NULL,
    size_bytes  BIGINT  NOT NULL,
    etag        TEXT    NOT NULL,
    blob_key    TEXT    NOT NULL,
    uploaded_ms BIGINT  NOT NULL,
    completed   BOOLEAN NOT NULL,
    UNIQUE (upload_seq, part_index)
);
