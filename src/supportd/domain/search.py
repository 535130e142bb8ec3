"""Full-text search over case subjects and communications, the same on both stores.

The query language is small on purpose, so that SQLite (FTS5) and PostgreSQL
(tsvector) answer it alike: words (all must occur), "quoted phrases" (the words in that
order) and -excluded words or phrases. Matching is per document: a case matches when its
subject, or one of its communications, holds every required term. Words are stemmed
(English): `restarting` finds `restart`.

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


def rank_cases(
    communication_hits: Sequence[tuple[int, float]],
    subject_hits: Sequence[tuple[int, float]],
    communications_complete: bool,
    subjects_complete: bool,
) -> tuple[list[tuple[int, float]], bool]:
    """Cases ranked by their best hit, from the best hits of each index.

    Each list holds (case seq, score) of the best-scoring documents of one index, best
    first; `*_complete` says the list holds every match of that index. A hit left out
    scores at most the last one kept, so every case whose best score beats both lists'
    last (incomplete) scores is ranked exactly: those come back, best first (ties:
    newest case first), with whether that is every matching case. Otherwise fetch
    longer lists and rank again.
    """
    floor = -math.inf
    if not communications_complete and communication_hits:
        floor = max(floor, communication_hits[-1][1])
    if not subjects_complete and subject_hits:
        floor = max(floor, subject_hits[-1][1])
    best: dict[int, float] = {}
    for seq, score in (*communication_hits, *subject_hits):
        if score > best.get(seq, -math.inf):
            best[seq] = score
    ranked = sorted(best.items(), key=lambda item: (-item[1], -item[0]))
    complete = floor == -math.inf
    return (ranked if complete else [item for item in ranked if item[1] > floor]), complete
