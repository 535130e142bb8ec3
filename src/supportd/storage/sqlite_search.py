"""What SQLite does differently for search: FTS5 indexes, filled behind the writes.

The indexes are external-content FTS5 tables over the subject and body columns, filled
by `index_search` (search_progress holds the last seq indexed of each table; see
migration 0004): an FTS5 insert inside every write would triple CreateCase's cost.

An FTS5 index hands over its matches newest first (descending rowid) cheaply, however
many there are; bm25() is then computed for the rows read only. One care: bm25() counts
each term's matches over the whole index every time the index is entered anew (each
`rowid = ?` probe would), so it is only ever called within one pass over the index. A
search of one account with few cases starts from those cases' rows, and scores those
that match in one such pass; SQLite's planner cannot tell when that is cheaper (FTS5
gives it no estimate), so _walk_account decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from supportd.domain.search import MARK_END, MARK_START, Match, SearchQuery, Term
from supportd.storage.sql import Params, Tx
from supportd.storage.staff import Staff, search_filters

SNIPPET_TOKENS = 24
INDEX_BATCH = 2000  # rows of a table indexed per writer job
# A search of one account starts from the account's cases, rather than from the
# index's matches (newest first), when it has fewer cases than the index has matches,
# and fewer than this.
ACCOUNT_WALK_LIMIT = 50_000


@dataclass(frozen=True)
class _Index:
    """One FTS5 index: its table, and the content table and column it indexes."""

    fts: str
    content: str
    column: str


COMMUNICATIONS = _Index("communications_fts", "communications", "body")
SUBJECTS = _Index("cases_fts", "cases", "subject")

BEHIND_SQL = """
SELECT EXISTS (SELECT 1 FROM search_progress p WHERE p.upto < CASE p.name
    WHEN 'cases' THEN (SELECT COALESCE(MAX(seq), 0) FROM cases)
    ELSE (SELECT COALESCE(MAX(seq), 0) FROM communications) END)
"""
PROGRESS_SQL = "SELECT upto FROM search_progress WHERE name = $1"
SET_PROGRESS_SQL = "UPDATE search_progress SET upto = $1 WHERE name = $2"
ACCOUNT_CASES_SQL = "SELECT COUNT(*) FROM (SELECT 1 FROM cases WHERE account_id = $1 LIMIT $2)"
MARKED_SUBJECTS_SQL = (
    "SELECT rowid, highlight(cases_fts, 0, $2, $3) FROM cases_fts"
    " WHERE cases_fts MATCH $1 AND rowid = ANY($4::bigint[])"
)
MARKED_COMMUNICATIONS_SQL = (
    "SELECT m.seq, m.created_ms, m.author_kind,"
    f" snippet(communications_fts, 0, $2, $3, '…', {SNIPPET_TOKENS})"
    " FROM communications_fts JOIN communications m ON m.seq = communications_fts.rowid"
    " WHERE communications_fts MATCH $1 AND communications_fts.rowid = ANY($4::bigint[])"
)


def fts_query(terms: Sequence[Term]) -> str:
    """FTS5 syntax. Words are letters and digits only (search.parse), so quoting each
    term as a phrase leaves nothing to escape."""
    positive = " AND ".join(f'"{t.text}"' for t in terms if not t.exclude)
    negative = "".join(f' NOT "{t.text}"' for t in terms if t.exclude)
    return f"({positive}){negative}"


def _index_walk_sql(index: _Index, query: SearchQuery) -> tuple[str, list[object]]:
    """The newest matches that pass the filters, walking the index; scored in the same
    pass."""
    arg = Params(fts_query(query.terms))
    filters = search_filters(query, arg)
    if index is COMMUNICATIONS:
        join = " JOIN communications m ON m.seq = communications_fts.rowid"
        join += " JOIN cases c ON c.seq = m.case_seq" if filters else ""
        case_seq = "m.case_seq"
    else:
        join = " JOIN cases c ON c.seq = cases_fts.rowid" if filters else ""
        case_seq = "cases_fts.rowid"
    sql = (
        f"SELECT {index.fts}.rowid, {case_seq}, -bm25({index.fts})"
        f" FROM {index.fts}{join} WHERE {' AND '.join([f'{index.fts} MATCH $1', *filters])}"
        f" ORDER BY {index.fts}.rowid DESC LIMIT {arg(query.fetch_size)}"
    )
    return sql, arg.values


def _account_documents_sql(index: _Index, query: SearchQuery) -> tuple[str, list[object]]:
    """The documents of the account's cases that pass the filters (no index read)."""
    arg = Params()
    where = " AND ".join(search_filters(query, arg))
    if index is COMMUNICATIONS:
        sql = (
            "SELECT m.seq, c.seq FROM cases c JOIN communications m ON m.case_seq = c.seq"
            f" WHERE {where}"
        )
    else:
        sql = f"SELECT c.seq, c.seq FROM cases c WHERE {where}"
    return sql, arg.values


