"""Cases, their communications and their history, on both stores.

Each write is one transaction that reads the case with its row locked (`FOR UPDATE` on
PostgreSQL; SQLite's single writer), lets domain.lifecycle decide the new status, and
writes the communication, the status, the history event and the SLA clock together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from supportd.domain import accounts, lifecycle, notifications
from supportd.domain.records import (
    CaseQuery,
    CaseRecord,
    CommunicationQuery,
    CommunicationRecord,
    NewCase,
    NewCommunication,
    ResolveOutcome,
)
from supportd.storage import outbox
from supportd.storage.attachments import claim_attachments
from supportd.storage.case_work import after_customer_reply, after_resolution, insert_new_case_work
from supportd.storage.rows import (
    CASE_COLUMNS,
    COMMUNICATION_COLUMNS,
    OWN_COMMUNICATION_COLUMNS,
    case_record,
    communication_record,
    created_case,
    own_communication_records,
)
from supportd.storage.sql import Params, SqlStore, Tx, decode_list

INSERT_CASE_SQL = (
    "INSERT INTO cases (case_id, account_id, subject, service_code, category_code,"
    " severity_code, status, is_open, language, issue_type, submitted_by, cc_emails,"
    " created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $10, $11, $12)"
    " RETURNING seq"
)
INSERT_COMMUNICATION_SQL = (
    "INSERT INTO communications (case_seq, body, submitted_by, author_kind, cc_emails,"
    " created_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq"
)
INSERT_EVENT_SQL = (
    "INSERT INTO case_events (case_seq, at_ms, actor, from_status, to_status)"
    " VALUES ($1, $2, $3, $4, $5)"
)
SELECT_CASE_SQL = f"SELECT {CASE_COLUMNS} FROM cases WHERE case_id = $1 AND account_id = $2"
LOCK_CASE_SQL = SELECT_CASE_SQL + " FOR UPDATE"
COUNT_RECENT_SQL = (
    "SELECT COUNT(*) FROM cases WHERE account_id = $1 AND created_ms > $2 AND case_id <> $3"
)
REOPEN_SQL = "UPDATE cases SET status = $1, is_open = TRUE, resolved_ms = NULL WHERE seq = $2"
RESOLVE_SQL = "UPDATE cases SET status = $1, is_open = FALSE, resolved_ms = $2 WHERE seq = $3"
CASE_SEQS_SQL = "SELECT case_id, seq FROM cases WHERE account_id = $1 AND case_id = ANY($2::text[])"
# For each case, the index scan of its newest communications (a correlated subquery,
# which both dialects plan as one index range per case).
RECENT_SQL = (
    f"SELECT {COMMUNICATION_COLUMNS} FROM cases c JOIN communications m"
    " ON m.seq IN (SELECT seq FROM communications WHERE case_seq = c.seq"
    "  ORDER BY seq DESC LIMIT $2)"
    " WHERE c.seq = ANY($1::bigint[]) ORDER BY m.case_seq, m.seq DESC"
)


def case_from_row(row: Any) -> CaseRecord:
    return case_record(row, cc_emails=decode_list(row[11]))


async def select_case(
    tx: Tx, account_id: str, case_id: str, *, for_update: bool = False
) -> CaseRecord | None:
    row = await tx.fetchrow(LOCK_CASE_SQL if for_update else SELECT_CASE_SQL, case_id, account_id)
    return case_from_row(row) if row else None


async def check_case_quota(tx: Tx, case: NewCase, limit: int) -> None:
    """CaseQuotaExceeded if the account used its hourly quota; inside create_case's
    transaction, before its insert, with the account's quota lock held so the count is
    exact across processes and nodes. `case_id <> $3`: a retry of a create that did
    commit (connection lost during COMMIT) must not count its own case."""
    await tx.lock("case-quota", case.account_id)
    count = await tx.fetchval(
        COUNT_RECENT_SQL,
        case.account_id,
        accounts.quota_window_start(case.created_ms),
        case.case_id,
    )
    accounts.check_case_quota(int(count), limit)


def new_case_values(case: NewCase, status: str) -> tuple[Any, ...]:
    """INSERT_CASE_SQL's parameters (postgres_cases.CREATE_CASE_SQL's first twelve)."""
    return (
        case.case_id,
        case.account_id,
        case.subject,
        case.service_code,
        case.category_code,
        case.severity_code,
        status,
        case.language,
        case.issue_type,
        case.submitted_by,
        list(case.cc_emails),
        case.created_ms,
    )


def communication_values(comm: NewCommunication) -> tuple[Any, ...]:
    """INSERT_COMMUNICATION_SQL's parameters after the case's seq."""
    return (comm.body, comm.submitted_by, comm.author_kind, list(comm.cc_emails), comm.created_ms)


async def insert_communication(tx: Tx, case_seq: int, comm: NewCommunication) -> int:
    comm_seq = await tx.insert(INSERT_COMMUNICATION_SQL, case_seq, *communication_values(comm))
    if comm.attachments is not None:
        await claim_attachments(tx, comm_seq, comm.attachments)
    return comm_seq


async def insert_event(
    tx: Tx, case_seq: int, at_ms: int, actor: str, from_status: str | None, to_status: str
) -> None:
    await tx.execute(INSERT_EVENT_SQL, case_seq, at_ms, actor, from_status, to_status)


def communications_page(query: CommunicationQuery) -> tuple[str, list[Any]]:
    """list_communications' statement and parameters: one range of the (case_seq, seq)
    index read backwards from the page's cursor (keyset, never OFFSET), so a page costs
    the same in a case of ten messages or of ten thousand, on any page. A dialect that
    plans it otherwise has its own (postgres_cases); tests/store/test_plans.py pins
    both stores' plans. The rows are the communications' own columns: the caller
    knows the case's id, and a join would look the case up again for every row."""
    arg = Params(query.case_seq)
    where = [
        "m.case_seq = $1",
        *arg.given(
            ("m.created_ms >= {}", query.after_ms),
            ("m.created_ms <= {}", query.before_ms),
            ("m.seq < {}", query.before_seq),
        ),
    ]
    select = f"SELECT {OWN_COMMUNICATION_COLUMNS} FROM communications m"
    return arg.page(select, where, "m.seq DESC", query.limit), arg.values


