"""The staff area of the Store protocol: staff members and tokens, the support side of
cases (assignee, SLA clock, notes, history), staff actions, auto-resolve and search."""

from __future__ import annotations

from typing import Protocol

from supportd.domain.search import SearchQuery, SearchResults
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


class StaffExists(Exception):
    """A staff member of that name exists already."""


class StaffStore(Protocol):
    # --- staff and tokens ----------------------------------------------------------

    async def create_staff(self, member: StaffMember) -> None:
        """Insert a staff member; StaffExists if the name is taken."""

    async def get_staff(self, name: str) -> StaffMember | None:
        """The staff member, disabled or not, or None."""

    async def list_staff(self) -> list[StaffMember]:
        """Every staff member, in creation order."""

    async def set_staff_disabled(self, name: str, disabled_ms: int | None) -> StaffMember | None:
        """Disable (a time) or enable (None) a staff member; the member afterwards, or
        None if there is no such member. Disabling keeps the first disabling time."""

    async def create_staff_token(self, token: StaffToken) -> None:
        """Store a token (its hash); the staff member must exist."""

    async def get_staff_token(self, token_id: str) -> tuple[StaffToken, StaffMember] | None:
        """The token with this id and its staff member, in one look-up, or None."""

    async def list_staff_tokens(self, staff_name: str | None = None) -> list[StaffToken]:
        """The tokens of one staff member, or of all, in creation order."""

    async def revoke_staff_token(self, token_id: str, now_ms: int) -> StaffToken | None:
        """Revoke a token (keeping the first revocation time); the token afterwards, or
        None if there is no such token."""

    # --- cases as staff see them ------------------------------------------------------

    async def staff_get_case(
        self, case_id: str | None = None, seq: int | None = None
    ) -> StaffCase | None:
        """A case of any account, by id or by sequence number (display id)."""

    async def staff_list_cases(self, query: StaffCaseQuery) -> list[StaffCase]:
        """Up to query.limit cases of every account, in the query's order."""

    async def case_thread(self, case_seq: int) -> list[ThreadEntry]:
        """Every communication of the case, oldest first, with the staff member who wrote
        each support reply."""

    async def case_notes(self, case_seq: int) -> list[Note]:
        """The case's internal notes, oldest first."""

    async def case_history(self, case_seq: int) -> list[HistoryEvent]:
        """Every status change and assignment of the case, oldest first."""

    # --- changes ------------------------------------------------------------------

    async def apply_staff_action(
        self, case_seq: int, action: StaffAction
    ) -> tuple[StaffCase, Outcome] | None:
        """Lock the case, let staff.decide say what the action does, and write it all in
        one transaction: status, resolution time, assignee, SLA clock, the reply (with
        its author) or note, and one history row per change. The case afterwards and the
        outcome; None if there is no such case; IllegalTransition (nothing written) if
        the lifecycle forbids it."""

    async def auto_resolve(self, pending_before_ms: int, now_ms: int, limit: int) -> list[str]:
        """Resolve up to `limit` cases still waiting on the customer since before
        pending_before_ms, each with a history row by the system; their case ids. A case
        is resolved once, however many nodes run this at the same time."""

    # --- search -------------------------------------------------------------------------

    async def index_search(self) -> int:
        """Bring the search index up to date with every committed subject and
        communication; how many rows of a table it indexed at most (0 where the index
        is kept in the writing transaction, as on PostgreSQL)."""

    async def search_cases(self, query: SearchQuery) -> SearchResults:
        """Cases whose subject or a communication matches, best first, with highlights
        (up to three communications per case), ranked from at most query.candidates
        matches of each index (newest first), and whether matches were left out for
        that (domain.search); everything committed before the call is searchable."""
