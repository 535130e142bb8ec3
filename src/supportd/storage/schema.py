"""The tables of the store, declared once: their columns in order, each column's logical
type and nullability, keys, and the order that satisfies the foreign keys.

The migrations (migrations/*.sql, written once, with each dialect's own part in
migrations/<dialect>/) are history already applied to databases. They must build
exactly what is declared here, and
tests/store/test_schema.py migrates a fresh database of each dialect and compares.
What derives from this declaration:
- storage.exchange: the exported tables, their order and columns, and which columns are
  booleans and lists (the export writes those the same whatever the dialect stores);
- storage.rows: the column lists the stores select and map to records.

A migration that adds or changes a table or column changes it here too (and a change to
an exported table changes the export format: see exchange.FORMAT_VERSION).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from supportd.storage.sql import POSTGRESQL, SQLITE

DIALECTS = frozenset({SQLITE, POSTGRESQL})


class Type(enum.Enum):
    """What a column holds, whatever the dialect stores."""

    INT = "int"  # 32 bits
    BIGINT = "bigint"  # 64 bits: sequence numbers, times in ms, byte counts
    FLOAT = "float"
    TEXT = "text"
    BOOL = "bool"
    TEXT_LIST = "list-of-text"
    JSON = "json"
    BYTES = "bytes"


INT = Type.INT
BIGINT = Type.BIGINT
FLOAT = Type.FLOAT
TEXT = Type.TEXT
BOOL = Type.BOOL
TEXT_LIST = Type.TEXT_LIST
JSON = Type.JSON
BYTES = Type.BYTES

# The type each dialect's migrations give a logical type. SQLite keeps booleans as 0/1
# and lists as JSON text.
SQL_TYPES: dict[str, dict[Type, str]] = {
    SQLITE: {
        INT: "INTEGER",
        BIGINT: "INTEGER",
        FLOAT: "REAL",
        TEXT: "TEXT",
        BOOL: "INTEGER",
        TEXT_LIST: "TEXT",
        JSON: "TEXT",
        BYTES: "BLOB",
    },
    POSTGRESQL: {
        INT: "integer",
        BIGINT: "bigint",
        FLOAT: "double precision",
        TEXT: "text",
        BOOL: "boolean",
        TEXT_LIST: "text[]",
        JSON: "jsonb",
        BYTES: "bytea",
    },
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: Type
    nullable: bool = False
    primary_key: bool = False
    references: str | None = None  # "table.column"


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    # False: transient state (jobs and what they carry out) or state derived from other
    # tables, not exported.
    exported: bool = True
    dialects: frozenset[str] = DIALECTS

    def __post_init__(self) -> None:
        if self.exported and self.dialects != DIALECTS:
            raise ValueError(f"{self.name}: an exported table exists in every dialect")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"{self.name}: a column is declared twice")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    def select(self, *names: str, omit: tuple[str, ...] = (), alias: str = "") -> str:
        """A select list: the columns named (all, in declared order, but those in `omit`
        if none is), each checked against the declaration and prefixed with `alias.`."""
        for name in (*names, *omit):
            self.column(name)
        chosen = names or tuple(n for n in self.names if n not in omit)
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + name for name in chosen)


def _seq(references: str | None = None) -> Column:
    """The sequence number: the key of every table (its own, or that of the row it
    extends)."""
    return Column("seq", BIGINT, primary_key=True, references=references)


def _null(name: str, type_: Type, references: str | None = None) -> Column:
    return Column(name, type_, nullable=True, references=references)


# --- cases ------------------------------------------------------------------------

CASES = Table(
    "cases",
    (
        _seq(),
        Column("case_id", TEXT),
        Column("account_id", TEXT),
        Column("subject", TEXT),
        _null("service_code", TEXT),
        _null("category_code", TEXT),
        Column("severity_code", TEXT),
        Column("status", TEXT),
        Column("is_open", BOOL),
        Column("language", TEXT),
        Column("issue_type", TEXT),
        Column("submitted_by", TEXT),
        Column("cc_emails", TEXT_LIST),
        Column("created_ms", BIGINT),
        _null("resolved_ms", BIGINT),
    ),
)
COMMUNICATIONS = Table(
    "communications",
    (
        _seq(),
        Column("case_seq", BIGINT, references="cases.seq"),
        Column("body", TEXT),
        Column("submitted_by", TEXT),
        Column("author_kind", TEXT),
        Column("cc_emails", TEXT_LIST),
        Column("created_ms", BIGINT),
    ),
)
CASE_EVENTS = Table(
    "case_events",
    (
        _seq(),
        Column("case_seq", BIGINT, references="cases.seq"),
        Column("at_ms", BIGINT),
        Column("actor", TEXT),
        _null("from_status", TEXT),
        Column("to_status", TEXT),
    ),
)

# --- the support side: staff, their tokens (hashes only), and what support keeps about
# each case. case_work and support_replies are keyed by the case's and the
# communication's own seq.

STAFF = Table(
    "staff",
    (
        _seq(),
        Column("name", TEXT),
        Column("email", TEXT),
        Column("role", TEXT),
        Column("created_ms", BIGINT),
        _null("disabled_ms", BIGINT),
    ),
)
STAFF_TOKENS = Table(
    "staff_tokens",
    (
        _seq(),
        Column("token_id", TEXT),
        Column("staff_name", TEXT, references="staff.name"),
        Column("secret_hash", TEXT),
        Column("created_ms", BIGINT),
        _null("revoked_ms", BIGINT),
    ),
)
CASE_WORK = Table(
    "case_work",
    (
        _seq(references="cases.seq"),
        _null("assignee", TEXT),
        _null("sla_target", TEXT),
        _null("sla_due_ms", BIGINT),
        _null("sla_remaining_ms", BIGINT),
        _null("pending_since_ms", BIGINT),
    ),
)
# Derived from cases and case_work by triggers (migration 0012): the open cases without
# a clock, for the queue's "None due" filter. Not exported: an import's inserts fill it.
OPEN_CASES_WITHOUT_CLOCK = Table(
    "open_cases_without_clock", (_seq(references="cases.seq"),), exported=False
)
CASE_NOTES = Table(
    "case_notes",
    (
        _seq(),
        Column("case_seq", BIGINT, references="cases.seq"),
        Column("staff_name", TEXT),
        Column("body", TEXT),
        Column("created_ms", BIGINT),
    ),
)
CASE_ASSIGNMENTS = Table(
    "case_assignments",
    (
        _seq(),
        Column("case_seq", BIGINT, references="cases.seq"),
        Column("at_ms", BIGINT),
        Column("actor", TEXT),
        _null("from_staff", TEXT),
        _null("to_staff", TEXT),
    ),
)
SUPPORT_REPLIES = Table(
    "support_replies",
    (_seq(references="communications.seq"), Column("staff_name", TEXT)),
)

# --- accounts, access keys (secrets sealed under the server key: an import works with
# the same --server-key only) and the audit trail. Limits: NULL means the deployment's.

ACCOUNTS = Table(
    "accounts",
    (
        _seq(),
        Column("account_id", TEXT),
        Column("email", TEXT),
        Column("plan", TEXT),
        _null("max_cases_per_hour", INT),
        _null("case_api_tps", FLOAT),
        _null("advisor_tps", FLOAT),
        Column("created_ms", BIGINT),
    ),
)
ACCESS_KEYS = Table(
    "access_keys",
    (
        _seq(),
        Column("access_key_id", TEXT),
        Column("account_id", TEXT, references="accounts.account_id"),
        Column("user_name", TEXT),
        Column("secret_sealed", TEXT),
        _null("session_token_hash", TEXT),
        _null("expires_ms", BIGINT),
        Column("created_ms", BIGINT),
        _null("revoked_ms", BIGINT),
    ),
)
AUDIT_EVENTS = Table(
    "audit_events",
    (
        _seq(),
        Column("at_ms", BIGINT),
        Column("request_id", TEXT),
        _null("account_id", TEXT),
        _null("access_key_id", TEXT),
        _null("caller", TEXT),
        Column("operation", TEXT),
        Column("source_ip", TEXT),
        Column("user_agent", TEXT),
        Column("http_status", INT),
        _null("error_code", TEXT),
    ),
)

# --- Trusted Advisor: results (flagged_resources is the wire format's list as JSON
# text on both dialects) and refreshes, which are transient like the jobs that carry
# them out.

ADVISOR_RESULTS = Table(
    "advisor_results",
    (
        _seq(),
        Column("account_id", TEXT),
        Column("check_id", TEXT),
        Column("status", TEXT),
        Column("timestamp_ms", BIGINT),
        Column("resources_processed", BIGINT),
        Column("resources_flagged", BIGINT),
        Column("resources_ignored", BIGINT),
        Column("resources_suppressed", BIGINT),
        _null("monthly_savings", FLOAT),
        _null("percent_savings", FLOAT),
        Column("flagged_count", BIGINT),
        Column("flagged_resources", TEXT),
        Column("source", TEXT),
    ),
)
ADVISOR_REFRESHES = Table(
    "advisor_refreshes",
    (
        _seq(),
        Column("account_id", TEXT),
        Column("check_id", TEXT),
        Column("status", TEXT),
        Column("requested_ms", BIGINT),
        Column("updated_ms", BIGINT),
        _null("last_error", TEXT),
    ),
    exported=False,
)

# --- attachments: sets, files, large-file uploads and their parts. The files' bytes
# are blobs: files in the data directory on SQLite, blob_chunks on PostgreSQL; the
# export writes them as lines of their own after the tables.

ATTACHMENT_SETS = Table(
    "attachment_sets",
    (
        _seq(),
        Column("set_id", TEXT),
        Column("account_id", TEXT),
        Column("created_ms", BIGINT),
        Column("expires_ms", BIGINT),
        _null("consumed_ms", BIGINT),
        _null("purged_ms", BIGINT),
    ),
)
ATTACHMENTS = Table(
    "attachments",
    (
        _seq(),
        Column("attachment_id", TEXT),
        Column("account_id", TEXT),
        Column("file_name", TEXT),
        Column("size_bytes", BIGINT),
        Column("blob_key", TEXT),
        _null("set_seq", BIGINT, references="attachment_sets.seq"),
        _null("communication_seq", BIGINT, references="communications.seq"),
        _null("position", INT),
        Column("created_ms", BIGINT),
    ),
)
UPLOADS = Table(
    "uploads",
    (
        _seq(),
        Column("upload_id", TEXT),
        Column("account_id", TEXT),
        Column("file_name", TEXT),
        Column("size_bytes", BIGINT),
        Column("part_bytes", BIGINT),
        Column("total_parts", INT),
        Column("state", TEXT),
        _null("failure", TEXT),
        _null("attachment_id", TEXT),
        _null("consumed_ms", BIGINT),
        Column("created_ms", BIGINT),
        Column("updated_ms", BIGINT),
    ),
)
UPLOAD_PARTS = Table(
    "upload_parts",
    (
        _seq(),
        Column("upload_seq", BIGINT, references="uploads.seq"),
        Column("part_index", INT),
        Column("size_bytes", BIGINT),
        Column("etag", TEXT),
        Column("blob_key", TEXT),
        Column("uploaded_ms", BIGINT),
        Column("completed", BOOL),
    ),
)
BLOB_CHUNKS = Table(
    "blob_chunks",
    (
        Column("blob_key", TEXT, primary_key=True),
        Column("chunk_index", INT, primary_key=True),
        Column("data", BYTES),
        Column("created_ms", BIGINT),
    ),
    exported=False,
    dialects=frozenset({POSTGRESQL}),
)

# --- the web pages: Support Center users (exported), sessions and sign-in failures
# (transient) --------------------------------------------------------------------------

WEB_USERS = Table(
    "web_users",
    (
        _seq(),
        Column("user_id", TEXT),
        Column("account_id", TEXT),
        Column("email", TEXT),
        Column("name", TEXT),
        _null("password_hash", TEXT),
        Column("created_ms", BIGINT),
        _null("disabled_ms", BIGINT),
        _null("password_changed_ms", BIGINT),
        _null("invite_hash", TEXT),
        _null("invite_expires_ms", BIGINT),
    ),
)
WEB_SESSIONS = Table(
    "web_sessions",
    (
        _seq(),
        Column("session_hash", TEXT),
        Column("kind", TEXT),
        Column("subject", TEXT),
        Column("csrf_token", TEXT),
        Column("created_ms", BIGINT),
        Column("last_seen_ms", BIGINT),
    ),
    exported=False,
)
WEB_SIGN_IN_FAILURES = Table(
    "web_sign_in_failures",
    (
        _seq(),
        Column("scope", TEXT),
        Column("key", TEXT),
        Column("at_ms", BIGINT),
    ),
    exported=False,
)

# --- the staff console: staff members' console passwords (argon2id hashes) and the
# canned replies agents insert into replies --------------------------------------------

STAFF_PASSWORDS = Table(
    "staff_passwords",
    (
        _seq(),
        Column("staff_name", TEXT, references="staff.name"),
        Column("password_hash", TEXT),
        Column("changed_ms", BIGINT),
    ),
)
CANNED_REPLIES = Table(
    "canned_replies",
    (
        _seq(),
        Column("title", TEXT),
        Column("body", TEXT),
        Column("created_by", TEXT),
        Column("created_ms", BIGINT),
        Column("updated_by", TEXT),
        Column("updated_ms", BIGINT),
    ),
)

# --- notifications: the outbox, its deliveries, webhooks, inbound mail already taken
# ---------------------------------------------------------------------------------------

OUTBOX_EVENTS = Table(
    "outbox_events",
    (
        _seq(),
        Column("event_id", TEXT),
        Column("case_seq", BIGINT, references="cases.seq"),
        Column("event_name", TEXT),
        Column("origin", TEXT),
        _null("communication_seq", BIGINT),
        Column("created_ms", BIGINT),
        _null("fanned_out_ms", BIGINT),
    ),
)
OUTBOX_DELIVERIES = Table(
    "outbox_deliveries",
    (
        _seq(),
        Column("event_seq", BIGINT, references="outbox_events.seq"),
        Column("channel", TEXT),
        Column("target", TEXT),
        Column("idempotency_key", TEXT),
        Column("recipients", TEXT_LIST),
        _null("message_id", TEXT),
        Column("status", TEXT),
        Column("attempts", INT),
        Column("retry_base", INT),
        _null("next_attempt_ms", BIGINT),
        _null("last_result", TEXT),
        Column("created_ms", BIGINT),
        Column("updated_ms", BIGINT),
        _null("delivered_ms", BIGINT),
    ),
)
WEBHOOKS = Table(
    "webhooks",
    (
        _seq(),
        Column("webhook_id", TEXT),
        Column("url", TEXT),
        Column("secret_sealed", TEXT),
        _null("account_id", TEXT),
        Column("events", TEXT_LIST),
        Column("created_ms", BIGINT),
    ),
)
INBOUND_MESSAGES = Table(
    "inbound_messages",
    (
        _seq(),
        Column("message_id", TEXT),
        Column("case_seq", BIGINT, references="cases.seq"),
        Column("communication_seq", BIGINT),
        Column("received_ms", BIGINT),
    ),
)

# --- the job queue (transient) ------------------------------------------------------

JOBS = Table(
    "jobs",
    (
        _seq(),
        Column("kind", TEXT),
        _null("key", TEXT),
        Column("payload", JSON),
        Column("state", TEXT),
        Column("run_at_ms", BIGINT),
        _null("lease", TEXT),
        _null("lease_until_ms", BIGINT),
        Column("attempts", INT),
        _null("last_error", TEXT),
        Column("created_ms", BIGINT),
        Column("updated_ms", BIGINT),
    ),
    exported=False,
)

# Every table, in an order that satisfies the foreign keys: the export writes (and the
# import loads) the exported ones in this order.
TABLES: tuple[Table, ...] = (
    CASES,
    COMMUNICATIONS,
    CASE_EVENTS,
    STAFF,
    STAFF_TOKENS,
    CASE_WORK,
    OPEN_CASES_WITHOUT_CLOCK,
    CASE_NOTES,
    CASE_ASSIGNMENTS,
    SUPPORT_REPLIES,
    ACCOUNTS,
    ACCESS_KEYS,
    AUDIT_EVENTS,
    ADVISOR_RESULTS,
    ADVISOR_REFRESHES,
    ATTACHMENT_SETS,
    ATTACHMENTS,
    UPLOADS,
    UPLOAD_PARTS,
    BLOB_CHUNKS,
    OUTBOX_EVENTS,
    OUTBOX_DELIVERIES,
    WEBHOOKS,
    INBOUND_MESSAGES,
    WEB_USERS,
    WEB_SESSIONS,
    WEB_SIGN_IN_FAILURES,
    STAFF_PASSWORDS,
    CANNED_REPLIES,
    JOBS,
)


def tables(dialect: str) -> tuple[Table, ...]:
    """The tables a dialect has, in foreign-key order."""
    return tuple(t for t in TABLES if dialect in t.dialects)
