"""The support side, on both stores: staff and tokens, cases across accounts, staff
actions, auto-resolve, and the shared half of full-text search.

Search is bounded (domain.search): each index hands over at most `fetch_size` matches,
newest first, that pass the filters; domain.search ranks them, says whether they were
cut and which communications to highlight; then the page's cases are read here. Only
the index work differs per dialect (FTS5 on SQLite, tsvector under GIN on PostgreSQL):
finding the matches with their scores, and marking the matches in a text. Those are the
abstract methods at the end of Staff, implemented in sqlite_search and postgres_search.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import msgspec

from supportd.domain import lifecycle, search, staff
from supportd.domain.search import (
    COMMUNICATION,
    SUBJECT,
    Highlight,
    Match,
    SearchHit,
    SearchQuery,
    SearchResults,
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
from supportd.storage import outbox
from supportd.storage.case_work import WORK_COLUMN_COUNT, WORK_COLUMNS, save_work, work_from_row
from supportd.storage.cases import (
    INSERT_EVENT_SQL,
    case_from_row,
    insert_communication,
    insert_event,
)
from supportd.storage.rows import CASE_COLUMNS
from supportd.storage.sql import Params, SqlStore, Tx, UniqueViolation

STAFF_COLUMNS = "name, email, role, created_ms, disabled_ms"
TOKEN_COLUMNS = "token_id, staff_name, secret_hash, created_ms, revoked_ms"  # noqa: S105
# The case's columns (as the cases area reads them) then the support side's.
CASE_FIELDS = [column.strip() for column in CASE_COLUMNS.split(",")]
STAFF_CASE_COLUMNS = ", ".join(f"c.{column}" for column in CASE_FIELDS) + ", " + WORK_COLUMNS
STAFF_CASE_SOURCE = "cases c LEFT JOIN case_work w ON w.seq = c.seq"
DUE_KEY = f"COALESCE(w.sla_due_ms, {staff.NO_DUE})"

INSERT_STAFF_SQL = f"INSERT INTO staff ({STAFF_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
SELECT_STAFF_SQL = f"SELECT {STAFF_COLUMNS} FROM staff WHERE name = $1"
LIST_STAFF_SQL = f"SELECT {STAFF_COLUMNS} FROM staff ORDER BY seq"
DISABLE_STAFF_SQL = (
    "UPDATE staff SET disabled_ms = CASE WHEN $1::bigint IS NULL THEN NULL"
    f" ELSE COALESCE(disabled_ms, $1) END WHERE name = $2 RETURNING {STAFF_COLUMNS}"
)
INSERT_TOKEN_SQL = f"INSERT INTO staff_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
SELECT_TOKEN_SQL = (
    "SELECT t.token_id, t.staff_name, t.secret_hash, t.created_ms, t.revoked_ms,"  # noqa: S105
    " s.name, s.email, s.role, s.created_ms, s.disabled_ms"
    " FROM staff_tokens t JOIN staff s ON s.name = t.staff_name WHERE t.token_id = $1"
)
LIST_TOKENS_SQL = (
    f"SELECT {TOKEN_COLUMNS} FROM staff_tokens"
    " WHERE $1::text IS NULL OR staff_name = $1 ORDER BY seq"
)
REVOKE_TOKEN_SQL = (
    "UPDATE staff_tokens SET revoked_ms = COALESCE(revoked_ms, $1)"
    f" WHERE token_id = $2 RETURNING {TOKEN_COLUMNS}"
)

SELECT_BY_ID_SQL = f"SELECT {STAFF_CASE_COLUMNS} FROM {STAFF_CASE_SOURCE} WHERE c.case_id = $1"
SELECT_BY_SEQ_SQL = f"SELECT {STAFF_CASE_COLUMNS} FROM {STAFF_CASE_SOURCE} WHERE c.seq = $1"
SELECT_BY_SEQS_SQL = (
    f"SELECT {STAFF_CASE_COLUMNS} FROM {STAFF_CASE_SOURCE} WHERE c.seq = ANY($1::bigint[])"
)
LOCK_CASE_SQL = "SELECT seq FROM cases WHERE seq = $1 FOR UPDATE"
THREAD_SQL = (
    "SELECT m.seq, m.created_ms, m.body, m.submitted_by, m.author_kind, r.staff_name"
    " FROM communications m LEFT JOIN support_replies r ON r.seq = m.seq"
    " WHERE m.case_seq = $1 ORDER BY m.seq"
)
NOTES_SQL = (
    "SELECT seq, created_ms, staff_name, body FROM case_notes WHERE case_seq = $1 ORDER BY seq"
)
HISTORY_SQL = """
SELECT at_ms, actor, kind, from_value, to_value FROM (
    SELECT at_ms, actor, $2::text AS kind, from_status AS from_value, to_status AS to_value,
        1 AS rank, seq
    FROM case_events WHERE case_seq = $1
    UNION ALL
    SELECT at_ms, actor, $3::text, from_staff, to_staff, 0, seq
    FROM case_assignments WHERE case_seq = $1
) history ORDER BY at_ms, rank, seq
"""

INSERT_ASSIGNMENT_SQL = (
    "INSERT INTO case_assignments (case_seq, at_ms, actor, from_staff, to_staff)"
    " VALUES ($1, $2, $3, $4, $5)"
)
INSERT_REPLY_AUTHOR_SQL = "INSERT INTO support_replies (seq, staff_name) VALUES ($1, $2)"
INSERT_NOTE_SQL = (
    "INSERT INTO case_notes (case_seq, staff_name, body, created_ms) VALUES ($1, $2, $3, $4)"
)
SET_STATUS_SQL = "UPDATE cases SET status = $1, is_open = $2, resolved_ms = $3 WHERE seq = $4"

# Auto-resolve: lock what is due, skipping cases another node (or a reply) holds; then,
# in a new statement that sees every commit up to now, resolve those still due.
# (SQLite: no row locks; its single writer runs the whole transaction alone.)
DUE_FOR_AUTO_RESOLVE_SQL = """
SELECT c.seq FROM case_work w JOIN cases c ON c.seq = w.seq
WHERE w.pending_since_ms IS NOT NULL AND w.pending_since_ms < $1 AND c.status = $2
ORDER BY w.pending_since_ms LIMIT $3
FOR UPDATE OF c SKIP LOCKED
"""
AUTO_RESOLVE_SQL = """
UPDATE cases SET status = $1, is_open = FALSE, resolved_ms = $2
WHERE seq = ANY($3::bigint[]) AND status = $4 AND EXISTS (
    SELECT 1 FROM case_work w WHERE w.seq = cases.seq AND w.pending_since_ms < $5)
