"""The embedded store's support side: staff and tokens, cases across accounts, staff
actions, auto-resolve, and full-text search with FTS5."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from typing import Any

from supportd.domain import lifecycle, search, staff
from supportd.domain.search import (
    COMMUNICATION,
    MARK_END,
    MARK_START,
    SUBJECT,
    Highlight,
    SearchHit,
    SearchQuery,
    Term,
)
from supportd.domain.staff import (
    HistoryEvent,
    Note,
    Outcome,
    StaffAction,
    StaffCase,
    StaffCaseQuery,
    StaffMember,
    StaffToken,
    ThreadEntry,
)
from supportd.storage.cases import case_from_row as _case
from supportd.storage.contract_staff import StaffExists
from supportd.storage.rows import CASE_COLUMNS
from supportd.storage.sqlite_case_work import (
    WORK_COLUMNS,
    save_work,
    work_from_row,
)
from supportd.storage.sqlite_core import SQLiteCore

STAFF_COLUMNS = "name, email, role, created_ms, disabled_ms"
TOKEN_COLUMNS = "token_id, staff_name, secret_hash, created_ms, revoked_ms"  # noqa: S105
# The case's columns (as the cases area reads them) then the support side's.
CASE_FIELDS = [column.strip() for column in CASE_COLUMNS.split(",")]
STAFF_CASE_COLUMNS = ", ".join(f"c.{column}" for column in CASE_FIELDS) + ", " + WORK_COLUMNS
DUE_KEY = f"COALESCE(w.sla_due_ms, {staff.NO_DUE})"
SNIPPET_TOKENS = 24
SEARCH_BATCH = 100  # matches read per index at first when searching without filters
MAX_SEARCH_BATCH = 400  # then up to this many, before ranking every match
HIGHLIGHTS_PER_CASE = 3
INDEX_BATCH = 2000  # rows of a table indexed per writer job


def _member(row: Any) -> StaffMember:
    return StaffMember(*row)


def _token(row: Any) -> StaffToken:
    return StaffToken(*row)


def _staff_case(row: Sequence[Any]) -> StaffCase:
    n = len(CASE_FIELDS)
    return StaffCase(_case(row[:n]), work_from_row(row[n : n + 5]))


def _select_staff_case(conn: sqlite3.Connection, where: str, arg: Any) -> StaffCase | None:
    row = conn.execute(
        f"SELECT {STAFF_CASE_COLUMNS} FROM cases c LEFT JOIN case_work w ON w.seq = c.seq"
        f" WHERE {where}",
        (arg,),
    ).fetchone()
    return _staff_case(row) if row else None


def _open_flag(statuses: tuple[str, ...] | None) -> int | None:
    """1 or 0 when the statuses are all open or all resolved (an index can use it)."""
    if statuses is None:
        return None
    if all(s in lifecycle.OPEN_STATUSES for s in statuses):
        return 1
    if all(s == lifecycle.RESOLVED for s in statuses):
        return 0
    return None


def _filters(query: StaffCaseQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []

    def add(clause: str, *values: Any) -> None:
        where.append(clause)
        args.extend(values)

    if query.statuses is not None:
        add(f"c.status IN ({', '.join('?' * len(query.statuses))})", *query.statuses)
        flag = _open_flag(query.statuses)
        if flag is not None:
            add("c.is_open = ?", flag)
    for column, value in (
        ("account_id", query.account_id),
        ("severity_code", query.severity),
        ("service_code", query.service_code),
        ("category_code", query.category_code),
        ("language", query.language),
    ):
        if value is not None:
            add(f"c.{column} = ?", value)
    if query.assignee is not None:
        add("w.assignee = ?", query.assignee)
    if query.unassigned:
        add("w.assignee IS NULL")
    if query.sla_state == staff.BREACHING:
        add(f"{DUE_KEY} < ?", query.now_ms)
    elif query.sla_state == staff.SLA_RUNNING:
        add(f"{DUE_KEY} >= ? AND w.sla_due_ms IS NOT NULL", query.now_ms)
    elif query.sla_state == staff.SLA_PAUSED:
        add("w.sla_remaining_ms IS NOT NULL")
    elif query.sla_state == staff.SLA_NONE:
        add("w.sla_due_ms IS NULL AND w.sla_remaining_ms IS NULL")
    if query.created_after_ms is not None:
        add("c.created_ms >= ?", query.created_after_ms)
    if query.created_before_ms is not None:
        add("c.created_ms <= ?", query.created_before_ms)
    return where, args


def _fts_query(terms: Sequence[Term]) -> str:
    """FTS5 syntax. Words are letters and digits only (search.parse), so quoting each
    term as a phrase leaves nothing to escape."""
    positive = " AND ".join(f'"{t.text}"' for t in terms if not t.exclude)
    negative = "".join(f' NOT "{t.text}"' for t in terms if t.exclude)
    return f"({positive}){negative}"


class SQLiteStaff(SQLiteCore):
    # --- staff and tokens ----------------------------------------------------------

    async def create_staff(self, member: StaffMember) -> None:
        def job(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO staff ({STAFF_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                    dataclasses.astuple(member),
                )
            except sqlite3.IntegrityError:
                raise StaffExists(member.name) from None

        await self._writer.submit(job)

    async def get_staff(self, name: str) -> StaffMember | None:
        row = self._db.execute(
            f"SELECT {STAFF_COLUMNS} FROM staff WHERE name = ?", (name,)
        ).fetchone()
        return _member(row) if row else None

    async def list_staff(self) -> list[StaffMember]:
        return [
            _member(row)
            for row in self._db.execute(f"SELECT {STAFF_COLUMNS} FROM staff ORDER BY seq")
        ]

    async def set_staff_disabled(self, name: str, disabled_ms: int | None) -> StaffMember | None:
        def job(conn: sqlite3.Connection) -> StaffMember | None:
            conn.execute(
                "UPDATE staff SET disabled_ms = CASE WHEN ? IS NULL THEN NULL"
                " ELSE COALESCE(disabled_ms, ?) END WHERE name = ?",
                (disabled_ms, disabled_ms, name),
            )
            row = conn.execute(
                f"SELECT {STAFF_COLUMNS} FROM staff WHERE name = ?", (name,)
            ).fetchone()
            return _member(row) if row else None

        return await self._writer.submit(job)

    async def create_staff_token(self, token: StaffToken) -> None:
        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO staff_tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                dataclasses.astuple(token),
            )

        await self._writer.submit(job)

    async def get_staff_token(self, token_id: str) -> tuple[StaffToken, StaffMember] | None:
        row = self._db.execute(
            "SELECT t.token_id, t.staff_name, t.secret_hash, t.created_ms, t.revoked_ms,"
            " s.name, s.email, s.role, s.created_ms, s.disabled_ms"
            " FROM staff_tokens t JOIN staff s ON s.name = t.staff_name WHERE t.token_id = ?",
            (token_id,),
        ).fetchone()
        return (_token(row[:5]), _member(row[5:])) if row else None

    async def list_staff_tokens(self, staff_name: str | None = None) -> list[StaffToken]:
        if staff_name is None:
            rows = self._db.execute(f"SELECT {TOKEN_COLUMNS} FROM staff_tokens ORDER BY seq")
        else:
            rows = self._db.execute(
                f"SELECT {TOKEN_COLUMNS} FROM staff_tokens WHERE staff_name = ? ORDER BY seq",
                (staff_name,),
            )
        return [_token(row) for row in rows]

    async def revoke_staff_token(self, token_id: str, now_ms: int) -> StaffToken | None:
        def job(conn: sqlite3.Connection) -> StaffToken | None:
            conn.execute(
                "UPDATE staff_tokens SET revoked_ms = COALESCE(revoked_ms, ?) WHERE token_id = ?",
                (now_ms, token_id),
            )
            row = conn.execute(
                f"SELECT {TOKEN_COLUMNS} FROM staff_tokens WHERE token_id = ?", (token_id,)
            ).fetchone()
            return _token(row) if row else None

        return await self._writer.submit(job)

    # --- cases as staff see them ------------------------------------------------------

    async def staff_get_case(
        self, case_id: str | None = None, seq: int | None = None
    ) -> StaffCase | None:
        if case_id is not None:
            return _select_staff_case(self._db, "c.case_id = ?", case_id)
        if seq is not None:
            return _select_staff_case(self._db, "c.seq = ?", seq)
        return None

    async def staff_list_cases(self, query: StaffCaseQuery) -> list[StaffCase]:
        where, args = _filters(query)
        if query.sort == staff.SORT_CREATED:
            if query.after is not None:
                where.append("c.seq < ?")
                args.append(query.after[0])
            source = "cases c LEFT JOIN case_work w ON w.seq = c.seq"
            order = "c.seq DESC"
        elif staff.clockless(query.statuses):
            # No running clocks: due-time order is seq order (staff.CLOCKLESS_STATUSES).
            if query.after is not None:
                where.append("c.seq > ?")
                args.append(query.after[1])
            source = "cases c JOIN case_work w ON w.seq = c.seq"
            order = "c.seq"
        else:
            if query.after is not None:
                where.append(f"({DUE_KEY}, w.seq) > (?, ?)")
                args.extend(query.after)
            # Walk the due-time index in order and stop at the page's end, unless a
            # filter on an indexed column of the case narrows it far more.
            join = "JOIN" if query.account_id is not None else "CROSS JOIN"
            source = f"case_work w {join} cases c ON c.seq = w.seq"
            order = f"{DUE_KEY}, w.seq"
        sql = (
            f"SELECT {STAFF_CASE_COLUMNS} FROM {source}"
            f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order} LIMIT ?"
        )
        args.append(query.limit)
        return [_staff_case(row) for row in self._db.execute(sql, args)]

    async def case_thread(self, case_seq: int) -> list[ThreadEntry]:
        rows = self._db.execute(
            "SELECT m.seq, m.created_ms, m.body, m.submitted_by, m.author_kind, r.staff_name"
            " FROM communications m LEFT JOIN support_replies r ON r.seq = m.seq"
            " WHERE m.case_seq = ? ORDER BY m.seq",
            (case_seq,),
        )
        return [ThreadEntry(*row) for row in rows]

    async def case_notes(self, case_seq: int) -> list[Note]:
        rows = self._db.execute(
            "SELECT seq, created_ms, staff_name, body FROM case_notes WHERE case_seq = ?"
            " ORDER BY seq",
            (case_seq,),
        )
        return [Note(*row) for row in rows]

    async def case_history(self, case_seq: int) -> list[HistoryEvent]:
        rows = self._db.execute(
            "SELECT at_ms, actor, kind, from_value, to_value FROM ("
            " SELECT at_ms, actor, ? AS kind, from_status AS from_value, to_status AS to_value,"
            "  1 AS rank, seq FROM case_events WHERE case_seq = ?"
            " UNION ALL"
            " SELECT at_ms, actor, ?, from_staff, to_staff, 0, seq FROM case_assignments"
            "  WHERE case_seq = ?"
            ") ORDER BY at_ms, rank, seq",
            (staff.STATUS_EVENT, case_seq, staff.ASSIGNMENT_EVENT, case_seq),
        )
        return [HistoryEvent(*row) for row in rows]

    # --- changes ------------------------------------------------------------------

    async def apply_staff_action(
        self, case_seq: int, action: StaffAction
    ) -> tuple[StaffCase, Outcome] | None:
        def job(conn: sqlite3.Connection) -> tuple[StaffCase, Outcome] | None:
            current = _select_staff_case(conn, "c.seq = ?", case_seq)
            if current is None:
                return None
            outcome = staff.decide(current, action)
            _write_outcome(conn, current, action, outcome)
            case = dataclasses.replace(
                current.case, status=outcome.status, resolved_ms=outcome.resolved_ms
            )
            return StaffCase(case, outcome.work), outcome

        return await self._writer.submit(job)

    async def auto_resolve(self, pending_before_ms: int, now_ms: int, limit: int) -> list[str]:
        def job(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT c.seq, c.case_id FROM case_work w JOIN cases c ON c.seq = w.seq"
                " WHERE w.pending_since_ms IS NOT NULL AND w.pending_since_ms < ?"
                " AND c.status = ? ORDER BY w.pending_since_ms LIMIT ?",
                (pending_before_ms, lifecycle.PENDING_CUSTOMER_ACTION, limit),
            ).fetchall()
            for seq, _ in rows:
                conn.execute(
                    "UPDATE cases SET status = ?, is_open = 0, resolved_ms = ? WHERE seq = ?",
                    (lifecycle.RESOLVED, now_ms, seq),
                )
                _insert_event(
                    conn,
                    seq,
                    now_ms,
                    staff.AUTO_RESOLVE_ACTOR,
                    lifecycle.PENDING_CUSTOMER_ACTION,
                    lifecycle.RESOLVED,
                )
                conn.execute(
                    "UPDATE case_work SET sla_target = NULL, sla_due_ms = NULL,"
                    " sla_remaining_ms = NULL, pending_since_ms = NULL WHERE seq = ?",
                    (seq,),
                )
            return [case_id for _, case_id in rows]

        return await self._writer.submit(job)

    # --- search -------------------------------------------------------------------------

    async def index_search(self) -> int:
        """Index the subjects and communications committed since the last time (see
        migration 0004: the FTS5 indexes are filled behind the writes)."""
        if not self._search_behind():
            return 0
        total = 0
        while True:
            indexed = await self._writer.submit(_index_batch)
            total += indexed
            if indexed < INDEX_BATCH:
                return total

    def _search_behind(self) -> bool:
        row = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM search_progress p WHERE p.upto < CASE p.name"
            " WHEN 'cases' THEN (SELECT COALESCE(MAX(seq), 0) FROM cases)"
            " ELSE (SELECT COALESCE(MAX(seq), 0) FROM communications) END)"
        ).fetchone()
        return bool(row[0])

    async def search_cases(self, query: SearchQuery) -> list[SearchHit]:
        # Everything committed before the search is searchable.
        await self.index_search()
        match = _fts_query(query.terms)
        if query.account_id is None and query.statuses is None:
            found = self._search_best(match, query)
        else:
            found = self._search_filtered(match, query)
        if not found:
            return []
        highlights = self._highlights(match, [case.case.seq for _, case in found])
        return [
            SearchHit(case, score, tuple(highlights.get(case.case.seq, ())))
            for score, case in found
        ]

    def _search_best(self, match: str, query: SearchQuery) -> list[tuple[float, StaffCase]]:
        """Without filters: only the best-ranked matches of each index are read (FTS5's
        top-N path), more until they decide the page (search.rank_cases)."""
        wanted = query.offset + query.limit
        size = max(SEARCH_BATCH, 4 * wanted)
        while True:
            comms = self._db.execute(
                "SELECT m.case_seq, -f.rank FROM (SELECT rowid, rank FROM communications_fts"
                " WHERE communications_fts MATCH ? ORDER BY rank LIMIT ?) f"
                " JOIN communications m ON m.seq = f.rowid",
                (match, size),
            ).fetchall()
            # A word in the subject weighs twice as much as one in a message.
            subjects = self._db.execute(
                "SELECT rowid, -2.0 * rank FROM cases_fts WHERE cases_fts MATCH ?"
                " ORDER BY rank LIMIT ?",
                (match, size),
            ).fetchall()
            ranked, complete = search.rank_cases(
                comms, subjects, len(comms) < size, len(subjects) < size
            )
            if complete or len(ranked) >= wanted:
                break
            if size >= MAX_SEARCH_BATCH:
                # Many equal scores at the cut (or a page far down): rank every match.
                return self._search_filtered(match, query)
            size *= 4
        page = ranked[query.offset : wanted]
        if not page:
            return []
        marks = ", ".join("?" * len(page))
        rows = self._db.execute(
            f"SELECT {STAFF_CASE_COLUMNS} FROM cases c LEFT JOIN case_work w ON w.seq = c.seq"
            f" WHERE c.seq IN ({marks})",
            [seq for seq, _ in page],
        )
        cases = {case.case.seq: case for case in map(_staff_case, rows)}
        return [(score, cases[seq]) for seq, score in page if seq in cases]

    def _search_filtered(self, match: str, query: SearchQuery) -> list[tuple[float, StaffCase]]:
        """Every match ranked, then filtered (and paged)."""
        where: list[str] = []
        args: list[Any] = [match, match]
        if query.account_id is not None:
            where.append("c.account_id = ?")
            args.append(query.account_id)
        if query.statuses is not None:
            where.append(f"c.status IN ({', '.join('?' * len(query.statuses))})")
            args.extend(query.statuses)
        sql = (
            "WITH hits (case_seq, score) AS ("
            " SELECT m.case_seq, -bm25(communications_fts) FROM communications_fts"
            "  JOIN communications m ON m.seq = communications_fts.rowid"
            "  WHERE communications_fts MATCH ?"
            " UNION ALL"
            " SELECT cases_fts.rowid, -2.0 * bm25(cases_fts) FROM cases_fts"
            "  WHERE cases_fts MATCH ?"
            "), best AS (SELECT case_seq, MAX(score) AS score FROM hits GROUP BY case_seq)"
            f" SELECT b.score, {STAFF_CASE_COLUMNS} FROM best b"
            " JOIN cases c ON c.seq = b.case_seq LEFT JOIN case_work w ON w.seq = c.seq"
            f"{' WHERE ' + ' AND '.join(where) if where else ''}"
            " ORDER BY b.score DESC, c.seq DESC LIMIT ? OFFSET ?"
        )
        args.extend((query.limit, query.offset))
        return [(float(row[0]), _staff_case(row[1:])) for row in self._db.execute(sql, args)]

    def _highlights(self, match: str, case_seqs: list[int]) -> dict[int, list[Highlight]]:
        result: dict[int, list[Highlight]] = {seq: [] for seq in case_seqs}
        marks = ", ".join("?" * len(case_seqs))
        for seq, marked in self._db.execute(
            "SELECT rowid, highlight(cases_fts, 0, ?, ?) FROM cases_fts"
            f" WHERE cases_fts MATCH ? AND rowid IN ({marks})",
            (MARK_START, MARK_END, match, *case_seqs),
        ):
            result[seq].append(Highlight(SUBJECT, marked))
        # The page's communications first (an index lookup per case), then the full-text
        # match on just those rows.
        comm_seqs = [
            row[0]
            for row in self._db.execute(
                f"SELECT seq FROM communications WHERE case_seq IN ({marks})", case_seqs
            )
        ]
        if not comm_seqs:
            return result
        rows = self._db.execute(
            "SELECT m.case_seq, m.seq, m.created_ms, m.author_kind,"
            f" snippet(communications_fts, 0, ?, ?, '…', {SNIPPET_TOKENS})"
            " FROM communications_fts JOIN communications m ON m.seq = communications_fts.rowid"
            f" WHERE communications_fts MATCH ? AND communications_fts.rowid IN"
            f" ({', '.join('?' * len(comm_seqs))})"
            " ORDER BY bm25(communications_fts), m.seq DESC",
            (MARK_START, MARK_END, match, *comm_seqs),
        )
        for case_seq, comm_seq, created_ms, author_kind, marked in rows:
            found = result[case_seq]
            if sum(h.field == COMMUNICATION for h in found) < HIGHLIGHTS_PER_CASE:
                found.append(Highlight(COMMUNICATION, marked, comm_seq, created_ms, author_kind))
        return result


def _index_batch(conn: sqlite3.Connection) -> int:
    """Index up to INDEX_BATCH new rows of each table; the most indexed of one table."""
    most = 0
    for table, column in (("cases", "subject"), ("communications", "body")):
        (upto,) = conn.execute(
            "SELECT upto FROM search_progress WHERE name = ?", (table,)
        ).fetchone()
        rows = conn.execute(
            f"SELECT seq, {column} FROM {table} WHERE seq > ? ORDER BY seq LIMIT ?",
            (upto, INDEX_BATCH),
        ).fetchall()
        if rows:
            conn.executemany(f"INSERT INTO {table}_fts (rowid, {column}) VALUES (?, ?)", rows)
            conn.execute("UPDATE search_progress SET upto = ? WHERE name = ?", (rows[-1][0], table))
            most = max(most, len(rows))
    return most


def _write_outcome(
    conn: sqlite3.Connection, current: StaffCase, action: StaffAction, outcome: Outcome
) -> None:
    seq = current.case.seq
    actor = staff.staff_actor(action.staff_name)
    if outcome.assignment is not None:
        before, after = outcome.assignment
        conn.execute(
            "INSERT INTO case_assignments (case_seq, at_ms, actor, from_staff, to_staff)"
            " VALUES (?, ?, ?, ?, ?)",
            (seq, action.now_ms, actor, before, after),
        )
    if outcome.reply is not None:
        reply = outcome.reply
        cursor = conn.execute(
            "INSERT INTO communications (case_seq, body, submitted_by, author_kind, cc_emails,"
            " created_ms) VALUES (?, ?, ?, ?, '[]', ?)",
            (seq, reply.body, reply.submitted_by, reply.author_kind, reply.created_ms),
        )
        conn.execute(
            "INSERT INTO support_replies (seq, staff_name) VALUES (?, ?)",
            (cursor.lastrowid, action.staff_name),
        )
    if outcome.note is not None:
        conn.execute(
            "INSERT INTO case_notes (case_seq, staff_name, body, created_ms) VALUES (?, ?, ?, ?)",
            (seq, action.staff_name, outcome.note, action.now_ms),
        )
    if outcome.status_change is not None:
        before_status, after_status = outcome.status_change
        conn.execute(
            "UPDATE cases SET status = ?, is_open = ?, resolved_ms = ? WHERE seq = ?",
            (after_status, int(after_status != lifecycle.RESOLVED), outcome.resolved_ms, seq),
        )
        _insert_event(conn, seq, action.now_ms, actor, before_status, after_status)
    if outcome.work != current.work:
        save_work(conn, seq, outcome.work)


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
