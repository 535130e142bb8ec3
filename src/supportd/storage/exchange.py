"""`supportd export` / `supportd import`: all data as JSON lines, the same for both stores.

The first line is a header naming the format and the tables with their columns; every
other line is one row: `{"table": "cases", "row": {...}}`. Rows keep their sequence
numbers (display ids and pagination depend on them), tables come in an order that
satisfies the foreign keys, and each table's rows in sequence order. Values are JSON
scalars except list columns (JSON arrays of strings) and bool columns (true/false),
whatever the dialect stores.

Both directions stream in batches: a store of any size never sits whole in memory.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from supportd.storage.base import Store
from supportd.storage.blobs import BlobNotFound, check_key

FORMAT = "supportd-export"
FORMAT_VERSION = 1
BATCH = 1000

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    bool_columns: frozenset[str] = frozenset()
    list_columns: frozenset[str] = frozenset()


# In foreign-key order. A migration that adds a table or column adds it here too.
TABLES: tuple[Table, ...] = (
    Table(
        "cases",
        (
            "seq",
            "case_id",
            "account_id",
            "subject",
            "service_code",
            "category_code",
            "severity_code",
            "status",
            "is_open",
            "language",
            "issue_type",
            "submitted_by",
            "cc_emails",
            "created_ms",
            "resolved_ms",
        ),
        bool_columns=frozenset({"is_open"}),
        list_columns=frozenset({"cc_emails"}),
    ),
    Table(
        "communications",
        ("seq", "case_seq", "body", "submitted_by", "author_kind", "cc_emails", "created_ms"),
        list_columns=frozenset({"cc_emails"}),
    ),
    Table(
        "case_events",
        ("seq", "case_seq", "at_ms", "actor", "from_status", "to_status"),
    ),
    # The support side: staff, their tokens (hashes only), and what support keeps about
    # each case. case_work and support_replies are keyed by the case's and the
    # communication's own seq.
    Table("staff", ("seq", "name", "email", "role", "created_ms", "disabled_ms")),
    Table(
        "staff_tokens",
        ("seq", "token_id", "staff_name", "secret_hash", "created_ms", "revoked_ms"),
    ),
    Table(
        "case_work",
        (
            "seq",
            "assignee",
            "sla_target",
            "sla_due_ms",
            "sla_remaining_ms",
            "pending_since_ms",
        ),
    ),
    Table("case_notes", ("seq", "case_seq", "staff_name", "body", "created_ms")),
    Table(
        "case_assignments",
        ("seq", "case_seq", "at_ms", "actor", "from_staff", "to_staff"),
    ),
    Table("support_replies", ("seq", "staff_name")),
    # Accounts, access keys (secrets as sealed under the server key: an import works
    # with the same --server-key only) and the audit trail.
    Table(
        "accounts",
        (
            "seq",
            "account_id",
            "email",
            "plan",
            "max_cases_per_hour",
            "case_api_tps",
            "advisor_tps",
            "created_ms",
        ),
    ),
    Table(
        "access_keys",
        (
            "seq",
            "access_key_id",
            "account_id",
            "user_name",
            "secret_sealed",
            "session_token_hash",
            "expires_ms",
            "created_ms",
            "revoked_ms",
        ),
    ),
    Table(
        "audit_events",
        (
            "seq",
            "at_ms",
            "request_id",
            "account_id",
            "access_key_id",
            "caller",
            "operation",
            "source_ip",
            "user_agent",
            "http_status",
            "error_code",
        ),
    ),
    # Trusted Advisor results (their refreshes are transient, like jobs: not exported).
    Table(
        "advisor_results",
        (
            "seq",
            "account_id",
            "check_id",
            "status",
            "timestamp_ms",
            "resources_processed",
            "resources_flagged",
            "resources_ignored",
            "resources_suppressed",
            "monthly_savings",
            "percent_savings",
            "flagged_count",
            "flagged_resources",
            "source",
        ),
    ),
    # Attachments: sets, files, large-file uploads and their parts. The files' bytes
    # follow all tables as blob lines (see export_lines).
    Table(
        "attachment_sets",
        ("seq", "set_id", "account_id", "created_ms", "expires_ms", "consumed_ms", "purged_ms"),
    ),
    Table(
        "attachments",
        (
            "seq",
            "attachment_id",
            "account_id",
            "file_name",
            "size_bytes",
            "blob_key",
            "set_seq",
            "communication_seq",
            "position",
            "created_ms",
        ),
    ),
    Table(
        "uploads",
        (
            "seq",
            "upload_id",
            "account_id",
            "file_name",
            "size_bytes",
            "part_bytes",
            "total_parts",
            "state",
            "failure",
            "attachment_id",
            "consumed_ms",
            "created_ms",
            "updated_ms",
        ),
    ),
    Table(
        "upload_parts",
        (
            "seq",
            "upload_seq",
            "part_index",
            "size_bytes",
            "etag",
            "blob_key",
            "uploaded_ms",
            "completed",
        ),
        bool_columns=frozenset({"completed"}),
    ),
    # Notifications: the outbox's events and their deliveries (what went to whom), and
    # the webhook targets (secrets sealed under the server key, like access keys).
    Table(
        "outbox_events",
        (
            "seq",
            "event_id",
            "case_seq",
            "event_name",
            "origin",
            "communication_seq",
            "created_ms",
            "fanned_out_ms",
        ),
    ),
    Table(
        "outbox_deliveries",
        (
            "seq",
            "event_seq",
            "channel",
            "target",
            "idempotency_key",
            "recipients",
            "message_id",
            "status",
            "attempts",
            "retry_base",
            "next_attempt_ms",
            "last_result",
            "created_ms",
            "updated_ms",
            "delivered_ms",
        ),
        list_columns=frozenset({"recipients"}),
    ),
    Table(
        "webhooks",
        ("seq", "webhook_id", "url", "secret_sealed", "account_id", "events", "created_ms"),
        list_columns=frozenset({"events"}),
    ),
    Table(
        "inbound_messages",
        ("seq", "message_id", "case_seq", "communication_seq", "received_ms"),
    ),
)
TABLES_BY_NAME = {table.name: table for table in TABLES}


class ExchangeError(ValueError):
    """The input is not a supportd export this version can import, or the store is not
    empty."""


def table(name: str) -> Table:
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise ExchangeError(f"unknown table {name!r}") from None


def header() -> Row:
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "tables": {t.name: list(t.columns) for t in TABLES},
    }


async def export_lines(store: Store, write: Callable[[str], object]) -> dict[str, int]:
    """Write every row as one JSON line, then every file; the number of rows per table
    (and of files, as "blobs")."""
    write(json.dumps(header(), separators=(",", ":")) + "\n")
    counts = {t.name: 0 for t in TABLES}
    async for name, rows in store.export_all(BATCH):
        for row in rows:
            line = {"table": name, "row": row}
            write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
        counts[name] += len(rows)
    counts[BLOBS] = await _export_blobs(store, write)
    return counts


# --- files ------------------------------------------------------------------------
#
# After the tables, each file the rows name comes as lines of its own, in order:
# `{"blob": "<key>", "chunk": <n>, "data": "<base64 of at most 1 MiB>"}`, n = 0, 1, ...
# (an empty file is one line with empty data). The keys are read after the tables'
# snapshot: a file deleted in between (an expired set swept) is left out, and one added
# in between comes along without a row naming it (the sweeper removes it later).

BLOBS = "blobs"


async def _export_blobs(store: Store, write: Callable[[str], object]) -> int:
    exported = 0
    async for key in store.export_blob_keys():
        index = 0
        try:
            async for chunk in store.blobs.get(key):
                line = {"blob": key, "chunk": index, "data": base64.b64encode(chunk).decode()}
                write(json.dumps(line, separators=(",", ":")) + "\n")
                index += 1
        except BlobNotFound:
            continue
        if index == 0:
            write(json.dumps({"blob": key, "chunk": 0, "data": ""}, separators=(",", ":")) + "\n")
        exported += 1
    return exported


class _Lookahead:
    """Numbered lines with a look at the next one."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = lines
        self._next: tuple[int, str] | None = None

    def __iter__(self) -> _Lookahead:
        return self

    def __next__(self) -> tuple[int, str]:
        if self._next is not None:
            item, self._next = self._next, None
            return item
        return next(self._lines)

    def peek(self) -> tuple[int, str] | None:
        if self._next is None:
            self._next = next(self._lines, None)
        return self._next


