-- Attachment sets, the attachments in them (and those of uploads), large-file uploads
-- and their parts. File bytes are blobs in the data directory (blobs/); rows name them.

-- consumed_ms: when a communication took the set over (a set is used once);
-- purged_ms: when the sweeper deleted the files of the expired, unused set.
CREATE TABLE attachment_sets (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    set_id      TEXT    NOT NULL UNIQUE,
    account_id  TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    consumed_ms INTEGER,
    purged_ms   INTEGER
);
-- AttachmentLimitExceeded counts an account's sets of the last window.
CREATE INDEX attachment_sets_by_account_time ON attachment_sets (account_id, created_ms);
CREATE INDEX attachment_sets_to_purge ON attachment_sets (expires_ms)
    WHERE consumed_ms IS NULL AND purged_ms IS NULL;

-- set_seq: the set it was added to (NULL for an upload's file); communication_seq: the
-- communication it is attached to (NULL until then), position: its place there (the
-- set's files in the order they were added, then the uploads in the order given).
CREATE TABLE attachments (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    attachment_id     TEXT    NOT NULL UNIQUE,
    account_id        TEXT    NOT NULL,
    file_name         TEXT    NOT NULL,
    size_bytes        INTEGER NOT NULL,
    blob_key          TEXT    NOT NULL,
    set_seq           INTEGER REFERENCES attachment_sets (seq),
    communication_seq INTEGER REFERENCES communications (seq),
    position          INTEGER,
    created_ms        INTEGER NOT NULL
);
CREATE INDEX attachments_by_set ON attachments (set_seq);
CREATE INDEX attachments_by_communication ON attachments (communication_seq, position);

-- state: uploading, processing, ready or failed; attachment_id is chosen when every
-- part is reported, and names the attachment row once the upload is ready.
CREATE TABLE uploads (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id     TEXT    NOT NULL UNIQUE,
    account_id    TEXT    NOT NULL,
    file_name     TEXT    NOT NULL,
    size_bytes    INTEGER NOT NULL,
    part_bytes    INTEGER NOT NULL,
    total_parts   INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    failure       TEXT,
    attachment_id TEXT,
    consumed_ms   INTEGER,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL
);
CREATE INDEX uploads_by_time ON uploads (created_ms) WHERE consumed_ms IS NULL;

-- One row per uploaded part (the latest PUT of it); completed: reported through
-- CompleteAttachmentUpload with this ETag.
CREATE TABLE upload_parts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_seq  INTEGER NOT NULL REFERENCES uploads (seq),
    part_index  INTEGER NOT NULL,
    size_bytes  INTEGER NOT NULL,
    etag        TEXT    NOT NULL,
    blob_key    TEXT    NOT NULL,
    uploaded_ms INTEGER NOT NULL,
    completed   INTEGER NOT NULL,
    UNIQUE (upload_seq, part_index)
);
