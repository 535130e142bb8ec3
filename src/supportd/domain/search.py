"""Full-text search over case subjects and communications, the same on both stores.

The query language is small on purpose, so that SQLite (FTS5) and PostgreSQL
(tsvector) answer it alike: words (all must occur), "quoted phrases" (the words in that
order) and -excluded words or phrases. Matching is per document: a case matches when its
subject, or one of its communications, holds every required term. Words are stemmed
(English): `restarting` finds `restart`.

A search is bounded: each index (subjects, communications) hands over at most the
`candidates` newest matches that pass the filters, in its own order (newest first), and
only those are ranked. A word found in most messages therefore costs the same as a rare
one; when an index had more matches than that, the answer says the results were cut
(`truncated`): older matches were not considered, and more words or a filter narrow the
search. `rank_matches` decides the ranking, the cut and the highlights, for both stores.

Highlights come back from the stores with the matches between two private-use
characters; `split_marks` turns that into plain text and [start, end) offsets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from supportd.domain.staff import StaffCase

MAX_QUERY_CHARS = 500
MAX_TERMS = 16
# Matches ranked per index and query at most (k). A few milliseconds of index reading
# and scoring on either store, however common the words.
CANDIDATES = 1000
SUBJECT_WEIGHT = 2.0  # a word in the subject counts twice as much as one in a message
HIGHLIGHTS_PER_CASE = 3  # communications shown per case (besides its subject)
MARK_START = "\ue000"
MARK_END = "\ue001"
SUBJECT = "subject"
COMMUNICATION = "communication"

# A term: an optional minus, then a "quoted phrase" or a run of non-space characters.
_TERM = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
_WORD = re.compile(r"[^\W_]+")


class InvalidSearch(ValueError):
    """A search query that asks for nothing, or too much."""


@dataclass(frozen=True, slots=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase
    exclude: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.words)


def parse(query: str) -> tuple[Term, ...]:
    """The terms of a query; InvalidSearch if it has no word to look for."""
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidSearch(f"the query is longer than {MAX_QUERY_CHARS} characters")
    terms: list[Term] = []
    for match in _TERM.finditer(query):
        minus, phrase, bare = match.groups()
        # Only letters and digits count: punctuation means nothing to either index, and
        # keeping it out of the store's query syntax leaves nothing to escape wrongly.
        words = tuple(w.lower() for w in _WORD.findall(phrase if phrase is not None else bare))
        if words:
            terms.append(Term(words, exclude=bool(minus)))
    if not any(not t.exclude for t in terms):
        raise InvalidSearch("the query has no word to search for")
    if len(terms) > MAX_TERMS:
        raise InvalidSearch(f"the query has more than {MAX_TERMS} terms")
    return tuple(terms)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    terms: tuple[Term, ...]
    limit: int
    offset: int = 0
    account_id: str | None = None
    statuses: tuple[str, ...] | None = None  # None: every status
    candidates: int = CANDIDATES  # matches ranked per index at most (see the module)

    @property
    def fetch_size(self) -> int:
        """How many matches a store reads from each index: one more than it ranks, so
        that a cut is seen."""
        return self.candidates + 1


@dataclass(frozen=True, slots=True)
class Highlight:
    """A matching subject or communication, with its matches marked (MARK_START/END)."""

    field: str  # SUBJECT or COMMUNICATION
    marked: str
    communication_seq: int | None = None
    created_ms: int | None = None
    author_kind: str | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    case: StaffCase
    score: float  # higher is better; comparable within one search only
    highlights: tuple[Highlight, ...]


@dataclass(frozen=True, slots=True)
class SearchResults:
    hits: list[SearchHit]
    truncated: bool  # an index had more matches than were ranked (see the module)


@dataclass(frozen=True, slots=True)
class Match:
    """A matching document as an index hands it over: a subject (doc_seq is the case's
    seq) or a communication, with the store's score for it (higher is better)."""

    doc_seq: int
    case_seq: int
    score: float


@dataclass(frozen=True, slots=True)
class Ranking:
    cases: list[tuple[int, float]]  # (case seq, score), best first
    truncated: bool
    subject_matches: frozenset[int]  # cases whose subject was among the matches ranked
    communication_matches: dict[int, list[Match]]  # by case seq; best first

    def page(self, offset: int, limit: int) -> list[tuple[int, float]]:
        return self.cases[offset : offset + limit]

    def highlighted_communications(self, case_seq: int) -> list[Match]:
        """The communications of a case to show highlights of: its best matches."""
        return self.communication_matches.get(case_seq, [])[:HIGHLIGHTS_PER_CASE]


def split_marks(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Text without the marks, and the [start, end) offsets (in characters) of each
    marked match."""
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for char in marked:
        if char == MARK_START:
            start = length
        elif char == MARK_END:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            text.append(char)
            length += 1
    return "".join(text), spans


def rank_matches(
    communications: Sequence[Match], subjects: Sequence[Match], candidates: int
) -> Ranking:
    """Cases ranked by their best match, from at most `candidates` matches of each index.

    Each sequence is what one index handed over, newest first, up to `candidates + 1`
    long (SearchQuery.fetch_size): matches beyond `candidates` are not ranked, and their
    presence means the results were cut. A subject's score counts SUBJECT_WEIGHT times.
    Ties rank the newest case first.
    """
    truncated = len(communications) > candidates or len(subjects) > candidates
    best: dict[int, float] = {}
    by_case: dict[int, list[Match]] = {}
    for match in communications[:candidates]:
        by_case.setdefault(match.case_seq, []).append(match)
        if match.score > best.get(match.case_seq, -math.inf):
            best[match.case_seq] = match.score
    subject_cases = set()
    for match in subjects[:candidates]:
        subject_cases.add(match.case_seq)
        score = SUBJECT_WEIGHT * match.score
        if score > best.get(match.case_seq, -math.inf):
            best[match.case_seq] = score
    for matches in by_case.values():
        matches.sort(key=lambda m: (-m.score, -m.doc_seq))
    ranked = sorted(best.items(), key=lambda item: (-item[1], -item[0]))
    return Ranking(ranked, truncated, frozenset(subject_cases), by_case)
