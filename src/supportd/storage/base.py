"""The contract every store keeps. Operations talk to this, never to a database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from supportd.domain.records import (
    CaseQuery,
    CaseRecord,
    CommunicationQuery,
    CommunicationRecord,
    NewCase,
    NewCommunication,
    ResolveOutcome,
)


class SchemaError(RuntimeError):
    """The database schema is not the one this supportd expects."""


class Store(Protocol):
    async def open(self) -> None:
        """Connect and check (or, where allowed, apply) the schema."""

    async def close(self) -> None:
        """Finish pending writes and disconnect."""

    async def create_case(self, case: NewCase, first: NewCommunication) -> CaseRecord:
        """Insert a case and its first communication in one transaction."""

    async def get_case(self, account_id: str, case_id: str) -> CaseRecord | None:
        """The account's case with this id, or None (other accounts' cases included)."""

    async def get_case_by_seq(self, account_id: str, seq: int) -> CaseRecord | None:
        """The account's case with this sequence number (display id), or None."""

    async def list_cases(self, query: CaseQuery) -> list[CaseRecord]:
        """Up to query.limit cases, newest first."""

    async def recent_communications(
        self, case_seqs: Sequence[int], per_case: int
    ) -> dict[int, list[CommunicationRecord]]:
        """The newest per_case communications of each case, newest first."""

    async def list_communications(self, query: CommunicationQuery) -> list[CommunicationRecord]:
        """Up to query.limit communications of one case, newest first."""

    async def add_communication(
        self, account_id: str, case_id: str, comm: NewCommunication
    ) -> CaseRecord | None:
        """Append a customer communication, applying the reply rules to the status in the
        same transaction. None if the account has no such case."""

    async def resolve_case(
        self, account_id: str, case_id: str, now_ms: int
    ) -> ResolveOutcome | None:
        """Resolve a case; None if the account has no such case."""