class Cases(SqlStore):
    # Each case's newest communications, and a page of one case's: a dialect with a
    # better statement overrides them.
    recent_sql = RECENT_SQL
    communications_page = staticmethod(communications_page)

    # --- writes -------------------------------------------------------------------

    async def create_case(
        self, case: NewCase, first: NewCommunication, *, max_cases_per_hour: int | None = None
    ) -> CaseRecord:
        """Insert a case and its first communication in one transaction. With
        max_cases_per_hour, first count the account's cases of the last hour (before
        case.created_ms) in that transaction, exactly across processes and nodes, and
        raise CaseQuotaExceeded (nothing written) if there are that many already."""

        async def job(tx: Tx) -> CaseRecord:
            if max_cases_per_hour is not None:
                await check_case_quota(tx, case, max_cases_per_hour)
            values = new_case_values(case, lifecycle.UNASSIGNED)
            seq = await tx.insert(INSERT_CASE_SQL, *values)
            comm_seq = await insert_communication(tx, seq, first)
            await outbox.record_changes(
                tx,
                seq,
                notifications.case_created(comm_seq),
                case.created_ms,
                self.events_need_a_webhook,
            )
            await insert_event(
                tx, seq, first.created_ms, first.submitted_by, None, lifecycle.UNASSIGNED
            )
            await insert_new_case_work(tx, seq, case.first_response_due_ms)
            return created_case(seq, case, lifecycle.UNASSIGNED)

        return await self._write(job)

    async def add_communication(
        self, account_id: str, case_id: str, comm: NewCommunication
    ) -> CaseRecord | None:
        """Append a customer communication, applying the reply rules to the status in the
        same transaction (the case row locked against concurrent writers); the case as it
        is afterwards. None if the account has no such case; ReopenWindowClosed (nothing
        written) if the case was resolved too long ago."""

        async def job(tx: Tx) -> CaseRecord | None:
            case = await select_case(tx, account_id, case_id, for_update=True)
            if case is None:
                return None
            status = lifecycle.status_after_customer_reply(
                case.status, case.resolved_ms, comm.created_ms
            )
            comm_seq = await insert_communication(tx, case.seq, comm)
            if comm.source_message_id is not None:
                await outbox.record_inbound(
                    tx, comm.source_message_id, case.seq, comm_seq, comm.created_ms
                )
            await after_customer_reply(tx, case.seq, status, comm)  # the SLA clock
            changes = notifications.customer_reply(comm_seq, case.status, status)
            await outbox.record_changes(
                tx, case.seq, changes, comm.created_ms, self.events_need_a_webhook
            )
            if status == case.status:
                return case
            await tx.execute(REOPEN_SQL, status, case.seq)
            await insert_event(
                tx, case.seq, comm.created_ms, comm.submitted_by, case.status, status
            )
            return msgspec.structs.replace(case, status=status, resolved_ms=None)

        return await self._write(job)

    async def resolve_case(
        self, account_id: str, case_id: str, now_ms: int
    ) -> ResolveOutcome | None:
        """Resolve a case; None if the account has no such case. Resolving a resolved
        case changes nothing and reports resolved -> resolved."""

        async def job(tx: Tx) -> ResolveOutcome | None:
            case = await select_case(tx, account_id, case_id, for_update=True)
            if case is None:
                return None
            if case.status != lifecycle.RESOLVED:
                await tx.execute(RESOLVE_SQL, lifecycle.RESOLVED, now_ms, case.seq)
                await insert_event(
                    tx, case.seq, now_ms, account_id, case.status, lifecycle.RESOLVED
                )
                await after_resolution(tx, case.seq)  # no SLA clock, no auto-resolve timer
                await outbox.record_changes(
                    tx,
                    case.seq,
                    notifications.resolution(case.status),
                    now_ms,
                    self.events_need_a_webhook,
                )
            return ResolveOutcome(case.status, lifecycle.RESOLVED)

        return await self._write(job)

    # --- reads --------------------------------------------------------------------

    async def get_case(self, account_id: str, case_id: str) -> CaseRecord | None:
        """The account's case with this id, or None (other accounts' cases included)."""
        return await self._read(lambda tx: select_case(tx, account_id, case_id))

    async def case_seqs(self, account_id: str, case_ids: Sequence[str]) -> dict[str, int]:
        """Sequence number by case id, for those of the ids that are the account's cases
        (one query for a whole caseIdList)."""
        if not case_ids:
            return {}

        async def job(tx: Tx) -> dict[str, int]:
            rows = await tx.fetch(CASE_SEQS_SQL, account_id, list(case_ids))
            return {row[0]: row[1] for row in rows}

        return await self._read(job)

    async def list_cases(self, query: CaseQuery) -> list[CaseRecord]:
        """Up to query.limit cases, newest first."""
        arg = Params(query.account_id)
        where = ["account_id = $1"]
        if not query.include_resolved:
            where.append("is_open = TRUE")
        elif query.resolved_only:
            where.append("is_open = FALSE")
        seqs = None if query.seqs is None else list(query.seqs)
        where += arg.given(
            ("LOWER(subject) LIKE {} ESCAPE '\\'", query.subject_like),
            ("language = {}", query.language),
            ("created_ms >= {}", query.after_ms),
            ("created_ms <= {}", query.before_ms),
            ("seq < {}", query.before_seq),
            ("seq = ANY({}::bigint[])", seqs),
        )
        sql = arg.page(f"SELECT {CASE_COLUMNS} FROM cases", where, "seq DESC", query.limit)
        rows = await self._read(lambda tx: tx.fetch(sql, *arg.values))
        return [case_from_row(row) for row in rows]

    async def recent_communications(
        self, case_seqs: Sequence[int], per_case: int
    ) -> dict[int, list[CommunicationRecord]]:
        """The newest per_case communications of each case, newest first."""
        result: dict[int, list[CommunicationRecord]] = {seq: [] for seq in case_seqs}
        if not case_seqs:
            return result

        async def job(tx: Tx) -> list[Any]:
            return await tx.fetch(self.recent_sql, list(case_seqs), per_case)

        for row in await self._read(job):
            result[row[1]].append(communication_record(row))
        return result

    async def list_communications(self, query: CommunicationQuery) -> list[CommunicationRecord]:
        """Up to query.limit communications of one case, newest first."""
        sql, values = self.communications_page(query)
        rows = await self._read(lambda tx: tx.fetch(sql, *values))
        return own_communication_records(rows, query.case_id)
