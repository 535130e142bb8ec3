"""The embedded store's cases, communications and case history."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from supportd.domain import lifecycle
from supportd.domain.records import (
    CaseQuery,
    CaseRecord,
    CommunicationQuery,
    CommunicationRecord,
    NewCase,
    NewCommunication,
    ResolveOutcome,
)

# CASE_COLUMNS is re-exported: the staff area selects cases with it.
from supportd.storage.rows import CASE_COLUMNS as CASE_COLUMNS
from supportd.storage.rows import (
    COMMUNICATION_COLUMNS,
    case_record,
    communication_record,
    created_case,
)
from supportd.storage.sqlite_accounts import check_case_quota
from supportd.storage.sqlite_attachments import claim_attachments
from supportd.storage.sqlite_case_work import (
    after_customer_reply,
    after_resolution,
    insert_new_case_work,
)
from supportd.storage.sqlite_core import SQLiteCore


def _case(row: Any) -> CaseRecord:
    return case_record(row, cc_emails=() if row[11] == "[]" else tuple(json.loads(row[11])))


class SQLiteCases(SQLiteCore):
    # --- writes -----------------------------------------------------------------

    async def create_case(
        self, case: NewCase, first: NewCommunication, *, max_cases_per_hour: int | None = None
    ) -> CaseRecord:
        def job(conn: sqlite3.Connection) -> CaseRecord:
            if max_cases_per_hour is not None:
                check_case_quota(conn, case, max_cases_per_hour)
            cursor = conn.execute(
                "INSERT INTO cases (case_id, account_id, subject, service_code, category_code,"
                " severity_code, status, is_open, language, issue_type, submitted_by, cc_emails,"
                " created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
                (
                    case.case_id,
                    case.account_id,
                    case.subject,
                    case.service_code,
                    case.category_code,
                    case.severity_code,
                    lifecycle.UNASSIGNED,
                    case.language,
                    case.issue_type,
                    case.submitted_by,
                    json.dumps(list(case.cc_emails)),
                    case.created_ms,
                ),
            )
            seq = cursor.lastrowid
            assert seq is not None
            _insert_communication(conn, seq, first)
            _insert_event(
                conn, seq, first.created_ms, first.submitted_by, None, lifecycle.UNASSIGNED
            )
            insert_new_case_work(conn, seq, case.first_response_due_ms)
            return created_case(seq, case, lifecycle.UNASSIGNED)

        return await self._writer.submit(job)

    async def add_communication(
        self, account_id: str, case_id: str, comm: NewCommunication
    ) -> CaseRecord | None:
        def job(conn: sqlite3.Connection) -> CaseRecord | None:
            case = _select_case(conn, account_id, case_id)
            if case is None:
                return None
            status = lifecycle.status_after_customer_reply(
                case.status, case.resolved_ms, comm.created_ms
            )
            _insert_communication(conn, case.seq, comm)
            after_customer_reply(conn, case.seq, status, comm)  # the SLA clock
            if status == case.status:
                return case
            conn.execute(
                "UPDATE cases SET status = ?, is_open = 1, resolved_ms = NULL WHERE seq = ?",
                (status, case.seq),
            )
            _insert_event(conn, case.seq, comm.created_ms, comm.submitted_by, case.status, status)
            return dataclasses.replace(case, status=status, resolved_ms=None)

        return await self._writer.submit(job)

    async def resolve_case(
        self, account_id: str, case_id: str, now_ms: int
    ) -> ResolveOutcome | None:
        def job(conn: sqlite3.Connection) -> ResolveOutcome | None:
            case = _select_case(conn, account_id, case_id)
            if case is None:
                return None
            if case.status != lifecycle.RESOLVED:
                conn.execute(
                    "UPDATE cases SET status = ?, is_open = 0, resolved_ms = ? WHERE seq = ?",
                    (lifecycle.RESOLVED, now_ms, case.seq),
                )
                _insert_event(conn, case.seq, now_ms, account_id, case.status, lifecycle.RESOLVED)
                after_resolution(conn, case.seq)  # no SLA clock, no auto-resolve timer
            return ResolveOutcome(case.status, lifecycle.RESOLVED)

        return await self._writer.submit(job)

    # --- reads ------------------------------------------------------------------

    async def get_case(self, account_id: str, case_id: str) -> CaseRecord | None:
        return _select_case(self._db, account_id, case_id)

    async def case_seqs(self, account_id: str, case_ids: Sequence[str]) -> dict[str, int]:
        if not case_ids:
            return {}
        marks = ", ".join("?" * len(case_ids))
        rows = self._db.execute(
            f"SELECT case_id, seq FROM cases WHERE account_id = ? AND case_id IN ({marks})",
            (account_id, *case_ids),
        )
        return dict(rows.fetchall())

    async def list_cases(self, query: CaseQuery) -> list[CaseRecord]:
        where = ["account_id = ?"]
        args: list[Any] = [query.account_id]
        if not query.include_resolved:
            where.append("is_open = 1")
        if query.language is not None:
            where.append("language = ?")
            args.append(query.language)
        if query.after_ms is not None:
            where.append("created_ms >= ?")
            args.append(query.after_ms)
        if query.before_ms is not None:
            where.append("created_ms <= ?")
            args.append(query.before_ms)
        if query.before_seq is not None:
            where.append("seq < ?")
            args.append(query.before_seq)
        if query.seqs is not None:
            where.append(f"seq IN ({', '.join('?' * len(query.seqs))})")
            args.extend(query.seqs)
        sql = (
            f"SELECT {CASE_COLUMNS} FROM cases WHERE {' AND '.join(where)}"
            " ORDER BY seq DESC LIMIT ?"
        )
        args.append(query.limit)
        return [_case(row) for row in self._db.execute(sql, args)]

    async def recent_communications(
        self, case_seqs: Sequence[int], per_case: int
    ) -> dict[int, list[CommunicationRecord]]:
        result: dict[int, list[CommunicationRecord]] = {seq: [] for seq in case_seqs}
        if not case_seqs:
            return result
        placeholders = ", ".join("?" * len(case_seqs))
        sql = (
            f"SELECT {COMMUNICATION_COLUMNS} FROM cases c JOIN communications m"
            " ON m.seq IN (SELECT seq FROM communications WHERE case_seq = c.seq"
            "  ORDER BY seq DESC LIMIT ?)"
            f" WHERE c.seq IN ({placeholders}) ORDER BY m.case_seq, m.seq DESC"
        )
        for row in self._db.execute(sql, (per_case, *case_seqs)):
            result[row[1]].append(communication_record(row))
        return result

    async def list_communications(self, query: CommunicationQuery) -> list[CommunicationRecord]:
        where = ["m.case_seq = ?"]
        args: list[Any] = [query.case_seq]
        if query.after_ms is not None:
            where.append("m.created_ms >= ?")
            args.append(query.after_ms)
        if query.before_ms is not None:
            where.append("m.created_ms <= ?")
            args.append(query.before_ms)
        if query.before_seq is not None:
            where.append("m.seq < ?")
            args.append(query.before_seq)
        sql = (
            f"SELECT {COMMUNICATION_COLUMNS} FROM communications m JOIN cases c"
            f" ON c.seq = m.case_seq WHERE {' AND '.join(where)} ORDER BY m.seq DESC LIMIT ?"
        )
        args.append(query.limit)
        return [communication_record(row) for row in self._db.execute(sql, args)]


def _select_case(conn: sqlite3.Connection, account_id: str, case_id: str) -> CaseRecord | None:
    row = conn.execute(
        f"SELECT {CASE_COLUMNS} FROM cases WHERE case_id = ? AND account_id = ?",
        (case_id, account_id),
    ).fetchone()
    return _case(row) if row else None


def _insert_communication(conn: sqlite3.Connection, case_seq: int, comm: NewCommunication) -> None:
    cursor = conn.execute(
        "INSERT INTO communications (case_seq, body, submitted_by, author_kind, cc_emails,"
        " created_ms) VALUES (?, ?, ?, ?, ?, ?)",
        (
            case_seq,
            comm.body,
            comm.submitted_by,
            comm.author_kind,
            json.dumps(list(comm.cc_emails)),
            comm.created_ms,
        ),
    )
    if comm.attachments is not None:
        assert cursor.lastrowid is not None
        claim_attachments(conn, cursor.lastrowid, comm.attachments)


def _insert_event(
    conn: sqlite3.Connection,
    case_seq: int,
    at_ms: int,
    actor: str,
    from_status: str | None,
    to_status: str,
) -> None:
    conn.execute(
        "INSERT INTO case_events (case_seq, at_ms, actor, from_status, to_status)"
        " VALUES (?, ?, ?, ?, ?)",
        (case_seq, at_ms, actor, from_status, to_status),
    )
