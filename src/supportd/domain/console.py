"""The staff console's records and rules: how staff members sign in (a password of their
own, separate from their API tokens) and the canned replies agents insert into replies.

Staff sign in with their e-mail address. Staff e-mail addresses need not be unique (a
team may share one), but at most one staff member per address may have a console
password, so that an address and a password name one person.
"""

from __future__ import annotations

from dataclasses import dataclass

from supportd.domain.errors import DomainError
from supportd.domain.staff import MAX_BODY_CHARS, StaffMember

MAX_TITLE_CHARS = 100
# Admins curate the list; agents choose from it in a select. A bound keeps that select
# (and the page carrying every text) reasonable, and no page reads an unbounded table.
MAX_CANNED_REPLIES = 200


class StaffEmailTaken(DomainError):
    """Another staff member with the same e-mail address has a console password."""

    def __init__(self, other: str) -> None:
        super().__init__(other)
        self.other = other


class CannedReplyExists(DomainError):
    """A canned reply with this title exists already."""


class TooManyCannedReplies(DomainError):
    """The list holds MAX_CANNED_REPLIES already."""


@dataclass(frozen=True, slots=True)
class StaffLogin:
    """A staff member who may sign in to the console, with their password's hash."""

    member: StaffMember
    password_hash: str


@dataclass(frozen=True, slots=True)
class CannedReply:
    seq: int
    title: str
    body: str
    created_by: str
    created_ms: int
    updated_by: str
    updated_ms: int


def title_problem(title: str) -> str | None:
    if not title.strip():
        return "Enter a title."
    if len(title) > MAX_TITLE_CHARS:
        return f"A title has at most {MAX_TITLE_CHARS} characters (this one has {len(title)})."
    if any(ord(c) < 32 for c in title):
        return "A title must not contain control characters."
    return None


def body_problem(body: str) -> str | None:
    if not body.strip():
        return "Enter the text of the reply."
    if len(body) > MAX_BODY_CHARS:
        return (
            f"A canned reply has at most {MAX_BODY_CHARS:,} characters (this one has"
            f" {len(body):,})."
        )
    if "\x00" in body:
        return "The text must not contain the NUL character."
    return None


def with_inserted(reply: str, inserted: str) -> str:
    """The reply box after inserting a canned text: appended after what was typed, a
    blank line between."""
    typed = reply.rstrip()
    return f"{typed}\n\n{inserted}" if typed else inserted
