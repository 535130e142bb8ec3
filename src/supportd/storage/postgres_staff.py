"""The scale-out store's support side: staff and tokens, cases across accounts, staff
actions, auto-resolve (SKIP LOCKED: nodes never wait on each other's cases), and
full-text search with tsvector columns under GIN indexes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import asyncpg

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
from supportd.storage.case_work import WORK_COLUMNS, save_work, work_from_row
from supportd.storage.cases import case_from_row as _case
from supportd.storage.cases import insert_event
from supportd.storage.contract_staff import StaffExists
from supportd.storage.postgres_core import Connection, PostgresCore, PostgresTx
from supportd.storage.rows import CASE_COLUMNS

STAFF_COLUMNS = "name, email, role, created_ms, disabled_ms"
TOKEN_COLUMNS = "token_id, staff_name, secret_hash, created_ms, revoked_ms"  # noqa: S105
CASE_FIELDS = [column.strip() for column in CASE_COLUMNS.split(",")]
STAFF_CASE_COLUMNS = ", ".join(f"c.{column}" for column in CASE_FIELDS) + ", " + WORK_COLUMNS
DUE_KEY = f"COALESCE(w.sla_due_ms, {staff.NO_DUE})"
TS_CONFIG = "english"
HIGHLIGHTS_PER_CASE = 3
SEARCH_BATCH = 100  # matches read per index at first when searching without filters
MAX_SEARCH_BATCH = 400  # then up to this many, before ranking every match
# ts_headline's options: the same marks and about the same length as SQLite's snippet().
SNIPPET_OPTIONS = (
    f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=24, MinWords=12,'
    ' MaxFragments=2, FragmentDelimiter=" … "'
)
SUBJECT_OPTIONS = f'StartSel="{MARK_START}", StopSel="{MARK_END}", HighlightAll=true'


def _member(row: Any) -> StaffMember:
    return StaffMember(*row)


def _token(row: Any) -> StaffToken:
    return StaffToken(*row)


def _staff_case(row: Sequence[Any]) -> StaffCase:
    n = len(CASE_FIELDS)
    return StaffCase(_case(row[:n]), work_from_row(tuple(row[n : n + 5])))


async def _select_staff_case(conn: Connection, where: str, arg: Any) -> StaffCase | None:
    row = await conn.fetchrow(
        f"SELECT {STAFF_CASE_COLUMNS} FROM cases c LEFT JOIN case_work w ON w.seq = c.seq"
        f" WHERE {where}",
        arg,
    )
    return _staff_case(tuple(row)) if row else None


async def _lock_staff_case(conn: Connection, seq: int) -> StaffCase | None:
    """The case with its row locked, as it is once the lock is held. (Locking and reading
    in one statement would re-read the locked case row after waiting, but not the
    case_work row joined to it: a reply waiting on another would miss its assignment.)"""
    if await conn.fetchval("SELECT seq FROM cases WHERE seq = $1 FOR UPDATE", seq) is None:
        return None
    return await _select_staff_case(conn, "c.seq = $1", seq)


class _Args:
    """Numbered query arguments ($1, $2, ...)."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _filters(query: StaffCaseQuery, arg: _Args) -> list[str]:
    where: list[str] = []
    if query.statuses is not None:
        where.append(f"c.status = ANY({arg(list(query.statuses))}::text[])")
        if all(s in lifecycle.OPEN_STATUSES for s in query.statuses):
            where.append("c.is_open")
        elif all(s == lifecycle.RESOLVED for s in query.statuses):
            where.append("NOT c.is_open")
    for column, value in (
        ("account_id", query.account_id),
        ("severity_code", query.severity),
        ("service_code", query.service_code),
        ("category_code", query.category_code),
        ("language", query.language),
    ):
        if value is not None:
            where.append(f"c.{column} = {arg(value)}")
    if query.assignee is not None:
        where.append(f"w.assignee = {arg(query.assignee)}")
    if query.unassigned:
        where.append("w.assignee IS NULL")
    if query.sla_state == staff.BREACHING:
        where.append(f"{DUE_KEY} < {arg(query.now_ms)}")
    elif query.sla_state == staff.SLA_RUNNING:
        where.append(f"{DUE_KEY} >= {arg(query.now_ms)} AND w.sla_due_ms IS NOT NULL")
    elif query.sla_state == staff.SLA_PAUSED:
        where.append("w.sla_remaining_ms IS NOT NULL")
    elif query.sla_state == staff.SLA_NONE:
        where.append("w.sla_due_ms IS NULL AND w.sla_remaining_ms IS NULL")
    if query.created_after_ms is not None:
        where.append(f"c.created_ms >= {arg(query.created_after_ms)}")
    if query.created_before_ms is not None:
        where.append(f"c.created_ms <= {arg(query.created_before_ms)}")
    return where


