"""The contract every store keeps. Operations talk to this, never to a database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from supportd.domain.records import (
    CaseQuery,
    CaseRecord,
    CommunicationQuery,
    CommunicationRecord,
    NewCase,
    NewCommunication,
    ResolveOutcome,
)
from supportd.storage.contract_accounts import AccountStore
from supportd.storage.contract_advisor import AdvisorStore
from supportd.storage.contract_attachments import AttachmentStore
from supportd.storage.contract_jobs import JobStore
from supportd.storage.contract_outbox import OutboxStore
from supportd.storage.contract_staff import StaffStore


class SchemaError(RuntimeError):
    """The database schema is not the one this supportd expects."""


class StoreUnavailable(RuntimeError):
    """The database cannot be reached (wrong address, server down, no such database)."""


# One exported row: column name -> JSON-ready value (see storage.exchange).
ExportRow = dict[str, Any]


class CaseStore(Protocol):
    """Cases, their communications and their history."""

    async def create_case(
        self, case: NewCase, first: NewCommunication, *, max_cases_per_hour: int | None = None
    ) -> CaseRecord:
        """Insert a case and its first communication in one transaction. With
        max_cases_per_hour, first count the account's cases of the last hour (before
        case.created_ms) in that transaction, exactly across processes and nodes, and
        raise CaseQuotaExceeded (nothing written) if there are that many already."""

    async def get_case(self, account_id: str, case_id: str) -> CaseRecord | None:
        """The account's case with this id, or None (other accounts' cases included)."""

    async def case_seqs(self, account_id: str, case_ids: Sequence[str]) -> dict[str, int]:
        """Sequence number by case id, for those of the ids that are the account's cases
        (one query for a whole caseIdList)."""

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
        same transaction (the case row locked against concurrent writers); the case as it
        is afterwards. None if the account has no such case; ReopenWindowClosed (nothing
        written) if the case was resolved too long ago."""

    async def resolve_case(
        self, account_id: str, case_id: str, now_ms: int
    ) -> ResolveOutcome | None:
        """Resolve a case; None if the account has no such case. Resolving a resolved
        case changes nothing and reports resolved -> resolved."""


class StoreCore(Protocol):
    """Connecting, and moving every table out and in."""

    async def open(self) -> None:
        """Connect and check (or, where allowed, apply) the schema."""

    async def close(self) -> None:
        """Finish pending writes and disconnect."""

    # --- export / import (supportd export, supportd import) ---------------------

    async def is_empty(self) -> bool:
        """True if no table holds a row."""

    def export_all(self, batch_size: int) -> AsyncIterator[tuple[str, list[ExportRow]]]:
        """Every row, as (table, batch of up to batch_size rows): tables in
        storage.exchange.TABLES order, rows in seq order, all from one consistent
        snapshot however long the export takes."""

    async def import_rows(self, table: str, rows: Sequence[ExportRow]) -> None:
        """Insert exported rows as they are, sequence numbers included."""

    async def finish_import(self) -> None:
        """After importing: new rows get sequence numbers above every imported one."""


class Store(
    StoreCore,
    CaseStore,
    JobStore,
    OutboxStore,
    AccountStore,
    AdvisorStore,
    AttachmentStore,
    StaffStore,
    Protocol,
):
    """Everything operations may ask of a store: one protocol per area of the data."""