def _blob_chunk(item: dict[str, Any], key: str, index: int, lineno: int) -> bytes:
    if item.get("chunk") != index or not isinstance(item.get("data"), str):
        raise ExchangeError(f"line {lineno}: expected chunk {index} of blob {key!r}")
    try:
        return base64.b64decode(item["data"], validate=True)
    except (binascii.Error, ValueError):
        raise ExchangeError(f"line {lineno}: the data of blob {key!r} is not base64") from None


async def _import_blob(store: Store, first: dict[str, Any], lineno: int, lines: _Lookahead) -> None:
    """Stream one file's lines (the first already read) into the blob store."""
    key = first["blob"]
    try:
        check_key(key)
    except ValueError:
        raise ExchangeError(f"line {lineno}: invalid blob key {key!r}") from None

    async def chunks() -> AsyncIterator[bytes]:
        item, number, index = first, lineno, 0
        while True:
            yield _blob_chunk(item, key, index, number)
            index += 1
            upcoming = lines.peek()
            if upcoming is None:
                return
            try:
                parsed = json.loads(upcoming[1])
            except ValueError:
                return  # reported as not JSON by the main loop
            if not isinstance(parsed, dict) or parsed.get("blob") != key:
                return
            number, _ = next(lines)
            item = parsed

    await store.blobs.put(key, chunks())


