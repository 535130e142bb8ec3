"""The scale-out store's cases, communications and case history."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from supportd.domain import lifecycle, sla
from supportd.domain.records import (
    CaseQuery,
    CaseRecord,
    CommunicationQuery,
    CommunicationRecord,
    NewCase,
    NewCommunication,
    ResolveOutcome,
)
from supportd.storage.postgres_accounts import check_case_quota
from supportd.storage.postgres_attachments import claim_attachments
from supportd.storage.postgres_case_work import after_customer_reply, after_resolution
from supportd.storage.postgres_core import Connection, Params, PostgresCore

# CASE_COLUMNS is re-exported: the staff area selects cases with it.
from supportd.storage.rows import CASE_COLUMNS as CASE_COLUMNS
from supportd.storage.rows import (
    COMMUNICATION_COLUMNS,
    case_record,
    communication_record,
    created_case,
)

CREATE_CASE_SQL = """
WITH new_case AS (
    INSERT INTO cases (case_id, account_id, subject, service_code, category_code,
        severity_code, status, is_open, language, issue_type, submitted_by, cc_emails,
        created_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $10, $11, $12)
    ON CONFLICT (case_id) DO NOTHING
    RETURNING seq
), first_communication AS (
    INSERT INTO communications (case_seq, body, submitted_by, author_kind, cc_emails,
        created_ms)
    SELECT seq, $13, $14, $15, $16, $17 FROM new_case
), creation_event AS (
    INSERT INTO case_events (case_seq, at_ms, actor, from_status, to_status)
    SELECT seq, $17, $14, NULL, $7 FROM new_case
), support_side AS (
    INSERT INTO case_work (seq, sla_target, sla_due_ms)
    SELECT seq, $18, $19 FROM new_case
)
SELECT seq FROM new_case
"""


def _case(row: Any) -> CaseRecord:
    return case_record(row, cc_emails=tuple(row[11]))


class PostgresCases(PostgresCore):
    # --- writes -------------------------------------------------------------------

    async def create_case(
        self, case: NewCase, first: NewCommunication, *, max_cases_per_hour: int | None = None
    ) -> CaseRecord:
        async def job(conn: Connection) -> CaseRecord:
            # One statement, so one round trip and its own transaction: the case, its
            # first communication and its creation event commit together or not at all.
            # The case id is chosen before the first attempt: a retry after a lost
            # connection, when the first attempt did commit, finds the case (ON CONFLICT)
            # instead of creating it twice.
            seq = await conn.fetchval(
                CREATE_CASE_SQL,
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
                list(case.cc_emails),
                case.created_ms,
                first.body,
                first.submitted_by,
                first.author_kind,
                list(first.cc_emails),
                first.created_ms,
                sla.FIRST_RESPONSE if case.first_response_due_ms is not None else None,
                case.first_response_due_ms,
            )
            if seq is None:
                return await _existing_case(conn, case)
            if first.attachments is not None:
                comm_seq = await conn.fetchval(
                    "SELECT seq FROM communications WHERE case_seq = $1", seq
                )
                await claim_attachments(conn, comm_seq, first.attachments)
            return created_case(seq, case, lifecycle.UNASSIGNED)

        if max_cases_per_hour is not None:
            # The quota needs a transaction: lock the account, count, then insert.
            limit = max_cases_per_hour

            async def limited_job(conn: Connection) -> CaseRecord:
                await check_case_quota(conn, case, limit)
                return await job(conn)

            return await self._write(limited_job, idempotent=True)
        # With attachments to claim it is more than one statement: a transaction.
        single = first.attachments is None
        return await self._write(job, idempotent=True, single_statement=single)

    async def add_communication(
        self, account_id: str, case_id: str, comm: NewCommunication
    ) -> CaseRecord | None:
        async def job(conn: Connection) -> CaseRecord | None:
            case = await _select_case(conn, account_id, case_id, for_update=True)
            if case is None:
                return None
            status = lifecycle.status_after_customer_reply(
                case.status, case.resolved_ms, comm.created_ms
            )
            await _insert_communication(conn, case.seq, comm)
            await after_customer_reply(conn, case.seq, status, comm)  # the SLA clock
            if status == case.status:
                return case
            await conn.execute(
                "UPDATE cases SET status = $1, is_open = TRUE, resolved_ms = NULL WHERE seq = $2",
                status,
                case.seq,
            )
            await _insert_event(
                conn, case.seq, comm.created_ms, comm.submitted_by, case.status, status
            )
            return dataclasses.replace(case, status=status, resolved_ms=None)

        return await self._write(job)

    async def resolve_case(
        self, account_id: str, case_id: str, now_ms: int
    ) -> ResolveOutcome | None:
        async def job(conn: Connection) -> ResolveOutcome | None:
            case = await _select_case(conn, account_id, case_id, for_update=True)
            if case is None:
                return None
            if case.status != lifecycle.RESOLVED:
                await conn.execute(
                    "UPDATE cases SET status = $1, is_open = FALSE, resolved_ms = $2"
                    " WHERE seq = $3",
                    lifecycle.RESOLVED,
                    now_ms,
                    case.seq,
                )
                await _insert_event(
                    conn, case.seq, now_ms, account_id, case.status, lifecycle.RESOLVED
                )
                await after_resolution(conn, case.seq)  # no SLA clock, no auto-resolve timer
            return ResolveOutcome(case.status, lifecycle.RESOLVED)

        return await self._write(job)

    # --- reads --------------------------------------------------------------------

    async def get_case(self, account_id: str, case_id: str) -> CaseRecord | None:
        return await self._read(lambda conn: _select_case(conn, account_id, case_id))

    async def case_seqs(self, account_id: str, case_ids: Sequence[str]) -> dict[str, int]:
        if not case_ids:
            return {}

        async def job(conn: Connection) -> dict[str, int]:
            rows = await conn.fetch(
                "SELECT case_id, seq FROM cases WHERE account_id = $1"
                " AND case_id = ANY($2::text[])",
                account_id,
                list(case_ids),
            )
            return {row[0]: row[1] for row in rows}

        return await self._read(job)

    async def list_cases(self, query: CaseQuery) -> list[CaseRecord]:
        arg = Params(query.account_id)

        where = ["account_id = $1"]
        if not query.include_resolved:
            where.append("is_open")
        if query.language is not None:
            where.append(f"language = {arg(query.language)}")
        if query.after_ms is not None:
            where.append(f"created_ms >= {arg(query.after_ms)}")
        if query.before_ms is not None:
            where.append(f"created_ms <= {arg(query.before_ms)}")
        if query.before_seq is not None:
            where.append(f"seq < {arg(query.before_seq)}")
        if query.seqs is not None:
            where.append(f"seq = ANY({arg(list(query.seqs))}::bigint[])")
        sql = (
            f"SELECT {CASE_COLUMNS} FROM cases WHERE {' AND '.join(where)}"
            f" ORDER BY seq DESC LIMIT {arg(query.limit)}"
        )

        async def job(conn: Connection) -> list[CaseRecord]:
            return [_case(row) for row in await conn.fetch(sql, *arg.values)]

        return await self._read(job)

    async def recent_communications(
        self, case_seqs: Sequence[int], per_case: int
    ) -> dict[int, list[CommunicationRecord]]:
        result: dict[int, list[CommunicationRecord]] = {seq: [] for seq in case_seqs}
        if not case_seqs:
            return result
        # One round trip: for each case, the index scan of its newest communications.
        sql = (
            f"SELECT {COMMUNICATION_COLUMNS} FROM cases c CROSS JOIN LATERAL ("
            " SELECT seq, case_seq, body, submitted_by, author_kind, created_ms"
            " FROM communications WHERE case_seq = c.seq ORDER BY seq DESC LIMIT $2) m"
            " WHERE c.seq = ANY($1::bigint[]) ORDER BY m.case_seq, m.seq DESC"
        )

        async def job(conn: Connection) -> list[Any]:
            return list(await conn.fetch(sql, list(case_seqs), per_case))

        for row in await self._read(job):
            result[row[1]].append(communication_record(row))
        return result

    async def list_communications(self, query: CommunicationQuery) -> list[CommunicationRecord]:
        arg = Params(query.case_seq)

        where = ["m.case_seq = $1"]
        if query.after_ms is not None:
            where.append(f"m.created_ms >= {arg(query.after_ms)}")
        if query.before_ms is not None:
            where.append(f"m.created_ms <= {arg(query.before_ms)}")
        if query.before_seq is not None:
            where.append(f"m.seq < {arg(query.before_seq)}")
        sql = (
            f"SELECT {COMMUNICATION_COLUMNS} FROM communications m JOIN cases c"
            f" ON c.seq = m.case_seq WHERE {' AND '.join(where)}"
            f" ORDER BY m.seq DESC LIMIT {arg(query.limit)}"
        )

        async def job(conn: Connection) -> list[CommunicationRecord]:
            return [communication_record(row) for row in await conn.fetch(sql, *arg.values)]

        return await self._read(job)

    # --- export / import ----------------------------------------------------------


async def _select_case(
    conn: Connection, account_id: str, case_id: str, *, for_update: bool = False
) -> CaseRecord | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {CASE_COLUMNS} FROM cases WHERE case_id = $1 AND account_id = $2{lock}",
        case_id,
        account_id,
    )
    return _case(row) if row else None


async def _existing_case(conn: Connection, case: NewCase) -> CaseRecord:
    found = await _select_case(conn, case.account_id, case.case_id)
    if found is None or found.created_ms != case.created_ms or found.subject != case.subject:
        # A random 64-bit collision with another case: never hand out someone else's.
        raise RuntimeError(f"case id {case.case_id} already belongs to another case")
    return found


async def _insert_communication(conn: Connection, case_seq: int, comm: NewCommunication) -> None:
    comm_seq = await conn.fetchval(
        "INSERT INTO communications (case_seq, body, submitted_by, author_kind, cc_emails,"
        " created_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
        case_seq,
        comm.body,
        comm.submitted_by,
        comm.author_kind,
        list(comm.cc_emails),
        comm.created_ms,
    )
    if comm.attachments is not None:
        await claim_attachments(conn, comm_seq, comm.attachments)


async def _insert_event(
    conn: Connection,
    case_seq: int,
    at_ms: int,
    actor: str,
    from_status: str | None,
    to_status: str,
) -> None:
    await conn.execute(
        "INSERT INTO case_events (case_seq, at_ms, actor, from_status, to_status)"
        " VALUES ($1, $2, $3, $4, $5)",
        case_seq,
        at_ms,
        actor,
        from_status,
        to_status,
    )
