"""What PostgreSQL does differently for cases: a data-modifying CTE that creates a case
in one statement (one round trip, its own transaction), LATERAL for each case's newest
communications, and a page of one case's communications written so that its planner
cannot prefer the primary key. SQLite has neither; storage.cases is the rest."""

from __future__ import annotations

import json
from typing import Any

from supportd.domain import jobs, lifecycle, notifications, sla
from supportd.domain.records import CaseRecord, CommunicationQuery, NewCase, NewCommunication
from supportd.storage import outbox
from supportd.storage.attachments import claim_attachments
from supportd.storage.cases import (
    Cases,
    check_case_quota,
    communication_values,
    new_case_values,
    select_case,
)
from supportd.storage.rows import COMMUNICATION_COLUMNS, OWN_COMMUNICATION_COLUMNS, created_case
from supportd.storage.sql import Params, Tx

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
    RETURNING seq, case_seq
), creation_event AS (
    INSERT INTO case_events (case_seq, at_ms, actor, from_status, to_status)
    SELECT seq, $17, $14, NULL, $7 FROM new_case
), support_side AS (
    INSERT INTO case_work (seq, sla_target, sla_due_ms)
    SELECT seq, $18, $19 FROM new_case
), heard AS (
    SELECT WHERE NOT $27::boolean OR EXISTS (SELECT 1 FROM webhooks)
), notification AS (
    INSERT INTO outbox_events (event_id, case_seq, event_name, origin, communication_seq,
        created_ms)
    SELECT $20, case_seq, $21, $22, seq, $17 FROM first_communication, heard
), fan_out_job AS (
    INSERT INTO jobs (kind, key, payload, state, run_at_ms, created_ms, updated_ms)
    SELECT $23, $24, $25::jsonb, $26, $17, $17, $17 FROM new_case, heard
)
SELECT seq FROM new_case
"""
RECENT_SQL = (
    f"SELECT {COMMUNICATION_COLUMNS} FROM cases c CROSS JOIN LATERAL ("
    " SELECT seq, case_seq, body, submitted_by, author_kind, created_ms"
    " FROM communications WHERE case_seq = c.seq ORDER BY seq DESC LIMIT $2) m"
    " WHERE c.seq = ANY($1::bigint[]) ORDER BY m.case_seq, m.seq DESC"
)


# Past every seq: the first page's cursor.
AFTER_LAST_SEQ = 2**63 - 1


def communications_page(query: CommunicationQuery) -> tuple[str, list[Any]]:
    """storage.cases.communications_page for PostgreSQL's planner. With `case_seq = $1`
    it knows case_seq is constant, so the primary key read backwards gives the page's
    order too; when one case holds a large share of the table its statistics make that
    look cheap, and the walk filters through every newer message of every other case.
    Here the case and the cursor are one row comparison, `(case_seq, seq) < ($1,
    cursor)`, bounded below by `case_seq >= $1`: the btree seeks straight to the cursor
    and ordering by (case_seq, seq) leaves communications_by_case the only ordered path.
    SQLite keeps the equality: it seeks (case_seq, seq) with it, not with a row value."""
    arg = Params(query.case_seq)
    cursor = arg(AFTER_LAST_SEQ if query.before_seq is None else query.before_seq)
    where = [
        "m.case_seq >= $1",
        f"(m.case_seq, m.seq) < ($1, {cursor})",
        *arg.given(
            ("m.created_ms >= {}", query.after_ms),
            ("m.created_ms <= {}", query.before_ms),
        ),
    ]
    select = f"SELECT {OWN_COMMUNICATION_COLUMNS} FROM communications m"
    return arg.page(select, where, "m.case_seq DESC, m.seq DESC", query.limit), arg.values


class PostgresCases(Cases):
    recent_sql = RECENT_SQL
    communications_page = staticmethod(communications_page)

    async def create_case(
        self, case: NewCase, first: NewCommunication, *, max_cases_per_hour: int | None = None
    ) -> CaseRecord:
        async def job(tx: Tx) -> CaseRecord:
            if max_cases_per_hour is not None:
                await check_case_quota(tx, case, max_cases_per_hour)
            # The case id is chosen before the first attempt: a retry after a lost
            # connection, when the first attempt did commit, finds the case (ON CONFLICT)
            # instead of creating it twice.
            seq = await tx.fetchval(
                CREATE_CASE_SQL,
                *new_case_values(case, lifecycle.UNASSIGNED),
                *communication_values(first),
                sla.FIRST_RESPONSE if case.first_response_due_ms is not None else None,
                case.first_response_due_ms,
                *_notification(),
                self.events_need_a_webhook,
            )
            if seq is None:
                return await _existing_case(tx, case)
            if first.attachments is not None:
                comm_seq = await tx.fetchval(
                    "SELECT seq FROM communications WHERE case_seq = $1", seq
                )
                await claim_attachments(tx, comm_seq, first.attachments)
            return created_case(seq, case, lifecycle.UNASSIGNED)

        # Without a quota or attachments it is one statement: its own transaction.
        single = max_cases_per_hour is None and first.attachments is None
        return await self._write(job, idempotent=True, single_statement=single)


def _notification() -> tuple[Any, ...]:
    """The CTE's outbox event and its fan-out job (storage.outbox.record_changes, written
    into the one statement): $20 ... $26; $27, events_need_a_webhook, is the CTE's
    `heard`: one row if they are to be written, none if not."""
    [change] = notifications.case_created(0)
    event_id = notifications.new_event_id()
    return (
        event_id,
        change.event_name,
        change.origin,
        outbox.FANOUT_KIND,
        outbox.fanout_key(event_id),
        json.dumps({"event": event_id}),
        jobs.QUEUED,
    )


async def _existing_case(tx: Tx, case: NewCase) -> CaseRecord:
    found = await select_case(tx, case.account_id, case.case_id)
    if found is None or found.created_ms != case.created_ms or found.subject != case.subject:
        # A random 64-bit collision with another case: never hand out someone else's.
        raise RuntimeError(f"case id {case.case_id} already belongs to another case")
    return found