def _tsquery(terms: Sequence[Term], arg: _Args) -> str:
    """The search terms as one tsquery expression: phrases joined with && (and !!)."""
    parts = [
        f"({'!! ' if t.exclude else ''}phraseto_tsquery('{TS_CONFIG}', {arg(t.text)}))"
        for t in sorted(terms, key=lambda t: t.exclude)
    ]
    return " && ".join(parts)


class PostgresStaff(PostgresCore):
    # --- staff and tokens ----------------------------------------------------------

    async def create_staff(self, member: StaffMember) -> None:
        async def job(conn: Connection) -> None:
            try:
                await conn.execute(
                    f"INSERT INTO staff ({STAFF_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
                    *dataclasses.astuple(member),
                )
            except asyncpg.UniqueViolationError:
                raise StaffExists(member.name) from None

        await self._write_conn(job)

    async def get_staff(self, name: str) -> StaffMember | None:
        async def job(conn: Connection) -> StaffMember | None:
            row = await conn.fetchrow(f"SELECT {STAFF_COLUMNS} FROM staff WHERE name = $1", name)
            return _member(row) if row else None

        return await self._read_conn(job)

    async def list_staff(self) -> list[StaffMember]:
        async def job(conn: Connection) -> list[StaffMember]:
            rows = await conn.fetch(f"SELECT {STAFF_COLUMNS} FROM staff ORDER BY seq")
            return [_member(row) for row in rows]

        return await self._read_conn(job)

    async def set_staff_disabled(self, name: str, disabled_ms: int | None) -> StaffMember | None:
        async def job(conn: Connection) -> StaffMember | None:
            row = await conn.fetchrow(
                "UPDATE staff SET disabled_ms = CASE WHEN $1::bigint IS NULL THEN NULL"
                f" ELSE COALESCE(disabled_ms, $1) END WHERE name = $2 RETURNING {STAFF_COLUMNS}",
                disabled_ms,
                name,
            )
            return _member(row) if row else None

        return await self._write_conn(job, idempotent=True, single_statement=True)

    async def create_staff_token(self, token: StaffToken) -> None:
        async def job(conn: Connection) -> None:
            await conn.execute(
                f"INSERT INTO staff_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5)",
                *dataclasses.astuple(token),
            )

        await self._write_conn(job)

    async def get_staff_token(self, token_id: str) -> tuple[StaffToken, StaffMember] | None:
        async def job(conn: Connection) -> tuple[StaffToken, StaffMember] | None:
            row = await conn.fetchrow(
                "SELECT t.token_id, t.staff_name, t.secret_hash, t.created_ms, t.revoked_ms,"
                " s.name, s.email, s.role, s.created_ms, s.disabled_ms"
                " FROM staff_tokens t JOIN staff s ON s.name = t.staff_name"
                " WHERE t.token_id = $1",
                token_id,
            )
            if row is None:
                return None
            values = tuple(row)
            return _token(values[:5]), _member(values[5:])

        return await self._read_conn(job)

    async def list_staff_tokens(self, staff_name: str | None = None) -> list[StaffToken]:
        async def job(conn: Connection) -> list[StaffToken]:
            rows = await conn.fetch(
                f"SELECT {TOKEN_COLUMNS} FROM staff_tokens"
                " WHERE $1::text IS NULL OR staff_name = $1 ORDER BY seq",
                staff_name,
            )
            return [_token(row) for row in rows]

        return await self._read_conn(job)

    async def revoke_staff_token(self, token_id: str, now_ms: int) -> StaffToken | None:
        async def job(conn: Connection) -> StaffToken | None:
            row = await conn.fetchrow(
                "UPDATE staff_tokens SET revoked_ms = COALESCE(revoked_ms, $1)"
                f" WHERE token_id = $2 RETURNING {TOKEN_COLUMNS}",
                now_ms,
                token_id,
            )
            return _token(row) if row else None

        return await self._write_conn(job, idempotent=True, single_statement=True)

    # --- cases as staff see them ------------------------------------------------------

    async def staff_get_case(
        self, case_id: str | None = None, seq: int | None = None
    ) -> StaffCase | None:
        key: str | int
        if case_id is not None:
            where, key = "c.case_id = $1", case_id
        elif seq is not None:
            where, key = "c.seq = $1", seq
        else:
            return None
        return await self._read_conn(lambda conn: _select_staff_case(conn, where, key))

    async def staff_list_cases(self, query: StaffCaseQuery) -> list[StaffCase]:
        arg = _Args()
        where = _filters(query, arg)
        if query.sort == staff.SORT_CREATED:
            if query.after is not None:
                where.append(f"c.seq < {arg(query.after[0])}")
            source = "cases c LEFT JOIN case_work w ON w.seq = c.seq"
            order = "c.seq DESC"
        elif staff.clockless(query.statuses):
            # No running clocks: due-time order is seq order (staff.CLOCKLESS_STATUSES).
            if query.after is not None:
                where.append(f"c.seq > {arg(query.after[1])}")
            source = "cases c JOIN case_work w ON w.seq = c.seq"
            order = "c.seq"
        else:
            if query.after is not None:
                due, seq = query.after
                where.append(f"({DUE_KEY}, w.seq) > ({arg(due)}::bigint, {arg(seq)}::bigint)")
            source = "case_work w JOIN cases c ON c.seq = w.seq"
            order = f"{DUE_KEY}, w.seq"
        sql = (
            f"SELECT {STAFF_CASE_COLUMNS} FROM {source}"
            f"{' WHERE ' + ' AND '.join(where) if where else ''}"
            f" ORDER BY {order} LIMIT {arg(query.limit)}"
        )

        async def job(conn: Connection) -> list[StaffCase]:
            return [_staff_case(tuple(row)) for row in await conn.fetch(sql, *arg.values)]

        return await self._read_conn(job)

    async def case_thread(self, case_seq: int) -> list[ThreadEntry]:
        async def job(conn: Connection) -> list[ThreadEntry]:
            rows = await conn.fetch(
                "SELECT m.seq, m.created_ms, m.body, m.submitted_by, m.author_kind,"
                " r.staff_name FROM communications m LEFT JOIN support_replies r"
                " ON r.seq = m.seq WHERE m.case_seq = $1 ORDER BY m.seq",
                case_seq,
            )
            return [ThreadEntry(*row) for row in rows]

        return await self._read_conn(job)

    async def case_notes(self, case_seq: int) -> list[Note]:
        async def job(conn: Connection) -> list[Note]:
            rows = await conn.fetch(
                "SELECT seq, created_ms, staff_name, body FROM case_notes WHERE case_seq = $1"
                " ORDER BY seq",
                case_seq,
            )
            return [Note(*row) for row in rows]

        return await self._read_conn(job)

    async def case_history(self, case_seq: int) -> list[HistoryEvent]:
        async def job(conn: Connection) -> list[HistoryEvent]:
            rows = await conn.fetch(
                "SELECT at_ms, actor, kind, from_value, to_value FROM ("
                " SELECT at_ms, actor, $2::text AS kind, from_status AS from_value,"
                "  to_status AS to_value, 1 AS rank, seq FROM case_events WHERE case_seq = $1"
                " UNION ALL"
                " SELECT at_ms, actor, $3::text, from_staff, to_staff, 0, seq"
                "  FROM case_assignments WHERE case_seq = $1"
                ") history ORDER BY at_ms, rank, seq",
                case_seq,
                staff.STATUS_EVENT,
                staff.ASSIGNMENT_EVENT,
            )
            return [HistoryEvent(*row) for row in rows]

        return await self._read_conn(job)

    # --- changes ------------------------------------------------------------------

    async def apply_staff_action(
        self, case_seq: int, action: StaffAction
    ) -> tuple[StaffCase, Outcome] | None:
        async def job(conn: Connection) -> tuple[StaffCase, Outcome] | None:
            current = await _lock_staff_case(conn, case_seq)
            if current is None:
                return None
            outcome = staff.decide(current, action)
            await _write_outcome(conn, current, action, outcome)
            case = dataclasses.replace(
                current.case, status=outcome.status, resolved_ms=outcome.resolved_ms
            )
            return StaffCase(case, outcome.work), outcome

        return await self._write_conn(job)

    async def auto_resolve(self, pending_before_ms: int, now_ms: int, limit: int) -> list[str]:
        async def job(conn: Connection) -> list[str]:
            # Lock what is due, skipping cases another node (or a reply) holds; then, in
            # a new statement that sees every commit up to now, resolve those still due.
            locked = await conn.fetch(
                "SELECT c.seq FROM case_work w JOIN cases c ON c.seq = w.seq"
                " WHERE w.pending_since_ms < $1 AND c.status = $2"
                " ORDER BY w.pending_since_ms LIMIT $3 FOR UPDATE OF c SKIP LOCKED",
                pending_before_ms,
                lifecycle.PENDING_CUSTOMER_ACTION,
                limit,
            )
            if not locked:
                return []
            rows = await conn.fetch(
                "UPDATE cases c SET status = $1, is_open = FALSE, resolved_ms = $2"
                " FROM case_work w WHERE c.seq = ANY($3::bigint[]) AND w.seq = c.seq"
                " AND c.status = $4 AND w.pending_since_ms < $5 RETURNING c.seq, c.case_id",
                lifecycle.RESOLVED,
                now_ms,
                [row[0] for row in locked],
                lifecycle.PENDING_CUSTOMER_ACTION,
                pending_before_ms,
            )
            seqs = [row[0] for row in rows]
            await conn.execute(
                "UPDATE case_work SET sla_target = NULL, sla_due_ms = NULL,"
                " sla_remaining_ms = NULL, pending_since_ms = NULL WHERE seq = ANY($1::bigint[])",
                seqs,
            )
            await conn.executemany(
                "INSERT INTO case_events (case_seq, at_ms, actor, from_status, to_status)"
                " VALUES ($1, $2, $3, $4, $5)",
                [
                    (
                        seq,
                        now_ms,
                        staff.AUTO_RESOLVE_ACTOR,
                        lifecycle.PENDING_CUSTOMER_ACTION,
                        lifecycle.RESOLVED,
                    )
                    for seq in seqs
                ],
            )
            return [row[1] for row in rows]

        return await self._write_conn(job)

    # --- search -------------------------------------------------------------------------

    async def index_search(self) -> int:
        # The tsvector columns are kept by PostgreSQL in the writing transaction.
        return 0

    async def search_cases(self, query: SearchQuery) -> list[SearchHit]:
        highlight_arg = _Args()
        highlight_query = _tsquery(query.terms, highlight_arg)

        async def job(conn: Connection) -> list[SearchHit]:
            if query.account_id is None and query.statuses is None:
                found = await _search_best(conn, query)
            else:
                found = await _search_filtered(conn, query)
            if not found:
                return []
            seqs = [case.case.seq for _, case in found]
            highlights = await _highlights(conn, highlight_query, highlight_arg, seqs)
            return [
                SearchHit(case, score, tuple(highlights.get(case.case.seq, ())))
                for score, case in found
            ]

        return await self._read_conn(job)


