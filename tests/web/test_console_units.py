"""The console's pure pieces: how operation results become what a page shows (SLA
texts and badges, highlight parts, the interleaved timeline) and the canned reply
rules."""

from __future__ import annotations

from typing import Any

import pytest

from supportd.domain import clock
from supportd.domain.console import body_problem, title_problem, with_inserted
from supportd.web.console_views import short_duration, sla_view, split_matches, timeline

NOW = 1_750_000_000_000
MINUTE = 60_000


def sla(state: str, due_ms: int | None = None, remaining: int | None = None) -> dict[str, Any]:
    return {
        "target": "first-response",
        "state": state,
        "dueTime": clock.format_case_time(due_ms) if due_ms is not None else None,
        "remainingMs": remaining,
        "breached": (due_ms is not None and due_ms < NOW) or (remaining or 0) < 0,
    }


@pytest.mark.parametrize(
    ("shape", "text", "breached", "soon"),
    [
        (sla("running", NOW + 35 * MINUTE), "Due in 35 min", False, True),
        (sla("running", NOW + 60 * MINUTE), "Due in 1 h", False, True),
        (sla("running", NOW + 61 * MINUTE), "Due in 1 h 1 min", False, False),
        (sla("running", NOW - 130 * MINUTE), "Overdue by 2 h 10 min", True, False),
        (sla("paused", remaining=3 * 1440 * MINUTE), "Paused, 3 d left", False, False),
        (sla("paused", remaining=-5 * MINUTE), "Paused, overdue by 5 min", True, False),
        (sla("none"), "No response due", False, False),
    ],
)
def test_sla_texts_and_badges(shape: dict[str, Any], text: str, breached: bool, soon: bool) -> None:
    view = sla_view(shape, NOW)
    assert (view.text, view.breached, view.soon) == (text, breached, soon)
    assert view.target == "First response"


def test_short_durations() -> None:
    assert short_duration(0) == "under a minute"
    assert short_duration(59_999) == "under a minute"
    assert short_duration(2 * 1440 * MINUTE + 3 * 60 * MINUTE) == "2 d 3 h"
    assert short_duration(1440 * MINUTE) == "1 d"
    assert short_duration(-5) == "under a minute"


def test_matches_cut_the_text_into_parts() -> None:
    text = "disk full on host disk"
    assert split_matches(text, [[0, 4], [18, 22]]) == (
        ("disk", True),
        (" full on host ", False),
        ("disk", True),
    )
    # Offsets that overlap, run backwards, are empty or fall outside are left out.
    assert split_matches(text, [[0, 4], [2, 6], [10, 9], [5, 5], [20, 99], [1]]) == (
        ("disk", True),
        (" full on host disk", False),
    )
    assert split_matches("", []) == ()


def test_the_timeline_interleaves_messages_and_notes_newest_first() -> None:
    def at(minutes: int) -> str:
        return clock.format_case_time(NOW + minutes * MINUTE)

    comms = [
        {"id": 1, "authorKind": "customer", "submittedBy": "Jane <j@example.com>",
         "staffName": None, "body": "Help", "timeCreated": at(0)},
        {"id": 2, "authorKind": "support", "submittedBy": "Amazon Web Services",
         "staffName": "devon", "body": "On it", "timeCreated": at(10)},
    ]  # fmt: skip
    notes = [
        {"id": 1, "staffName": "priya", "body": "Checked", "timeCreated": at(5)},
        {"id": 2, "staffName": "devon", "body": "Same moment", "timeCreated": at(10)},
    ]
    files = {1: [{"attachmentId": "attachment-1", "fileName": "a.log", "size": 3}]}
    entries = timeline(comms, notes, files)
    assert [(e.kind, e.body) for e in entries] == [
        ("note", "Same moment"),
        ("support", "On it"),
        ("note", "Checked"),
        ("customer", "Help"),
    ]
    assert entries[1].author == "devon (as Amazon Web Services)"
    assert entries[3].attachments == files[1]


def test_canned_reply_rules() -> None:
    assert title_problem("Greeting") is None
    assert title_problem("  ") == "Enter a title."
    assert title_problem("x" * 101) == "A title has at most 100 characters (this one has 101)."
    assert title_problem("tab\there") == "A title must not contain control characters."
    assert body_problem("Hello") is None
    assert body_problem("\n") == "Enter the text of the reply."
    assert body_problem("a\x00b") == "The text must not contain the NUL character."
    assert with_inserted("", "Hello") == "Hello"
    assert with_inserted("Typed  \n\n", "Hello") == "Typed\n\nHello"
