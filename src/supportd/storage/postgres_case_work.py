"""The support side of a case in PostgreSQL (the case_work row): read and written in
the transactions that hold the case row locked, by the customer's case operations as
well as by staff's."""

from __future__ import annotations

from typing import Any

from supportd.domain import sla, staff
from supportd.domain.records import NewCommunication
from supportd.domain.staff import CaseWork
from supportd.storage.postgres_core import Connection

# Prefixed with the alias `w` in the queries that join case_work.
WORK_COLUMNS = "w.assignee, w.sla_target, w.sla_due_ms, w.sla_remaining_ms, w.pending_since_ms"

SAVE_WORK_SQL = """
INSERT INTO case_work (seq, assignee, sla_target, sla_due_ms, sla_remaining_ms,
    pending_since_ms)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (seq) DO UPDATE SET assignee = excluded.assignee,
    sla_target = excluded.sla_target, sla_due_ms = excluded.sla_due_ms,
    sla_remaining_ms = excluded.sla_remaining_ms, pending_since_ms = excluded.pending_since_ms
"""


def work_from_row(row: Any) -> CaseWork:
    """The CaseWork of WORK_COLUMNS' values (all NULL for a case without a row)."""
    assignee, target, due, remaining, pending = row
    return CaseWork(assignee, sla.SlaClock(target, due, remaining), pending)


async def load_work(conn: Connection, case_seq: int) -> CaseWork:
    row = await conn.fetchrow(f"SELECT {WORK_COLUMNS} FROM case_work w WHERE w.seq = $1", case_seq)
    return work_from_row(tuple(row)) if row else staff.NO_WORK


async def save_work(conn: Connection, case_seq: int, work: CaseWork) -> None:
    clock = work.clock
    await conn.execute(
        SAVE_WORK_SQL,
        case_seq,
        work.assignee,
        clock.target,
        clock.due_ms,
        clock.remaining_ms,
        work.pending_since_ms,
    )


async def after_customer_reply(
    conn: Connection, case_seq: int, new_status: str, comm: NewCommunication
) -> None:
    before = await load_work(conn, case_seq)
    after = staff.work_after_customer_reply(
        before, new_status, comm.created_ms, comm.response_target
    )
    if after != before:
        await save_work(conn, case_seq, after)


async def after_resolution(conn: Connection, case_seq: int) -> None:
    before = await load_work(conn, case_seq)
    after = staff.work_after_resolution(before)
    if after != before:
        await save_work(conn, case_seq, after)