async def _search_best(conn: Connection, query: SearchQuery) -> list[tuple[float, StaffCase]]:
    """Without filters: the best-ranked matches of each index, more until they decide
    the page (search.rank_cases); no grouping or joining of every match."""
    arg = _Args()
    tsquery = _tsquery(query.terms, arg)
    size_arg = arg(0)
    comms_sql = (
        f"WITH q AS (SELECT {tsquery} AS query)"
        " SELECT m.case_seq, ts_rank(m.body_tsv, q.query) AS score FROM communications m, q"
        f" WHERE m.body_tsv @@ q.query ORDER BY score DESC LIMIT {size_arg}"
    )
    # A word in the subject weighs twice as much as one in a message.
    subjects_sql = (
        f"WITH q AS (SELECT {tsquery} AS query)"
        " SELECT c.seq, 2 * ts_rank(c.subject_tsv, q.query) AS score FROM cases c, q"
        f" WHERE c.subject_tsv @@ q.query ORDER BY score DESC LIMIT {size_arg}"
    )
    wanted = query.offset + query.limit
    size = max(SEARCH_BATCH, 4 * wanted)
    values = arg.values
    while True:
        values[-1] = size
        comms = [(row[0], float(row[1])) for row in await conn.fetch(comms_sql, *values)]
        subjects = [(row[0], float(row[1])) for row in await conn.fetch(subjects_sql, *values)]
        ranked, complete = search.rank_cases(
            comms, subjects, len(comms) < size, len(subjects) < size
        )
        if complete or len(ranked) >= wanted:
            break
        if size >= MAX_SEARCH_BATCH:
            # Many equal scores at the cut (or a page far down): rank every match.
            return await _search_filtered(conn, query)
        size *= 4
    page = ranked[query.offset : wanted]
    if not page:
        return []
    rows = await conn.fetch(
        f"SELECT {STAFF_CASE_COLUMNS} FROM cases c LEFT JOIN case_work w ON w.seq = c.seq"
        " WHERE c.seq = ANY($1::bigint[])",
        [seq for seq, _ in page],
    )
    cases = {case.case.seq: case for case in (_staff_case(tuple(row)) for row in rows)}
    return [(score, cases[seq]) for seq, score in page if seq in cases]