def _scores_sql(index: _Index) -> str:
    """The newest matches among some rows, scored, in one pass over the index's matches
    (newest first) between two rowids."""
    return (
        f"SELECT rowid, -bm25({index.fts}) FROM {index.fts} WHERE {index.fts} MATCH $1"
        " AND rowid BETWEEN $2 AND $3 AND +rowid = ANY($4::bigint[])"
        " ORDER BY rowid DESC LIMIT $5"
    )


async def _matches(tx: Tx, index: _Index, query: SearchQuery) -> list[Match]:
    if query.account_id is not None and await _walk_account(tx, index, query):
        sql, args = _account_documents_sql(index, query)
        cases = {row[0]: row[1] for row in await tx.fetch(sql, *args)}
        if not cases:
            return []
        docs = sorted(cases)
        rows = await tx.fetch(
            _scores_sql(index), fts_query(query.terms), docs[0], docs[-1], docs, query.fetch_size
        )
        return [Match(row[0], cases[row[0]], row[1]) for row in rows]
    sql, args = _index_walk_sql(index, query)
    return [Match(*row) for row in await tx.fetch(sql, *args)]


async def _walk_account(tx: Tx, index: _Index, query: SearchQuery) -> bool:
    """Whether to start from the account's cases rather than from the index: when the
    account has fewer cases than the index has matches, and not too many (each counted
    only that far, so deciding costs at most twice the cheaper walk)."""
    cases = await tx.fetchval(ACCOUNT_CASES_SQL, query.account_id, ACCOUNT_WALK_LIMIT)
    if cases >= ACCOUNT_WALK_LIMIT:
        return False
    matches = await tx.fetchval(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {index.fts} WHERE {index.fts} MATCH $1 LIMIT $2)",
        fts_query(query.terms),
        cases + 1,
    )
    return bool(matches > cases)


async def _index_batch(tx: Tx) -> int:
    """Index up to INDEX_BATCH new rows of each table; the most indexed of one table."""
    most = 0
    for index in (SUBJECTS, COMMUNICATIONS):
        upto = await tx.fetchval(PROGRESS_SQL, index.content)
        rows = await tx.fetch(
            f"SELECT seq, {index.column} FROM {index.content} WHERE seq > $1 ORDER BY seq LIMIT $2",
            upto,
            INDEX_BATCH,
        )
        if rows:
            await tx.executemany(
                f"INSERT INTO {index.fts} (rowid, {index.column}) VALUES ($1, $2)", rows
            )
            await tx.execute(SET_PROGRESS_SQL, rows[-1][0], index.content)
            most = max(most, len(rows))
    return most


class SQLiteSearch(Staff):
    async def index_search(self) -> int:
        """Index the subjects and communications committed since the last time."""
        if not await self._read(lambda tx: tx.fetchval(BEHIND_SQL)):
            return 0
        total = 0
        while True:
            indexed = await self._write(_index_batch)
            total += indexed
            if indexed < INDEX_BATCH:
                return total

    async def _communication_matches(self, tx: Tx, query: SearchQuery) -> list[Match]:
        return await _matches(tx, COMMUNICATIONS, query)

    async def _subject_matches(self, tx: Tx, query: SearchQuery) -> list[Match]:
        return await _matches(tx, SUBJECTS, query)

    async def _marked_subjects(
        self, tx: Tx, terms: Sequence[Term], case_seqs: list[int]
    ) -> list[tuple[int, str]]:
        rows = await tx.fetch(
            MARKED_SUBJECTS_SQL, fts_query(terms), MARK_START, MARK_END, case_seqs
        )
        return [(row[0], row[1]) for row in rows]

    async def _marked_communications(
        self, tx: Tx, terms: Sequence[Term], comm_seqs: list[int]
    ) -> list[tuple[int, int, str, str]]:
        rows = await tx.fetch(
            MARKED_COMMUNICATIONS_SQL, fts_query(terms), MARK_START, MARK_END, comm_seqs
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]