def _check_header(line: str) -> None:
    try:
        head = json.loads(line)
    except ValueError:
        head = None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ExchangeError("the input does not start with a supportd export header")
    if head.get("version") != FORMAT_VERSION:
        raise ExchangeError(
            f"export format version {head.get('version')!r} is not supported "
            f"(this supportd reads version {FORMAT_VERSION})"
        )
    tables = head.get("tables")
    for t in TABLES:
        if not isinstance(tables, dict) or tables.get(t.name) != list(t.columns):
            raise ExchangeError(
                f"the export's columns of {t.name!r} differ from this supportd's schema"
            )


def _check_row(t: Table, row: object, lineno: int) -> Row:
    if not isinstance(row, dict) or set(row) != set(t.columns):
        raise ExchangeError(f"line {lineno}: a {t.name} row must have exactly {list(t.columns)}")
    if not isinstance(row["seq"], int) or row["seq"] < 1:
        raise ExchangeError(f"line {lineno}: seq must be a positive integer")
    for column in t.list_columns:
        value = row[column]
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ExchangeError(f"line {lineno}: {column} must be a list of strings")
    for column in t.bool_columns:
        if not isinstance(row[column], bool):
            raise ExchangeError(f"line {lineno}: {column} must be true or false")
    return row


async def import_lines(store: Store, lines: Iterable[str]) -> dict[str, int]:
    """Load an export into an empty store; the number of rows per table."""
    if not await store.is_empty():
        raise ExchangeError("the store is not empty: import only into a freshly migrated store")
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        raise ExchangeError("the input is empty")
    _check_header(first)
    counts = {t.name: 0 for t in TABLES}
    order = {t.name: index for index, t in enumerate(TABLES)}
    current: Table | None = None
    batch: list[Row] = []
    last_seq = 0

    async def flush() -> None:
        if current is not None and batch:
            await store.import_rows(current.name, batch)
            counts[current.name] += len(batch)
            batch.clear()

    counts[BLOBS] = 0
    numbered = _Lookahead(enumerate(iterator, start=2))
    for lineno, line in numbered:
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ExchangeError(f"line {lineno}: not JSON ({exc})") from None
        if isinstance(item, dict) and isinstance(item.get("blob"), str):
            await flush()
            await _import_blob(store, item, lineno, numbered)
            counts[BLOBS] += 1
            continue
        if counts[BLOBS]:
            raise ExchangeError(f"line {lineno}: table rows after the files")
        if not isinstance(item, dict) or not isinstance(item.get("table"), str):
            raise ExchangeError(f"line {lineno}: expected {{'table': ..., 'row': ...}}")
        t = table(item["table"])
        if current is None or t.name != current.name:
            if current is not None and order[t.name] < order[current.name]:
                raise ExchangeError(f"line {lineno}: tables out of order")
            await flush()
            current, last_seq = t, 0
        row = _check_row(t, item.get("row"), lineno)
        if row["seq"] <= last_seq:
            raise ExchangeError(f"line {lineno}: {t.name} rows out of sequence order")
        last_seq = row["seq"]
        batch.append(row)
        if len(batch) >= BATCH:
            await flush()
    await flush()
    await store.finish_import()
    return counts