async def _search_filtered(conn: Connection, query: SearchQuery) -> list[tuple[float, StaffCase]]:
    """Every match ranked, then filtered (and paged)."""
    arg = _Args()
    tsquery = _tsquery(query.terms, arg)
    where: list[str] = []
    if query.account_id is not None:
        where.append(f"c.account_id = {arg(query.account_id)}")
    if query.statuses is not None:
        where.append(f"c.status = ANY({arg(list(query.statuses))}::text[])")
    sql = (
        f"WITH q AS (SELECT {tsquery} AS query),"
        " hits (case_seq, score) AS ("
        "  SELECT m.case_seq, ts_rank(m.body_tsv, q.query) FROM communications m, q"
        "   WHERE m.body_tsv @@ q.query"
        "  UNION ALL"
        "  SELECT c.seq, 2 * ts_rank(c.subject_tsv, q.query) FROM cases c, q"
        "   WHERE c.subject_tsv @@ q.query"
        " ), best AS (SELECT case_seq, max(score) AS score FROM hits GROUP BY case_seq)"
        f" SELECT b.score, {STAFF_CASE_COLUMNS} FROM best b"
        " JOIN cases c ON c.seq = b.case_seq LEFT JOIN case_work w ON w.seq = c.seq"
        f"{' WHERE ' + ' AND '.join(where) if where else ''}"
        f" ORDER BY b.score DESC, c.seq DESC LIMIT {arg(query.limit)}"
        f" OFFSET {arg(query.offset)}"
    )
    return [
        (float(row[0]), _staff_case(tuple(row)[1:])) for row in await conn.fetch(sql, *arg.values)
    ]


