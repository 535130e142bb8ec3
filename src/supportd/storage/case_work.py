"""The support side of a case (its case_work row), read and written inside the
transactions that hold the case: by the customer's case operations as well as by
staff's. What a change does to the row is decided in domain.staff."""

from __future__ import annotations

from typing import Any

from supportd.domain import sla, staff
from supportd.domain.records import NewCommunication
from supportd.domain.staff import CaseWork
from supportd.storage.sql import Tx

# Prefixed with the alias `w` in the queries that join case_work.
WORK_COLUMNS = "w.assignee, w.sla_target, w.sla_due_ms, w.sla_remaining_ms, w.pending_since_ms"
WORK_COLUMN_COUNT = 5

LOAD_SQL = f"SELECT {WORK_COLUMNS} FROM case_work w WHERE w.seq = $1"
SAVE_SQL = """
INSERT INTO case_work (seq, assignee, sla_target, sla_due_ms, sla_remaining_ms,
    pending_since_ms)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (seq) DO UPDATE SET assignee = excluded.assignee,
    sla_target = excluded.sla_target, sla_due_ms = excluded.sla_due_ms,
    sla_remaining_ms = excluded.sla_remaining_ms, pending_since_ms = excluded.pending_since_ms
"""
INSERT_NEW_SQL = "INSERT INTO case_work (seq, sla_target, sla_due_ms) VALUES ($1, $2, $3)"


def work_from_row(row: Any) -> CaseWork:
    """The CaseWork of WORK_COLUMNS' values (all NULL for a case without a row)."""
    assignee, target, due, remaining, pending = row
    return CaseWork(assignee, sla.SlaClock(target, due, remaining), pending)


async def load_work(tx: Tx, case_seq: int) -> CaseWork:
    row = await tx.fetchrow(LOAD_SQL, case_seq)
    return work_from_row(tuple(row)) if row else staff.NO_WORK


async def save_work(tx: Tx, case_seq: int, work: CaseWork) -> None:
    clock = work.clock
    await tx.execute(
        SAVE_SQL,
        case_seq,
        work.assignee,
        clock.target,
        clock.due_ms,
        clock.remaining_ms,
        work.pending_since_ms,
    )


async def insert_new_case_work(tx: Tx, case_seq: int, due_ms: int | None) -> None:
    """A new case: nobody assigned, the first-response clock running (if it has one)."""
    target = sla.FIRST_RESPONSE if due_ms is not None else None
    await tx.execute(INSERT_NEW_SQL, case_seq, target, due_ms)


async def after_customer_reply(
    tx: Tx, case_seq: int, new_status: str, comm: NewCommunication
) -> None:
    before = await load_work(tx, case_seq)
    after = staff.work_after_customer_reply(
        before, new_status, comm.created_ms, comm.response_target
    )
    if after != before:
        await save_work(tx, case_seq, after)


async def after_resolution(tx: Tx, case_seq: int) -> None:
    before = await load_work(tx, case_seq)
    after = staff.work_after_resolution(before)
    if after != before:
        await save_work(tx, case_seq, after)
