"""What PostgreSQL does differently for search: stored tsvector columns under GIN
indexes, kept in the writing transaction (nothing to catch up), ts_rank and ts_headline.

The newest matches are read window by window, newest first: the documents whose seq is
within WINDOW of the newest; if they held too few, a window as wide as the matches found
so far say the rest needs; then, if still short, everything older. Within a window the
planner's choice, which the tsquery's statistics guide, is cheap whatever the word: a
backward walk of the primary key for a common word (it stops at the LIMIT); for a rarer
one the GIN index ANDed with a BRIN index on seq (migration 0013), which fetches only
the window's matches. Without windows a word in about one document in 100 to 200 cost
either a walk past 100,000 rows that do not match or a fetch and sort of every match in
the table (at 1,000,000 cases: 27 ms for a subject word in 0.8% of cases, 20 ms for two
words both in 0.6% of messages; 8 ms and 10 ms so). A rare word pays for it: two
statements instead of one (2.6 -> 6 ms). ts_rank is computed outside the LIMITed
subquery, so only for the rows handed over.
"""

from __future__ import annotations

import math
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


# The first window: how many of the newest documents (by seq) are searched first. A word
# in one document in 200 finds search.CANDIDATES matches in it.
WINDOW = 200_000
# The next window holds this many times the documents the matches so far say it needs.
WINDOW_MARGIN = 1.5


def _matches_sql(
    query: SearchQuery, communications: bool, window: tuple[int | None, int | None], limit: int
) -> tuple[str, list[object]]:
    """The newest `limit` matches that pass the filters with newer_than < seq <=
    up_to (each bound only if given), scored."""
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
    newer_than, up_to = window
    where += arg.given((f"{order} > {{}}", newer_than), (f"{order} <= {{}}", up_to))
    sql = (
        f"SELECT s.seq, s.case_seq, ts_rank(s.tsv, {q}) FROM ({inner}"
        f" WHERE {' AND '.join(where)} ORDER BY {order} DESC LIMIT {arg(limit)}) s"
        " ORDER BY s.seq DESC"
    )
    return sql, arg.values


async def _newest_matches(
    tx: Tx, query: SearchQuery, communications: bool, first_window: int
) -> list[Match]:
    """Up to query.fetch_size matches, newest first, read window by window (see the
    module)."""
    table = "communications" if communications else "cases"
    newest = await tx.fetchval(f"SELECT MAX(seq) FROM {table}")
    if newest is None:
        return []
    found: list[Match] = []
    up_to: int | None = None
    width: int | None = first_window
    while True:
        top = newest if up_to is None else up_to
        newer_than = top - width if width is not None and top - width > 0 else None
        need = query.fetch_size - len(found)
        sql, args = _matches_sql(query, communications, (newer_than, up_to), need)
        found += [Match(row[0], row[1], float(row[2])) for row in await tx.fetch(sql, *args)]
        if len(found) >= query.fetch_size or newer_than is None:
            return found
        # What the windows read so far held says how many documents the rest needs; with
        # no match yet, nothing does: the rest in one go (the planner's choice, as for a
        # rare word).
        read = newest - newer_than
        width = (
            math.ceil((query.fetch_size - len(found)) * read / len(found) * WINDOW_MARGIN)
            if found
            else None
        )
        up_to = newer_than


class PostgresSearch(Staff):
    # The first window's width (WINDOW); tests make it small to read many windows.
    search_window = WINDOW

    async def index_search(self) -> int:
        # The tsvector columns are kept by PostgreSQL in the writing transaction.
        return 0

    async def _communication_matches(self, tx: Tx, query: SearchQuery) -> list[Match]:
        return await _newest_matches(tx, query, True, self.search_window)

    async def _subject_matches(self, tx: Tx, query: SearchQuery) -> list[Match]:
        return await _newest_matches(tx, query, False, self.search_window)

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