async def _highlights(
    conn: Connection, tsquery: str, arg: _Args, case_seqs: list[int]
) -> dict[int, list[Highlight]]:
    result: dict[int, list[Highlight]] = {seq: [] for seq in case_seqs}
    seqs = arg(case_seqs)
    subject_options = arg(SUBJECT_OPTIONS)
    snippet_options = arg(SNIPPET_OPTIONS)
    rows = await conn.fetch(
        f"WITH q AS (SELECT {tsquery} AS query)"
        f" SELECT 0 AS kind, c.seq, NULL::bigint, 0::bigint, NULL::text,"
        f"  ts_headline('{TS_CONFIG}', c.subject, q.query, {subject_options}), 0::real"
        f" FROM cases c, q WHERE c.seq = ANY({seqs}::bigint[]) AND c.subject_tsv @@ q.query"
        " UNION ALL"
        " SELECT 1, m.case_seq, m.seq, m.created_ms, m.author_kind,"
        f"  ts_headline('{TS_CONFIG}', m.body, q.query, {snippet_options}),"
        "  ts_rank(m.body_tsv, q.query)"
        f" FROM communications m, q WHERE m.case_seq = ANY({seqs}::bigint[])"
        "  AND m.body_tsv @@ q.query"
        " ORDER BY 1, 7 DESC, 3 DESC",
        *arg.values,
    )
    for kind, case_seq, comm_seq, created_ms, author_kind, marked, _ in rows:
        found = result[case_seq]
        if kind == 0:
            found.append(Highlight(SUBJECT, marked))
        elif sum(h.field == COMMUNICATION for h in found) < HIGHLIGHTS_PER_CASE:
            found.append(Highlight(COMMUNICATION, marked, comm_seq, created_ms, author_kind))
    return result


