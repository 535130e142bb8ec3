"""How the console shows what operations.staff returns: queue rows with their SLA
badges, search highlights as text and matches, and a case's timeline of messages and
internal notes. Plain values for the templates (which escape every one of them)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from supportd.domain import clock, sla
from supportd.domain.errors import InvalidTime

HOUR_MS = 3_600_000
TARGET_NAMES = {sla.FIRST_RESPONSE: "First response", sla.NEXT_RESPONSE: "Next response"}


def time_ms(value: str | None) -> int | None:
    """An operation's time (`2024-05-01T14:03:00.000Z`) as milliseconds."""
    if not value:
        return None
    try:
        return clock.parse_time_filter(value)
    except InvalidTime:
        return None


def sentence(message: str) -> str:
    """An operation's message (`unknown status 'x'; ...`) as a sentence for a page."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else text + "."


def short_duration(ms: int) -> str:
    """`3 d 4 h`, `2 h 5 min`, `35 min`: two units at most, for a table cell."""
    minutes = max(0, ms) // 60_000
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"


@dataclass(frozen=True, slots=True)
class SlaView:
    state: str  # running, paused or none
    target: str  # "First response", "Next response" or ""
    due_ms: int | None
    breached: bool
    soon: bool  # running, not yet breached, due within the hour
    text: str  # "Due in 35 min", "Overdue by 2 h", "Paused, 3 h left", "None due"


def sla_view(shape: Mapping[str, Any], now_ms: int) -> SlaView:
    due_ms = time_ms(shape.get("dueTime"))
    state, breached = shape["state"], bool(shape["breached"])
    target = TARGET_NAMES.get(shape.get("target") or "", shape.get("target") or "")
    soon = False
    if state == "running" and due_ms is not None:
        if breached:
            text = f"Overdue by {short_duration(now_ms - due_ms)}"
        else:
            soon = due_ms - now_ms <= HOUR_MS
            text = f"Due in {short_duration(due_ms - now_ms)}"
    elif state == "paused":
        left = int(shape.get("remainingMs") or 0)
        text = (
            f"Paused, overdue by {short_duration(-left)}"
            if left < 0
            else f"Paused, {short_duration(left)} left"
        )
    else:
        text = "No response due"
    return SlaView(state, target, due_ms, breached, soon, text)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A case in the queue or in search results."""

    display_id: str
    subject: str
    account_id: str
    status: str
    severity: str
    assignee: str | None
    created_ms: int | None
    sla: SlaView
    version: str  # changes when anything shown changes (the live queue compares it)


def case_row(shape: Mapping[str, Any], now_ms: int) -> CaseRow:
    view = sla_view(shape["sla"], now_ms)
    seen = (
        shape["status"],
        shape["severityCode"],
        shape["assignee"],
        shape["sla"]["state"],
        shape["sla"]["dueTime"],
        view.breached,
        view.soon,
        shape["subject"],
    )
    return CaseRow(
        display_id=shape["displayId"],
        subject=shape["subject"],
        account_id=shape["accountId"],
        status=shape["status"],
        severity=shape["severityCode"],
        assignee=shape["assignee"],
        created_ms=time_ms(shape["timeCreated"]),
        sla=view,
        version=hashlib.blake2s(repr(seen).encode(), digest_size=6).hexdigest(),
    )


# --- search highlights ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snippet:
    """A matching subject or message: (text, is a match) parts, in order."""

    field: str  # subject or communication
    parts: tuple[tuple[str, bool], ...]
    author_kind: str | None = None
    time_ms: int | None = None


def split_matches(text: str, matches: Sequence[Sequence[int]]) -> tuple[tuple[str, bool], ...]:
    """The text cut at the match offsets (character [start, end) pairs, in order; any
    that overlap, run backwards or fall outside the text are ignored)."""
    parts: list[tuple[str, bool]] = []
    at = 0
    for pair in matches:
        if len(pair) != 2:
            continue
        start, end = int(pair[0]), int(pair[1])
        if start < at or end <= start or end > len(text):
            continue
        if start > at:
            parts.append((text[at:start], False))
        parts.append((text[start:end], True))
        at = end
    if at < len(text):
        parts.append((text[at:], False))
    return tuple(parts)


def snippets(highlights: Sequence[Mapping[str, Any]]) -> list[Snippet]:
    return [
        Snippet(
            field=h["field"],
            parts=split_matches(h["text"], h.get("matches", ())),
            author_kind=h.get("authorKind"),
            time_ms=time_ms(h.get("timeCreated")),
        )
        for h in highlights
    ]


# --- a case's timeline ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """A message of the thread or an internal note."""

    kind: str  # customer, support or note
    author: str
    time_ms: int
    body: str
    attachments: list[dict[str, Any]] = field(default_factory=list)


def timeline(
    communications: Sequence[Mapping[str, Any]],
    notes: Sequence[Mapping[str, Any]],
    files: Mapping[int, list[dict[str, Any]]],
) -> list[Entry]:
    """Messages and notes interleaved in time, newest first (at the same moment a note
    after the message it is about)."""
    entries: list[tuple[int, int, int, Entry]] = []
    for comm in communications:
        support = comm["authorKind"] == "support"
        author = (
            f"{comm['staffName'] or 'Support'} (as {comm['submittedBy']})"
            if support
            else comm["submittedBy"]
        )
        at = time_ms(comm["timeCreated"]) or 0
        entry = Entry(
            "support" if support else "customer",
            author,
            at,
            comm["body"],
            files.get(int(comm["id"]), []),
        )
        entries.append((at, 0, int(comm["id"]), entry))
    for note in notes:
        at = time_ms(note["timeCreated"]) or 0
        entries.append((at, 1, int(note["id"]), Entry("note", note["staffName"], at, note["body"])))
    entries.sort(key=lambda item: item[:3], reverse=True)
    return [item[3] for item in entries]
