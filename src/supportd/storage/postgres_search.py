"""What PostgreSQL does differently for search: stored tsvector columns under GIN
indexes, kept in the writing transaction (nothing to catch up), ts_rank and ts_headline.

The newest matches come from the planner's choice, which the tsquery's statistics
guide (each search is planned with its own words): a backward walk of the primary key
for a common word, the GIN index then a sort of its few matches for a rare one. ts_rank
is computed outside the LIMITed subquery, so only for the rows handed over.
"""

from __future__ import annotations

from collections.abc import Sequence

from supportd.domain.search import MARK_END, MARK_START, Match, SearchQuery, Term
from supportd.storage.sql import Params, Tx
from supportd.storage.staff import Staff, search_filters

TS_CONFIG = "english"
# ts_headline's options: the same marks and about the same length as SQLite's snippet().
SNIPPET_OPTIONS = (
    f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=24, MinWords=12,'
    ' MaxFragments=2, FragmentDelimiter=" … "'
)
SUBJECT_OPTIONS = f'StartSel="{MARK_START}", StopSel="{MARK_END}", HighlightAll=true'


def tsquery(terms: Sequence[Term], arg: Params) -> str:
    """The search terms as one tsquery expression: phrases joined with && (and !!)."""
    parts = [
        f"({'!! ' if t.exclude else ''}phraseto_tsquery('{TS_CONFIG}', {arg(t.text)}))"
        for t in sorted(terms, key=lambda t: t.exclude)
    ]
    return " && ".join(parts)


def _matches_sql(query: SearchQuery, communications: bool) -> tuple[str, list[object]]:
    arg = Params()
    q = tsquery(query.terms, arg)
    filters = search_filters(query, arg)
    if communications:
        inner = "SELECT m.seq, m.case_seq, m.body_tsv AS tsv FROM communications m"
        inner += " JOIN cases c ON c.seq = m.case_seq" if filters else ""
        where = [f"m.body_tsv @@ ({q})", *filters]
        order = "m.seq"
    else:
        inner = "SELECT c.seq, c.seq AS case_seq, c.subject_tsv AS tsv FROM cases c"
        where = [f"c.subject_tsv @@ ({q})", *filters]
        order = "c.seq"
    sql = (
        f"SELECT s.seq, s.case_seq, ts_rank(s.tsv, {q}) FROM ({inner}"
        f" WHERE {' AND '.join(where)} ORDER BY {order} DESC LIMIT {arg(query.fetch_size)}) s"
        " ORDER BY s.seq DESC"
    )
    return sql, arg.values


class PostgresSearch(Staff):
    async def index_search(self) -> int:
        # The tsvector columns are kept by PostgreSQL in the writing transaction.
        return 0

    async def _communication_matches(self, tx: Tx, query: SearchQuery) -> list[Match]:
        sql, args = _matches_sql(query, communications=True)
        return [Match(row[0], row[1], float(row[2])) for row in await tx.fetch(sql, *args)]

    async def _subject_matches(self, tx: Tx, query: SearchQuery) -> list[Match]:
        sql, args = _matches_sql(query, communications=False)
        return [Match(row[0], row[1], float(row[2])) for row in await tx.fetch(sql, *args)]

    async def _marked_subjects(
        self, tx: Tx, terms: Sequence[Term], case_seqs: list[int]
    ) -> list[tuple[int, str]]:
        arg = Params(case_seqs, SUBJECT_OPTIONS)
        sql = (
            f"SELECT seq, ts_headline('{TS_CONFIG}', subject, {tsquery(terms, arg)}, $2)"
            " FROM cases WHERE seq = ANY($1::bigint[])"
        )
        return [(row[0], row[1]) for row in await tx.fetch(sql, *arg.values)]

    async def _marked_communications(
        self, tx: Tx, terms: Sequence[Term], comm_seqs: list[int]
    ) -> list[tuple[int, int, str, str]]:
        arg = Params(comm_seqs, SNIPPET_OPTIONS)
        sql = (
            "SELECT seq, created_ms, author_kind,"
            f" ts_headline('{TS_CONFIG}', body, {tsquery(terms, arg)}, $2)"
            " FROM communications WHERE seq = ANY($1::bigint[])"
        )
        return [(row[0], row[1], row[2], row[3]) for row in await tx.fetch(sql, *arg.values)]