async def _write_outcome(
    conn: Connection, current: StaffCase, action: StaffAction, outcome: Outcome
) -> None:
    seq = current.case.seq
    actor = staff.staff_actor(action.staff_name)
    if outcome.assignment is not None:
        before, after = outcome.assignment
        await conn.execute(
            "INSERT INTO case_assignments (case_seq, at_ms, actor, from_staff, to_staff)"
            " VALUES ($1, $2, $3, $4, $5)",
            seq,
            action.now_ms,
            actor,
            before,
            after,
        )
    if outcome.reply is not None:
        reply = outcome.reply
        await conn.execute(
            "WITH reply AS (INSERT INTO communications (case_seq, body, submitted_by,"
            " author_kind, cc_emails, created_ms) VALUES ($1, $2, $3, $4, '{}', $5)"
            " RETURNING seq)"
            " INSERT INTO support_replies (seq, staff_name) SELECT seq, $6 FROM reply",
            seq,
            reply.body,
            reply.submitted_by,
            reply.author_kind,
            reply.created_ms,
            action.staff_name,
        )
    if outcome.note is not None:
        await conn.execute(
            "INSERT INTO case_notes (case_seq, staff_name, body, created_ms)"
            " VALUES ($1, $2, $3, $4)",
            seq,
            action.staff_name,
            outcome.note,
            action.now_ms,
        )
    if outcome.status_change is not None:
        before_status, after_status = outcome.status_change
        await conn.execute(
            "UPDATE cases SET status = $1, is_open = $2, resolved_ms = $3 WHERE seq = $4",
            after_status,
            after_status != lifecycle.RESOLVED,
            outcome.resolved_ms,
            seq,
        )
        await insert_event(PostgresTx(conn), seq, action.now_ms, actor, before_status, after_status)
    if outcome.work != current.work:
        await save_work(PostgresTx(conn), seq, outcome.work)
