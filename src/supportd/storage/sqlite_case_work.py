"""The support side of a case in SQLite (the case_work row): read and written inside
the writer's transactions, by the customer's case operations as well as by staff's."""

from __future__ import annotations

import sqlite3
from typing import Any

from supportd.domain import sla, staff
from supportd.domain.records import NewCommunication
from supportd.domain.staff import CaseWork

# Prefixed with the alias `w` in the queries that join case_work.
WORK_COLUMNS = "w.assignee, w.sla_target, w.sla_due_ms, w.sla_remaining_ms, w.pending_since_ms"
WORK_COLUMN_COUNT = 5


def work_from_row(row: Any) -> CaseWork:
    """The CaseWork of WORK_COLUMNS' values (all NULL for a case without a row)."""
    assignee, target, due, remaining, pending = row
    return CaseWork(assignee, sla.SlaClock(target, due, remaining), pending)


def load_work(conn: sqlite3.Connection, case_seq: int) -> CaseWork:
    row = conn.execute(
        f"SELECT {WORK_COLUMNS} FROM case_work w WHERE w.seq = ?", (case_seq,)
    ).fetchone()
    return work_from_row(row) if row else staff.NO_WORK


def save_work(conn: sqlite3.Connection, case_seq: int, work: CaseWork) -> None:
    clock = work.clock
    conn.execute(
        "INSERT INTO case_work (seq, assignee, sla_target, sla_due_ms, sla_remaining_ms,"
        " pending_since_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO UPDATE SET"
        " assignee = excluded.assignee, sla_target = excluded.sla_target,"
        " sla_due_ms = excluded.sla_due_ms, sla_remaining_ms = excluded.sla_remaining_ms,"
        " pending_since_ms = excluded.pending_since_ms",
        (
            case_seq,
            work.assignee,
            clock.target,
            clock.due_ms,
            clock.remaining_ms,
            work.pending_since_ms,
        ),
    )


def insert_new_case_work(conn: sqlite3.Connection, case_seq: int, due_ms: int | None) -> None:
    """A new case: nobody assigned, the first-response clock running (if it has one)."""
    conn.execute(
        "INSERT INTO case_work (seq, sla_target, sla_due_ms) VALUES (?, ?, ?)",
        (case_seq, sla.FIRST_RESPONSE if due_ms is not None else None, due_ms),
    )


def after_customer_reply(
    conn: sqlite3.Connection, case_seq: int, new_status: str, comm: NewCommunication
) -> None:
    before = load_work(conn, case_seq)
    after = staff.work_after_customer_reply(
        before, new_status, comm.created_ms, comm.response_target
    )
    if after != before:
        save_work(conn, case_seq, after)


def after_resolution(conn: sqlite3.Connection, case_seq: int) -> None:
    before = load_work(conn, case_seq)
    after = staff.work_after_resolution(before)
    if after != before:
        save_work(conn, case_seq, after)