RETURNING seq, case_id
"""
STOP_CLOCKS_SQL = (
    "UPDATE case_work SET sla_target = NULL, sla_due_ms = NULL, sla_remaining_ms = NULL,"
    " pending_since_ms = NULL WHERE seq = ANY($1::bigint[])"
)


def staff_case(row: Sequence[Any]) -> StaffCase:
    """A STAFF_CASE_COLUMNS row."""
    values = tuple(row)
    n = len(CASE_FIELDS)
    return StaffCase(case_from_row(values[:n]), work_from_row(values[n : n + WORK_COLUMN_COUNT]))


async def select_staff_case(tx: Tx, seq: int) -> StaffCase | None:
    row = await tx.fetchrow(SELECT_BY_SEQ_SQL, seq)
    return staff_case(row) if row else None


async def lock_staff_case(tx: Tx, seq: int) -> StaffCase | None:
    """The case with its row locked, as it is once the lock is held. (Locking and reading
    in one statement would re-read the locked case row after waiting, but not the
    case_work row joined to it: a reply waiting on another would miss its assignment.)"""
    if await tx.fetchval(LOCK_CASE_SQL, seq) is None:
        return None
    return await select_staff_case(tx, seq)


def _open_flag(statuses: tuple[str, ...] | None) -> bool | None:
    """True or False when the statuses are all open or all resolved (an index on
    is_open can use it); None otherwise."""
    if statuses is None:
        return None
    if all(s in lifecycle.OPEN_STATUSES for s in statuses):
        return True
    if all(s == lifecycle.RESOLVED for s in statuses):
        return False
    return None


def status_filters(statuses: tuple[str, ...] | None, arg: Params) -> list[str]:
    if statuses is None:
        return []
    where = [f"c.status = ANY({arg(list(statuses))}::text[])"]
    flag = _open_flag(statuses)
    if flag is not None:
        where.append(f"c.is_open = {'TRUE' if flag else 'FALSE'}")
    return where


def case_filters(query: StaffCaseQuery, arg: Params) -> list[str]:
    where = status_filters(query.statuses, arg)
    where += arg.given(
        ("c.account_id = {}", query.account_id),
        ("c.severity_code = {}", query.severity),
        ("c.service_code = {}", query.service_code),
        ("c.category_code = {}", query.category_code),
        ("c.language = {}", query.language),
        ("w.assignee = {}", query.assignee),
    )
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
    where += arg.given(
        ("c.created_ms >= {}", query.created_after_ms),
        ("c.created_ms <= {}", query.created_before_ms),
    )
    return where


def search_filters(query: SearchQuery, arg: Params) -> list[str]:
    """The search's filters on the case (alias `c`). Without is_open: no index of a
    search uses it, and PostgreSQL, taking it for independent of the status, would
    expect far too few cases."""
    statuses = None if query.statuses is None else list(query.statuses)
    return arg.given(
        ("c.status = ANY({}::text[])", statuses), ("c.account_id = {}", query.account_id)
    )


def list_cases_sql(query: StaffCaseQuery) -> tuple[str, list[Any]]:
    arg = Params()
    where = case_filters(query, arg)
    if query.sort == staff.SORT_CREATED:
        if query.after is not None:
            where.append(f"c.seq < {arg(query.after[0])}")
        source = STAFF_CASE_SOURCE
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
        if (
            query.sla_state == staff.SLA_NONE
            and _open_flag(query.statuses)
            and not query.account_id
        ):
            # Every case without a clock has the same due key: due-time order is seq
            # order, and open_cases_without_clock (migration 0012) holds just these.
            # (One account's cases are fewer still: the plan below starts from them.)
            if query.after is not None and query.after[0] >= staff.NO_DUE:
                where.append(f"o.seq > {arg(query.after[1])}")
            source = "open_cases_without_clock o CROSS JOIN case_work w CROSS JOIN cases c"
            where[:0] = ["w.seq = o.seq", "c.seq = o.seq"]
            sql = arg.page(
                f"SELECT {STAFF_CASE_COLUMNS} FROM {source}", where, "o.seq", query.limit
            )
            return sql, arg.values
        # Walk the due-time index in order and stop at the page's end, unless a filter
        # on an indexed column of the case narrows it far more. (CROSS JOIN keeps that
        # order on SQLite, whose planner would otherwise start from the cases; PostgreSQL
        # plans both forms alike.)
        join = "," if query.account_id is not None else " CROSS JOIN"
        source = f"case_work w{join} cases c"
        where.insert(0, "c.seq = w.seq")
        order = f"{DUE_KEY}, w.seq"
    sql = arg.page(f"SELECT {STAFF_CASE_COLUMNS} FROM {source}", where, order, query.limit)
    return sql, arg.values


class Staff(SqlStore):
    # --- staff and tokens ----------------------------------------------------------

    async def create_staff(self, member: StaffMember) -> None:
        """Insert a staff member; StaffExists if the name is taken."""

        async def job(tx: Tx) -> None:
            try:
                await tx.execute(INSERT_STAFF_SQL, *dataclasses.astuple(member))
            except UniqueViolation:
                raise staff.StaffExists(member.name) from None

        await self._write(job, single_statement=True)

    async def get_staff(self, name: str) -> StaffMember | None:
        """The staff member, disabled or not, or None."""
        row = await self._read(lambda tx: tx.fetchrow(SELECT_STAFF_SQL, name))
        return StaffMember(*row) if row else None

    async def list_staff(self) -> list[StaffMember]:
        """Every staff member, in creation order."""
        return [StaffMember(*row) for row in await self._read(lambda tx: tx.fetch(LIST_STAFF_SQL))]

    async def set_staff_disabled(self, name: str, disabled_ms: int | None) -> StaffMember | None:
        """Disable (a time) or enable (None) a staff member; the member afterwards, or
        None if there is no such member. Disabling keeps the first disabling time."""
        row = await self._write(
            lambda tx: tx.fetchrow(DISABLE_STAFF_SQL, disabled_ms, name),
            idempotent=True,
            single_statement=True,
        )
        return StaffMember(*row) if row else None

    async def create_staff_token(self, token: StaffToken) -> None:
        """Store a token (its hash); the staff member must exist."""
        await self._write(
            lambda tx: tx.execute(INSERT_TOKEN_SQL, *dataclasses.astuple(token)),
            single_statement=True,
        )

    async def get_staff_token(self, token_id: str) -> tuple[StaffToken, StaffMember] | None:
        """The token with this id and its staff member, in one look-up, or None."""
        row = await self._read(lambda tx: tx.fetchrow(SELECT_TOKEN_SQL, token_id))
        if row is None:
            return None
        values = tuple(row)
        return StaffToken(*values[:5]), StaffMember(*values[5:])

    async def list_staff_tokens(self, staff_name: str | None = None) -> list[StaffToken]:
        """The tokens of one staff member, or of all, in creation order."""
        rows = await self._read(lambda tx: tx.fetch(LIST_TOKENS_SQL, staff_name))
        return [StaffToken(*row) for row in rows]

    async def revoke_staff_token(self, token_id: str, now_ms: int) -> StaffToken | None:
        """Revoke a token (keeping the first revocation time); the token afterwards, or
        None if there is no such token."""
        row = await self._write(
            lambda tx: tx.fetchrow(REVOKE_TOKEN_SQL, now_ms, token_id),
            idempotent=True,
            single_statement=True,
        )
        return StaffToken(*row) if row else None

    # --- cases as staff see them ------------------------------------------------------

    async def staff_get_case(
        self, case_id: str | None = None, seq: int | None = None
    ) -> StaffCase | None:
        """A case of any account, by id or by sequence number (display id)."""
        if case_id is not None:
            return await self._record(staff_case, SELECT_BY_ID_SQL, case_id)
        if seq is not None:
            return await self._record(staff_case, SELECT_BY_SEQ_SQL, seq)
        return None

    async def staff_list_cases(self, query: StaffCaseQuery) -> list[StaffCase]:
        """Up to query.limit cases of every account, in the query's order."""
        sql, args = list_cases_sql(query)
        return await self._records(staff_case, sql, *args, scan=True)

    async def case_thread(self, case_seq: int) -> list[ThreadEntry]:
        """Every communication of the case, oldest first, with the staff member who wrote
        each support reply."""
        rows = await self._scan(lambda tx: tx.fetch(THREAD_SQL, case_seq))
        return [ThreadEntry(*row) for row in rows]

    async def case_notes(self, case_seq: int) -> list[Note]:
        """The case's internal notes, oldest first."""
        rows = await self._scan(lambda tx: tx.fetch(NOTES_SQL, case_seq))
        return [Note(*row) for row in rows]

    async def case_history(self, case_seq: int) -> list[HistoryEvent]:
        """Every status change and assignment of the case, oldest first."""
        rows = await self._scan(
            lambda tx: tx.fetch(HISTORY_SQL, case_seq, staff.STATUS_EVENT, staff.ASSIGNMENT_EVENT)
        )
        return [HistoryEvent(*row) for row in rows]

    # --- changes ------------------------------------------------------------------

    async def apply_staff_action(
        self, case_seq: int, action: StaffAction
    ) -> tuple[StaffCase, Outcome] | None:
        """Lock the case, let staff.decide say what the action does, and write it all in
        one transaction: status, resolution time, assignee, SLA clock, the reply (with
        its author) or note, and one history row per change. The case afterwards and the
        outcome; None if there is no such case; IllegalTransition (nothing written) if
        the lifecycle forbids it."""

        async def job(tx: Tx) -> tuple[StaffCase, Outcome] | None:
            current = await lock_staff_case(tx, case_seq)
            if current is None:
                return None
            outcome = staff.decide(current, action)
            reply_seq = await _write_outcome(tx, current, action, outcome)
            # Its notifications in the same transaction (notes and assignments have none).
            await outbox.record_staff_change(
                tx, current.case.seq, outcome, reply_seq, action.now_ms, self.events_need_a_webhook
            )
            case = msgspec.structs.replace(
                current.case, status=outcome.status, resolved_ms=outcome.resolved_ms
            )
            return StaffCase(case, outcome.work), outcome

        return await self._write(job)

    async def auto_resolve(self, pending_before_ms: int, now_ms: int, limit: int) -> list[str]:
        """Resolve up to `limit` cases still waiting on the customer since before
        pending_before_ms, each with a history row by the system; their case ids. A case
        is resolved once, however many nodes run this at the same time."""
        pending = lifecycle.PENDING_CUSTOMER_ACTION

        async def job(tx: Tx) -> list[str]:
            locked = await tx.fetch(DUE_FOR_AUTO_RESOLVE_SQL, pending_before_ms, pending, limit)
            if not locked:
                return []
            rows = await tx.fetch(
                AUTO_RESOLVE_SQL,
                lifecycle.RESOLVED,
                now_ms,
                [row[0] for row in locked],
                pending,
                pending_before_ms,
            )
            seqs = sorted(row[0] for row in rows)
            await tx.execute(STOP_CLOCKS_SQL, seqs)
            await tx.executemany(
                INSERT_EVENT_SQL,
                [
                    (seq, now_ms, staff.AUTO_RESOLVE_ACTOR, pending, lifecycle.RESOLVED)
                    for seq in seqs
                ],
            )
            await outbox.record_auto_resolved(tx, seqs, now_ms, self.events_need_a_webhook)
            case_ids = {row[0]: row[1] for row in rows}
            return [case_ids[row[0]] for row in locked if row[0] in case_ids]

        return await self._write(job)

    # --- search -------------------------------------------------------------------------

    async def search_cases(self, query: SearchQuery) -> SearchResults:
        # Everything committed before the search is searchable.
        """Cases whose subject or a communication matches, best first, with highlights
        (up to three communications per case), ranked from at most query.candidates
        matches of each index (newest first), and whether matches were left out for
        that (domain.search); everything committed before the call is searchable."""
        await self.index_search()

        async def job(tx: Tx) -> SearchResults:
            ranking = search.rank_matches(
                await self._communication_matches(tx, query),
                await self._subject_matches(tx, query),
                query.candidates,
            )
            page = ranking.page(query.offset, query.limit)
            if not page:
                return SearchResults([], ranking.truncated)
            seqs = [seq for seq, _ in page]
            cases = {
                found.case.seq: found
                for found in map(staff_case, await tx.fetch(SELECT_BY_SEQS_SQL, seqs))
            }
            highlights = await self._highlights(tx, query.terms, ranking, seqs)
            hits = [
                SearchHit(cases[seq], score, tuple(highlights[seq]))
                for seq, score in page
                if seq in cases
            ]
            return SearchResults(hits, ranking.truncated)

        return await self._scan(job)

    async def _highlights(
        self, tx: Tx, terms: Sequence[Term], ranking: search.Ranking, case_seqs: list[int]
    ) -> dict[int, list[Highlight]]:
        """The page's highlights: each case's subject if it matched, then its best
        matching communications (search.Ranking decides which)."""
        result: dict[int, list[Highlight]] = {seq: [] for seq in case_seqs}
        subjects = [seq for seq in case_seqs if seq in ranking.subject_matches]
        if subjects:
            marked_subjects = dict(await self._marked_subjects(tx, terms, subjects))
            for seq in subjects:
                if seq in marked_subjects:
                    result[seq].append(Highlight(SUBJECT, marked_subjects[seq]))
        chosen = [m for seq in case_seqs for m in ranking.highlighted_communications(seq)]
        if chosen:
            rows = await self._marked_communications(tx, terms, [m.doc_seq for m in chosen])
            marked = {row[0]: row for row in rows}
            for match in chosen:
                if match.doc_seq in marked:
                    _, created_ms, author_kind, text = marked[match.doc_seq]
                    result[match.case_seq].append(
                        Highlight(COMMUNICATION, text, match.doc_seq, created_ms, author_kind)
                    )
        return result

    # --- what each dialect's full-text index does (sqlite_search, postgres_search) ---

    async def index_search(self) -> int:
        """Bring the search index up to date with every committed subject and
        communication; how many rows of a table it indexed at most (0 where the index
        is kept in the writing transaction, as on PostgreSQL)."""
        raise NotImplementedError

    async def _communication_matches(self, tx: Tx, query: SearchQuery) -> list[Match]:
        """Up to query.fetch_size matching communications whose case passes the
        search's filters, newest first, scored (higher is better)."""
        raise NotImplementedError

    async def _subject_matches(self, tx: Tx, query: SearchQuery) -> list[Match]:
        """The same for subjects (doc_seq and case_seq are both the case's seq)."""
        raise NotImplementedError

    async def _marked_subjects(
        self, tx: Tx, terms: Sequence[Term], case_seqs: list[int]
    ) -> list[tuple[int, str]]:
        """(case seq, subject with its matches marked) of those cases."""
        raise NotImplementedError

    async def _marked_communications(
        self, tx: Tx, terms: Sequence[Term], comm_seqs: list[int]
    ) -> list[tuple[int, int, str, str]]:
        """(seq, created_ms, author_kind, snippet with its matches marked) of those
        communications."""
        raise NotImplementedError


async def _write_outcome(
    tx: Tx, current: StaffCase, action: StaffAction, outcome: Outcome
) -> int | None:
    """Write what the action does; the seq of the reply's communication, if it has one."""
    seq = current.case.seq
    actor = staff.staff_actor(action.staff_name)
    reply_seq: int | None = None
    if outcome.assignment is not None:
        before, after = outcome.assignment
        await tx.execute(INSERT_ASSIGNMENT_SQL, seq, action.now_ms, actor, before, after)
    if outcome.reply is not None:
        reply_seq = await insert_communication(tx, seq, outcome.reply)
        await tx.execute(INSERT_REPLY_AUTHOR_SQL, reply_seq, action.staff_name)
    if outcome.note is not None:
        await tx.execute(INSERT_NOTE_SQL, seq, action.staff_name, outcome.note, action.now_ms)
    if outcome.status_change is not None:
        before_status, after_status = outcome.status_change
        await tx.execute(
            SET_STATUS_SQL,
            after_status,
            after_status != lifecycle.RESOLVED,
            outcome.resolved_ms,
            seq,
        )
        await insert_event(tx, seq, action.now_ms, actor, before_status, after_status)
    if outcome.work != current.work:
        await save_work(tx, seq, outcome.work)
    return reply_seq
